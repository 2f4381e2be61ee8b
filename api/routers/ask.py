"""POST /v1/ask and POST /v1/ask/batch: answers with citations."""

from fastapi import APIRouter

from api.ask_schemas import AskBatchIn, AskBatchOut
from api.dependencies import PipelineDep
from api.schemas import AskIn, AskOut

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post("/ask", response_model=AskOut, response_model_exclude_none=False)
def ask(body: AskIn, pipeline: PipelineDep) -> AskOut:
    """Answer a question from the indexed reports; every answer's citation slices its document exactly."""
    result = pipeline.ask(body.question, body.top_k, body.max_answers, body.reader, body.filters.to_filters())
    return AskOut.from_result(result, body.include_passages)


@router.post("/ask/batch", response_model=AskBatchOut, response_model_exclude_none=False)
def ask_batch(body: AskBatchIn, pipeline: PipelineDep) -> AskBatchOut:
    """Answer 1 to 32 questions with the same options: one result each, in order, as POST /v1/ask answers it."""
    filters = body.filters.to_filters()
    results = pipeline.ask_many(body.questions, body.top_k, body.max_answers, body.reader, filters)
    return AskBatchOut(results=[AskOut.from_result(result, body.include_passages) for result in results])
