"""A chat answer as an OpenAI Responses API response, whole or as its stream of events."""

import json
from collections.abc import Iterator
from typing import Any

from api.chat_answers import ChatAnswer
from api.chat_reply import stream_pieces
from api.responses_schemas import (
    IncompleteDetails,
    OutputMessage,
    OutputText,
    ResponseAnnotation,
    ResponseOut,
    ResponsesIn,
    ResponseUsage,
)


def response_out(response_id: str, created: int, body: ResponsesIn, answer: ChatAnswer) -> ResponseOut:
    """The finished response: one assistant message whose text has a url_citation for each [n] marker."""
    choice = answer.choices[0]
    cut = choice.finish_reason == "length"
    annotations = [
        ResponseAnnotation(start_index=link.start, end_index=link.end, url=link.url, title=link.title)
        for link in choice.links
    ]
    message = OutputMessage(
        id=f"msg_{response_id.removeprefix('resp_')}",
        status="incomplete" if cut else "completed",
        content=[OutputText(text=choice.reply.text, annotations=annotations)],
    )
    return ResponseOut(
        id=response_id,
        created_at=created,
        status="incomplete" if cut else "completed",
        incomplete_details=IncompleteDetails() if cut else None,
        output=[message],
        usage=ResponseUsage(
            input_tokens=answer.prompt_tokens,
            output_tokens=answer.completion_tokens,
            total_tokens=answer.prompt_tokens + answer.completion_tokens,
        ),
        instructions=body.instructions,
        metadata=body.metadata or {},
        tool_choice=body.tool_choice or "auto",
        tools=body.tools or [],
        citations=answer.citations,
        no_answer=answer.no_answer,
    )


def response_events(finished: ResponseOut) -> Iterator[str]:
    """The events OpenAI streams for a one-message text response, in order, ending with response.completed.

    The text comes word by word; each annotation has its own event once the text is whole, as OpenAI's do.
    """
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': next(sequence), **fields})}\n\n"

    started = finished.model_copy(update={"status": "in_progress", "output": [], "usage": None})
    yield event("response.created", response=started.model_dump())
    yield event("response.in_progress", response=started.model_dump())
    message = finished.output[0]
    text = message.content[0]
    where = {"item_id": message.id, "output_index": 0, "content_index": 0}
    opened = message.model_copy(update={"status": "in_progress", "content": []})
    yield event("response.output_item.added", output_index=0, item=opened.model_dump())
    empty = OutputText(text="", annotations=[]).model_dump()
    yield event("response.content_part.added", **where, part=empty)
    for piece in stream_pieces(text.text):
        yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
    for index, annotation in enumerate(text.annotations):
        yield event(
            "response.output_text.annotation.added", **where, annotation_index=index, annotation=annotation.model_dump()
        )
    yield event("response.output_text.done", **where, text=text.text, logprobs=[])
    yield event("response.content_part.done", **where, part=text.model_dump())
    yield event("response.output_item.done", output_index=0, item=message.model_dump())
    final = "response.completed" if finished.status == "completed" else "response.incomplete"
    yield event(final, response=finished.model_dump())
