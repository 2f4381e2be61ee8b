"""Choose BM25 stemming and the fusion's constant and weights on held-out training data (never eval/).

Indexes a SQuAD-format training file and prints hybrid recall@k for each setting; the weights are
those of the dense, BM25 and best-sentence rankings (a weight of 0 leaves that ranking out).

Usage:
    python benchmarks/tune_fusion.py ../shared/data/train/squad-v1.1-train-subset.json
"""

import argparse
import tempfile
from pathlib import Path

from embeddings.encoder import Encoder
from qa.evaluation.squad import load_squad
from qa.index.embedded import EmbeddedIndex
from qa.retrieval.hybrid import HybridRetriever
from qa.retrieval.sparse import SparseIndex

SETTINGS = [
    (False, 60, (1.0, 1.0, 0.0)),  # the customary RRF of dense and BM25
    (True, 60, (1.0, 1.0, 0.0)),
    (True, 5, (1.0, 1.0, 0.0)),
    (True, 5, (1.0, 1.0, 1.0)),
    (True, 5, (0.0, 1.0, 1.0)),
    (True, 3, (1.0, 2.0, 2.0)),
    (True, 5, (1.0, 2.0, 2.0)),  # the default
    (True, 10, (1.0, 2.0, 2.0)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD-format training file")
    parser.add_argument("--k", type=int, default=5, help="recall@k (default 5)")
    args = parser.parse_args()

    documents, questions = load_squad(args.file)
    with tempfile.TemporaryDirectory() as scratch:
        encoder = Encoder()
        index = EmbeddedIndex(Path(scratch), encoder)
        for first in range(0, len(documents), 64):
            index.add_documents(documents[first : first + 64])
        print(f"{len(questions)} questions, {index.counts().passages} passages; hybrid recall@{args.k}:")
        index.close()
        vectors = encoder.encode([q.question for q in questions])
        for stemming, rrf_k, weights in SETTINGS:
            # The same folder opened again with this setting's BM25 and fusion.
            retriever, keywords = HybridRetriever(rrf_k, weights), SparseIndex(stemming=stemming)
            index = EmbeddedIndex(Path(scratch), encoder, retriever=retriever, keywords=keywords)
            found = 0
            for question, vector in zip(questions, vectors, strict=True):
                hits = index.retrieve(question.question, vector, args.k)
                found += any(_covers(hit.passage, question) for hit in hits)
            index.close()
            label = f"BM25 {'stemmed' if stemming else 'unstemmed':>9}, rrf_k {rrf_k:>2}, weights {weights}"
            print(f"  {label}: {found / len(questions):.4f}")


def _covers(passage, question) -> bool:
    return passage.document_id == question.document_id and any(
        passage.start <= s and e <= passage.end for s, e, _ in question.answers
    )


if __name__ == "__main__":
    main()
