"""Turning reader spans into deduplicated answers with verifiable citations."""

from dataclasses import dataclass

from qa.ingest.sentences import sentence_spans
from qa.models import Document, Span
from qa.text import normalize_answer

_CONTEXT_WINDOW = 600  # characters searched on each side of a span for its sentence bounds


@dataclass(frozen=True)
class Citation:
    """Where an answer stands: `document.text[start:end]` is the answer, exactly."""

    document_id: str
    title: str
    date: str | None
    source: str
    passage_id: int
    start: int
    end: int
    context: str
    context_start: int


@dataclass(frozen=True)
class Answer:
    text: str
    score: float
    citation: Citation


def assemble_answers(
    spans: list[Span], documents: dict[str, Document], max_answers: int, threshold: float
) -> list[Answer]:
    """Keep the best spans at or above `threshold`, one for each answer text, none overlapping a better one.

    A text found at several places ("NATO" at 0.95 and again at 0.35) is one answer, cited where it
    scored best: the answers list then offers distinct answers, not one answer repeated.

    Args:
        spans: reader output, in any order.
        documents: the documents the spans point into, by id.
        max_answers: how many answers at most.
        threshold: the lowest score an answer may have.
    """
    chosen: list[Span] = []
    texts: set[str] = set()
    for span in sorted(spans, key=lambda s: (-s.score, s.document_id, s.start)):
        if len(chosen) == max_answers or span.score < threshold:
            break
        if any(c.document_id == span.document_id and c.start < span.end and span.start < c.end for c in chosen):
            continue
        raw = documents[span.document_id].text[span.start : span.end]
        text = normalize_answer(raw) or raw  # punctuation or "the" alone normalises to nothing: kept as is
        if text in texts:
            continue
        texts.add(text)
        chosen.append(span)
    return [_answer(span, documents[span.document_id]) for span in chosen]


def _answer(span: Span, document: Document) -> Answer:
    context_start, context_end = enclosing_sentences(document.text, span.start, span.end)
    return Answer(
        text=document.text[span.start : span.end],
        score=round(span.score, 4),
        citation=Citation(
            document_id=document.id,
            title=document.title,
            date=document.date,
            source=document.source,
            passage_id=span.passage_id,
            start=span.start,
            end=span.end,
            context=document.text[context_start:context_end],
            context_start=context_start,
        ),
    )


def enclosing_sentences(text: str, start: int, end: int) -> tuple[int, int]:
    """The `[start, end)` of the sentences that the span touches (the span itself at least)."""
    window_start = max(0, start - _CONTEXT_WINDOW)
    window_end = min(len(text), end + _CONTEXT_WINDOW)
    touching = [(s, e) for s, e in sentence_spans(text, window_start, window_end) if s < end and start < e]
    if not touching:
        return start, end
    return min(start, touching[0][0]), max(end, touching[-1][1])


@dataclass(frozen=True)
class Verification:
    verified: bool
    actual_text: str
    message: str


def verify_citation(document: Document, start: int, end: int, text: str) -> Verification:
    """Check that `document.text[start:end] == text`, and say what is there instead if not."""
    length = len(document.text)
    actual = document.text[start:end]
    if end > length:
        return Verification(False, actual, f"end {end} is past the end of the document ({length} characters)")
    if actual == text:
        return Verification(True, actual, "the cited text is exactly at these offsets")
    found = document.text.find(text) if text else -1
    where = f"; it occurs at [{found}, {found + len(text)})" if found >= 0 else "; it does not occur in the document"
    return Verification(False, actual, f"the document has different text at these offsets{where}")
