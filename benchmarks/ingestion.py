"""Ingestion throughput against bare `SentenceTransformer.encode` on the same passages, per embedding precision.

Alternates the measurements over several rounds, since a shared 2-core machine drifts, and compares
medians. The pipeline's figure includes splitting, sentence vectors, SQLite and FAISS. With more than
one `--precision`, each precision's pipeline is timed in every round, and compared with the first.

Usage:
    python benchmarks/ingestion.py ../shared/data/eval/squad-v1.1-dev.json --documents 800 --rounds 3
    python benchmarks/ingestion.py FILE --model DIR --precision float32 int8  # DIR holds encoder.int8.onnx
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import get_args

from embeddings.encoder import Encoder
from embeddings.precision import Precision
from qa.evaluation.squad import load_squad
from qa.index.embedded import EmbeddedIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD-format file whose contexts are ingested")
    parser.add_argument("--documents", type=int, default=800, help="contexts ingested per round (default 800)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--model", type=Path, help="embedding model folder (default: the shipped retriever)")
    parser.add_argument(
        "--precision", nargs="+", choices=get_args(Precision), default=["float32"], help="(default float32)"
    )
    args = parser.parse_args()

    encoders = {precision: Encoder(args.model, precision=precision) for precision in args.precision}
    documents = load_squad(args.file)[0][: args.documents]
    rates: dict[str, list[float]] = {precision: [] for precision in encoders}
    bare_rates = []
    for round_number in range(1, args.rounds + 1):
        for precision, encoder in encoders.items():
            rate, texts = _ingest(encoder, documents)
            rates[precision].append(rate)
            print(f"round {round_number}: pipeline ({encoder.precision}) {rate:.1f} passages/s")
        first = next(iter(encoders.values()))
        bare = first.model  # loaded, where the encoder runs an ONNX file, before the clock starts
        started = time.perf_counter()
        bare.encode(texts, batch_size=first.batch_size)
        bare_rates.append(len(texts) / (time.perf_counter() - started))
        print(f"round {round_number}: bare encode (float32) {bare_rates[-1]:.1f} passages/s")
    bare_rate = statistics.median(bare_rates)
    print(f"{len(texts)} passages from {len(documents)} documents, median of {args.rounds} rounds:")
    print(f"bare encode {bare_rate:.1f} passages/s")
    baseline = statistics.median(rates[args.precision[0]])
    for precision, encoder in encoders.items():
        rate = statistics.median(rates[precision])
        print(
            f"pipeline ({encoder.precision}) {rate:.1f} passages/s, ratio to bare encode {rate / bare_rate:.3f}, "
            f"to {args.precision[0]} {rate / baseline:.3f}"
        )


def _ingest(encoder: Encoder, documents: list) -> tuple[float, list[str]]:
    """Passages/s ingesting `documents` into a fresh index in batches of 64, and the passages' texts."""
    with tempfile.TemporaryDirectory() as scratch:
        index = EmbeddedIndex(Path(scratch), encoder)
        started = time.perf_counter()
        written = sum(index.add_documents(documents[i : i + 64]).passages for i in range(0, len(documents), 64))
        rate = written / (time.perf_counter() - started)
        texts = [passage.text for passage in index.passages()]
        index.close()
    return rate, texts


if __name__ == "__main__":
    main()
