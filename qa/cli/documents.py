"""Commands that write or list the index: ingest, reindex, documents, delete."""

import argparse
import sys
from pathlib import Path

from qa.cli.arguments import Commands, add_command, refuse_missing_index, settings_for, text
from qa.models import shown
from qa.settings import Settings


def register(commands: Commands, settings: Settings) -> None:
    ingest = add_command(
        commands, "ingest", _ingest, "Add reports: .txt .md .html .pdf files, folders (recursively), .jsonl.", settings
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument(
        "--source", type=text, help="source metadata for these reports (default: each file's folder name)"
    )
    summary = "Rebuild the vectors and BM25 from the store (repairs missing or corrupt vectors)."
    add_command(commands, "reindex", _reindex, summary, settings)
    add_command(commands, "documents", _documents, "List the indexed reports.", settings)
    delete = add_command(commands, "delete", _delete, "Delete a report with its passages and vectors.", settings)
    delete.add_argument("document_id", type=text)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from qa.factory import open_pipeline
    from qa.ingest.paths import ingest_paths

    report = ingest_paths(open_pipeline(settings_for(args, settings)).index, args.paths, source=args.source)
    print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.skipped)} "
        f"documents; {report.passages} passages written to {shown(args.index_dir)}"
    )
    for failure in report.failures:
        print(f"could not ingest {failure.path}: {failure.reason}", file=sys.stderr)
    return 1 if report.failures else 0


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    from qa.factory import open_pipeline

    if refuse_missing_index(args, settings):
        return 1
    counts = open_pipeline(settings_for(args, settings), repair=True).index.counts()
    print(f"rebuilt {counts.vectors} vectors from {counts.passages} stored passages")
    return 0


def _documents(args: argparse.Namespace, settings: Settings) -> int:
    from qa.factory import open_catalogue

    if refuse_missing_index(args, settings):
        return 1
    catalogue = open_catalogue(settings_for(args, settings))
    for info in catalogue.list_documents(0, catalogue.count_documents()):
        print(f"{info.id}\t{info.date or '-'}\t{info.source}\t{info.passages} passages\t{info.title}")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from qa.factory import open_pipeline
    from qa.index.base import UnknownDocumentError

    if refuse_missing_index(args, settings):
        return 1
    try:
        open_pipeline(settings_for(args, settings)).index.delete_document(args.document_id)
    except UnknownDocumentError:
        print(f"reportqa: no document has id {args.document_id!r}", file=sys.stderr)
        return 1
    print(f"deleted {args.document_id}")
    return 0
