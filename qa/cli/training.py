"""Commands making the trained models: train-, average-, calibrate-, export-reader, train-retriever, export-embedder."""

import argparse
import json
from pathlib import Path

from qa.cli.arguments import Commands, add_command
from qa.models import shown
from qa.settings import Settings


def register(commands: Commands, settings: Settings) -> None:
    train = add_command(commands, "train-reader", _train, "Train the span reader; rerun with the same --out to resume.")
    train.add_argument("--data", type=Path, nargs="+", required=True, help="SQuAD-format .json files or folders")
    train.add_argument("--out", type=Path, required=True, help="folder for checkpoints and the final model/")
    train.add_argument("--epochs", type=int, default=1, help="passes over the data (default 1)")
    train.add_argument("--batch-size", type=int, default=32, help="windows per step (default 32)")
    train.add_argument("--learning-rate", type=float, default=1e-4, help="peak learning rate (default 1e-4)")
    train.add_argument("--seed", type=int, default=13)
    train.add_argument(
        "--questions",
        action="append",
        default=[],
        metavar="FILE=N",
        help="sample N questions from the data file named FILE (e.g. qamr.json=3000), in place of "
        "the 10,000 every file gets at most; repeatable",
    )
    train.add_argument("--init", type=Path, help="continue from this trained reader's folder (default: MiniLM)")
    train.add_argument("--time-budget", type=float, help="stop after this many minutes, resumable (default: none)")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (default) or cuda")

    summary = "Fit the span reader's scores and no-answer threshold on held-out articles."
    calibrate = add_command(commands, "calibrate-reader", _calibrate, summary)
    calibrate.add_argument(
        "--data", type=Path, nargs="+", required=True, help="the files it was trained on (see --all-articles)"
    )
    calibrate.add_argument("--model", type=Path, required=True, help="the model folder (gets calibration.json)")
    calibrate.add_argument("--limit", type=int, default=3000, help="held-out questions to read (default 3,000)")
    calibrate.add_argument(
        "--all-articles",
        action="store_true",
        help="--data holds questions about your own reports that the model never trained on: "
        "read every article, not the held-out 8%%",
    )
    calibrate.add_argument(
        "--precision",
        type=float,
        default=0.88,
        help="the threshold is the lowest score at which held-out answers are right this often (default 0.88)",
    )

    summary = "Average two span readers weight by weight (both continued from one model)."
    average = add_command(commands, "average-readers", _average, summary)
    average.add_argument("--model", type=Path, required=True, help="a reader folder; its recipe is kept")
    average.add_argument("--with", dest="other", type=Path, required=True, help="the reader averaged in")
    average.add_argument("--other-share", type=float, required=True, help="its weight, between 0 and 1")
    average.add_argument("--out", type=Path, required=True, help="the new reader's folder")

    _register_retriever(commands)

    summary = "Write a span reader's int8 ONNX encoder, the fast path on CPUs without bfloat16."
    export = add_command(commands, "export-reader", _export, summary)
    export.add_argument("--model", type=Path, required=True, help="the model folder (gets encoder.int8.onnx)")
    export.set_defaults(embedder=False)
    summary = "Write an embedding model's ONNX encoders: float32 (serves without torch) and int8."
    export = add_command(commands, "export-embedder", _export, summary)
    export.add_argument("--model", type=Path, required=True, help="the sentence-transformers folder to write them in")
    export.set_defaults(embedder=True)


