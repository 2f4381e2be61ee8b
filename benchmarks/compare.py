"""reportqa beside a Haystack pipeline: the same embedder, reader and passages, measured in one run.

Each system runs in a process of its own for each round (`compare_worker.py`), so its memory is its
own, and rounds alternate the systems (reportqa, Haystack, reportqa, Haystack, ...), so a
machine that speeds up or slows down during the run affects them alike. Each run indexes the
paragraphs of a SQuAD-format file (each paragraph a document), asks the same sampled questions,
scores the top answer with the official SQuAD normalisation (`qa.evaluation.squad`; EM/F1 of the top
answer whatever its score, as `reportqa eval` scores), and records each question's latency, the
indexing rate in passages/s and the process's peak resident memory (VmHWM). The report gives each
system's median over rounds, and the median over rounds of each round's ratio to reportqa: a ratio
of 2.0 under "per question" means that system took twice reportqa's time per question.

What is held the same, and what is each system's own:

- Models: all load the same two local folders, offline (HF_HUB_OFFLINE=1):
  the shipped retriever (`embeddings/model`, a fine-tuned MiniLM) embeds passages and questions, and
  reportqa's shipped span reader (`qa/readers/model`) reads. reportqa reads with its own arithmetic
  (`--precision`, default "auto": bfloat16 autocast where the CPU has it, else the folder's int8
  ONNX encoder); Haystack reads in float32 (the folder's weights are float16, which transformers
  would otherwise keep on a CPU). `--precision float32` (or int8) fixes reportqa's arithmetic.
  reportqa stops after the top passage when its answer scores `--early-stop-score` (default the
  service's, 0.8; 1 reads every passage, as Haystack does).
- Passages: the same. Haystack gets the passages reportqa's index cuts (`PassageSplitter`:
  whole sentences, at most 200 MiniLM tokens, 48 tokens of overlap), split inside its timed
  indexing, rather than its own DocumentSplitter, so that retrieval and reading see the same texts
  and the comparison measures the frameworks, not the splitting. The report checks the counts agree.
- Retrieval: each system's own hybrid, `--top-k` passages (default 5) to the reader. reportqa: its
  normal Pipeline (flat FAISS + BM25 + best-sentence ranking, weighted RRF, in an index folder on
  disk). Haystack: InMemoryDocumentStore, SentenceTransformers document and text embedders,
  InMemoryEmbeddingRetriever and InMemoryBM25Retriever (50 candidates each, reportqa's depth),
  DocumentJoiner with reciprocal-rank fusion, then the TransformersExtractiveReader (256-token
  windows, 96-token stride, as the reader was trained; top answer, no "no answer").
- Threads: every process is limited to `--threads` (default 2): OpenMP, MKL, OpenBLAS and the Rust
  tokenizers' pools, `torch.set_num_threads`, and where the machine has more CPUs, its CPU affinity
  (which also bounds ONNX Runtime).
- Questions: `--questions` sampled with `--seed` from the indexed paragraphs, the same in every run;
  the first `--warmup` are asked once more beforehand, unmeasured. `--paragraphs N` indexes N
  paragraphs sampled with the seed (a quick run); questions are then drawn from those alone.

Not compared: txtai's Extractor (txtai 9.14 installs and loads both folders offline, but its
question-answering step takes the start and end token by separate argmax over the whole input and
raises TypeError when either lands on [CLS] or in the question, which this reader does when it
judges a passage holds no answer: 11 of 40 SQuAD dev questions in a probe; it also joins the top
passages into one 512-token text rather than reading each).

Needs the optional packages: `pip install '.[compare]'` (Haystack 3 with its sentence-transformers and
transformers integrations); installs nothing itself. `--systems reportqa` runs reportqa alone.

Usage:
    python benchmarks/compare.py ../shared/data/eval/squad-v1.1-dev.json --questions 300 --rounds 12 \
        --out /tmp/compare.json
    python benchmarks/compare.py ../shared/data/eval/squad-v1.1-dev.json --paragraphs 50 --questions 10 --rounds 2
"""

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from qa.evaluation.squad import load_squad  # noqa: E402

