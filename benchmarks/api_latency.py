"""Latency of POST /v1/ask over real HTTP: serves an index with uvicorn on loopback and asks questions.

Usage:
    reportqa eval ../shared/data/eval/squad-v1.1-dev.json --keep-index /tmp/squad-index
    python benchmarks/api_latency.py --index-dir /tmp/squad-index \
        --questions ../shared/data/eval/squad-v1.1-dev.json --count 1000
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from served import wait_ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True, help="SQuAD-format file to take questions from")
    parser.add_argument("--count", type=int, default=1000, help="questions to ask (default 1000)")
    parser.add_argument("--reader", help="reader name (default: the service default, span)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = json.loads(args.questions.read_text(encoding="utf-8"))["data"]
    questions = [qa["question"] for article in data for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    questions = random.Random(args.seed).sample(questions, min(args.count, len(questions)))

    # The server runs in its own process, as deployed: the client's work does not count against it.
    # One client asks faster than the default rate limit allows: switch the limit off.
    env = {**os.environ, "REPORTQA_INDEX_DIR": str(args.index_dir), "REPORTQA_RATE_LIMIT_PER_MINUTE": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--port", str(args.port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            wait_ready(base)
            for question in questions[:20]:  # warm-up, not measured
                client.post("/v1/ask", json={"question": question, "reader": args.reader})
            latencies, failures = [], 0
            for question in questions:
                started = time.perf_counter()
                response = client.post("/v1/ask", json={"question": question, "reader": args.reader})
                latencies.append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = {
        "requests": len(latencies),
        "failures": failures,
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "requests_per_s": round(len(latencies) / (sum(latencies) / 1000), 1),
    }
    print(json.dumps(figures, indent=2))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