def _register_retriever(commands: Commands) -> None:
    summary = "Fine-tune the embedder as a retriever (BM25 hard negatives); rerun with the same --out to resume."
    train = add_command(commands, "train-retriever", _train_retriever, summary)
    train.add_argument("--data", type=Path, nargs="+", required=True, help="SQuAD-format .json files or folders")
    train.add_argument("--out", type=Path, required=True, help="folder for checkpoints, report.json and model/")
    train.add_argument("--epochs", type=int, default=1, help="passes over the data (default 1)")
    train.add_argument("--batch-size", type=int, default=64, help="questions per step (default 64)")
    train.add_argument("--learning-rate", type=float, default=2e-5, help="peak learning rate (default 2e-5)")
    train.add_argument("--seed", type=int, default=13)
    train.add_argument(
        "--held-out-percent",
        type=float,
        default=5.0,
        help="percent of each file's articles kept out for validation (default 5; at least one article)",
    )
    train.add_argument(
        "--max-pairs",
        action="append",
        default=[],
        metavar="FILE=N",
        help="sample N training questions from the data file named FILE (e.g. qamr.json=3000); repeatable "
        "(default: every question whose answer lies inside a passage)",
    )
    train.add_argument("--time-budget", type=float, help="stop after this many minutes, resumable (default: none)")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (default) or cuda")
    train.add_argument(
        "--export-stopped",
        action="store_true",
        help="when --time-budget stops the run, write model/ and report.json as they stand too (still resumable)",
    )


def _train_retriever(args: argparse.Namespace, settings: Settings) -> int:
    import shlex
    import sys

    from qa.training.retriever import RetrieverConfig, train_retriever

    config = RetrieverConfig(
        data=[str(f.resolve()) for f in _data_files(args.data)],
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        held_out_percent=args.held_out_percent,
        pairs_per_file=_questions_per_file(args.max_pairs, "--max-pairs"),
        seed=args.seed,
    )
    budget = args.time_budget * 60 if args.time_budget else None
    command = shlex.join(["reportqa", *sys.argv[1:]])
    report = train_retriever(
        config, args.out, time_budget_s=budget, device=args.device, command=command, export_stopped=args.export_stopped
    )
    if report is None:
        return 3
    print(json.dumps({"base": report["base"], "trained": report["trained"]}, indent=2))
    print(f"model written to {shown(args.out / 'model')}")
    return 3 if "stopped_at_step" in report else 0


def _data_files(paths: list[Path]) -> list[Path]:
    files = sorted(f for path in paths for f in (path.glob("*.json") if path.is_dir() else [path]))
    if not files:
        raise ValueError(f"no .json files in {' '.join(map(str, paths))}")
    return files


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from qa.training.trainer import TrainingConfig, train_reader

    files = _data_files(args.data)
    config = TrainingConfig(
        data=[str(f.resolve()) for f in files],
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        init=str(args.init.resolve()) if args.init else None,
        questions_per_file=_questions_per_file(args.questions),
    )
    budget = args.time_budget * 60 if args.time_budget else None
    finished = train_reader(config, args.out, time_budget_s=budget, device=args.device)
    if finished:
        print(f"model written to {shown(args.out / 'model')}")
    return 0 if finished else 3


def _questions_per_file(values: list[str], option: str = "--questions") -> dict[str, int]:
    """`--questions FILE=N` values as a cap per data file name (training checks the names)."""
    caps = {}
    for value in values:
        name, _, count = value.partition("=")
        if not name or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{option} {value!r}: expected FILE=N, N a positive whole number")
        caps[name] = int(count)
    return caps


def _calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from qa.factory import load_encoder
    from qa.training.calibrate import calibrate_reader

    if not 0 < args.precision < 1:
        raise ValueError(f"--precision must lie between 0 and 1, got {args.precision}")
    files, encoder = _data_files(args.data), load_encoder(settings)
    report = calibrate_reader(
        args.model, files, encoder, limit=args.limit, all_articles=args.all_articles, precision=args.precision
    )
    print(json.dumps(report, indent=2))
    return 0


def _average(args: argparse.Namespace, settings: Settings) -> int:
    from qa.training.average import average_readers

    out = average_readers(args.model, args.other, args.other_share, args.out)
    print(f"wrote {shown(out)}: run export-reader and calibrate-reader on it")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from qa.training.export import export_embedder, export_int8_encoder
    except ImportError as error:
        raise ValueError(f"{error}: install the exporter with `pip install 'reportqa[export]'`") from None
    written = export_embedder(args.model) if args.embedder else [export_int8_encoder(args.model)]
    print(f"wrote {', '.join(shown(path) for path in written)}")
    return 0
