"""What the chat and Responses endpoints share: the question asked, its answers and the replies built from them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi.responses import JSONResponse

from api.chat_history import contextual_question
from api.chat_reply import Link, Reply, compose_reply, links, truncated
from api.chat_schemas import AnswerRequest, ChatMessage, ParameterError, ParameterErrorOut
from api.schemas import AnswerOut
from qa.pipeline import Pipeline, question_problem
from qa.readers import choose_reader

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class ChoiceReply:
    """One choice: its reply, a url_citation for each of its markers, and why it ended."""

    reply: Reply
    links: list[Link]
    finish_reason: FinishReason


@dataclass(frozen=True)
class ChatAnswer:
    """A chat request answered.

    Attributes:
        question: what was asked: the last user message, with a follow-up's names filled in.
        citations: the answers cited; `[n]` in every choice is item n.
        no_answer: whether no answer scored high enough.
        choices: the replies, one for each of the `n` requested.
        prompt_tokens: tokens of the question asked.
        completion_tokens: tokens of all the replies together.
    """

    question: str
    citations: list[AnswerOut]
    no_answer: bool
    choices: list[ChoiceReply]
    prompt_tokens: int
    completion_tokens: int


def answer_chat(
    pipeline: Pipeline,
    messages: Sequence[ChatMessage],
    options: AnswerRequest,
    base_url: str,
    n: int = 1,
    max_tokens: int | None = None,
) -> ChatAnswer:
    """Answer the last user message (a follow-up resolved with earlier turns; see `api.chat_history`).

    Args:
        pipeline: answers the question.
        messages: the conversation; of system and developer messages only a "Topic: X" line is read.
        options: top_k, max_answers, reader and filters for the pipeline.
        base_url: the service's address as the client reached it, for the citation URLs.
        n: choices to make; choice i leads with the (i+1)-th best answer, or is choice 0 when there are
            fewer answers (an extractive reader has no other replies to sample).
        max_tokens: cut each reply to this many tokens (the encoder's), with finish reason "length".
    """
    asked = next(message.text() for message in reversed(messages) if message.role == "user")
    # Checked whatever the question: an unknown reader is the caller's mistake even in an empty turn.
    choose_reader(pipeline.readers, options.reader, pipeline.default_reader)
    problem = question_problem(asked)
    if problem is not None:
        # The schema cannot say "the last user message has 1 to 1,000 characters", so such a turn is
        # valid: it gets a reply that says what to ask, as a chat would, not an error.
        replies = [Reply(f"I can answer a question in words: the {problem}.")] * n
        question, citations, no_answer = asked, [], True
    else:
        question = contextual_question(messages)
        if question_problem(question) is not None:
            question = asked  # Names made it too long: ask it as written.
        result = pipeline.ask(
            question, options.top_k, options.max_answers, options.reader, options.filters.to_filters()
        )
        replies = [compose_reply(result, lead) for lead in range(n)]
        citations = [AnswerOut.from_answer(answer) for answer in result.answers]
        no_answer = result.no_answer
    count = pipeline.encoder.count_tokens
    choices = []
    for reply in replies:
        cut, was_cut = truncated(reply, max_tokens, count) if max_tokens is not None else (reply, False)
        choices.append(ChoiceReply(cut, links(cut, citations, base_url), "length" if was_cut else "stop"))
    return ChatAnswer(
        question=question,
        citations=citations,
        no_answer=no_answer,
        choices=choices,
        prompt_tokens=count(question),
        completion_tokens=sum(count(choice.reply.text) for choice in choices),
    )


def tool_refusal(tool_choice: str | dict[str, Any] | None) -> str | None:
    """Why `tool_choice` cannot be honoured, or None: "none", "auto" or absent let a reply call no tool."""
    if tool_choice == "required" or isinstance(tool_choice, dict):
        return (
            'reportqa answers from reports and cannot call tools: send tool_choice "auto" or "none", '
            "or leave it out (tools are then accepted and not called)"
        )
    return None


def format_refusal(param: str, format_type: str | None) -> str | None:
    """Why the output format `param` asks for cannot be honoured, or None for text."""
    if format_type not in (None, "text"):
        return (
            f"reportqa quotes reports as text with citations and cannot produce {format_type} output: "
            f'leave {param} out, or send {param} {{"type": "text"}}'
        )
    return None


def unsupported_parameter(param: str, message: str) -> JSONResponse:
    """A 400 naming the parameter, in OpenAI's error shape; `detail` repeats the message as other errors do."""
    body = ParameterErrorOut(detail=message, error=ParameterError(message=message, param=param))
    return JSONResponse(status_code=400, content=body.model_dump())
