"""Does pooling a passage's token vectors over each sentence pick the answer sentence as well as
embedding every sentence on its own? Prints both hit rates and their encode times.

Usage:
    python benchmarks/sentence_vectors.py ../shared/data/eval/squad-v1.1-dev.json --paragraphs 200
"""

import argparse
import random
import time
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder
from qa.evaluation.squad import load_squad
from qa.ingest.sentences import sentence_spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD-format file")
    parser.add_argument("--paragraphs", type=int, default=200, help="paragraphs sampled (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    encoder = Encoder()
    documents, questions = load_squad(args.file)
    documents = random.Random(args.seed).sample(documents, min(args.paragraphs, len(documents)))
    by_document: dict[str, list] = {}
    for question in questions:
        by_document.setdefault(question.document_id, []).append(question)

    hits = {"separate": 0, "pooled": 0}
    seconds = {"separate": 0.0, "pooled": 0.0}
    asked = 0
    for document in documents:
        spans = sentence_spans(document.text)
        started = time.perf_counter()
        separate = encoder.encode([document.text[s:e] for s, e in spans])
        seconds["separate"] += time.perf_counter() - started
        started = time.perf_counter()
        _, (pooled,) = encoder.encode_with_spans([document.text], [spans])
        seconds["pooled"] += time.perf_counter() - started
        own = by_document.get(document.id, [])
        question_vectors = encoder.encode([q.question for q in own])
        for question, vector in zip(own, question_vectors, strict=True):
            start = question.answers[0][0]
            gold = {i for i, (s, e) in enumerate(spans) if s <= start < e}
            hits["separate"] += int(np.argmax(separate @ vector)) in gold
            hits["pooled"] += int(np.argmax(pooled @ vector)) in gold
            asked += 1
    print(f"{asked} questions over {len(documents)} paragraphs")
    for name in hits:
        print(f"{name:>9}: answer sentence ranked first {hits[name] / asked:.3f}; encode {seconds[name]:.1f} s")


if __name__ == "__main__":
    main()
