"""The `reportqa` command: ingest, ask, serve, eval, documents, delete."""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import get_args

from pydantic import ValidationError

from api.settings import Settings
from qa.models import Precision, shown, valid_unicode

WORKER_HEALTHCHECK_S = 60


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings()
    except ValidationError as error:
        # A bad REPORTQA_* variable: name it and say what it accepts, without a traceback.
        for problem in error.errors():
            name = "REPORTQA_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"reportqa: {name}={problem['input']!r}: {problem['msg']}", file=sys.stderr)
        return 2
    parser = _parser(settings)
    args = parser.parse_args(argv)
    try:
        return args.run(args, settings)
    except (ValueError, FileNotFoundError) as error:
        print(f"reportqa: {error}", file=sys.stderr)
        return 2


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reportqa", description="Extractive question answering over reports.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run, help: str, index_dir: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        if index_dir:
            sub.add_argument("--index-dir", type=Path, default=settings.index_dir,
                             help=f"index folder (default {settings.index_dir}; env REPORTQA_INDEX_DIR)")  # fmt: skip
        return sub

    ingest = command("ingest", _ingest, "Add reports: .txt .md .html .pdf files, folders (recursively), .jsonl.")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument(
        "--source", type=_text, help="source metadata for these reports (default: each file's folder name)"
    )

    ask = command("ask", _ask, "Answer a question from the indexed reports, with citations.")
    ask.add_argument("question", type=_text)
    ask.add_argument("--top-k", type=int, default=5, help="passages to read, 1 to 50 (default 5)")
    ask.add_argument("--max-answers", type=int, default=3, help="answers at most, 1 to 20 (default 3)")
    ask.add_argument("--reader", type=_text, help="reader name (default: the service's default reader)")
    ask.add_argument("--date-from", type=_date, help="only reports dated on or after YYYY-MM-DD")
    ask.add_argument("--date-to", type=_date, help="only reports dated on or before YYYY-MM-DD")
    ask.add_argument(
        "--source", action="append", type=_text, default=[], help="only reports from this source (repeatable)"
    )
    ask.add_argument("--document", action="append", type=_text, default=[], help="only this document id (repeatable)")
    ask.add_argument("--json", action="store_true", help="print the result as JSON")

    serve = command("serve", _serve, "Serve the HTTP API (OpenAPI docs at /docs).")
    serve.add_argument("--host", default=settings.host, help=f"bind address (default {settings.host})")
    serve.add_argument("--port", type=int, default=settings.port, help=f"port (default {settings.port})")
    serve.add_argument("--workers", type=int, default=1, help="server processes sharing the index (default 1)")

    evaluate = command("eval", _eval, "Evaluate open-book on a SQuAD v1.1-format file in a fresh temporary index.",
                       index_dir=False)  # fmt: skip
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--limit", type=int, help="ask only this many questions, sampled with --seed")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--top-k", type=int, default=5, help="passages read per question (default 5)")
    evaluate.add_argument("--reader", type=_text, help="reader name (default: the default reader)")
    evaluate.add_argument("--keep-index", type=Path, help="build the index here and keep it (a later run reuses it)")
    evaluate.add_argument("--compare-encode", action="store_true", help="also time bare encode on the passages")
    evaluate.add_argument("--out", type=Path, help="also write the report as JSON here")
    evaluate.add_argument("--answers-only", action="store_true", help="skip the retrieval recall figures")
    evaluate.add_argument("--precision", choices=get_args(Precision),
                          default=settings.reader_precision,
                          help="span reader arithmetic (default auto; env REPORTQA_READER_PRECISION)")  # fmt: skip
    evaluate.add_argument("--paragraph", action="store_true",
                          help="read each question against its own paragraph only, with the span reader")  # fmt: skip

    keys = commands.add_parser("keys", help="Create, list and revoke API keys.", description="Manage API keys.")
    keys.add_argument("--file", type=Path, default=settings.api_keys,
                      help="keys file (default: REPORTQA_API_KEYS)")  # fmt: skip
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="make a key; it is printed once and stored only hashed")
    create.add_argument("name", type=_text)
    create.add_argument("--scope", choices=("read", "write"), default="read", help="read (default) or write")
    create.set_defaults(run=_keys_create)
    key_commands.add_parser("list", help="list keys (names, scopes, prefixes)").set_defaults(run=_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name", type=_text)
    revoke.set_defaults(run=_keys_revoke)

    train = command("train-reader", _train_reader, "Train the span reader; rerun with the same --out to resume.",
                    index_dir=False)  # fmt: skip
    train.add_argument("--data", type=Path, nargs="+", required=True, help="SQuAD-format .json files or folders")
    train.add_argument("--out", type=Path, required=True, help="folder for checkpoints and the final model/")
    train.add_argument("--epochs", type=int, default=1, help="passes over the data (default 1)")
    train.add_argument("--batch-size", type=int, default=32, help="windows per step (default 32)")
    train.add_argument("--learning-rate", type=float, default=1e-4, help="peak learning rate (default 1e-4)")
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--questions", action="append", default=[], metavar="FILE=N",
                       help="sample N questions from the data file named FILE (e.g. qamr.json=3000), in place of "
                            "the 10,000 every file gets at most; repeatable")  # fmt: skip
    train.add_argument("--init", type=Path, help="continue from this trained reader's folder (default: MiniLM)")
    train.add_argument("--time-budget", type=float, help="stop after this many minutes, resumable (default: none)")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (default) or cuda")

    calibrate = command("calibrate-reader", _calibrate_reader,
                        "Fit the span reader's scores and no-answer threshold on held-out articles.",
                        index_dir=False)  # fmt: skip
    calibrate.add_argument("--data", type=Path, nargs="+", required=True,
                           help="the files it was trained on (see --all-articles)")  # fmt: skip
    calibrate.add_argument("--model", type=Path, required=True, help="the model folder (gets calibration.json)")
    calibrate.add_argument("--limit", type=int, default=3000, help="held-out questions to read (default 3,000)")
    calibrate.add_argument("--all-articles", action="store_true",
                           help="--data holds questions about your own reports that the model never trained on: "
                                "read every article, not the held-out 8%%")  # fmt: skip

    export = command("export-reader", _export_reader,
                     "Write a span reader's int8 ONNX encoder, the fast path on CPUs without bfloat16.",
                     index_dir=False)  # fmt: skip
    export.add_argument("--model", type=Path, required=True, help="the model folder (gets encoder.int8.onnx)")

    command("reindex", _reindex, "Rebuild the vectors and BM25 from the store (repairs missing or corrupt vectors).")
    command("documents", _documents, "List the indexed reports.")
    delete = command("delete", _delete, "Delete a report with its passages and vectors.")
    delete.add_argument("document_id", type=_text)
    return parser


