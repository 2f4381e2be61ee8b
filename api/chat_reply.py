"""Chat replies: an answer result as Markdown a person reads, with [n] markers whose places are kept.

The text names each source by title, source and date; the machine details (document id, offsets, score)
go only in the structured fields: `citations`, and a url_citation annotation for each marker.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from api.schemas import AnswerOut
from qa.pipeline import AskResult
from qa.readers.answers import Answer

NO_ANSWER_REPLY = "I found no answer to this question in the indexed reports."


@dataclass(frozen=True)
class Marker:
    """An `[n]` in a reply: `text[start:end] == f"[{number}]"`, citing the n-th answer."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class Reply:
    text: str
    markers: tuple[Marker, ...] = ()


@dataclass(frozen=True)
class Link:
    """A url_citation: the reply's `[start, end)` cites the report span at `url`."""

    start: int
    end: int
    url: str
    title: str


class _Writer:
    """Builds a reply's text, noting where each marker lands."""

    def __init__(self) -> None:
        self.text = ""
        self.markers: list[Marker] = []

    def line(self, text: str = "", marker: int | None = None) -> None:
        if self.text:
            self.text += "\n"
        self.text += text
        if marker is not None:
            start = len(self.text) + (1 if text else 0)
            self.text += f"{' ' if text else ''}[{marker}]"
            self.markers.append(Marker(marker, start, len(self.text)))

    def reply(self) -> Reply:
        return Reply(self.text, tuple(self.markers))


def compose_reply(result: AskResult, lead: int = 0) -> Reply:
    """Render answers as Markdown: one answer, the others, then the numbered sources.

    Marker `[n]` refers to the n-th answer (the n-th item of `citations`) whichever answer leads.

    Args:
        result: the pipeline's answers, best first.
        lead: the answer to put first (0: the best); the n choices of a chat request lead with each in turn.
    """
    if result.no_answer:
        return Reply(NO_ANSWER_REPLY)
    numbered = list(enumerate(result.answers, start=1))
    first = numbered[lead] if lead < len(numbered) else numbered[0]
    writer = _Writer()
    writer.line(_one_line(first[1].text), marker=first[0])
    others = [(number, answer) for number, answer in numbered if number != first[0]]
    if others:
        writer.line()
        writer.line("Other passages that may answer it:")
        for number, answer in others:
            writer.line(f"- {_one_line(answer.text)}", marker=number)
    writer.line()
    writer.line("Sources:")
    for number, answer in numbered:
        writer.line(f"[{number}] {source_line(answer)}")
    return writer.reply()


def source_line(answer: Answer | AnswerOut) -> str:
    """A report as a person names it: its title, then its source and date when known."""
    cite = answer.citation
    details = ", ".join(part for part in (cite.source, _readable_date(cite.date)) if part)
    return f"{cite.title or cite.document_id}{f' ({details})' if details else ''}"


def citation_url(base_url: str, answer: AnswerOut) -> str:
    """The page that shows a cited span: `<base>/?doc=<id>&start=<start>&end=<end>&text=<answer>`.

    A person following it sees the report with the span highlighted, checked against `text` (the page
    asks /v1/citations/verify); `start` and `end` are the document's character offsets, as in `citations`.
    """
    cite = answer.citation
    query = urlencode({"doc": cite.document_id, "start": cite.start, "end": cite.end, "text": answer.text})
    return f"{base_url.rstrip('/')}/?{query}"


def links(reply: Reply, citations: Sequence[AnswerOut], base_url: str) -> list[Link]:
    """A url_citation for each marker in the reply, in the reply's order."""
    found = []
    for marker in reply.markers:
        answer = citations[marker.number - 1]
        title = answer.citation.title or answer.citation.document_id
        found.append(Link(marker.start, marker.end, citation_url(base_url, answer), title))
    return found


def truncated(reply: Reply, max_tokens: int, count: Callable[[str], int]) -> tuple[Reply, bool]:
    """The reply cut at a word boundary to at most `max_tokens` tokens, and whether it was cut.

    Markers cut off go with their text, so every remaining marker's place still holds it.
    """
    if count(reply.text) <= max_tokens:
        return reply, False
    pieces = stream_pieces(reply.text)
    # The longest prefix of whole pieces that fits: a prefix never has fewer tokens than a shorter one.
    low, high = 0, len(pieces)
    while low < high:
        middle = (low + high + 1) // 2
        if count("".join(pieces[:middle])) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    text = "".join(pieces[:low])
    return Reply(text, tuple(marker for marker in reply.markers if marker.end <= len(text))), True


def stream_pieces(text: str) -> list[str]:
    """Split a reply into word-sized pieces whose concatenation is the reply, for streaming."""
    return re.findall(r"\s*\S+|\s+$", text)


def _readable_date(iso: str | None) -> str:
    """'2017-04-25' as '25 April 2017'; any other text as it is."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {day:%B %Y}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
