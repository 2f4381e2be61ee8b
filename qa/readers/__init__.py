"""Readers turn a question and retrieved passages into scored answer spans."""

from pathlib import Path

from qa.models import Precision
from qa.readers.base import Question, Reader
from qa.readers.sentence import SentenceReader
from qa.readers.span import SpanReader


def default_readers(span_model: Path | None = None, precision: Precision = "auto") -> list[Reader]:
    """The service's readers, the default first: span (the shipped model unless `span_model`), then sentence."""
    return [SpanReader(span_model, precision=precision), SentenceReader()]


__all__ = ["Question", "Reader", "SentenceReader", "SpanReader", "default_readers"]