SYSTEMS = ("reportqa", "haystack")
# The modules each system needs beyond reportqa's own, and the package that brings them.
NEEDS = {
    "haystack": ["haystack", "haystack_integrations.components.readers.transformers"],
}
MEDIAN_OF = ("exact_match", "f1", "latency_p50_ms", "latency_p95_ms", "latency_mean_ms", "passages_per_s")
MEDIAN_OF += ("index_seconds", "peak_rss_mib", "final_rss_mib")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD v1.1-format JSON")
    parser.add_argument("--questions", type=int, default=300, help="questions sampled with --seed (default 300)")
    parser.add_argument("--paragraphs", type=int, default=None, help="index this many paragraphs (default all)")
    parser.add_argument("--rounds", type=int, default=12, help="rounds; each runs every system once (default 12)")
    parser.add_argument("--threads", type=int, default=2, help="CPUs and threads for each system (default 2)")
    parser.add_argument("--top-k", type=int, default=5, help="passages read per question (default 5)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated (default {','.join(SYSTEMS)})")
    parser.add_argument("--precision", default="auto", help="reportqa's reader: auto, bfloat16, int8 or float32")
    parser.add_argument(
        "--early-stop-score", type=float, default=0.8, help="reportqa's early stop; 1 reads every passage (default 0.8)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="questions asked unmeasured before each run (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the JSON report here (default: print it)")
    args = parser.parse_args()

    systems = [name.strip() for name in args.systems.split(",") if name.strip()]
    problem = _refusal(systems, args)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="reportqa-compare-") as scratch:
        work = Path(scratch) / "work.json"
        documents, questions = _sample(args)
        work.write_text(json.dumps({"documents": documents, "questions": questions}), encoding="utf-8")
        print(f"{len(documents)} paragraphs, {len(questions)} questions, {args.rounds} rounds of {systems}")
        runs: dict[str, list[dict]] = {name: [] for name in systems}
        for round_number in range(1, args.rounds + 1):
            for name in systems:
                run = _run(name, work, Path(scratch) / f"{name}-{round_number}.json", args)
                runs[name].append(run)
                print(
                    f"round {round_number}/{args.rounds} {name:9s} F1 {run['f1']:5.1f}"
                    f"  p50 {run['latency_p50_ms']:7.1f} ms  {run['passages_per_s']:7.1f} passages/s"
                    f"  peak {run['peak_rss_mib']:7.1f} MiB",
                    flush=True,
                )
    report = _report(args, systems, documents, questions, runs)
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"report: {args.out}")
    else:
        print(text)
    print(_table(report))
    return 0


