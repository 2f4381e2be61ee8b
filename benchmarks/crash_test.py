"""SIGKILL `reportqa ingest`, or the server in the middle of PUTs, and check the index after every kill.

Kills are placed by progress, not by the clock: each run is killed after a random number of committed
writes (the store's generation number, or acknowledged PUTs for the server) and a random fraction of a
second more, so every kill lands in the middle of the work, whatever the machine's speed.

After each kill, the store must be consistent on disk (no half-ingested document: every document
has passages that slice its text, no passage lacks its document) and the vector file must load.
Opening the index then makes store and vectors agree: every stored passage has exactly one vector
and no vector lacks a passage. For the server, every acknowledged write must be there with the text
it was acknowledged with. At the end, one more ingest must complete every report.

Usage:
    python benchmarks/crash_test.py --kills 20 --reports 150
    python benchmarks/crash_test.py --target server --kills 20
"""

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from served import wait_ready

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from qa.index.embedded import EmbeddedIndex
from qa.index.folder import STORE_FILE, VECTORS_FILE

WORDS = ["minister", "harbour", "report", "council", "river", "budget", "treaty", "talks", "wheat", "storm"]
CLI = [sys.executable, "-m", "qa.cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=("ingest", "server"), default="ingest", help="what to kill")
    parser.add_argument("--kills", type=int, default=20, help="how many times to kill it (default 20)")
    parser.add_argument("--reports", type=int, default=150, help="reports to ingest (default 150)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port", type=int, default=8769)
    args = parser.parse_args()
    chance = random.Random(args.seed)
    encoder = Encoder()
    with tempfile.TemporaryDirectory(prefix="reportqa-crash-") as scratch:
        reports, index_dir = Path(scratch) / "reports", Path(scratch) / "index"
        reports.mkdir()
        for number in range(args.reports):
            _write_report(reports / f"report-{number:04d}.txt", chance)
        kill_once = _kill_ingest if args.target == "ingest" else _kill_server
        inconsistencies, mid_work = 0, 0
        acknowledged: dict[str, set[str | None]] = {}
        for kill in range(1, args.kills + 1):
            landed = kill_once(args, chance, reports, index_dir, acknowledged)
            mid_work += landed
            problems = _check(index_dir, encoder) + _lost(index_dir, acknowledged)
            inconsistencies += len(problems)
            state = "mid-write" if landed else "after the work had finished"
            print(f"kill {kill:2d} ({state}): {_counts(index_dir)}; inconsistencies: {len(problems)}", flush=True)
            for problem in problems:
                print(f"    {problem}")
        final = subprocess.run(
            [*CLI, "ingest", "--index-dir", str(index_dir), str(reports)], capture_output=True, text=True
        )
        if final.returncode != 0:
            print(f"the final ingest failed ({final.returncode}): {final.stderr[-2000:]}")
        problems = _check(index_dir, encoder) + _lost(index_dir, acknowledged)
        documents = _counts(index_dir)["documents"]
        if documents < args.reports:
            problems.append(f"after the final ingest {documents} documents are indexed, fewer than {args.reports}")
        inconsistencies += len(problems)
        print(f"final ingest: {_counts(index_dir)}; inconsistencies: {len(problems)}")
        print(f"{args.kills} kills, {mid_work} of them mid-write, {inconsistencies} inconsistencies")
    return 1 if inconsistencies else 0


def _kill_ingest(args, chance: random.Random, reports: Path, index_dir: Path, acknowledged: dict) -> bool:
    """Change 60 reports, start an ingest, and kill it after 1 to 4 of its commits and up to 0.3 s more."""
    for path in chance.sample(sorted(reports.iterdir()), min(60, args.reports)):
        _write_report(path, chance)
    start = _generation(index_dir)
    commits = chance.randint(1, 4)  # an ingest commits a batch of 32 reports at a time: 5 for 150
    ingest = subprocess.Popen([*CLI, "ingest", "--index-dir", str(index_dir), str(reports)], **_quiet())
    while ingest.poll() is None and _generation(index_dir) < start + commits:
        time.sleep(0.01)
    time.sleep(chance.uniform(0.0, 0.3))
    landed = ingest.poll() is None
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    return landed


def _kill_server(args, chance: random.Random, reports: Path, index_dir: Path, acknowledged: dict) -> bool:
    """Serve the index, PUT reports one after another, and kill the server 0-0.3 s after 1 to 6 acknowledged ones.

    `acknowledged` maps each id to the texts it may hold: the last acknowledged one, and one whose PUT
    was cut off by the kill (it may have committed just before, or not at all).
    """
    command = [*CLI, "serve", "--index-dir", str(index_dir), "--port", str(args.port)]
    server = subprocess.Popen(command, env={**os.environ, "REPORTQA_RATE_LIMIT_PER_MINUTE": "0"}, **_quiet())
    base = f"http://127.0.0.1:{args.port}"
    wait_ready(base)
    target, acked, killer = chance.randint(1, 6), 0, None
    with httpx.Client(base_url=base, timeout=30) as client:
        while True:
            if acked >= target and killer is None:
                killer = threading.Timer(chance.uniform(0.0, 0.3), server.send_signal, (signal.SIGKILL,))
                killer.start()
            document_id, text = f"put-{chance.randint(0, 40)}", _report_text(chance)
            try:
                response = client.put(f"/v1/documents/{document_id}", json={"title": document_id, "text": text})
            except httpx.TransportError as error:
                # Refused: killed between two PUTs. Cut off: killed during this one, which may have committed.
                landed = not isinstance(error, httpx.ConnectError)
                if landed:  # it held its last acknowledged text, or nothing (None) if it was new
                    acknowledged.setdefault(document_id, {None}).add(text)
                break
            if response.status_code in (200, 201):
                acknowledged[document_id] = {text}
                acked += 1
    server.wait()
    return landed


def _generation(index_dir: Path) -> int:
    if not (index_dir / STORE_FILE).exists():
        return 0
    try:
        with sqlite3.connect(index_dir / STORE_FILE, timeout=5) as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'generation'").fetchone()
    except sqlite3.OperationalError:  # the ingest is still creating the tables
        return 0
    return int(row[0]) if row else 0


def _lost(index_dir: Path, acknowledged: dict[str, set[str | None]]) -> list[str]:
    """Acknowledged writes that are missing, or stored with a text they were never given."""
    if not acknowledged:
        return []
    with sqlite3.connect(index_dir / STORE_FILE) as db:
        stored = dict(db.execute("SELECT id, text FROM documents WHERE id LIKE 'put-%'"))
    return [f"acknowledged write of {key} lost" for key, texts in acknowledged.items() if stored.get(key) not in texts]


def _quiet() -> dict:
    return {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _write_report(path: Path, chance: random.Random) -> None:
    path.write_text(f"date 2024-0{chance.randint(1, 9)}-1{chance.randint(0, 9)} Desk\n\n" + _report_text(chance))


def _report_text(chance: random.Random) -> str:
    sentences = [" ".join(chance.choices(WORDS, k=chance.randint(6, 18))).capitalize() + "." for _ in range(40)]
    return " ".join(sentences)


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
