"""Request and response bodies of the OpenAI-compatible chat endpoint."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas import AnswerOut, FiltersIn
from qa.models import valid_unicode
from qa.pipeline import MAX_ANSWERS, MAX_TOP_K

MODEL_ID = "reportqa"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    # OpenAI clients send fields reportqa has no use for (name, tool_calls, ...): accept and ignore them.
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @model_validator(mode="after")
    def _valid_text(self) -> "ChatMessage":
        # The text goes to the tokenizer, which cannot take an unpaired surrogate.
        valid_unicode(self.text())
        return self

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
    messages: list[ChatMessage] = Field(min_length=1, description="The last user message is the question.")
    stream: bool = False
    top_k: int = Field(
        5, ge=1, le=MAX_TOP_K, strict=True, description="reportqa extension: passages to retrieve and read."
    )
    max_answers: int = Field(
        3, ge=1, le=MAX_ANSWERS, strict=True, description="reportqa extension: answers to cite at most."
    )
    reader: str | None = Field(None, description="reportqa extension: reader name.")
    filters: FiltersIn = Field(default_factory=FiltersIn, description="reportqa extension: as in /v1/ask.")


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
