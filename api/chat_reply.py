"""Chat replies: an answer result as Markdown with numbered citation markers and a sources list."""

import re

from qa.pipeline import AskResult

NO_ANSWER_REPLY = "I found no answer to this question in the indexed reports."


def compose_reply(result: AskResult) -> str:
    """Render answers as Markdown: the best answer, the others, then the numbered sources.

    Marker `[n]` refers to the n-th answer's citation, in the same order as the `citations` list.
    """
    if result.no_answer:
        return NO_ANSWER_REPLY
    best, *others = result.answers
    lines = [f"{_one_line(best.text)} [1]"]
    if others:
        lines += ["", "Other passages that may answer it:"]
        lines += [f"- {_one_line(answer.text)} [{number}]" for number, answer in enumerate(others, start=2)]
    lines += ["", "Sources:"]
    for number, answer in enumerate(result.answers, start=1):
        cite = answer.citation
        details = ", ".join(part for part in (cite.date, cite.source) if part)
        title = cite.title or cite.document_id
        lines.append(
            f"[{number}] {title}{f' ({details})' if details else ''}, document `{cite.document_id}`, "
            f"characters {cite.start}-{cite.end}, score {answer.score:.2f}"
        )
    return "\n".join(lines)


def stream_pieces(text: str) -> list[str]:
    """Split a reply into word-sized pieces whose concatenation is the reply, for streaming."""
    return re.findall(r"\s*\S+|\s+$", text)


def _one_line(text: str) -> str:
    return " ".join(text.split())
