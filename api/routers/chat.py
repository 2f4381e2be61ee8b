"""OpenAI-compatible chat: POST /v1/chat/completions (streaming or not) and GET /v1/models."""

import json
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from api.chat_reply import compose_reply, stream_pieces
from api.chat_schemas import MODEL_ID, ChatIn, ChatOut, Choice, ModelList, ModelOut, ReplyMessage, Usage
from api.dependencies import PipelineDep
from api.schemas import AnswerOut
from qa.pipeline import question_problem
from qa.readers import choose_reader

router = APIRouter(prefix="/v1", tags=["chat"])
_STARTED = int(time.time())


@router.get("/models", response_model=ModelList)
def models() -> ModelList:
    """The one model this service offers."""
    return ModelList(data=[ModelOut(id=MODEL_ID, created=_STARTED)])


@router.post(
    "/chat/completions",
    response_model=ChatOut,
    responses={200: {"content": {"text/event-stream": {"description": "With `stream`: OpenAI chunks, then [DONE]"}}}},
)
def chat(body: ChatIn, pipeline: PipelineDep):
    """Answer the last user message from the reports, citing sources as [n] markers."""
    if body.model != MODEL_ID:
        raise HTTPException(status_code=404, detail=f"model {body.model!r} does not exist; use {MODEL_ID!r}")
    question = body.question()
    # Checked whatever the question: an unknown reader is the caller's mistake even in an empty turn.
    choose_reader(pipeline.readers, body.reader, pipeline.default_reader)
    problem = question_problem(question)
    if problem is None:
        result = pipeline.ask(question, body.top_k, body.max_answers, body.reader, body.filters.to_filters())
        reply, no_answer = compose_reply(result), result.no_answer
        citations = [AnswerOut.from_answer(answer) for answer in result.answers]
    else:
        # The schema cannot say "the last user message has 1 to 1,000 characters", so such a turn is
        # valid: it gets a reply that says what to ask, as a chat would, not an error.
        reply, no_answer, citations = f"I can answer a question in words: the {problem}.", True, []
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        events = _events(completion_id, created, reply, citations, no_answer)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    count = pipeline.encoder.count_tokens
    prompt_tokens, completion_tokens = count(question), count(reply)
    return ChatOut(
        id=completion_id,
        created=created,
        choices=[Choice(message=ReplyMessage(content=reply))],
        usage=Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        ),
        citations=citations,
        no_answer=no_answer,
    )


def _events(completion_id: str, created: int, reply: str, citations: list[AnswerOut], no_answer: bool) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format; the last chunk carries the citations."""

    def chunk(delta: dict, finish_reason: str | None = None, **extra) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in stream_pieces(reply):
        yield chunk({"content": piece})
    yield chunk({}, "stop", citations=[c.model_dump() for c in citations], no_answer=no_answer)
    yield "data: [DONE]\n\n"
