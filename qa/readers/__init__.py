"""Readers turn a question and retrieved passages into scored answer spans."""

from pathlib import Path

from embeddings.precision import Precision
from qa.models import InvalidInputError
from qa.readers.base import Question, Reader
from qa.readers.sentence import SentenceReader
from qa.readers.span import SpanReader


def default_readers(
    span_model: Path | None = None, precision: Precision = "auto", early_stop_score: float = 1.0
) -> list[Reader]:
    """The service's readers, the default first: span (the shipped model unless `span_model`), then sentence."""
    return [SpanReader(span_model, precision=precision, early_stop_score=early_stop_score), SentenceReader()]


def choose_reader(readers: dict[str, Reader], name: str | None, default: str) -> Reader:
    """The reader called `name`, or `default` when None; any other name raises InvalidInputError naming the readers."""
    chosen = readers.get(default if name is None else name)
    if chosen is None:
        raise InvalidInputError(f"reader must be one of {sorted(readers)}, not {name!r}")
    return chosen


__all__ = ["Question", "Reader", "SentenceReader", "SpanReader", "choose_reader", "default_readers"]
