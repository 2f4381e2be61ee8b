"""The `ask` command: answer a question from the indexed reports, with citations."""

import argparse
import json
import sys

from qa.cli.arguments import (
    MAX_ANSWERS,
    MAX_TOP_K,
    Commands,
    add_command,
    date,
    question,
    refuse_missing_index,
    settings_for,
    text,
    whole_number,
)
from qa.cli.progress import loading
from qa.settings import Settings


def register(commands: Commands, settings: Settings) -> None:
    ask = add_command(commands, "ask", _ask, "Answer a question from the indexed reports, with citations.", settings)
    ask.add_argument("question", type=question)
    ask.add_argument(
        "--top-k", type=whole_number(1, MAX_TOP_K), default=5, help=f"passages to read, 1 to {MAX_TOP_K} (default 5)"
    )
    ask.add_argument(
        "--max-answers",
        type=whole_number(1, MAX_ANSWERS),
        default=3,
        help=f"answers at most, 1 to {MAX_ANSWERS} (default 3)",
    )
    ask.add_argument("--reader", type=text, help="reader name (default: the service's default reader)")
    ask.add_argument("--date-from", type=date, help="only reports dated on or after YYYY-MM-DD")
    ask.add_argument("--date-to", type=date, help="only reports dated on or before YYYY-MM-DD")
    ask.add_argument(
        "--source", action="append", type=text, default=[], help="only reports from this source (repeatable)"
    )
    ask.add_argument("--document", action="append", type=text, default=[], help="only this document id (repeatable)")
    ask.add_argument("--json", action="store_true", help="print the result as JSON")


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.models import Filters

    if refuse_missing_index(args, settings):
        return 1
    filters = Filters(args.date_from, args.date_to, tuple(args.source), tuple(args.document))
    # Refused before the models load; the API instead answers such a range with no reports.
    if filters.reversed_dates():
        raise ValueError(f"--date-from {args.date_from} is after --date-to {args.date_to}; swap them")
    with loading("the models"):
        from qa.factory import open_pipeline
        from qa.pipeline import EmptyIndexError

        pipeline = open_pipeline(settings_for(args, settings))
    try:
        result = pipeline.ask(args.question, args.top_k, args.max_answers, args.reader, filters)
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
