"""Asks while large reports are written: no ask fails, asks stay quick, citations stay exact, memory bounded.

Serves a copy of an index on loopback and first measures ask latency with nobody writing (the idle
phase). Then the same askers run while a writer PUTs reports built from the questions file's
paragraphs: one report after another of `--report-chars MIN MAX` characters for `--duration` seconds,
or a single report of `--single-report-chars` characters, the phase lasting until it is stored. Every
fifth answer's citation is checked with POST /v1/citations/verify. Prints the figures of both phases
and the server's peak resident memory (VmHWM); exits 1 when an ask or a write failed or a citation
did not verify. Bounded in time; stops by itself.

Usage:
    reportqa eval ../shared/data/eval/squad-v1.1-dev.json --keep-index /tmp/squad-index
    python benchmarks/write_while_asking.py --index-dir /tmp/squad-index \
        --questions ../shared/data/eval/squad-v1.1-dev.json --clients 16 --duration 60
    python benchmarks/write_while_asking.py --index-dir /tmp/squad-index \
        --questions ../shared/data/eval/squad-v1.1-dev.json --clients 4 --single-report-chars 5000000
"""

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from served import serving_a_copy


@dataclass
class Tally:
    """What one phase saw."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    citations: dict[str, int] = field(default_factory=lambda: {"checked": 0, "wrong": 0})
    writes: list[dict] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True, help="index to serve (copied, never changed)")
    parser.add_argument("--questions", type=Path, required=True, help="SQuAD-format file: questions and texts")
    parser.add_argument("--clients", type=int, default=16, help="concurrent askers (default 16)")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of asking alone first (default 20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of asking while writing (default 60)")
    parser.add_argument("--report-chars", type=int, nargs=2, default=(25_000, 200_000), metavar=("MIN", "MAX"))
    parser.add_argument("--single-report-chars", type=int, help="write one report this long instead")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a write may take (default 1,800)")
    parser.add_argument("--port", type=int, default=8768)
    args = parser.parse_args()

    data = json.loads(args.questions.read_text(encoding="utf-8"))["data"]
    paragraphs = [p["context"] for article in data for p in article["paragraphs"]]
    questions = [qa["question"] for article in data for p in article["paragraphs"] for qa in p["qas"]]
    with serving_a_copy(args.index_dir, args.port) as pid:
        figures = asyncio.run(_run(args, pid, questions, paragraphs))
    print(json.dumps(figures, indent=2))
    phases = (figures["idle"], figures["writing"])
    clean = all(p["asks"]["failed"] == 0 and p["citations"]["wrong"] == 0 for p in phases)
    return 0 if clean and figures["writing"]["writes"]["failed"] == 0 else 1


async def _run(args: argparse.Namespace, pid: int, questions: list[str], paragraphs: list[str]) -> dict:
    limits = httpx.Limits(max_connections=args.clients + 4)
    timeout = httpx.Timeout(args.timeout)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}", timeout=timeout, limits=limits) as client:
        for question in questions[:10]:  # warm-up, not measured
            await client.post("/v1/ask", json={"question": question})
        idle = Tally()
        await _ask_until(client, questions, idle, args.clients, time.monotonic() + args.idle)
        writing, started = Tally(), time.monotonic()
        done = asyncio.Event()
        writer = asyncio.create_task(_write(args, client, paragraphs, writing, done))
        await _ask_until(client, questions, writing, args.clients, None, done)
        await writer
        return {
            "clients": args.clients,
            "idle": _figures(idle, args.idle),
            "writing": _figures(writing, time.monotonic() - started),
            "server_peak_rss_mib": _status_mib(pid, "VmHWM"),
        }


async def _ask_until(
    client: httpx.AsyncClient,
    questions: list[str],
    tally: Tally,
    clients: int,
    deadline: float | None,
    done: asyncio.Event | None = None,
) -> None:
    """`clients` askers until `deadline` passes or `done` is set."""

    def going() -> bool:
        return (deadline is None or time.monotonic() < deadline) and (done is None or not done.is_set())

    async def asker(seed: int) -> None:
        chance = random.Random(seed)
        while going():
            sent = time.perf_counter()
            try:
                response = await client.post("/v1/ask", json={"question": chance.choice(questions)})
                tally.latencies_ms.append((time.perf_counter() - sent) * 1000)
                if response.status_code != 200:
                    tally.failures.append(f"{response.status_code}: {response.text[:200]}")
                elif response.json()["answers"] and len(tally.latencies_ms) % 5 == 0:
                    await _verify(client, response.json()["answers"][0], tally)
            except httpx.HTTPError as error:
                tally.failures.append(repr(error))

    await asyncio.gather(*(asker(seed) for seed in range(clients)))


async def _verify(client: httpx.AsyncClient, answer: dict, tally: Tally) -> None:
    cite = answer["citation"]
    body = {"document_id": cite["document_id"], "start": cite["start"], "end": cite["end"], "text": answer["text"]}
    response = await client.post("/v1/citations/verify", json=body)
    tally.citations["checked"] += 1
    # A document replaced since the answer was read no longer holds it: that is not a wrong citation.
    if response.status_code == 200 and not response.json()["verified"] and cite["document_id"].startswith("load-"):
        return
    if response.status_code != 200 or not response.json()["verified"]:
        tally.citations["wrong"] += 1


async def _write(args: argparse.Namespace, client: httpx.AsyncClient, paragraphs: list, tally: Tally, done) -> None:
    chance = random.Random(-1)
    deadline = time.monotonic() + args.duration
    number = 0
    while args.single_report_chars or time.monotonic() < deadline:
        size = args.single_report_chars or chance.randint(*args.report_chars)
        text = _report(paragraphs, size, chance)
        sent = time.perf_counter()
        try:
            response = await client.put(f"/v1/documents/load-{number}", json={"title": f"Load {number}", "text": text})
            ok = response.status_code in (200, 201)
            passages = response.json().get("passages") if ok else response.text[:200]
        except httpx.HTTPError as error:
            ok, passages = False, repr(error)
        seconds = round(time.perf_counter() - sent, 1)
        tally.writes.append({"chars": len(text), "seconds": seconds, "ok": ok, "passages": passages})
        number += 1
        if args.single_report_chars:
            break
    done.set()


def _report(paragraphs: list[str], size: int, chance: random.Random) -> str:
    """Paragraphs drawn at random, joined until the report holds `size` characters."""
    parts, length = [], 0
    while length < size:
        parts.append(chance.choice(paragraphs))
        length += len(parts[-1]) + 2
    return "\n\n".join(parts)[:size]


def _figures(tally: Tally, seconds: float) -> dict:
    latencies = tally.latencies_ms or [0.0]
    written = [w for w in tally.writes if w["ok"]]
    return {
        "seconds": round(seconds, 1),
        "asks": {
            "requests": len(tally.latencies_ms),
            "failed": len(tally.failures),
            "first_failures": tally.failures[:3],
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "max_ms": round(max(latencies), 1),
        },
        "citations": tally.citations,
        "writes": {
            "done": len(written),
            "failed": len(tally.writes) - len(written),
            "characters": sum(w["chars"] for w in written),
            "longest_s": max((w["seconds"] for w in written), default=0.0),
            "first_failures": [w["passages"] for w in tally.writes if not w["ok"]][:3],
        },
    }


def _status_mib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) // 1024
    return 0


if __name__ == "__main__":
    sys.exit(main())
