"""/v1/documents: list, read, add, replace and delete reports."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.dependencies import PipelineDep
from api.schemas import DOCUMENT_ID_PATTERN, DocumentIn, DocumentOut, DocumentPage, DocumentSummary, NewDocumentIn
from qa.index.base import UnknownDocumentError
from qa.ingest.loaders import slug
from qa.models import Document
from qa.pipeline import Pipeline

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
