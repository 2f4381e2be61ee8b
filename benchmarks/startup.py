"""Seconds from launching `reportqa serve` on the sample corpus until it answers its first question.

Usage:
    python benchmarks/startup.py --rounds 5
    python benchmarks/startup.py --rounds 5 --env REPORTQA_READER_PRECISION=int8 --env REPORTQA_READER_PRECISION=float32

Each `--env` setting is one variant; with several, the variants take turns round by round.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from served import free_port, running_server

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
QUESTION = {"question": "Who met Vucic in Belgrade?"}


def seconds_to_first_answer(index_dir: Path, env: dict[str, str], timeout_s: float = 120) -> tuple[float, float]:
    """Start a server on `index_dir`; return seconds until /healthz answers and until /v1/ask answers 200."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    healthy: float | None = None
    with running_server(index_dir, port, env):
        while time.monotonic() - started < timeout_s:
            try:
                if healthy is None and httpx.get(f"{base}/healthz").status_code == 200:
                    healthy = time.monotonic() - started
                if httpx.post(f"{base}/v1/ask", json=QUESTION, timeout=60).status_code == 200:
                    answered = time.monotonic() - started
                    return healthy if healthy is not None else answered, answered
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"no answer within {timeout_s} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="starts per variant (default 5)")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE settings of one variant (repeat for more variants)"
    )
    args = parser.parse_args()
    variants = [dict([setting.split("=", 1)]) for setting in args.env] or [{}]
    with tempfile.TemporaryDirectory(prefix="reportqa-startup-") as scratch:
        index_dir = Path(scratch) / "index"
        subprocess.run(
            [sys.executable, "-m", "qa.cli", "ingest", str(CORPUS), "--index-dir", str(index_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times: list[list[tuple[float, float]]] = [[] for _ in variants]
        for _ in range(args.rounds):
            for position, env in enumerate(variants):
                times[position].append(seconds_to_first_answer(index_dir, env))
    for env, measured in zip(variants, times, strict=True):
        healthy = statistics.median(h for h, _ in measured)
        answered = statistics.median(a for _, a in measured)
        name = env or "defaults"
        print(f"{name}: /healthz {healthy:.2f} s, first answer {answered:.2f} s (median of {len(measured)})")


if __name__ == "__main__":
    main()
