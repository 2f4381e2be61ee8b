"""OpenAI-compatible chat: POST /v1/chat/completions and POST /v1/responses (streaming or not), GET /v1/models.

What each OpenAI parameter does here:
- the last user message is the question; earlier user and assistant turns fill in a follow-up's names and
  its it/this/that (api/chat_history.py); system and developer messages are not read except for a line
  "Topic: X", which says what a first follow-up is about; sampling parameters are not read.
- `n`: choice i leads with the (i+1)-th best answer, or repeats choice 0 when there are fewer answers.
- `max_tokens`, `max_completion_tokens`, `max_output_tokens`: the reply is cut to that many tokens at a word
  boundary, with finish_reason "length" (a response: status "incomplete").
- `stream_options.include_usage`: a last chunk with no choices carries the usage, before [DONE].
- `tools` with `tool_choice` "auto", "none" or absent are accepted and never called (a model may choose not
  to call a tool); `tool_choice` "required" or a named tool, JSON output formats (`response_format`,
  `text.format`) and `previous_response_id` are a 400 in OpenAI's shape, naming the parameter.
Citations: every [n] marker has a url_citation annotation, whose url is the page showing the cited span
(`<base>/?doc=<id>&start=<start>&end=<end>&text=<answer>`) and whose title is the report's; `citations` and
`no_answer` carry the answers as /v1/ask does.
"""

import time
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from api.chat_answers import answer_chat, format_refusal, tool_refusal, unsupported_parameter
from api.chat_schemas import (
    MODEL_ID,
    ChatIn,
    ChatOut,
    Choice,
    ModelList,
    ModelOut,
    ParameterErrorOut,
    ReplyMessage,
    ResponseFormat,
)
from api.chat_stream import chat_annotations, chat_events, usage
from api.dependencies import PipelineDep
from api.responses_api import response_events, response_out
from api.responses_schemas import ResponseOut, ResponsesIn
from api.schemas import ErrorOut

router = APIRouter(prefix="/v1", tags=["chat"])
_STARTED = int(time.time())
# A parameter reportqa cannot honour; the guard's 400s (a Host it refuses) keep the shape of every other error.
_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"model": ParameterErrorOut | ErrorOut, "description": "A parameter reportqa cannot honour, in `param`"}
}
_SSE_HEADERS = {"Cache-Control": "no-cache"}


@router.get("/models", response_model=ModelList)
def models() -> ModelList:
    """The one model this service offers."""
    return ModelList(data=[ModelOut(id=MODEL_ID, created=_STARTED)])


@router.post(
    "/chat/completions",
    response_model=ChatOut,
    responses={
        200: {"content": {"text/event-stream": {"description": "With `stream`: OpenAI chunks, then [DONE]"}}},
        **_REFUSED,
    },
)
def chat(body: ChatIn, request: Request, pipeline: PipelineDep):
    """Answer the last user message from the reports, citing sources as [n] markers with url_citation annotations."""
    _check_model(body.model)
    refusal = _refusal(
        ("tool_choice", tool_refusal(body.tool_choice)),
        ("response_format", format_refusal("response_format", _format_type(body.response_format))),
    )
    if refusal is not None:
        return refusal
    answer = answer_chat(pipeline, body.messages, body, str(request.base_url), body.n, body.token_limit())
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        events = chat_events(completion_id, created, answer, include_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)
    choices = [
        Choice(
            index=index,
            message=ReplyMessage(content=choice.reply.text, annotations=chat_annotations(choice.links)),
            finish_reason=choice.finish_reason,
        )
        for index, choice in enumerate(answer.choices)
    ]
    return ChatOut(
        id=completion_id,
        created=created,
        choices=choices,
        usage=usage(answer),
        citations=answer.citations,
        no_answer=answer.no_answer,
    )


@router.post(
    "/responses",
    response_model=ResponseOut,
    responses={
        200: {"content": {"text/event-stream": {"description": "With `stream`: OpenAI's response events"}}},
        **_REFUSED,
    },
)
def responses(body: ResponsesIn, request: Request, pipeline: PipelineDep):
    """The Responses API, in part: answer the last user message of `input`, as POST /v1/chat/completions does."""
    _check_model(body.model)
    refusal = _refusal(
        ("tool_choice", tool_refusal(body.tool_choice)),
        ("text.format", format_refusal("text.format", _format_type(body.text.format if body.text else None))),
        ("previous_response_id", _previous_refusal(body.previous_response_id)),
    )
    if refusal is not None:
        return refusal
    answer = answer_chat(pipeline, body.messages(), body, str(request.base_url), 1, body.max_output_tokens)
    finished = response_out(f"resp_{uuid.uuid4().hex}", int(time.time()), body, answer)
    if body.stream:
        return StreamingResponse(response_events(finished), media_type="text/event-stream", headers=_SSE_HEADERS)
    return finished


def _check_model(model: str) -> None:
    if model != MODEL_ID:
        raise HTTPException(status_code=404, detail=f"model {model!r} does not exist; use {MODEL_ID!r}")


def _refusal(*checks: tuple[str, str | None]) -> JSONResponse | None:
    """The first parameter that cannot be honoured, as a 400, or None."""
    for param, message in checks:
        if message is not None:
            return unsupported_parameter(param, message)
    return None


def _previous_refusal(previous_response_id: str | None) -> str | None:
    if previous_response_id is None:
        return None
    return (
        "reportqa keeps no responses to continue from: leave previous_response_id out and send the earlier "
        "turns as messages in `input`"
    )


def _format_type(response_format: ResponseFormat | None) -> str | None:
    return response_format.type if response_format is not None else None
