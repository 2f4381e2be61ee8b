"""Request and response bodies of the OpenAI-compatible chat endpoint."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import JsonDict

from api.schemas import AnswerOut, FiltersIn, ReaderName, WholeNumber
from qa.models import valid_unicode
from qa.pipeline import MAX_ANSWERS, MAX_TOP_K

MODEL_ID = "reportqa"
# Caps that keep one request from holding the server (the body limit, 10 MB, allows 640,000 tiny messages).
MAX_MESSAGES = 256
MAX_CONTENT_CHARS = 100_000
MAX_CONTENT_PARTS = 100
MAX_CHOICES = MAX_ANSWERS
MAX_TOOLS = 128
# Generous: a reply is a few hundred tokens; the cap only keeps the number a number.
MAX_TOKENS_LIMIT = 1_000_000
# Parts of these types carry text: chat's "text", and the Responses API's input and (earlier) output text.
TEXT_PART_TYPES = ("text", "input_text", "output_text")
# JSON schema's `contains`: at least one item is a user message (pydantic does not check it; the validator does).
_HAS_USER_MESSAGE: JsonDict = {"type": "object", "properties": {"role": {"const": "user"}}, "required": ["role"]}

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=100, description=f"Only parts of types {list(TEXT_PART_TYPES)} are read.")
    text: str | None = Field(None, max_length=MAX_CONTENT_CHARS)


Content = (
    Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]
    | Annotated[list[ContentPart], Field(max_length=MAX_CONTENT_PARTS)]
    | None
)


def checked_content(value: object) -> object:
    """Refuse a message's content in one sentence that names what to fix (see `ChatMessage`)."""
    if isinstance(value, list) and len(value) > MAX_CONTENT_PARTS:
        raise ValueError(f"content has {len(value)} parts; send {MAX_CONTENT_PARTS} at most")
    parts = [part for part in value if isinstance(part, dict)] if isinstance(value, list) else []
    texts = [value] if isinstance(value, str) else [part.get("text") for part in parts]
    for text in [*texts, *(part.get("type") for part in parts)]:
        if isinstance(text, str):
            valid_unicode(text)
    longest = max((len(text) for text in texts if isinstance(text, str)), default=0)
    if longest > MAX_CONTENT_CHARS:
        what = "content" if isinstance(value, str) else "a content part"
        raise ValueError(f"{what} has {longest} characters; shorten it to {MAX_CONTENT_CHARS} at most")
    return value


def content_text(content: str | list[ContentPart] | None) -> str:
    """The text a message's content holds: the string, or its text parts joined by line breaks."""
    if isinstance(content, list):
        return "\n".join(part.text or "" for part in content if part.type in TEXT_PART_TYPES)
    return content or ""


class ChatMessage(BaseModel):
    # OpenAI clients send fields reportqa has no use for (name, tool_calls, ...): accept and ignore them.
    model_config = ConfigDict(extra="allow")

    role: Role
    content: Content = Field(None, description=f"At most {MAX_CONTENT_CHARS} characters, or {MAX_CONTENT_PARTS} parts.")

    @field_validator("content", mode="before")
    @classmethod
    def _checked_content(cls, value: object) -> object:
        # Before the union is tried, so the message is one sentence, not a failure for each of its kinds; and
        # before the length limits, which fail on an unpaired surrogate without naming it (the tokenizer, which
        # gets the text, cannot take one either).
        return checked_content(value)

    def text(self) -> str:
        return content_text(self.content)


class AnswerRequest(BaseModel):
    """The fields the chat and Responses endpoints share: reportqa's own, and the tools it cannot call."""

    top_k: WholeNumber = Field(5, ge=1, le=MAX_TOP_K, description="reportqa extension: passages to retrieve and read.")
    max_answers: WholeNumber = Field(
        3, ge=1, le=MAX_ANSWERS, description="reportqa extension: answers to cite at most."
    )
    reader: ReaderName | None = Field(None, description='reportqa extension: reader name, "span" or "sentence".')
    filters: FiltersIn = Field(default_factory=FiltersIn, description="reportqa extension: as in /v1/ask.")
    tools: list[dict[str, Any]] | None = Field(
        None, max_length=MAX_TOOLS, description="Accepted, never called: reportqa answers from reports only."
    )
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = Field(
        None, description='"none", "auto" or absent: the reply calls no tool. "required" or a named tool is a 400.'
    )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    # Strict: JSON true or false only, as the schema says.
    include_usage: bool = Field(False, strict=True, description="Send a last chunk with the usage, and no choices.")


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["text", "json_object", "json_schema"] = Field(
        description='"text" only: JSON output is a 400 (reportqa quotes reports, it cannot fill a schema).'
    )


