"""Chat completions as OpenAI streams them: server-sent chunks, then `[DONE]`."""

import json
from collections.abc import Iterator
from typing import Any

from api.chat_answers import ChatAnswer
from api.chat_reply import Link, stream_pieces
from api.chat_schemas import MODEL_ID, ChatAnnotation, URLCitation, Usage


def chat_annotations(found: list[Link]) -> list[ChatAnnotation]:
    """Links as chat completions' message annotations: `{"type": "url_citation", "url_citation": {...}}`."""
    return [
        ChatAnnotation(
            url_citation=URLCitation(start_index=link.start, end_index=link.end, url=link.url, title=link.title)
        )
        for link in found
    ]


def usage(answer: ChatAnswer) -> Usage:
    return Usage(
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        total_tokens=answer.prompt_tokens + answer.completion_tokens,
    )


def chat_events(completion_id: str, created: int, answer: ChatAnswer, include_usage: bool = False) -> Iterator[str]:
    """Each choice in turn: its role, its text word by word, then a chunk with its finish reason and annotations.

    The last choice's last chunk also carries `citations` and `no_answer`, as the whole reply's body does.
    With `include_usage`, every chunk has `"usage": null` and a last chunk with no choices holds the usage.
    """

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": choices,
            **({"usage": None} if include_usage else {}),
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    def delta(index: int, content: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": index, "delta": content, "finish_reason": finish_reason}]

    for index, choice in enumerate(answer.choices):
        yield chunk(delta(index, {"role": "assistant", "content": ""}))
        for piece in stream_pieces(choice.reply.text):
            yield chunk(delta(index, {"content": piece}))
        last = index == len(answer.choices) - 1
        extra = {"citations": [c.model_dump() for c in answer.citations], "no_answer": answer.no_answer}
        annotations = [annotation.model_dump() for annotation in chat_annotations(choice.links)]
        closing = delta(index, {"annotations": annotations}, choice.finish_reason)
        yield chunk(closing, **(extra if last else {}))
    if include_usage:
        yield chunk([], usage=usage(answer).model_dump())
    yield "data: [DONE]\n\n"
