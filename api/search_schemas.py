"""Request and response bodies of POST /v1/search: passages without reading."""

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import FiltersIn, PassageOut, QuestionText, Request, WholeNumber
from qa.pipeline import MAX_QUESTION_CHARS, MAX_TOP_K


class SearchIn(Request):
    query: QuestionText = Field(
        description=f"A question or keywords, 1 to {MAX_QUESTION_CHARS} characters, not only spaces."
    )
    top_k: WholeNumber = Field(10, ge=1, le=MAX_TOP_K, description="Passages to return.")
    mode: Literal["hybrid", "dense", "sparse"] = Field(
        "hybrid", description="hybrid (the default: dense, BM25 and best sentence, fused), dense, or sparse (BM25)."
    )
    filters: FiltersIn = Field(default_factory=FiltersIn)


class SearchOut(BaseModel):
    query: str
    passages: list[PassageOut] = Field(description="Best first; each slices its document: text[start:end].")