class ChatIn(AnswerRequest):
    """OpenAI's chat completion request; sampling parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    # Declared as an enum for clients and fuzzers; any other name is a 404, as in OpenAI's API.
    model: str = Field(
        description=f'Must be "{MODEL_ID}" (GET /v1/models lists it).', json_schema_extra={"enum": [MODEL_ID]}
    )
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description=f"1 to {MAX_MESSAGES} messages, at least one from the user: the last user message is the "
        "question; earlier user and assistant turns resolve a follow-up's he, she, they, it, that or 'And X?', "
        "and a system message's 'Topic: X' line what a first one is about.",
        json_schema_extra={"contains": _HAS_USER_MESSAGE},
    )
    # Strict: JSON true or false only, as the schema says; 0, 1 or "true" are refused, naming the field.
    stream: bool = Field(False, strict=True)
    stream_options: StreamOptions | None = None
    n: WholeNumber = Field(
        1, ge=1, le=MAX_CHOICES, description="Choices: choice i leads with the (i+1)-th best answer, when there is one."
    )
    max_tokens: WholeNumber | None = Field(
        None, ge=1, le=MAX_TOKENS_LIMIT, description="Cut each reply to this many tokens (finish_reason: length)."
    )
    max_completion_tokens: WholeNumber | None = Field(
        None, ge=1, le=MAX_TOKENS_LIMIT, description="As max_tokens; the smaller one applies when both are sent."
    )
    response_format: ResponseFormat | None = None

    @field_validator("messages")
    @classmethod
    def _has_question(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        # Declared in the schema (`contains`), so refusing it here keeps server and schema in agreement.
        if not any(message.role == "user" for message in messages):
            raise ValueError('no user message; add one with "role": "user", the last one is the question')
        return messages

    def question(self) -> str:
        """The last user message's text: what the reply answers."""
        return next(message.text() for message in reversed(self.messages) if message.role == "user")

    def token_limit(self) -> int | None:
        """The most tokens a reply may have, or None for no limit."""
        limits = [limit for limit in (self.max_tokens, self.max_completion_tokens) if limit is not None]
        return min(limits, default=None)


class URLCitation(BaseModel):
    start_index: int = Field(description="Where the [n] marker starts in the reply's text.")
    end_index: int = Field(description="Just past the marker: text[start_index:end_index] == '[n]'.")
    url: str = Field(
        description="The page showing the cited span: <base URL>/?doc=<id>&start=<start>&end=<end>&text=..."
    )
    title: str = Field(description="The cited report's title (its id when it has none).")


class ChatAnnotation(BaseModel):
    type: Literal["url_citation"] = "url_citation"
    url_citation: URLCitation


class ReplyMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    annotations: list[ChatAnnotation] = Field([], description="One url_citation for each [n] marker in the text.")


class Choice(BaseModel):
    index: int = 0
    message: ReplyMessage
    finish_reason: Literal["stop", "length"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    choices: list[Choice]
    usage: Usage
    citations: list[AnswerOut] = Field(description="The cited answers, as in /v1/ask; [n] in the reply is item n.")
    no_answer: bool


class ParameterError(BaseModel):
    message: str
    type: Literal["invalid_request_error"] = "invalid_request_error"
    param: str = Field(description="The request field reportqa cannot honour.")
    code: Literal["unsupported_parameter"] = "unsupported_parameter"


class ParameterErrorOut(BaseModel):
    """A 400 for a parameter reportqa cannot honour, in OpenAI's shape (`detail` repeats the message)."""

    detail: str
    error: ParameterError


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "reportqa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]
