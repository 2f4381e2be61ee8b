"""Request and response bodies of the OpenAI-compatible chat endpoint."""

from typing import Annotated, Literal

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
# JSON schema's `contains`: at least one item is a user message (pydantic does not check it; the validator does).
_HAS_USER_MESSAGE: JsonDict = {"type": "object", "properties": {"role": {"const": "user"}}, "required": ["role"]}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=100, description='Only "text" parts are read; others are ignored.')
    text: str | None = Field(None, max_length=MAX_CONTENT_CHARS)


class ChatMessage(BaseModel):
    # OpenAI clients send fields reportqa has no use for (name, tool_calls, ...): accept and ignore them.
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: (
        Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]
        | Annotated[list[ContentPart], Field(max_length=MAX_CONTENT_PARTS)]
        | None
    ) = Field(None, description=f"At most {MAX_CONTENT_CHARS} characters, or {MAX_CONTENT_PARTS} parts.")

    @field_validator("content", mode="before")
    @classmethod
    def _checked_content(cls, value: object) -> object:
        # Before the union is tried, so the message is one sentence, not a failure for each of its kinds; and
        # before the length limits, which fail on an unpaired surrogate without naming it (the tokenizer, which
        # gets the text, cannot take one either).
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

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatIn(BaseModel):
    """OpenAI's chat completion request; sampling parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    # Declared as an enum for clients and fuzzers; any other name is a 404, as in OpenAI's API.
    model: str = Field(
        description=f'Must be "{MODEL_ID}" (GET /v1/models lists it).', json_schema_extra={"enum": [MODEL_ID]}
    )
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description=f"1 to {MAX_MESSAGES} messages, at least one from the user: the last user message is the question.",
        json_schema_extra={"contains": _HAS_USER_MESSAGE},
    )
    # Strict: JSON true or false only, as the schema says; 0, 1 or "true" are refused, naming the field.
    stream: bool = Field(False, strict=True)
    top_k: WholeNumber = Field(5, ge=1, le=MAX_TOP_K, description="reportqa extension: passages to retrieve and read.")
    max_answers: WholeNumber = Field(
        3, ge=1, le=MAX_ANSWERS, description="reportqa extension: answers to cite at most."
    )
    reader: ReaderName | None = Field(None, description='reportqa extension: reader name, "span" or "sentence".')
    filters: FiltersIn = Field(default_factory=FiltersIn, description="reportqa extension: as in /v1/ask.")

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


class ReplyMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ReplyMessage
    finish_reason: Literal["stop"] = "stop"


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


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "reportqa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]
