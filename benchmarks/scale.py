"""Dense retrieval over a million passages on one box: FAISS flat, HNSW and IVF, and Milvus (Lite) HNSW or IVF.

Embedding a million passages takes this CPU days, so the collection is made from real ones: every
distinct paragraph of the SQuAD-format files is embedded once, and each vector is copied with a little
Gaussian noise (then made unit length again) until there are `--passages` distinct vectors with distinct
ids. The copies of one paragraph sit close together, so the 50 nearest are nearly tied: a hard case for a
graph (HNSW), and an easy one for IVF, whose cells follow the copies. More files give more distinct
paragraphs and fewer copies of each. Questions of the same files are the queries, asked one at a time at
top 50, as the service asks. For each engine it prints the build time, the resident memory it added
(Milvus Lite 3 runs in this process; a server's child process is counted too), retrieval p50/p99, and
recall@50 against exact search (FAISS flat).

Usage:
    python benchmarks/scale.py ../shared/data/eval/squad-v1.1-dev.json --passages 1000000 \
        --milvus-uri /tmp/scale-milvus.db
"""

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from qa.evaluation.squad import load_squad
from qa.index.milvus_passages import MilvusPassages, PassageRow

TOP = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+", help="SQuAD-format files: their distinct paragraphs")
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--noise", type=float, default=0.02, help="per-dimension noise of each copy (default 0.02)")
    parser.add_argument("--milvus-uri", help="also measure Milvus (a Milvus Lite file, or a server)")
    parser.add_argument("--milvus-kind", choices=["hnsw", "ivf"], default="ivf", help="its vector index (default ivf)")
    parser.add_argument(
        "--search-depths",
        type=int,
        nargs="+",
        default=[128],
        help="FAISS HNSW efSearch values, each measured on the one graph (default 128, the index's default)",
    )
    parser.add_argument(
        "--probes",
        type=int,
        nargs="+",
        default=[512],
        help="FAISS IVF cells scanned, each measured on the one index (default 512, the index's default)",
    )
    parser.add_argument(
        "--kinds", nargs="+", choices=["hnsw", "ivf"], default=["hnsw", "ivf"], help="approximate FAISS indexes"
    )
    args = parser.parse_args()

    texts: dict[str, None] = {}
    questions = []
    for file in args.files:
        documents, asked = load_squad(file)
        texts.update(dict.fromkeys(document.text for document in documents))
        questions += asked
    encoder = Encoder()
    base = encoder.encode(list(texts))
    vectors = _copies(base, args.passages, args.noise)
    queries = encoder.encode([q.question for q in random.Random(0).sample(questions, args.queries)])
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    report: dict = {"passages": len(vectors), "unique_paragraphs": len(base), "queries": len(queries)}

    exact: list[np.ndarray] = []
    for kind in ["flat", *args.kinds]:
        before, started = _rss_mib(os.getpid()), time.perf_counter()
        index = VectorIndex(encoder.dimension, kind=kind)
        for first in range(0, len(vectors), 100_000):
            index.add(ids[first : first + 100_000], vectors[first : first + 100_000])
        build_s, rss_mib = time.perf_counter() - started, _rss_mib(os.getpid()) - before
        for name, setting, value in _settings(kind, args.search_depths, args.probes):
            if setting:
                setattr(index, setting, value)
            found, timings = ask(index.search, queries)
            exact = exact or found
            report[name] = _figures(build_s, rss_mib, timings, found, exact)
            # Each engine's figures as soon as they are measured: a slow engine later does not lose them.
            print(json.dumps({name: report[name]}), flush=True)
        del index
    if args.milvus_uri:
        engine = _milvus(args.milvus_uri, args.milvus_kind, encoder.dimension, ids, vectors, queries, exact)
        report[f"milvus_{args.milvus_kind}"] = engine
    print(json.dumps(report, indent=2))


def _settings(kind: str, search_depths: list[int], probes: list[int]) -> list[tuple[str, str, int]]:
    """Each search setting to measure on one built index: its name in the report, the attribute, its value."""
    if kind == "hnsw":
        return [(f"faiss_hnsw_ef{depth}", "search_depth", depth) for depth in search_depths]
    if kind == "ivf":
        return [(f"faiss_ivf_probes{count}", "probes", count) for count in probes]
    return [("faiss_flat", "", 0)]


def _copies(base: np.ndarray, count: int, noise: float) -> np.ndarray:
    generator = np.random.default_rng(0)
    vectors = np.empty((count, base.shape[1]), np.float32)
    for first in range(0, count, 100_000):
        rows = base[np.arange(first, min(count, first + 100_000)) % len(base)]
        noisy = rows + generator.normal(0, noise, rows.shape).astype(np.float32)
        vectors[first : first + len(rows)] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return vectors


def _milvus(
    uri: str, kind: str, dimension: int, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, exact
) -> dict:
    started = time.perf_counter()
    passages = MilvusPassages(uri, dimension, name="scale_benchmark", kind=kind)
    before = _milvus_rss_mib()
    for first in range(0, len(vectors), 10_000):
        rows = [
            PassageRow(int(i), vector, ["passage"], "doc", "source", None)
            for i, vector in zip(ids[first : first + 10_000], vectors[first : first + 10_000], strict=True)
        ]
        passages.insert(rows)
    passages.count()  # waits for what was inserted to be searchable
    build_s = time.perf_counter() - started
    found, timings = ask(lambda query, k: passages.dense(query, k, None), queries)
    return _figures(build_s, _milvus_rss_mib() - before, timings, found, exact)


def ask(search, queries: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    """Each query's top ids by `search(query, k)`, asked one at a time, and the seconds each took."""
    found, timings = [], []
    for query in queries:
        started = time.perf_counter()
        found.append(search(query, TOP)[0])
        timings.append(time.perf_counter() - started)
    return found, timings


def recall_against(found: list[np.ndarray], exact: list[np.ndarray]) -> float:
    """The mean share of each query's exact nearest ids that `found` holds."""
    return float(np.mean([len(np.intersect1d(f, e)) / max(1, len(e)) for f, e in zip(found, exact, strict=True)]))


def _figures(build_s: float, rss_mib: float, timings: list[float], found: list, exact: list) -> dict:
    recall = recall_against(found, exact)
    milliseconds = 1000 * np.array(timings)
    return {
        "build_s": round(build_s, 1),
        "rss_added_mib": round(rss_mib),
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 2),
        "p99_ms": round(float(np.percentile(milliseconds, 99)), 2),
        f"recall@{TOP}_vs_exact": round(recall, 4),
    }


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _milvus_rss_mib() -> float:
    """The resident memory of this process and its children: Milvus Lite 3 runs its engine in the process."""
    total = _rss_mib(os.getpid())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"PPid:\t{os.getpid()}\n" in status:
                total += _rss_mib(int(entry.name))
    return total


if __name__ == "__main__":
    main()
