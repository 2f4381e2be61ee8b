"""What the commands share: adding a command, argument types, and opening the index the arguments name."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from qa.models import shown, valid_unicode
from qa.settings import Settings

# A command's action: the parsed arguments and the settings in, the exit status out.
Action = Callable[[argparse.Namespace, Settings], int]
# The pipeline's limits (qa.pipeline's MAX_TOP_K and MAX_ANSWERS), repeated here because importing the
# pipeline loads torch, and a bad option must be refused at once; tests/test_cli_startup.py checks that they agree.
MAX_TOP_K = 50
MAX_ANSWERS = 20
MAX_QUESTION_CHARS = 1000
# What `add_subparsers` returns, where each command module adds its commands.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(
    commands: Commands,
    name: str,
    action: Action,
    summary: str,
    settings: Settings | None = None,
) -> argparse.ArgumentParser:
    """Add a command; with `settings`, it takes `--index-dir` (default: the settings' index folder)."""
    command = commands.add_parser(name, help=summary, description=summary)
    command.set_defaults(run=action)
    if settings is not None:
        command.add_argument(
            "--index-dir",
            type=Path,
            default=settings.index_dir,
            help=f"index folder (default {settings.index_dir}; env REPORTQA_INDEX_DIR)",
        )
    return command


def text(value: str) -> str:
    """An argument as valid text: bytes that are not UTF-8 reach Python as lone surrogates."""
    try:
        return valid_unicode(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not valid UTF-8; set the terminal to UTF-8") from None


def question(value: str) -> str:
    """A question argument: valid text of 1 to 1,000 characters, as the pipeline takes."""
    value = text(value)
    if not value.strip() or len(value.strip()) > MAX_QUESTION_CHARS:
        raise argparse.ArgumentTypeError(
            f"a question must be 1 to {MAX_QUESTION_CHARS} characters (after trimming spaces)"
        )
    return value


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argument type: a whole number from `low` to `high` (no upper bound when None).

    Checked by argparse, so a value out of range is refused before any model loads.
    """
    bounds = f"from {low} to {high}" if high is not None else f"of {low} or more"

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, not {value!r}") from None
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, not {value!r}")
        return number

    return parse


def share(value: str) -> float:
    """An argument type: a number from 0 to 1, such as a score."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, not {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, not {value!r}")
    return number


def date(value: str) -> str:
    """An argument as an ISO date, from the forms reports' dates take."""
    from qa.ingest.loaders import parse_date

    try:
        return parse_date(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def settings_for(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings with the command's `--index-dir`."""
    return settings.model_copy(update={"index_dir": args.index_dir})


def refuse_missing_index(args: argparse.Namespace, settings: Settings) -> bool:
    """Say so when `--index-dir` holds no index: opening it would create an empty one and hide a mistyped path."""
    # Not through qa.factory: importing it loads the models, and this answers before they load.
    from qa.index.catalogue import has_index

    if has_index(settings_for(args, settings)):
        return False
    message = f"{shown(args.index_dir)} holds no index; ingest reports with `reportqa ingest PATH`"
    print(f"reportqa: {message}", file=sys.stderr)
    return True
