"""SIGKILL `reportqa ingest` writing to the server-side index (PostgreSQL + Milvus), and check both after every kill.

Each run is killed after a random number of committed reports (counted in PostgreSQL) and a random
fraction of a second more, so every kill lands mid-write. After each kill, PostgreSQL must hold no
half-ingested report (every report has passages that slice its text); opening the index must then
finish what the killed writer left: Milvus holds exactly one vector for each stored passage, and the
log of vector changes is empty. At the end, one more ingest must complete every report.

Milvus runs as `milvus-lite server` in its own process (as a Milvus cluster would), PostgreSQL wherever
`--database-url` points (an empty database).

Usage:
    python benchmarks/crash_test_server.py --kills 20 --reports 1500 \
        --database-url postgresql://reportqa@127.0.0.1:55432/crash
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from embeddings.encoder import Encoder
from qa.index.milvus_passages import MilvusPassages
from qa.index.postgres_store import PostgresStore
from qa.index.server import ServerIndex

WORDS = ["minister", "harbour", "report", "council", "river", "budget", "treaty", "talks", "wheat", "storm"]
CLI = [sys.executable, "-m", "qa.cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="how many times to kill it (default 20)")
    parser.add_argument(
        "--reports", type=int, default=1500, help="reports to ingest (default 1500: more than 20 kills get through)"
    )
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--milvus-port", type=int, default=19777)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    chance = random.Random(args.seed)
    encoder = Encoder()
    with tempfile.TemporaryDirectory(prefix="reportqa-crash-server-") as scratch:
        reports = Path(scratch) / "reports"
        reports.mkdir()
        for number in range(args.reports):
            text = ". ".join(" ".join(chance.choices(WORDS, k=12)) for _ in range(chance.randint(3, 40))) + "."
            (reports / f"report-{number:04d}.txt").write_text(text, encoding="utf-8")
        milvus = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", f"{scratch}/milvus"]
            + ["--host", "127.0.0.1", "--port", str(args.milvus_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        uri = f"http://127.0.0.1:{args.milvus_port}"
        env = {**os.environ, "REPORTQA_DATABASE_URL": args.database_url, "REPORTQA_MILVUS_URI": uri}
        try:
            deadline = time.monotonic() + 120
            while not _milvus_answers(uri, encoder.dimension):
                if time.monotonic() > deadline:
                    raise RuntimeError("milvus-lite server did not start")
                time.sleep(0.5)
            failures, mid_work = 0, 0
            for kill in range(args.kills):
                mid_work += _kill_ingest(args.database_url, env, reports, chance)
                problems = _check(args.database_url, uri, encoder)
                failures += bool(problems)
                print(f"kill {kill + 1}: {'; '.join(problems) or 'consistent'}", flush=True)
            subprocess.run([*CLI, "ingest", str(reports)], env=env, check=True, capture_output=True)
            store = PostgresStore(args.database_url)
            complete = store.count_documents() == args.reports
            store.close()
        finally:
            milvus.terminate()
            milvus.wait(timeout=60)
    print(f"{args.kills} kills, {mid_work} mid-write, {failures} inconsistent; complete after re-ingest: {complete}")
    return 0 if failures == 0 and complete else 1


def _milvus_answers(uri: str, dimension: int) -> bool:
    try:
        MilvusPassages(uri, dimension).close()
    except RuntimeError:
        return False
    return True


def _kill_ingest(database_url: str, env: dict, reports: Path, chance: random.Random) -> bool:
    """Start an ingest, kill it a random number of committed reports in; whether it was still writing."""
    store = PostgresStore(database_url)
    before = store.count_documents()
    target = before + chance.randint(1, 6)
    process = subprocess.Popen(
        [*CLI, "ingest", str(reports)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while process.poll() is None and store.count_documents() < target:
        time.sleep(0.05)
    time.sleep(chance.uniform(0, 0.5))
    still_writing = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    store.close()
    return still_writing


def _check(database_url: str, uri: str, encoder: Encoder) -> list[str]:
    problems = []
    store = PostgresStore(database_url)
    for info in store.list_documents(0, store.count_documents()):
        document = store.document(info.id)
        passages = [p for p in store.passages(store.passage_ids()) if p.document_id == info.id]
        if document is None or not passages or any(document.text[p.start : p.end] != p.text for p in passages):
            problems.append(f"{info.id} is half-written")
    store.close()
    index = ServerIndex(database_url, uri, encoder)  # opening finishes what the killed writer left
    index.close()
    store, vectors = PostgresStore(database_url), MilvusPassages(uri, encoder.dimension)
    if set(store.passage_ids()) != set(vectors.ids()):
        problems.append("Milvus's vectors differ from PostgreSQL's passages")
    with store.connection() as connection:
        pending = connection.execute("SELECT count(*) FROM vector_changes").fetchone()
    if pending and pending[0]:
        problems.append(f"{pending[0]} vector changes left in the log")
    store.close()
    vectors.close()
    return problems


if __name__ == "__main__":
    sys.exit(main())
