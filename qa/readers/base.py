"""The reader interface: (question, passages) -> scored spans in document offsets."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.models import ScoredPassage, Span


@dataclass(frozen=True)
class Question:
    """A question's text and its unit vector from the embedder."""

    text: str
    vector: np.ndarray


class Reader(Protocol):
    """Finds answer spans in retrieved passages.

    A reader returns spans best first, with `[start, end)` in document character offsets inside
    the passage it read, and a score in [0, 1]; it may return overlapping spans, which the
    pipeline merges.
    """

    name: str
    no_answer_threshold: float  # the score below which an answer is not returned

    def read(self, question: Question, passages: list[ScoredPassage], max_spans: int) -> list[Span]: ...

    def to_dict(self) -> dict: ...