def _refusal(systems: list[str], args: argparse.Namespace) -> str | None:
    """Why the run cannot start (an unknown system, a missing package, a bad number), or None."""
    unknown = [name for name in systems if name not in SYSTEMS]
    if unknown or not systems:
        return f"--systems: choose from {', '.join(SYSTEMS)}, not {unknown or args.systems!r}"
    for name in systems:
        for module in NEEDS.get(name, []):
            if not _importable(module):
                return f"{name} needs {module}: pip install '.[compare]' (or leave {name} out of --systems)"
    for option in ("questions", "rounds", "threads", "top_k"):
        if getattr(args, option) < 1:
            return f"--{option.replace('_', '-')} must be at least 1"
    if args.paragraphs is not None and args.paragraphs < 1:
        return "--paragraphs must be at least 1"
    return None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _sample(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """The paragraphs to index (all, or `--paragraphs` sampled, in file order) and the questions about them."""
    documents, questions = load_squad(args.file)
    chance = random.Random(args.seed)
    if args.paragraphs is not None and args.paragraphs < len(documents):
        kept = set(chance.sample(range(len(documents)), args.paragraphs))
        documents = [document for number, document in enumerate(documents) if number in kept]
        ids = {document.id for document in documents}
        questions = [question for question in questions if question.document_id in ids]
    if args.questions < len(questions):
        questions = chance.sample(questions, args.questions)
    return (
        [{"id": d.id, "title": d.title, "text": d.text} for d in documents],
        [{"id": q.id, "question": q.question, "answers": [text for _, _, text in q.answers]} for q in questions],
    )


def _run(name: str, work: Path, result: Path, args: argparse.Namespace) -> dict:
    """One system's run in its own process; its figures summarised."""
    command = [sys.executable, str(HERE / "compare_worker.py"), name, str(work), str(result)]
    command += ["--threads", str(args.threads), "--top-k", str(args.top_k), "--precision", args.precision]
    command += ["--warmup", str(args.warmup), "--early-stop-score", str(args.early_stop_score)]
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **offline, "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": path}
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"{name} failed (exit {finished.returncode}):\n{finished.stderr[-4000:]}")
    raw = json.loads(result.read_text(encoding="utf-8"))
    latencies = np.array(raw["latency_ms"])
    return {
        "exact_match": round(100 * float(np.mean(raw["exact_match"])), 2),
        "f1": round(100 * float(np.mean(raw["f1"])), 2),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "latency_mean_ms": round(float(np.mean(latencies)), 1),
        **{key: raw[key] for key in ("passages", "passages_per_s", "index_seconds", "load_seconds")},
        **{key: raw[key] for key in ("peak_rss_mib", "final_rss_mib", "cpus", "settings", "versions")},
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def _report(args, systems: list[str], documents: list, questions: list, runs: dict[str, list[dict]]) -> dict:
    summaries = {}
    for name in systems:
        rounds = runs[name]
        summaries[name] = {
            "median": {key: round(float(np.median([run[key] for run in rounds])), 2) for key in MEDIAN_OF},
            "passages": sorted({run["passages"] for run in rounds}),
            "settings": rounds[0]["settings"],
            "versions": rounds[0]["versions"],
            "cpus": rounds[0]["cpus"],
            "rounds": [{k: v for k, v in run.items() if k not in ("settings", "versions", "cpus")} for run in rounds],
        }
    ratios = {}
    if "reportqa" in systems:
        base = runs["reportqa"]
        for name in systems:
            if name == "reportqa":
                continue
            pairs = list(zip(base, runs[name], strict=True))
            ratios[name] = {
                # Above 1: the system took that many times reportqa's time per question.
                "per_question_mean": _median_ratio(pairs, "latency_mean_ms"),
                "per_question_p50": _median_ratio(pairs, "latency_p50_ms"),
                # Above 1: reportqa indexed that many times as many passages per second.
                "indexing": _median_ratio([(other, ours) for ours, other in pairs], "passages_per_s"),
            }
    counts = {name: summaries[name]["passages"] for name in systems}
    return {
        "file": str(args.file),
        "paragraphs": len(documents),
        "questions": len(questions),
        "rounds": args.rounds,
        "threads": args.threads,
        "top_k": args.top_k,
        "seed": args.seed,
        "warmup": args.warmup,
        "order": systems,
        "same_passages": len({tuple(c) for c in counts.values()}) == 1,
        "systems": summaries,
        "median_ratio_to_reportqa": ratios,
    }


def _median_ratio(pairs: list[tuple[dict, dict]], key: str) -> float:
    """Median over rounds of (second / first)."""
    return round(float(np.median([second[key] / first[key] for first, second in pairs])), 3)


def _table(report: dict) -> str:
    header = f"{'system':9s} {'EM':>6s} {'F1':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'passages/s':>11s} {'peak MiB':>9s}"
    header += f" {'x time/question':>16s}"
    lines = [header, "-" * len(header)]
    for name, summary in report["systems"].items():
        median = summary["median"]
        ratio = 1.0 if name == "reportqa" else report["median_ratio_to_reportqa"].get(name, {}).get("per_question_mean")
        lines.append(
            f"{name:9s} {median['exact_match']:6.1f} {median['f1']:6.1f} {median['latency_p50_ms']:8.1f} "
            f"{median['latency_p95_ms']:8.1f} {median['passages_per_s']:11.1f} {median['peak_rss_mib']:9.1f} "
            + (f"{ratio:16.2f}" if ratio is not None else f"{'-':>16s}")
        )
    lines.append(
        f"medians over {report['rounds']} rounds; {report['questions']} questions over {report['paragraphs']} "
        f"paragraphs, {report['threads']} threads each; 'x time/question': median of the rounds' ratios to reportqa"
    )
    if not report["same_passages"]:
        lines.append(
            "WARNING: the systems indexed different numbers of passages: "
            + json.dumps({name: s["passages"] for name, s in report["systems"].items()})
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
