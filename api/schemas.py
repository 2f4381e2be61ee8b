"""Request and response bodies of the HTTP API."""

from datetime import date as Date
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from qa.ingest.loaders import MAX_ID_CHARS
from qa.models import Filters, ScoredPassage, valid_unicode
from qa.pipeline import MAX_ANSWERS, MAX_QUESTION_CHARS, MAX_TOP_K, AskResult
from qa.readers import SentenceReader, SpanReader
from qa.readers.answers import Answer

DOCUMENT_ID_PATTERN = rf"^[A-Za-z0-9_][A-Za-z0-9._-]{{0,{MAX_ID_CHARS - 1}}}$"
DocumentId = Annotated[str, StringConstraints(pattern=DOCUMENT_ID_PATTERN)]
MAX_TEXT_CHARS = 5_000_000
MAX_SOURCE_CHARS = 500
# The service's readers (qa/factory.py builds every pipeline with the defaults), the default first.
READER_NAMES = [SpanReader.name, SentenceReader.name]


def whole_number(value: object) -> object:
    """A JSON integer, or a number with no fraction (JSON schema's integers include 5.0); never true, false or "5"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number, e.g. 5")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be a whole number, not {value}")
        return int(value)
    return value


# Integers as JSON schema reads them: 5 and 5.0, nothing else.
WholeNumber = Annotated[int, BeforeValidator(whole_number)]


def day_text(value: object) -> object:
    """A date only as text ("YYYY-MM-DD"): pydantic would also read a number, as a Unix time."""
    if not isinstance(value, str | Date):
        raise ValueError('must be a date written "YYYY-MM-DD"')
    return value


DayText = Annotated[Date, BeforeValidator(day_text)]


def unicode_text(value: object) -> object:
    """Refuse a string with a lone surrogate (a JSON escape like \\ud800) by name; pass anything else on."""
    # Before the length checks: to count, pydantic converts the string and would fail on it without a reason.
    return valid_unicode(value) if isinstance(value, str) else value


def _reader_name(value: object) -> object:
    # Before the declared constraints, so an empty name is refused in words that say what to send.
    if value == "":
        raise ValueError(f"reader is empty; use one of {READER_NAMES}, or leave it out for the default")
    return unicode_text(value)


Text = Annotated[str, BeforeValidator(unicode_text)]
# Limits on a type inside a list come before the validator, or pydantic words them as a list's ("items").
SourceName = Annotated[str, Field(max_length=MAX_SOURCE_CHARS), BeforeValidator(unicode_text)]
DocumentIdText = Annotated[str, Field(max_length=MAX_ID_CHARS), BeforeValidator(unicode_text)]
# Listed as an enum for clients and fuzzers; any other name is a 422 from the pipeline, naming the readers.
ReaderName = Annotated[
    str,
    Field(min_length=1, max_length=100, json_schema_extra={"enum": READER_NAMES}),
    BeforeValidator(_reader_name),
]


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: int


class ErrorOut(BaseModel):
    """Every error: `detail` says what to fix; `error` is the same in OpenAI's shape."""

    detail: str
    error: ErrorDetail
    errors: list[dict] | None = Field(None, description="Validation errors one by one (422 only).")


ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "Malformed request"),
        (401, "Missing or invalid API key"),
        (403, "Key may not do this"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Body too large"),
        (422, "Invalid input"),
        (429, "Too many requests"),
        (503, "Too slow, or still loading"),
    )
}


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(Request):
    date_from: DayText | None = Field(None, description="Only reports dated on or after this day.")
    date_to: DayText | None = Field(None, description="Only reports dated on or before this day.")
    sources: list[SourceName] = Field([], max_length=100, description="Only reports from these sources.")
    document_ids: list[DocumentIdText] = Field([], max_length=1000, description="Only these documents.")

    def to_filters(self) -> Filters:
        return Filters(
            date_from=self.date_from.isoformat() if self.date_from else None,
            date_to=self.date_to.isoformat() if self.date_to else None,
            sources=tuple(self.sources),
            document_ids=tuple(self.document_ids),
        )


# A question or query: what `qa.pipeline.question_problem` accepts, as the schema can say it.
QuestionText = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=r"\S")]


def checked_question(value: object) -> object:
    """A question stripped, or refused in words that say what to fix; anything but a string passed on."""
    # Before the declared constraints, so the message says what to fix in words.
    if not isinstance(value, str):
        return value
    value = valid_unicode(value).strip()
    if not value:
        raise ValueError("question is empty; ask something, e.g. 'Who is the Russian defence minister?'")
    if len(value) > MAX_QUESTION_CHARS:
        raise ValueError(f"question has {len(value)} characters; shorten it to {MAX_QUESTION_CHARS} at most")
    return value


