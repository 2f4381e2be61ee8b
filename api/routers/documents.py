"""/v1/documents: list, read, add (as JSON or as a file), replace and delete reports."""

import dataclasses
import shutil
import tempfile
import uuid
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status

from api.dependencies import PipelineDep
from api.schemas import (
    DOCUMENT_ID_PATTERN,
    MAX_SOURCE_CHARS,
    MAX_TEXT_CHARS,
    DayText,
    DocumentIn,
    DocumentOut,
    DocumentPage,
    DocumentSummary,
    NewDocumentIn,
)
from api.settings import ServiceSettings
from qa.index.base import UnknownDocumentError
from qa.ingest.loaders import LoadError, load_file, slug
from qa.models import Document, InvalidInputError, valid_unicode
from qa.pipeline import Pipeline

# The loaders' file types that hold one report; a JSON Lines file holds many, for `reportqa ingest`.
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
# The guard refuses a larger body; a service may set another limit, which GET /v1/service tells.
DEFAULT_MAX_UPLOAD_BYTES = ServiceSettings.model_fields["max_body_bytes"].default

router = APIRouter(prefix="/v1/documents", tags=["documents"])
NewDocumentId = Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN, description="Letters, digits, '.', '_' or '-'.")]


@router.get("", response_model=DocumentPage)
def list_documents(
    pipeline: PipelineDep,
    offset: int = Query(0, ge=0, le=1_000_000_000, description="Documents to skip."),
    limit: int = Query(20, ge=1, le=100, description="Documents per page."),
    q: str = Query("", max_length=200, description="Only reports whose title, id, source or text contains this."),
) -> DocumentPage:
    """Page through the indexed reports, newest date first, optionally searched."""
    items = [DocumentSummary(**vars(info)) for info in pipeline.index.list_documents(offset, limit, q)]
    return DocumentPage(items=items, total=pipeline.index.count_documents(q), offset=offset, limit=limit)


@router.get("/{document_id}", response_model=DocumentOut)
def get_document(document_id: str, pipeline: PipelineDep) -> DocumentOut:
    """A report's metadata and full text (the text citations' offsets point into)."""
    return _document_out(pipeline, document_id)


@router.post("", response_model=DocumentOut, status_code=status.HTTP_201_CREATED)
def add_document(body: NewDocumentIn, pipeline: PipelineDep) -> DocumentOut:
    """Add one report. An id already in use is refused: replace that report with PUT."""
    document_id = body.id or f"{slug(body.title)[:40]}-{uuid.uuid4().hex[:12]}"
    pipeline.index.add_documents([_document(document_id, body)], replace=False)
    return _document_out(pipeline, document_id)


@router.post(
    "/upload",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "Not a readable report of an accepted type, or an empty one"}},
)
def upload_document(
    pipeline: PipelineDep,
    file: Annotated[
        UploadFile,
        File(
            description=f"The report: a {', '.join(UPLOAD_SUFFIXES)} file, of at most REPORTQA_MAX_BODY_BYTES "
            f"({DEFAULT_MAX_UPLOAD_BYTES} by default) with the other fields.",
            json_schema_extra={"maxLength": DEFAULT_MAX_UPLOAD_BYTES},
        ),
    ],
    title: Annotated[str, Form(max_length=1000, description="Default: the file's own title, or its name.")] = "",
    date: Annotated[DayText | None, Form(description="YYYY-MM-DD. Default: a first line `date YYYY-MM-DD`.")] = None,
    source: Annotated[str, Form(max_length=MAX_SOURCE_CHARS, description="Default: the file's own, if any.")] = "",
) -> DocumentOut:
    """Add one report sent as a file (multipart/form-data), read as `reportqa ingest` reads files."""
    name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    document = _read_upload(file, name)
    document_id = f"{slug(FilePath(name).stem)[:40]}-{uuid.uuid4().hex[:12]}"
    document = dataclasses.replace(
        document,
        id=document_id,
        title=title.strip() or document.title,
        date=date.isoformat() if date else document.date,
        source=source.strip() or document.source,
        origin=f"upload:{name}",
    )
    pipeline.index.add_documents([document], replace=False)
    return _document_out(pipeline, document_id)


def _read_upload(upload: UploadFile, name: str) -> Document:
    """The report in an uploaded file, through the file loaders; a 422 (InvalidInputError) says what is wrong."""
    suffix = FilePath(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        kind = f"{suffix} files are" if suffix else "a file without a name ending is"
        raise InvalidInputError(f"{kind} not accepted; upload a report as one of {', '.join(UPLOAD_SUFFIXES)}")
    with tempfile.TemporaryDirectory(prefix="reportqa-upload-") as folder:
        # Named after the upload, since the loaders fall back on the file's name for the title.
        path = FilePath(folder) / f"{slug(FilePath(name).stem)[:80]}{suffix}"
        with path.open("wb") as copy:
            shutil.copyfileobj(upload.file, copy)
        if path.stat().st_size == 0:
            raise InvalidInputError(f"the file {name!r} is empty; choose a report with text in it")
        try:
            document = next(item for item in load_file(path) if isinstance(item, Document))
        except LoadError as error:
            raise InvalidInputError(f"the file {name!r} cannot be read: {error}") from None
    if len(document.text) > MAX_TEXT_CHARS:
        raise InvalidInputError(f"the file's text has {len(document.text)} characters; {MAX_TEXT_CHARS} at most")
    valid_unicode(document.text)
    # Where the file says nothing, the loaders fall back on its name and its folder's: here a temporary one.
    title = document.title if document.title != path.name else name
    source = document.source if document.source != path.parent.name else ""
    return dataclasses.replace(document, title=title, source=source)


@router.put(
    "/{document_id}", response_model=DocumentOut, responses={201: {"model": DocumentOut, "description": "Created"}}
)
def replace_document(
    document_id: NewDocumentId, body: DocumentIn, pipeline: PipelineDep, response: Response
) -> DocumentOut:
    """Replace a report (its passages and vectors too), or create it under this id."""
    result = pipeline.index.add_documents([_document(document_id, body)])
    if result.added:
        response.status_code = status.HTTP_201_CREATED
    return _document_out(pipeline, document_id)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(document_id: str, pipeline: PipelineDep) -> Response:
    """Delete a report with its passages and vectors."""
    pipeline.index.delete_document(document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _document(document_id: str, body: DocumentIn) -> Document:
    return Document(
        id=document_id,
        text=body.text,
        title=body.title,
        date=body.date.isoformat() if body.date else None,
        source=body.source,
        origin=f"api:{document_id}",
    )


def _document_out(pipeline: Pipeline, document_id: str) -> DocumentOut:
    info = pipeline.index.document_info(document_id)
    document = pipeline.index.document(document_id)
    if info is None or document is None:
        raise UnknownDocumentError(document_id)
    return DocumentOut(**vars(info), text=document.text)
