"""How many cells must an IVF search scan for recall@50 on real, distinct texts?

`benchmarks/scale.py` makes a million vectors from noisy copies of a few thousand paragraphs, whose near
copies fall into the same IVF cells: an easy case for IVF. This one uses only real texts, each once: the
distinct paragraphs and questions of SQuAD-format files, embedded by the shipped retriever. `--queries`
questions are held out of the collection and asked one at a time at top 50, as the service asks. The
collection goes into `VectorIndex(kind="ivf")` in batches, as ingest would add it, so the cells are the
ones the index learns itself; for each `--probes` value it prints recall@50 against exact search and the
search p50.

    python benchmarks/ivf_recall.py ../shared/data/train/*.json --probes 16 32 64 128 256 512
"""

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
from scale import TOP, ask, recall_against

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from qa.evaluation.squad import load_squad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+", help="SQuAD-format files (training files, not eval/)")
    parser.add_argument("--queries", type=int, default=1000, help="questions held out and asked (default 1000)")
    parser.add_argument("--probes", type=int, nargs="+", default=[32, 128, 512], help="cells scanned")
    args = parser.parse_args()

    paragraphs: dict[str, None] = {}
    questions: dict[str, None] = {}
    for file in args.files:
        documents, asked = load_squad(file)
        paragraphs.update(dict.fromkeys(document.text for document in documents))
        questions.update(dict.fromkeys(item.question for item in asked))
    held_out = set(random.Random(0).sample(sorted(questions), args.queries))
    texts = list(paragraphs) + [question for question in questions if question not in held_out]
    random.Random(1).shuffle(texts)  # reports arrive in no order
    encoder = Encoder()
    started = time.perf_counter()
    vectors = encoder.encode(texts)
    queries = encoder.encode(sorted(held_out))
    report: dict = {"paragraphs": len(paragraphs), "collection": len(texts), "queries": len(queries)}
    report["embed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report), flush=True)

    ids = np.arange(len(vectors), dtype=np.int64)
    exact = VectorIndex(encoder.dimension)
    exact.add(ids, vectors)
    index = VectorIndex(encoder.dimension, kind="ivf")
    started = time.perf_counter()
    for first in range(0, len(vectors), 20_000):
        index.add(ids[first : first + 20_000], vectors[first : first + 20_000])
    report = {"cells": index.cells, "build_s": round(time.perf_counter() - started, 1)}
    nearest, timings = ask(exact.search, queries)
    report["flat_p50_ms"] = round(1000 * float(np.median(timings)), 2)
    print(json.dumps(report), flush=True)
    for probes in args.probes:
        index.probes = probes
        found, timings = ask(index.search, queries)
        row = {"probes": probes, f"recall@{TOP}": round(recall_against(found, nearest), 4)}
        row["p50_ms"] = round(1000 * float(np.median(timings)), 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
