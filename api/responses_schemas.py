"""Request and response bodies of the minimal OpenAI Responses API (POST /v1/responses)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.chat_schemas import (
    MAX_CONTENT_CHARS,
    MAX_MESSAGES,
    MAX_TOKENS_LIMIT,
    MODEL_ID,
    AnswerRequest,
    ChatMessage,
    Content,
    ResponseFormat,
    Role,
    checked_content,
)
from api.schemas import AnswerOut, WholeNumber

MAX_METADATA_KEYS = 16


class InputItem(BaseModel):
    """An item of `input`: a message (role and content) is read; other items (tool output, ...) are not."""

    model_config = ConfigDict(extra="allow")

    type: str | None = Field(None, max_length=100, description='"message" (the default), or another kind, not read.')
    role: Role | None = None
    content: Content = Field(None, description=f"At most {MAX_CONTENT_CHARS} characters, or 100 parts.")

    @field_validator("content", mode="before")
    @classmethod
    def _checked_content(cls, value: object) -> object:
        return checked_content(value)


class TextOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    format: ResponseFormat | None = None


class ResponsesIn(AnswerRequest):
    """OpenAI's Responses request, in part: input, streaming, max_output_tokens; sampling is ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(
        description=f'Must be "{MODEL_ID}" (GET /v1/models lists it).', json_schema_extra={"enum": [MODEL_ID]}
    )
    input: (
        Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]
        | Annotated[list[InputItem], Field(min_length=1, max_length=MAX_MESSAGES)]
    ) = Field(description="The question, or the conversation as messages: the last user message is the question.")
    instructions: str | None = Field(
        None,
        max_length=MAX_CONTENT_CHARS,
        description='Read as a system message: only a "Topic: X" line, saying what a first follow-up is about.',
    )
    # Strict: JSON true or false only, as the schema says.
    stream: bool = Field(False, strict=True)
    max_output_tokens: WholeNumber | None = Field(
        None, ge=1, le=MAX_TOKENS_LIMIT, description='Cut the reply to this many tokens (status "incomplete").'
    )
    text: TextOptions | None = Field(None, description='Only the "text" format: JSON output is a 400.')
    previous_response_id: str | None = Field(
        None, max_length=200, description="A 400: reportqa keeps no responses; send earlier turns in `input`."
    )
    metadata: dict[str, Annotated[str, Field(max_length=512)]] | None = Field(
        None, max_length=MAX_METADATA_KEYS, description="Returned as sent."
    )

    @field_validator("input", mode="before")
    @classmethod
    def _checked_input(cls, value: object) -> object:
        # Before the union is tried, so a refusal is one sentence, not one for each kind of input.
        if isinstance(value, str):
            if not value:
                raise ValueError("input is empty; send the question, e.g. 'Who is the Russian defence minister?'")
            return checked_content(value)
        if isinstance(value, list):
            if len(value) > MAX_MESSAGES:
                raise ValueError(f"input has {len(value)} items; send {MAX_MESSAGES} at most")
            if not any(isinstance(item, dict) and item.get("role") == "user" for item in value):
                raise ValueError('no user message; add one with "role": "user", the last one is the question')
        return value

    def messages(self) -> list[ChatMessage]:
        """The instructions as a system message, then the input as chat messages (other items left out)."""
        system = [ChatMessage(role="system", content=self.instructions)] if self.instructions else []
        if isinstance(self.input, str):
            return [*system, ChatMessage(role="user", content=self.input)]
        return [
            *system,
            *(ChatMessage(role=item.role, content=item.content) for item in self.input if item.role is not None),
        ]


class ResponseAnnotation(BaseModel):
    type: Literal["url_citation"] = "url_citation"
    start_index: int = Field(description="Where the [n] marker starts in `text`.")
    end_index: int = Field(description="Just past the marker.")
    url: str = Field(
        description="The page showing the cited span: <base URL>/?doc=<id>&start=<start>&end=<end>&text=..."
    )
    title: str = Field(description="The cited report's title (its id when it has none).")


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[ResponseAnnotation]
    logprobs: list[Any] = []


class OutputMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    role: Literal["assistant"] = "assistant"
    content: list[OutputText]


class IncompleteDetails(BaseModel):
    reason: Literal["max_output_tokens"] = "max_output_tokens"


class ResponseUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, int] = {"cached_tokens": 0}
    output_tokens_details: dict[str, int] = {"reasoning_tokens": 0}


class ResponseOut(BaseModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Literal["in_progress", "completed", "incomplete"]
    incomplete_details: IncompleteDetails | None = None
    error: None = None
    model: str = MODEL_ID
    output: list[OutputMessage]
    usage: ResponseUsage | None = None
    instructions: str | None = None
    metadata: dict[str, str] = {}
    parallel_tool_calls: bool = False
    tool_choice: str | dict[str, Any] = "auto"
    tools: list[dict[str, Any]] = []
    citations: list[AnswerOut] = Field(description="reportqa extension: the cited answers, as in /v1/ask.")
    no_answer: bool = Field(description="reportqa extension: true when no answer scored high enough.")