# The options /v1/ask and /v1/ask/batch share, declared once.
# The limits before the validator: after it, pydantic would not read them as the integer's limits.
TopK = Annotated[
    int, Field(ge=1, le=MAX_TOP_K, description="Passages to retrieve and read."), BeforeValidator(whole_number)
]
MaxAnswers = Annotated[
    int, Field(ge=1, le=MAX_ANSWERS, description="Answers to return at most."), BeforeValidator(whole_number)
]
ReaderChoice = Annotated[
    ReaderName | None,
    Field(description='Reader: "span" (exact answer spans, the default) or "sentence" (whole sentences).'),
]
# Strict: JSON true or false only, as the schema says; 0, 1 or "true" are refused, naming the field.
IncludePassages = Annotated[bool, Field(strict=True, description="Also return the retrieved passages.")]


class AskOptions(Request):
    """How /v1/ask and /v1/ask/batch answer: the options besides the question(s)."""

    top_k: TopK = 5
    max_answers: MaxAnswers = 3
    reader: ReaderChoice = None
    filters: FiltersIn = Field(default_factory=FiltersIn)
    include_passages: IncludePassages = False


class AskIn(AskOptions):
    question: QuestionText = Field(description=f"The question, 1 to {MAX_QUESTION_CHARS} characters, not only spaces.")

    @field_validator("question", mode="before")
    @classmethod
    def _question(cls, value: object) -> object:
        return checked_question(value)


class CitationOut(BaseModel):
    document_id: str
    title: str
    date: str | None
    source: str
    passage_id: int
    start: int = Field(description="Offset of the answer in the document's text: text == document.text[start:end].")
    end: int
    context: str = Field(description="The sentence(s) around the answer.")
    context_start: int = Field(description="Offset of `context` in the document's text.")


class AnswerOut(BaseModel):
    text: str
    score: float = Field(ge=0.0, le=1.0)
    citation: CitationOut

    @classmethod
    def from_answer(cls, answer: Answer) -> "AnswerOut":
        return cls(text=answer.text, score=answer.score, citation=CitationOut(**vars(answer.citation)))


class PassageOut(BaseModel):
    passage_id: int
    document_id: str
    start: int
    end: int
    text: str
    score: float
    rank: int

    @classmethod
    def from_scored(cls, scored: ScoredPassage) -> "PassageOut":
        passage = scored.passage
        return cls(
            passage_id=passage.id,
            document_id=passage.document_id,
            start=passage.start,
            end=passage.end,
            text=passage.text,
            score=round(scored.score, 4),
            rank=scored.rank,
        )


class AskOut(BaseModel):
    question: str
    answers: list[AnswerOut]
    no_answer: bool = Field(description="True when no answer scored above the service's threshold.")
    passages: list[PassageOut] | None = None
    timings_ms: dict[str, float]

    @classmethod
    def from_result(cls, result: AskResult, include_passages: bool) -> "AskOut":
        """A question answered, with its retrieved passages when asked for them."""
        passages = [PassageOut.from_scored(scored) for scored in result.passages] if include_passages else None
        return cls(
            question=result.question,
            answers=[AnswerOut.from_answer(answer) for answer in result.answers],
            no_answer=result.no_answer,
            passages=passages,
            timings_ms=result.timings_ms,
        )


class DocumentIn(Request):
    title: Text = Field("", max_length=1000)
    date: DayText | None = None
    source: Text = Field("", max_length=MAX_SOURCE_CHARS)
    text: Text = Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"\S", description="The report's full text.")

    @field_validator("text", mode="before")
    @classmethod
    def _has_text(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("text is empty; send the report's full text")
        return value


class NewDocumentIn(DocumentIn):
    id: DocumentId | None = Field(None, description="Letters, digits, '.', '_' or '-'; generated when omitted.")


class DocumentSummary(BaseModel):
    id: str
    title: str
    date: str | None
    source: str
    characters: int
    passages: int
    added_at: str


class DocumentOut(DocumentSummary):
    text: str


class DocumentPage(BaseModel):
    items: list[DocumentSummary]
    total: int
    offset: int
    limit: int


class VerifyIn(Request):
    document_id: DocumentIdText
    start: int = Field(ge=0, description="Offset of the cited text in the document's text.")
    # JSON schema cannot say end >= start, so an end before start is not refused but answered: not verified.
    end: int = Field(ge=0, description="Offset just past the cited text; one before `start` never verifies.")
    text: Text = Field(max_length=MAX_TEXT_CHARS, description="The cited text.")


class VerifyOut(BaseModel):
    verified: bool = Field(description="True when document.text[start:end] == text exactly.")
    document_id: str
    start: int
    end: int
    text: str
    actual_text: str = Field(description="What document.text[start:end] holds.")
    message: str
