"""The `eval` command: open-book, or each question against its own paragraph, on a SQuAD-format file."""

import argparse
import json
from pathlib import Path
from typing import get_args

from embeddings.precision import Precision
from qa.cli.arguments import MAX_TOP_K, Commands, add_command, share, text, whole_number
from qa.cli.progress import loading
from qa.ingest.splitter import OVERLAP_TOKENS, PASSAGE_TOKENS
from qa.models import shown
from qa.settings import Settings


def register(commands: Commands, settings: Settings) -> None:
    summary = "Evaluate open-book on a SQuAD v1.1-format file in a fresh temporary index."
    evaluate = add_command(commands, "eval", _eval, summary)
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--limit", type=whole_number(1), help="ask only this many questions, sampled with --seed")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument(
        "--top-k",
        type=whole_number(1, MAX_TOP_K),
        default=5,
        help=f"passages read per question, 1 to {MAX_TOP_K} (default 5)",
    )
    evaluate.add_argument("--reader", type=text, help="reader name (default: the default reader)")
    evaluate.add_argument("--keep-index", type=Path, help="build the index here and keep it (a later run reuses it)")
    evaluate.add_argument("--compare-encode", action="store_true", help="also time bare encode on the passages")
    evaluate.add_argument("--out", type=Path, help="also write the report as JSON here")
    only = evaluate.add_mutually_exclusive_group()
    only.add_argument("--answers-only", action="store_true", help="skip the retrieval recall figures")
    only.add_argument("--retrieval-only", action="store_true", help="skip asking: ingestion and recall figures only")
    evaluate.add_argument(
        "--precision",
        choices=get_args(Precision),
        default=settings.reader_precision,
        help="span reader arithmetic (default auto; env REPORTQA_READER_PRECISION)",
    )
    evaluate.add_argument(
        "--early-stop-score",
        type=share,
        default=settings.reader_early_stop_score,
        help="the span reader reads past the top passage only when its answer scores below this; 1 reads every "
        f"passage (default {settings.reader_early_stop_score}; env REPORTQA_READER_EARLY_STOP_SCORE)",
    )
    evaluate.add_argument(
        "--passage-tokens",
        type=whole_number(16, 254),
        default=PASSAGE_TOKENS,
        help=f"passage length in embedder tokens, 16 to 254 (default {PASSAGE_TOKENS}, the service's)",
    )
    evaluate.add_argument(
        "--overlap-tokens",
        type=whole_number(0),
        default=OVERLAP_TOKENS,
        help=f"tokens of trailing sentences that open the next passage too, below --passage-tokens "
        f"(default {OVERLAP_TOKENS})",
    )
    evaluate.add_argument(
        "--paragraph",
        action="store_true",
        help="read each question against its own paragraph only, with the span reader",
    )


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    if not args.file.is_file():
        raise FileNotFoundError(f"{shown(args.file)} is not a file; pass a SQuAD v1.1-format .json file")
    if args.overlap_tokens >= args.passage_tokens:
        raise ValueError(f"--overlap-tokens {args.overlap_tokens} must be below --passage-tokens {args.passage_tokens}")
    with loading("the models"):
        from qa.evaluation.evaluate import evaluate, evaluate_paragraphs
        from qa.factory import load_encoder

        encoder = None if args.paragraph else load_encoder(settings)
    if encoder is None:
        report = evaluate_paragraphs(
            args.file, settings.reader_model_path, limit=args.limit, seed=args.seed, precision=args.precision
        )
    else:
        report = evaluate(
            args.file,
            encoder=encoder,
            limit=args.limit,
            top_k=args.top_k,
            reader=args.reader,
            index_dir=args.keep_index,
            compare_encode=args.compare_encode,
            seed=args.seed,
            retrieval=not args.answers_only,
            answers=not args.retrieval_only,
            model_dir=settings.reader_model_path,
            precision=args.precision,
            passage_tokens=args.passage_tokens,
            overlap_tokens=args.overlap_tokens,
            early_stop_score=args.early_stop_score,
        )
    report_text = json.dumps(report, indent=2)
    print(report_text)
    if args.out:
        args.out.write_text(report_text + "\n", encoding="utf-8")
    return 0
