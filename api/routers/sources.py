"""GET /v1/sources: the sources of the indexed reports, for filters."""

from fastapi import APIRouter
from pydantic import BaseModel

from api.dependencies import PipelineDep

router = APIRouter(prefix="/v1", tags=["documents"])


class SourceOut(BaseModel):
    source: str
    documents: int


@router.get("/sources", response_model=list[SourceOut])
def sources(pipeline: PipelineDep) -> list[SourceOut]:
    """Every source with its number of reports, most reports first."""
    return [SourceOut(source=source, documents=count) for source, count in pipeline.index.sources()]
