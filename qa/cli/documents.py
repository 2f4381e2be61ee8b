"""Commands that write or list the index: ingest, reindex, documents, delete."""

import argparse
import sys
from pathlib import Path

from qa.cli.arguments import Commands, add_command, refuse_missing_index, settings_for, text, whole_number
from qa.cli.progress import loading
from qa.index.catalogue import index_name
from qa.settings import Settings

# Files of other types found in folders are each named, up to this many; a folder of images is not a wall of text.
MAX_NOTES = 20


def register(commands: Commands, settings: Settings) -> None:
    ingest = add_command(
        commands, "ingest", _ingest, "Add reports: .txt .md .html .pdf files, folders (recursively), .jsonl.", settings
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument(
        "--source",
        type=text,
        help="source metadata for these reports (default: the `source` on a report's date line, else its folder name)",
    )
    ingest.add_argument(
        "--ray",
        type=whole_number(1),
        metavar="WORKERS",
        help="load and embed on Ray Data with this many workers (the `scale` extra): on the cluster RAY_ADDRESS "
        "names, else on a local Ray",
    )
    summary = "Rebuild the vectors and BM25 from the store (repairs them; re-embeds for another model)."
    add_command(commands, "reindex", _reindex, summary, settings)
    add_command(commands, "documents", _documents, "List the indexed reports.", settings)
    delete = add_command(commands, "delete", _delete, "Delete a report with its passages and vectors.", settings)
    delete.add_argument("document_id", type=text)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from qa.ingest.loaders import discover
    from qa.ingest.paths import IngestReport, ingest_paths

    found = discover(args.paths)
    if found.files:
        # The embedding model only: ingesting reads no answers, so the span reader stays unloaded.
        with loading("the embedding model"):
            from qa.factory import load_encoder, open_index

            local = settings_for(args, settings)
            index = open_index(local, load_encoder(local))
        if args.ray:
            from qa.ingest.distributed import ingest_on_ray

            report = ingest_on_ray(
                index, args.paths, args.source, args.ray, local.model_path, precision=local.embedding_precision
            )
        else:
            report = ingest_paths(index, args.paths, source=args.source)
    else:
        # Nothing to read: said without loading a model or creating an index.
        report = IngestReport(failures=found.failures, unsupported=found.unsupported)
    print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.skipped)} "
        f"documents; {report.passages} passages written to {index_name(settings_for(args, settings))}"
    )
    for note in report.unsupported[:MAX_NOTES]:
        print(f"skipped {note.path}: {note.reason}", file=sys.stderr)
    if len(report.unsupported) > MAX_NOTES:
        print(
            f"skipped {len(report.unsupported) - MAX_NOTES} more files of types reportqa does not read", file=sys.stderr
        )
    for failure in report.failures:
        print(f"could not ingest {failure.path}: {failure.reason}", file=sys.stderr)
    return 1 if report.failures else 0


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    if refuse_missing_index(args, settings):
        return 1
    with loading("the embedding model"):
        from qa.factory import load_encoder, open_index

        local = settings_for(args, settings)
        index = open_index(local, load_encoder(local), repair=True)
    counts = index.counts()
    print(f"rebuilt {counts.vectors} vectors from {counts.passages} stored passages")
    return 0


def _documents(args: argparse.Namespace, settings: Settings) -> int:
    # Not qa.factory's index: importing the factory loads the models.
    from qa.index.catalogue import open_catalogue

    if refuse_missing_index(args, settings):
        return 1
    catalogue = open_catalogue(settings_for(args, settings))
    for info in catalogue.list_documents(0, catalogue.count_documents()):
        print(f"{info.id}\t{info.date or '-'}\t{info.source}\t{info.passages} passages\t{info.title}")
    catalogue.close()
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from qa.index.base import UnknownDocumentError

    if refuse_missing_index(args, settings):
        return 1
    local = settings_for(args, settings)
    try:
        if local.server_side:
            # Opening the server-side index checks its model; the embedded index deletes without one.
            with loading("the embedding model"):
                from qa.factory import load_encoder, open_index

                index = open_index(local, load_encoder(local))
            index.delete_document(args.document_id)
            index.close()
        else:
            from qa.cli.offline import delete_document

            delete_document(args.index_dir, args.document_id)
    except UnknownDocumentError:
        print(f"reportqa: no document has id {args.document_id!r}", file=sys.stderr)
        return 1
    print(f"deleted {args.document_id}")
    return 0
