"""Sentence reader: answers with the retrieved passages' sentences that best match the question."""

import numpy as np

from qa.models import ScoredPassage, Span
from qa.readers.base import Question


class SentenceReader:
    """Scores every sentence of the retrieved passages against the question with the embedder.

    Sentence vectors are computed at ingestion from the passage's own forward pass (see
    `Encoder.encode_with_spans`), so reading costs one matrix product. The score is
    `clip(sentence_weight * cosine + (1 - sentence_weight) * retrieval_score, 0, 1)`.

    Usage:
        reader = SentenceReader()
        spans = reader.read(Question(text, vector), scored_passages, max_spans=3)

    Args:
        sentence_weight: share of the sentence's own similarity in the score (default 0.85); the
            rest is the passage's fused retrieval score.
        no_answer_threshold: the lowest score an answer may have (default 0.35).
    """

    name = "sentence"

    def __init__(self, sentence_weight: float = 0.85, no_answer_threshold: float = 0.35):
        self.sentence_weight = sentence_weight
        self.no_answer_threshold = no_answer_threshold

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "sentence_weight": self.sentence_weight,
            "no_answer_threshold": self.no_answer_threshold,
        }

    def read(self, question: Question, passages: list[ScoredPassage], max_spans: int) -> list[Span]:
        spans = []
        for scored in passages:
            passage = scored.passage
            if passage.sentence_vectors is None or not passage.sentences:
                continue
            similarities = passage.sentence_vectors.astype(np.float32) @ question.vector
            scores = self.sentence_weight * similarities + (1 - self.sentence_weight) * scored.score
            for (start, end), score in zip(passage.sentences, np.clip(scores, 0.0, 1.0).tolist(), strict=True):
                spans.append(Span(passage.document_id, passage.id, start, end, score))
        spans.sort(key=lambda span: -span.score)
        # Overlapping passages repeat sentences: keep room for the duplicates the pipeline drops.
        return spans[: max_spans * 4]
