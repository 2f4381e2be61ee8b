"""Choose BM25 stemming and the fusion's constant and weights on held-out training data (never eval/).

Indexes a SQuAD-format training file and prints hybrid recall@k for each setting; the weights are
those of the dense, BM25 and best-sentence rankings (a weight of 0 leaves that ranking out).

Usage:
    python benchmarks/tune_fusion.py ../shared/data/train/squad-v1.1-train-subset.json
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from qa.pipeline import Pipeline
from qa.retrieval import HybridRetriever
from qa.sparse import SparseIndex
from qa.squad import load_squad

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
        pipeline = Pipeline(Path(scratch))
        for first in range(0, len(documents), 64):
            pipeline.add_documents(documents[first : first + 64])
        rows = pipeline.store.passage_texts()
        ids, texts = np.array([r[0] for r in rows], np.int64), [r[1] for r in rows]
        passages = {p.id: p for p in pipeline.store.passages(ids.tolist())}
        vectors = pipeline.encoder.encode([q.question for q in questions])
        print(f"{len(questions)} questions, {len(ids)} passages; hybrid recall@{args.k}:")
        for stemming, rrf_k, weights in SETTINGS:
            sparse = SparseIndex(stemming=stemming)
            sparse.build(ids, texts)
            retriever = HybridRetriever(pipeline.vectors, sparse, pipeline.store.sentence_vectors, rrf_k, weights)
            found = 0
            for question, vector in zip(questions, vectors, strict=True):
                hits = retriever.retrieve(question.question, vector, args.k)
                found += any(_covers(passages[h.passage_id], question) for h in hits)
            label = f"BM25 {'stemmed' if stemming else 'unstemmed':>9}, rrf_k {rrf_k:>2}, weights {weights}"
            print(f"  {label}: {found / len(questions):.4f}")
        pipeline.store.close()


def _covers(passage, question) -> bool:
    return passage.document_id == question.document_id and any(
        passage.start <= s and e <= passage.end for s, e, _ in question.answers
    )


if __name__ == "__main__":
    main()