def _date(value: str) -> str:
    from qa.loaders import parse_date

    try:
        return parse_date(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _text(value: str) -> str:
    # Bytes that are not UTF-8 (a terminal in another encoding) reach Python as lone surrogates.
    try:
        return valid_unicode(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not valid UTF-8; set the terminal to UTF-8") from None


def _pipeline(args: argparse.Namespace, settings: Settings, repair: bool = False):
    from api.main import build_pipeline

    return build_pipeline(settings.model_copy(update={"index_dir": args.index_dir}), repair=repair)


def _key_file(args: argparse.Namespace):
    from qa.keys import KeyFile

    if args.file is None:
        raise ValueError("no keys file: pass --file PATH or set REPORTQA_API_KEYS")
    return KeyFile(args.file)


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    secret = _key_file(args).create(args.name, args.scope)
    print(secret)
    print(f"created {args.scope} key {args.name!r}; it is shown only now, store it safely", file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    for key in _key_file(args).entries():
        print(f"{key.name}\t{key.scope}\t{key.prefix}…\t{key.created}")
    return 0


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    _key_file(args).revoke(args.name)
    print(f"revoked {args.name!r}")
    return 0


def _missing_index(index_dir: Path) -> bool:
    """Say so when `index_dir` holds no index: opening it would create an empty one and hide a mistyped path."""
    from qa.pipeline import STORE_FILE

    if (index_dir / STORE_FILE).exists():
        return False
    message = f"{shown(index_dir)} holds no index; ingest reports with `reportqa ingest PATH`"
    print(f"reportqa: {message}", file=sys.stderr)
    return True


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    if _missing_index(args.index_dir):
        return 1
    pipeline = _pipeline(args, settings, repair=True)
    print(f"rebuilt {len(pipeline.vectors)} vectors from {pipeline.store.count_passages()} stored passages")
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from qa.ingest import ingest_paths

    report = ingest_paths(_pipeline(args, settings), args.paths, source=args.source)
    print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.skipped)} "
        f"documents; {report.passages} passages written to {shown(args.index_dir)}"
    )
    for failure in report.failures:
        print(f"could not ingest {failure.path}: {failure.reason}", file=sys.stderr)
    return 1 if report.failures else 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.models import Filters
    from qa.pipeline import EmptyIndexError

    if _missing_index(args.index_dir):
        return 1
    filters = Filters(args.date_from, args.date_to, tuple(args.source), tuple(args.document))
    try:
        result = _pipeline(args, settings).ask(args.question, args.top_k, args.max_answers, args.reader, filters)
    except EmptyIndexError as error:
        print(f"reportqa: {error}", file=sys.stderr)
        return 1
    if args.json:
        answers = [{"text": a.text, "score": a.score, "citation": vars(a.citation)} for a in result.answers]
        print(json.dumps({"question": result.question, "answers": answers, "no_answer": result.no_answer}, indent=2))
        return 0
    if result.no_answer:
        print("No answer found in the indexed reports.")
    for number, answer in enumerate(result.answers, start=1):
        cite = answer.citation
        print(f"{number}. {answer.text}  (score {answer.score:.2f})")
        where = f"{cite.document_id} {cite.date or 'undated'}"
        print(f"   {cite.title or cite.document_id} [{where}] characters {cite.start}-{cite.end}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.main import create_app
    from api.observability import log_config

    served = settings.model_copy(update={"index_dir": args.index_dir, "host": args.host, "port": args.port})
    # Open the index before serving, so a missing or corrupt file is a one-line error, not a traceback.
    pipeline = _pipeline(args, settings)
    # Built even for several workers: a bad setting, such as a damaged keys file, is a one-line error here.
    app = create_app(served, pipeline=pipeline)
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_config=log_config())
        return 0
    # Several processes: each worker opens the index itself (settings reach it through the environment);
    # they share it through the write lock and the store's generation number.
    pipeline.store.close()
    del app, pipeline
    os.environ.update({"REPORTQA_INDEX_DIR": str(args.index_dir), "REPORTQA_HOST": args.host})
    # A worker loading its models on a busy machine can take longer than uvicorn's 5 s to answer
    # the parent's health check, which would then kill and restart it, again and again.
    uvicorn.run(
        "api.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        log_config=log_config(), timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )  # fmt: skip
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from embeddings.encoder import Encoder
    from qa.evaluation import evaluate, evaluate_paragraphs

    if args.paragraph:
        report = evaluate_paragraphs(
            args.file, settings.reader_model_path, limit=args.limit, seed=args.seed, precision=args.precision
        )
    else:
        report = evaluate(
            args.file, encoder=Encoder(settings.model_path), limit=args.limit, top_k=args.top_k, reader=args.reader,
            index_dir=args.keep_index, compare_encode=args.compare_encode, seed=args.seed,
            retrieval=not args.answers_only, model_dir=settings.reader_model_path, precision=args.precision,
        )  # fmt: skip
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


def _data_files(paths: list[Path]) -> list[Path]:
    files = sorted(f for path in paths for f in (path.glob("*.json") if path.is_dir() else [path]))
    if not files:
        raise ValueError(f"no .json files in {' '.join(map(str, paths))}")
    return files


def _calibrate_reader(args: argparse.Namespace, settings: Settings) -> int:
    from embeddings.encoder import Encoder
    from qa.training.calibrate import calibrate_reader

    files, encoder = _data_files(args.data), Encoder(settings.model_path)
    report = calibrate_reader(args.model, files, encoder, limit=args.limit, all_articles=args.all_articles)
    print(json.dumps(report, indent=2))
    return 0


def _export_reader(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from qa.training.export import export_int8_encoder
    except ImportError as error:
        raise ValueError(f"{error}: install the exporter with `pip install 'reportqa[export]'`") from None
    print(f"wrote {shown(export_int8_encoder(args.model))}")
    return 0


def _train_reader(args: argparse.Namespace, settings: Settings) -> int:
    from qa.training.trainer import TrainingConfig, train_reader

    files = _data_files(args.data)
    questions_per_file = _questions_per_file(args.questions)
    config = TrainingConfig(
        data=[str(f.resolve()) for f in files], epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, seed=args.seed, init=str(args.init.resolve()) if args.init else None,
        questions_per_file=questions_per_file,
    )  # fmt: skip
    budget = args.time_budget * 60 if args.time_budget else None
    finished = train_reader(config, args.out, time_budget_s=budget, device=args.device)
    if finished:
        print(f"model written to {shown(args.out / 'model')}")
    return 0 if finished else 3


def _questions_per_file(values: list[str]) -> dict[str, int]:
    """`--questions FILE=N` values as a cap per data file name (training checks the names)."""
    caps = {}
    for value in values:
        name, _, count = value.partition("=")
        if not name or not count.isdigit() or int(count) < 1:
            raise ValueError(f"--questions {value!r}: expected FILE=N, N a positive whole number")
        caps[name] = int(count)
    return caps


def _documents(args: argparse.Namespace, settings: Settings) -> int:
    from qa.pipeline import STORE_FILE
    from qa.store import DocumentStore

    if _missing_index(args.index_dir):
        return 1
    store = DocumentStore(args.index_dir / STORE_FILE)
    for info in store.list_documents(0, store.count_documents()):
        print(f"{info.id}\t{info.date or '-'}\t{info.source}\t{info.passages} passages\t{info.title}")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from qa.pipeline import UnknownDocumentError

    if _missing_index(args.index_dir):
        return 1
    try:
        _pipeline(args, settings).delete_document(args.document_id)
    except UnknownDocumentError:
        print(f"reportqa: no document has id {args.document_id!r}", file=sys.stderr)
        return 1
    print(f"deleted {args.document_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
