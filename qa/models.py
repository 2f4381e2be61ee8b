"""Plain data types that flow between the pipeline's stages."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class InvalidInputError(ValueError):
    """The caller's input is not acceptable; the message says what to fix (an HTTP 422, not a server fault)."""


@dataclass(frozen=True)
class Document:
    """A report: its full text and metadata. `date` is ISO `YYYY-MM-DD` or None."""

    id: str
    text: str
    title: str = ""
    date: str | None = None
    source: str = ""
    origin: str = ""  # the file a report was read from, if any


@dataclass(frozen=True)
class Passage:
    """A slice of a document: `document.text[start:end] == text`, sentences in document offsets."""

    id: int
    document_id: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    sentence_vectors: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ScoredPassage:
    """A retrieved passage with its fused retrieval score in [0, 1] and 1-based rank."""

    passage: Passage
    score: float
    rank: int


@dataclass(frozen=True)
class Span:
    """A reader's answer: `[start, end)` character offsets into a document, and a score in [0, 1]."""

    document_id: str
    passage_id: int
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Filters:
    """Restricts retrieval to a date range (inclusive ISO dates), sources and document ids.

    A range that ends before it starts is valid and matches no report (as an empty list of sources
    would); `reversed_dates` tells a caller that wants to refuse it instead, as the CLI does.
    """

    date_from: str | None = None
    date_to: str | None = None
    sources: tuple[str, ...] = ()
    document_ids: tuple[str, ...] = ()

    def reversed_dates(self) -> bool:
        """Whether the date range ends before it starts (ISO dates order as strings do)."""
        return bool(self.date_from and self.date_to and self.date_from > self.date_to)

    def is_empty(self) -> bool:
        return not (self.date_from or self.date_to or self.sources or self.document_ids)


def valid_unicode(value: str) -> str:
    """Return `value` if it is valid unicode; a lone surrogate (a JSON escape like \\ud800) raises InvalidInputError.

    Python strings may hold one, but UTF-8, SQLite and the tokenizers cannot.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError("text contains an unpaired surrogate (invalid unicode); send valid UTF-8") from None
    return value


def shown(path: Path | str) -> str:
    """A path as valid text: the bytes of a name that is not UTF-8 become `\\xNN` escapes.

    Python keeps such bytes as lone surrogates, which the store, JSON and the terminal refuse.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")
