"""Load test on loopback: concurrent askers for a fixed time while a writer adds documents.

Serves a copy of an index (so the writer's documents do not stay), then runs `--clients` asyncio
clients that ask sampled questions, and one writer that adds a report every `--write-every`
seconds. Bounded in time; stops by itself. Prints throughput, latency percentiles, failures, and
the server's resident memory over the run. `--warmup` first runs the same load unmeasured, so that
memory is read in steady state; failures in the warm-up still fail the run.

Usage:
    reportqa eval ../shared/data/eval/squad-v1.1-dev.json --keep-index /tmp/squad-index
    python benchmarks/load_test.py --index-dir /tmp/squad-index \
        --questions ../shared/data/eval/squad-v1.1-dev.json --clients 32 --duration 60 --warmup 60
"""

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from served import serving_a_copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True, help="index to serve (copied, never changed)")
    parser.add_argument("--questions", type=Path, required=True, help="SQuAD-format file: questions and texts")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--write-every", type=float, default=2.0, help="seconds between writes (default 2)")
    parser.add_argument(
        "--warmup", type=float, default=0.0, help="seconds of the same load before measuring, not counted (default 0)"
    )
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()

    data = json.loads(args.questions.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"]]
    with serving_a_copy(args.index_dir, args.port) as pid:
        figures = asyncio.run(_run(args, pid, questions, paragraphs))
    print(json.dumps(figures, indent=2))
    phases = [figures] + ([figures["warmup"]] if figures["warmup"] else [])
    return 0 if all(p["asks"]["failed"] == 0 and p["writes"]["failed"] == 0 for p in phases) else 1


async def _run(args: argparse.Namespace, pid: int, questions: list[str], paragraphs: list[dict]) -> dict:
    base = f"http://127.0.0.1:{args.port}"
    limits = httpx.Limits(max_connections=args.clients + 2)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for question in questions[:10]:  # warm-up, not measured
            await client.post("/v1/ask", json={"question": question})
        warmup = await _phase(args, client, pid, questions, paragraphs, args.warmup) if args.warmup > 0 else None
        measured = await _phase(args, client, pid, questions, paragraphs, args.duration)
    # Failures during the warm-up count too: the run passes only if none failed at all.
    return {**measured, "warmup": warmup and {k: warmup[k] for k in ("seconds", "asks", "writes", "server_rss_mib")}}


# Over 60 lines: the askers, the writer and the sampler share the phase's deadline and tallies as closures.
async def _phase(
    args, client: httpx.AsyncClient, pid: int, questions: list[str], paragraphs: list[dict], duration: float
) -> dict:
    """Askers, one writer and a memory sampler for `duration` seconds; the figures of that span."""
    rss_samples: list[tuple[float, int]] = []
    latencies: list[float] = []
    failures: list[str] = []
    writes = {"done": 0, "failed": 0}
    started, server_cpu = time.monotonic(), _cpu_seconds(pid)
    deadline = started + duration

    async def asker(seed: int) -> None:
        chance = random.Random(seed)
        while time.monotonic() < deadline:
            sent = time.perf_counter()
            try:
                response = await client.post("/v1/ask", json={"question": chance.choice(questions)})
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as error:
                failures.append(repr(error))
            latencies.append((time.perf_counter() - sent) * 1000)

    async def writer() -> None:
        chance = random.Random(-1)
        while time.monotonic() < deadline:
            paragraph = chance.choice(paragraphs)
            body = {"title": "load test", "source": "load-test", "text": paragraph["context"]}
            response = await client.post("/v1/documents", json=body)
            writes["done" if response.status_code == 201 else "failed"] += 1
            await asyncio.sleep(max(0.0, min(args.write_every, deadline - time.monotonic())))

    async def sampler() -> None:
        while time.monotonic() < deadline:
            rss_samples.append((time.monotonic() - started, _rss_mib(pid)))
            await asyncio.sleep(2)

    await asyncio.gather(*(asker(seed) for seed in range(args.clients)), writer(), sampler())
    elapsed = time.monotonic() - started
    server_cpu = _cpu_seconds(pid) - server_cpu
    half = len(rss_samples) // 2
    return {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "asks": {
            "requests": len(latencies),
            "failed": len(failures),
            "first_failures": failures[:3],
            "per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        },
        "writes": writes,
        # 100% is one core busy: how much of the machine the server used, and so what more clients could add.
        "server_cpu_percent": round(100 * server_cpu / elapsed),
        "server_rss_mib": {
            "first": rss_samples[0][1],
            "mean_first_half": round(float(np.mean([r for _, r in rss_samples[:half]])), 1),
            "mean_second_half": round(float(np.mean([r for _, r in rss_samples[half:]])), 1),
            "last": rss_samples[-1][1],
            "max": max(r for _, r in rss_samples),
        },
    }


def _cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


if __name__ == "__main__":
    sys.exit(main())
