"""POST /v1/ask: answers with citations."""

from fastapi import APIRouter

from api.dependencies import PipelineDep
from api.schemas import AnswerOut, AskIn, AskOut, PassageOut

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post("/ask", response_model=AskOut, response_model_exclude_none=False)
def ask(body: AskIn, pipeline: PipelineDep) -> AskOut:
    """Answer a question from the indexed reports; every answer's citation slices its document exactly."""
    result = pipeline.ask(body.question, body.top_k, body.max_answers, body.reader, body.filters.to_filters())
    passages = None
    if body.include_passages:
        passages = [PassageOut.from_scored(scored) for scored in result.passages]
    return AskOut(
        question=result.question,
        answers=[AnswerOut.from_answer(answer) for answer in result.answers],
        no_answer=result.no_answer,
        passages=passages,
        timings_ms=result.timings_ms,
    )
