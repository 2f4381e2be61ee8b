"""The server-side index (PostgreSQL + Milvus) against the embedded one: same recall, same answers.

Indexes every paragraph of a SQuAD-format file into both, asks the same sampled questions of both
pipelines with the shipped reader, and prints recall@1/5 per retrieval mode for each index, the share of
questions whose top 5 passages agree (same texts in the same order), and, of those, the share whose
answers are identical. Point it at an empty database and Milvus (a Milvus Lite file is fine).

Usage:
    python benchmarks/server_parity.py ../shared/data/eval/squad-v1.1-dev.json --limit 2000 \
        --database-url postgresql://reportqa@127.0.0.1:5432/parity --milvus-uri /tmp/parity-milvus.db
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from embeddings.encoder import Encoder
from qa.evaluation.squad import load_squad
from qa.index.base import Index
from qa.index.embedded import EmbeddedIndex
from qa.index.server import ServerIndex
from qa.pipeline import Pipeline
from qa.readers import Question, default_readers

MODES = ("dense", "sparse", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD-format file")
    parser.add_argument("--limit", type=int, default=2000, help="questions asked, sampled with seed 0 (default 2000)")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--milvus-uri", required=True)
    args = parser.parse_args()

    documents, questions = load_squad(args.file)
    questions = random.Random(0).sample(questions, min(args.limit, len(questions)))
    encoder, readers = Encoder(), default_readers()
    with tempfile.TemporaryDirectory(prefix="reportqa-parity-") as scratch:
        indexes: dict[str, Index] = {
            "embedded": EmbeddedIndex(Path(scratch), encoder),
            "server": ServerIndex(args.database_url, args.milvus_uri, encoder),
        }
        report: dict[str, object] = {"questions": len(questions)}
        for name, index in indexes.items():
            started = time.perf_counter()
            for first in range(0, len(documents), 64):
                index.add_documents(documents[first : first + 64])
            report[f"{name}_ingest_s"] = round(time.perf_counter() - started, 1)
        vectors = encoder.encode([q.question for q in questions])
        runs = {name: _run(Pipeline(index, encoder, readers), questions, vectors) for name, index in indexes.items()}
    for name, run in runs.items():
        report[name] = {mode: run[mode] for mode in MODES} | {"retrieve_p50_ms": run["retrieve_p50_ms"]}
    agree = [i for i, (a, b) in enumerate(zip(runs["embedded"]["top5"], runs["server"]["top5"], strict=True)) if a == b]
    same_answers = sum(runs["embedded"]["answers"][i] == runs["server"]["answers"][i] for i in agree)
    report["top5_agree"] = round(len(agree) / len(questions), 4)
    report["answers_identical_where_top5_agrees"] = round(same_answers / max(1, len(agree)), 4)
    print(json.dumps(report, indent=2))


def _run(pipeline: Pipeline, questions: list, vectors) -> dict:
    run: dict = {"top5": [], "answers": []}
    timings = []
    for mode in MODES:
        ranks = []
        for question, vector in zip(questions, vectors, strict=True):
            started = time.perf_counter()
            hits = pipeline.retrieve(Question(question.question, vector), 5, mode=mode)
            timings.append(time.perf_counter() - started)
            ranks.append(next((h.rank for h in hits if _covers(h.passage, question)), None))
            if mode == "hybrid":
                run["top5"].append([h.passage.text for h in hits])
        run[mode] = {f"recall@{k}": round(sum(r is not None and r <= k for r in ranks) / len(ranks), 4) for k in (1, 5)}
    run["retrieve_p50_ms"] = round(1000 * sorted(timings)[len(timings) // 2], 1)
    for question in questions:
        result = pipeline.ask(question.question, top_k=5, max_answers=1)
        run["answers"].append([(a.text, round(a.score, 4)) for a in result.answers])
    return run


def _covers(passage, question) -> bool:
    return passage.document_id == question.document_id and any(
        passage.start <= start and end <= passage.end for start, end, _ in question.answers
    )


if __name__ == "__main__":
    main()
