"""Ingest on Ray Data: reports loaded, split and embedded by a Ray cluster's workers, written here in batches.

Needs the `scale` extra (`pip install 'reportqa[scale]'`), and reportqa installed on every worker.
"""

import os
import pickle
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.precision import Precision
from qa.index.base import Index
from qa.index.passages import content_digest, embed_documents
from qa.ingest.loaders import Failure, LoadError, discover, load_file
from qa.ingest.paths import IngestReport, record, with_stable_id
from qa.models import Document, shown

FIELDS = ("id", "text", "title", "date", "source", "origin")


def ingest_on_ray(
    index: Index,
    paths: Iterable[Path],
    source: str | None = None,
    workers: int = 2,
    model_path: Path | None = None,
    batch_documents: int = 32,
    precision: Precision = "float32",
) -> IngestReport:
    """Ingest files and folders as `ingest_paths` does, with loading and embedding spread over Ray workers.

    The driver (this process) gives each document its stable id, leaves out those stored unchanged
    (so a run that failed part way resumes where it stopped), and writes the embedded batches in the
    files' order. Connects to the cluster `RAY_ADDRESS` names, else starts a local Ray with `workers` CPUs.

    Args:
        index: where documents go; its encoder must be the model the workers load.
        paths: files or folders.
        source: the `source` metadata for every document; the file's folder name when None.
        workers: embedding workers, one CPU and one model each (default 2).
        model_path: the embedding model folder the workers load (default: the shipped retriever).
        batch_documents: documents embedded and written together (default 32).
        precision: the workers' embedding arithmetic, as the index's encoder has it (default "float32").
    """
    try:
        import ray
    except ImportError:
        raise ValueError("ingesting on Ray needs the `scale` extra: pip install 'reportqa[scale]'") from None
    if not ray.is_initialized():
        start_ray(ray, workers)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ray.data.DataContext.get_current().enable_progress_bars = False
    found = discover(list(paths))
    report = IngestReport(failures=list(found.failures), unsupported=list(found.unsupported))
    documents = _loaded(ray, index, found.files, source, report)
    if not documents:
        return report
    rows = [
        dict(zip(FIELDS, (d.id, d.text, d.title, d.date or "", d.source, d.origin), strict=True)) for d in documents
    ]
    embedded = ray.data.from_items(rows).map_batches(
        _Embedder,
        fn_constructor_kwargs={"model_path": model_path, "precision": precision},
        batch_size=batch_documents,
        concurrency=workers,
        num_cpus=1,
    )
    for batch in embedded.iter_batches(batch_size=batch_documents, batch_format="numpy"):
        written = [_document(batch, row) for row in range(len(batch["id"]))]
        passages = [pickle.loads(blob) for blob in batch["passages"]]  # made by _Embedder, in this package
        record(report, index.add_documents(written, embedded=passages))
    return report


def start_ray(ray: Any, workers: int) -> None:
    """Join the cluster RAY_ADDRESS names, else start a local Ray with `workers` CPUs. A start that misses
    Ray's own 30-second limit for its node (seen on a busy two-core machine) is tried once more."""
    for attempt in (1, 2):
        try:
            ray.init(num_cpus=None if _has_cluster() else workers, include_dashboard=False, log_to_driver=False)
            return
        except Exception as error:  # Ray raises a bare Exception for this
            if attempt == 2 or "timed out during startup" not in str(error):
                raise
            ray.shutdown()


def _has_cluster() -> bool:
    return bool(os.environ.get("RAY_ADDRESS"))


def _loaded(ray: Any, index: Index, files: list[Path], source: str | None, report: IngestReport) -> list[Document]:
    """Load every file on the workers; keep the documents that need writing, with their stable ids."""
    if not files:
        return []
    loaded = ray.data.from_items([{"path": str(path)} for path in files]).flat_map(partial(_load, source=source))
    documents: list[Document] = []
    taken: set[str] = set()
    for row in loaded.iter_rows():
        if row["failure"]:
            report.failures.append(Failure(row["origin"], row["failure"]))
            continue
        document = with_stable_id(index, _document(row), taken)
        taken.add(document.id)
        stored = index.document(document.id)
        # Left out before embedding, which is the cost: a run that failed part way resumes where it stopped.
        if stored is not None and content_digest(stored) == content_digest(document):
            report.skipped.append(document.id)
        else:
            documents.append(document)
    return documents


def _load(row: dict[str, Any], source: str | None) -> list[dict[str, Any]]:
    path = Path(row["path"])
    try:
        items = list(load_file(path, source))
    except (LoadError, OSError) as error:
        return [{**dict.fromkeys(FIELDS, ""), "origin": shown(path), "failure": str(error)}]
    return [
        {**dict.fromkeys(FIELDS, ""), "origin": item.path, "failure": item.reason}
        if isinstance(item, Failure)
        else {**_fields(item), "failure": ""}
        for item in items
    ]


def _fields(document: Document) -> dict[str, Any]:
    values = (document.id, document.text, document.title, document.date or "", document.source, document.origin)
    return dict(zip(FIELDS, values, strict=True))


def _document(batch: dict[str, Any], row: int | None = None) -> Document:
    values = [str(batch[name] if row is None else batch[name][row]) for name in FIELDS]
    return Document(values[0], values[1], values[2], values[3] or None, values[4], values[5])


class _Embedder:
    """A Ray worker's model: splits and embeds a batch of documents as the index would."""

    def __init__(self, model_path: Path | None, precision: Precision):
        import torch

        from embeddings.encoder import Encoder
        from qa.ingest.splitter import PassageSplitter

        torch.set_num_threads(1)  # one CPU per worker: more threads would only contend with the others
        self.encoder = Encoder(model_path, precision=precision)
        self.splitter = PassageSplitter(self.encoder.tokenize)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        documents = [_document(batch, row) for row in range(len(batch["id"]))]
        passages = embed_documents(self.encoder, self.splitter, documents)
        return {**batch, "passages": np.array([pickle.dumps(group) for group in passages], dtype=object)}
