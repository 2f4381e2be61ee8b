"""The `reportqa` command: each module here, and each `reportqa.commands` entry point, adds its commands."""

import argparse
import sys
from importlib.metadata import entry_points

from pydantic import ValidationError

from qa.cli import ask, documents, evaluate, training
from qa.index.base import IndexUnavailableError
from qa.settings import Settings

# Other packages (the HTTP service's `serve` and `keys`) add commands through this entry-point group,
# so the domain never imports them.
COMMANDS_GROUP = "reportqa.commands"


def main(argv: list[str] | None = None) -> int:
    try:
        parser = _parser(Settings())
    except ValidationError as error:
        # A bad REPORTQA_* variable: name it and say what it accepts, without a traceback.
        for problem in error.errors():
            if not problem["loc"]:  # a rule between settings, such as needing PostgreSQL and Milvus both
                print(f"reportqa: {problem['msg'].removeprefix('Value error, ')}", file=sys.stderr)
                continue
            name = "REPORTQA_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"reportqa: {name}={problem['input']!r}: {problem['msg']}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        return int(args.run(args, args.settings))
    except (ValueError, FileNotFoundError) as error:
        print(f"reportqa: {error}", file=sys.stderr)
        return 2
    except IndexUnavailableError as error:  # PostgreSQL or Milvus down: named, no traceback
        print(f"reportqa: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl+C while models load or a command runs: stopped as asked, no traceback
        print("reportqa: stopped", file=sys.stderr)
        return 130


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reportqa", description="Extractive question answering over reports.")
    parser.set_defaults(settings=settings)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in (documents, ask, evaluate, training):
        module.register(commands, settings)
    for entry_point in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        entry_point.load()(commands, settings)
    return parser
