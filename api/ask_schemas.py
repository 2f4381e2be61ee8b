"""Request and response bodies of POST /v1/ask/batch: several questions with one set of options."""

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from api.schemas import AskOptions, AskOut, QuestionText, checked_question
from qa.pipeline import MAX_BATCH_QUESTIONS, MAX_QUESTION_CHARS

# Each item checked as /v1/ask checks its question; a refusal's location names the item (questions.2).
BatchQuestion = Annotated[QuestionText, BeforeValidator(checked_question)]


class AskBatchIn(AskOptions):
    questions: list[BatchQuestion] = Field(
        min_length=1,
        max_length=MAX_BATCH_QUESTIONS,
        description=f"1 to {MAX_BATCH_QUESTIONS} questions, each 1 to {MAX_QUESTION_CHARS} characters, not only "
        "spaces; a bad one is a 422 naming its position, counting from 0 (questions.2).",
    )

    @field_validator("questions", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        # Before the declared limits, so the message says what to send in words.
        if isinstance(value, list) and not value:
            raise ValueError(f"questions is empty; send 1 to {MAX_BATCH_QUESTIONS} questions")
        if isinstance(value, list) and len(value) > MAX_BATCH_QUESTIONS:
            raise ValueError(
                f"questions has {len(value)} items; send {MAX_BATCH_QUESTIONS} at most, or split them over requests"
            )
        return value


class AskBatchOut(BaseModel):
    results: list[AskOut] = Field(description="One result for each question, in the order asked, as /v1/ask's.")
