"""Assembling answers from reader spans: the best first, none overlapping, each text once."""

from qa.models import Document, Span
from qa.readers.answers import assemble_answers

TEXT = "Serbia will not join NATO. The NATO summit met. Vucic said: the NATO! Belgrade hosts a fair."
DOCUMENTS = {"brief": Document("brief", TEXT, "Brief", "2017-09-19", "TASS", "brief.txt")}


def _span(text: str, score: float, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(text, start + 1)
    return Span("brief", 1, start, start + len(text), score)


def test_a_text_found_at_several_places_is_one_answer_cited_where_it_scored_best() -> None:
    spans = [
        _span("NATO", 0.35, occurrence=1),
        _span("Belgrade", 0.5),
        _span("NATO", 0.95),
        _span("the NATO!", 0.4),  # reads as "NATO": the same answer
    ]
    answers = assemble_answers(spans, DOCUMENTS, max_answers=3, threshold=0.0)
    assert [(a.text, a.score) for a in answers] == [("NATO", 0.95), ("Belgrade", 0.5)]
    assert answers[0].citation.start == TEXT.index("NATO")


def test_distinct_texts_fill_the_answers_up_to_the_limit() -> None:
    spans = [_span("NATO", 0.9), _span("NATO", 0.8, occurrence=1), _span("Vucic", 0.7), _span("Belgrade", 0.6)]
    answers = assemble_answers(spans, DOCUMENTS, max_answers=2, threshold=0.0)
    assert [a.text for a in answers] == ["NATO", "Vucic"]


def test_overlaps_and_the_threshold_still_apply() -> None:
    spans = [_span("Serbia will not join NATO", 0.9), _span("join NATO", 0.8), _span("Vucic", 0.1)]
    answers = assemble_answers(spans, DOCUMENTS, max_answers=3, threshold=0.2)
    assert [a.text for a in answers] == ["Serbia will not join NATO"]


def test_texts_that_normalise_to_nothing_are_compared_as_written() -> None:
    text = "A. The. B."
    documents = {"d": Document("d", text, "", None, "", "d.txt")}
    spans = [Span("d", 1, 0, 2, 0.9), Span("d", 1, 3, 7, 0.8), Span("d", 1, 8, 10, 0.7)]
    assert [a.text for a in assemble_answers(spans, documents, 3, 0.0)] == ["A.", "The.", "B."]
