"""Ingestion throughput against bare `SentenceTransformer.encode` on the same passages.

Alternates the two measurements over several rounds, since a shared 2-core machine drifts, and
compares medians. The pipeline's figure includes splitting, sentence vectors, SQLite and FAISS.

Usage:
    python benchmarks/ingestion.py ../shared/data/eval/squad-v1.1-dev.json --documents 800 --rounds 3
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from embeddings.encoder import Encoder
from qa.evaluation.squad import load_squad
from qa.index.embedded import EmbeddedIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD-format file whose contexts are ingested")
    parser.add_argument("--documents", type=int, default=800, help="contexts ingested per round (default 800)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args()

    encoder = Encoder()
    documents = load_squad(args.file)[0][: args.documents]
    pipeline_rates, bare_rates = [], []
    for round_number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory() as scratch:
            index = EmbeddedIndex(Path(scratch), encoder)
            started = time.perf_counter()
            written = sum(index.add_documents(documents[i : i + 64]).passages for i in range(0, len(documents), 64))
            pipeline_rates.append(written / (time.perf_counter() - started))
            texts = [passage.text for passage in index.passages()]
            index.close()
        started = time.perf_counter()
        encoder.model.encode(texts, batch_size=encoder.batch_size)
        bare_rates.append(len(texts) / (time.perf_counter() - started))
        print(f"round {round_number}: pipeline {pipeline_rates[-1]:.1f} passages/s, bare encode {bare_rates[-1]:.1f}")
    pipeline_rate, bare_rate = statistics.median(pipeline_rates), statistics.median(bare_rates)
    print(f"{len(texts)} passages from {len(documents)} documents, median of {args.rounds} rounds:")
    ratio = pipeline_rate / bare_rate
    print(f"pipeline {pipeline_rate:.1f} passages/s, bare encode {bare_rate:.1f} passages/s, ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
