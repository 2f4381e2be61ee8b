"""SIGKILL `reportqa ingest` at random moments and check the index after every kill.

After each kill, the store must be consistent on disk (no half-ingested document: every document
has passages that slice its text, no passage lacks its document) and the vector file must load.
Opening the index then makes store and vectors agree: every stored passage has exactly one vector
and no vector lacks a passage. At the end, one more ingest must complete every report.

Usage:
    python benchmarks/crash_test.py --kills 20 --reports 150
"""

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from qa.index.embedded import STORE_FILE, VECTORS_FILE, EmbeddedIndex

WORDS = [
    "minister",
    "harbour",
    "report",
    "council",
    "river",
    "budget",
    "treaty",
    "talks",
    "wheat",
    "storm",
    "bridge",
    "court",
    "vote",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="how many times to kill the ingest (default 20)")
    parser.add_argument("--reports", type=int, default=150, help="reports to ingest (default 150)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    chance = random.Random(args.seed)
    encoder = Encoder()
    with tempfile.TemporaryDirectory(prefix="reportqa-crash-") as scratch:
        reports, index_dir = Path(scratch) / "reports", Path(scratch) / "index"
        reports.mkdir()
        for number in range(args.reports):
            _write_report(reports / f"report-{number:04d}.txt", chance)
        inconsistencies = 0
        for kill in range(1, args.kills + 1):
            if kill % 4 == 0:  # change some reports, so kills also land in replacements
                for path in chance.sample(sorted(reports.iterdir()), 10):
                    _write_report(path, chance)
            ingest = subprocess.Popen(
                [sys.executable, "-m", "qa.cli", "ingest", "--index-dir", str(index_dir), str(reports)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # The model loads in about 5 s; kill anywhere from loading to the middle of the writes.
            time.sleep(chance.uniform(3.0, 14.0))
            finished = ingest.poll() is not None
            ingest.send_signal(signal.SIGKILL)
            ingest.wait()
            problems = _check(index_dir, encoder)
            inconsistencies += len(problems)
            state = "had finished" if finished else "killed"
            print(f"kill {kill:2d} ({state}): {_counts(index_dir)}; inconsistencies: {len(problems)}", flush=True)
            for problem in problems:
                print(f"    {problem}")
        subprocess.run(
            [sys.executable, "-m", "qa.cli", "ingest", "--index-dir", str(index_dir), str(reports)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        problems = _check(index_dir, encoder)
        documents = _counts(index_dir)["documents"]
        if documents != args.reports:
            problems.append(f"after the final ingest {documents} of {args.reports} reports are indexed")
        inconsistencies += len(problems)
        print(f"final ingest: {_counts(index_dir)}; inconsistencies: {len(problems)}")
        print(f"{args.kills} kills, {inconsistencies} inconsistencies")
    return 1 if inconsistencies else 0


def _write_report(path: Path, chance: random.Random) -> None:
    sentences = [" ".join(chance.choices(WORDS, k=chance.randint(6, 18))).capitalize() + "." for _ in range(40)]
    path.write_text(f"date 2024-0{chance.randint(1, 9)}-1{chance.randint(0, 9)} Desk\n\n" + " ".join(sentences))


def _counts(index_dir: Path) -> dict:
    if not (index_dir / STORE_FILE).exists():
        return {"documents": 0, "passages": 0}
    with sqlite3.connect(index_dir / STORE_FILE) as db:
        documents, passages = (db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("documents", "passages"))
    return {"documents": documents, "passages": passages}


def _check(index_dir: Path, encoder: Encoder) -> list[str]:
    problems = []
    if not (index_dir / STORE_FILE).exists():
        return problems  # killed before anything was written
    # On disk, before any repair: the store is whole, and the vector file is not torn.
    with sqlite3.connect(index_dir / STORE_FILE) as db:
        texts = dict(db.execute("SELECT id, text FROM documents"))
        for document_id, start, end, text in db.execute("SELECT document_id, start, end, text FROM passages"):
            if document_id not in texts:
                problems.append(f"passage of missing document {document_id}")
            elif texts[document_id][start:end] != text:
                problems.append(f"passage of {document_id} does not slice its document")
        for (document_id,) in db.execute("SELECT id FROM documents WHERE id NOT IN (SELECT document_id FROM passages)"):
            problems.append(f"document {document_id} has no passages (half-ingested)")
    if (index_dir / VECTORS_FILE).exists():
        try:
            VectorIndex.load(index_dir / VECTORS_FILE)
        except RuntimeError as error:
            problems.append(f"vector file unreadable: {error}")
    # Opened, the index agrees with the store: one vector per passage, none without a passage.
    EmbeddedIndex(index_dir, encoder).close()
    ids = VectorIndex.load(index_dir / VECTORS_FILE).ids() if (index_dir / VECTORS_FILE).exists() else np.zeros(0)
    if len(ids) != len(np.unique(ids)):
        problems.append("a passage has more than one vector")
    with sqlite3.connect(index_dir / STORE_FILE) as db:
        stored = np.array([row[0] for row in db.execute("SELECT id FROM passages")], np.int64)
    if not np.array_equal(np.sort(ids), np.sort(stored)):
        problems.append("vectors and stored passages differ")
    return problems


if __name__ == "__main__":
    sys.exit(main())
