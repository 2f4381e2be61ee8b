"""Ingesting report files into an index: discovery, loading, stable ids, batching, progress."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from qa.index.base import Index, WriteResult
from qa.ingest.loaders import MAX_ID_CHARS, Failure, LoadError, discover, load_file
from qa.models import Document, shown


@dataclass
class IngestReport:
    """What an ingest did, the files or lines it could not read, and the files in folders it passed over.

    `skipped` are documents unchanged since the last ingest; `unsupported` are files of a type that is
    not read, found in the folders given (notes, not failures: folders hold other things too).
    """

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    passages: int = 0
    failures: list[Failure] = field(default_factory=list)
    unsupported: list[Failure] = field(default_factory=list)


def ingest_paths(
    index: Index,
    paths: Iterable[Path],
    source: str | None = None,
    batch_documents: int = 32,
    show_progress: bool = True,
) -> IngestReport:
    """Ingest files and folders (recursively); unreadable files are reported and the rest go on.

    Args:
        index: where documents go.
        paths: files or folders.
        source: the `source` metadata for every document; the file's folder name when None.
        batch_documents: documents embedded and committed together (default 32).
        show_progress: draw a progress bar of files and passages (default True).
    """
    found = discover(list(paths))
    files = found.files
    report = IngestReport(failures=list(found.failures), unsupported=list(found.unsupported))
    batch: list[Document] = []
    taken: set[str] = set()
    with tqdm(total=len(files), unit="file", disable=not show_progress) as bar:
        for path in files:
            try:
                for item in load_file(path, source):
                    if isinstance(item, Failure):
                        report.failures.append(item)
                        continue
                    document = with_stable_id(index, item, taken)
                    taken.add(document.id)
                    batch.append(document)
            except (LoadError, OSError) as error:
                report.failures.append(Failure(shown(path), str(error)))
            if len(batch) >= batch_documents:
                _flush(index, batch, report)
            bar.update(1)
            bar.set_postfix(passages=report.passages, failed=len(report.failures))
        _flush(index, batch, report)
        bar.set_postfix(passages=report.passages, failed=len(report.failures))
    return report


def _flush(index: Index, batch: list[Document], report: IngestReport) -> None:
    if batch:
        record(report, index.add_documents(batch))
        batch.clear()


def record(report: IngestReport, result: WriteResult) -> None:
    """Add what a write did to the ingest's report."""
    report.added += result.added
    report.replaced += result.replaced
    report.skipped += result.skipped
    report.passages += result.passages


def with_stable_id(index: Index, document: Document, taken: set[str]) -> Document:
    """Keep the id a file had before; a name already used by another file gets a path-hash suffix."""
    known = index.id_for_origin(document.origin)
    if known:
        return _replace_id(document, known)
    owner = index.document(document.id)
    if document.id in taken or (owner is not None and owner.origin != document.origin):
        suffix = hashlib.sha1(document.origin.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        # Within the API's 100 characters, so the document can be replaced with PUT like any other.
        return _replace_id(document, f"{document.id[: MAX_ID_CHARS - len(suffix) - 1]}-{suffix}")
    return document


def _replace_id(document: Document, document_id: str) -> Document:
    return Document(document_id, document.text, document.title, document.date, document.source, document.origin)
