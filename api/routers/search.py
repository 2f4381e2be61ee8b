"""POST /v1/search: the passages that best match a query, with scores and offsets, and no reading."""

from fastapi import APIRouter

from api.dependencies import PipelineDep
from api.schemas import PassageOut
from api.search_schemas import SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchOut)
def search(body: SearchIn, pipeline: PipelineDep) -> SearchOut:
    """Retrieve passages for a query (as a retriever for another reader or an LLM would); each slices its report."""
    found = pipeline.search(body.query, body.top_k, body.filters.to_filters(), body.mode)
    return SearchOut(query=body.query, passages=[PassageOut.from_scored(scored) for scored in found])
