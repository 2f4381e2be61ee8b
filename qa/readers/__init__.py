"""Readers turn a question and retrieved passages into scored answer spans."""

from qa.readers.base import Question, Reader
from qa.readers.sentence import SentenceReader
from qa.readers.span import SpanReader

__all__ = ["Question", "Reader", "SentenceReader", "SpanReader"]
