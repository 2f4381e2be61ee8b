"""Chat replies: sources a person reads, markers whose places are kept, cuts at a word, streamed pieces."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.chat_reply import NO_ANSWER_REPLY, compose_reply, links, stream_pieces, truncated
from api.schemas import AnswerOut
from qa.pipeline import AskResult, Pipeline
from qa.readers.answers import Answer, Citation


def _answer(text: str, document_id: str, start: int, score: float, title: str = "", date: str | None = None) -> Answer:
    citation = Citation(document_id, title, date, "TASS", 0, start, start + len(text), text, start)
    return Answer(text, score, citation)


RESULT = AskResult(
    question="Who met whom?",
    answers=[
        _answer("Sergei Shoigu", "sputnik-1", 55, 0.95, "Russia, Serbia Confirm Interest", "2017-04-25"),
        # A quoted reference in the answer itself must not be taken for a marker.
        _answer("Zoran [2] Djordjevic", "sputnik-1", 700, 0.61, "Russia, Serbia Confirm Interest", "2017-04-25"),
        _answer("Aleksandar Vucic", "tass-7", 120, 0.42),
    ],
    no_answer=False,
    passages=[],
    timings_ms={},
)
CITATIONS = [AnswerOut.from_answer(answer) for answer in RESULT.answers]


@given(st.text())
def test_stream_pieces_rebuild_the_reply(text: str) -> None:
    assert "".join(stream_pieces(text)) == text


def test_sources_name_title_source_and_date_and_leave_machine_details_out() -> None:
    text = compose_reply(RESULT).text
    assert text.splitlines()[0] == "Sergei Shoigu [1]"
    sources = text.split("Sources:\n")[1].splitlines()
    assert sources == [
        "[1] Russia, Serbia Confirm Interest (TASS, 25 April 2017)",
        "[2] Russia, Serbia Confirm Interest (TASS, 25 April 2017)",
        "[3] tass-7 (TASS)",  # no title: the id is all there is to name it by
    ]
    for detail in ("document `", "characters", "score", "0.95", "55-68", "sputnik-1"):
        assert detail not in text


@pytest.mark.parametrize("lead", [0, 1, 2, 5])
def test_every_marker_holds_its_number_whichever_answer_leads(lead: int) -> None:
    reply = compose_reply(RESULT, lead)
    assert reply.text.splitlines()[0].startswith(RESULT.answers[lead if lead < 3 else 0].text)
    assert sorted(marker.number for marker in reply.markers) == [1, 2, 3]
    for marker in reply.markers:
        assert reply.text[marker.start : marker.end] == f"[{marker.number}]"


def test_links_point_at_the_cited_span_with_the_reports_title() -> None:
    reply = compose_reply(RESULT)
    found = links(reply, CITATIONS, "http://127.0.0.1:8000/")
    assert [link.url for link in found] == [
        "http://127.0.0.1:8000/?doc=sputnik-1&start=55&end=68&text=Sergei+Shoigu",
        "http://127.0.0.1:8000/?doc=sputnik-1&start=700&end=720&text=Zoran+%5B2%5D+Djordjevic",
        "http://127.0.0.1:8000/?doc=tass-7&start=120&end=136&text=Aleksandar+Vucic",
    ]
    assert [link.title for link in found] == ["Russia, Serbia Confirm Interest"] * 2 + ["tass-7"]
    assert [reply.text[link.start : link.end] for link in found] == ["[1]", "[2]", "[3]"]


def _words(text: str) -> int:
    return len(text.split())


@pytest.mark.parametrize("max_tokens", [1, 2, 3, 7, 12])
def test_a_cut_reply_keeps_whole_words_and_the_markers_it_still_holds(max_tokens: int) -> None:
    reply = compose_reply(RESULT)
    cut, was_cut = truncated(reply, max_tokens, _words)
    assert was_cut and _words(cut.text) == max_tokens and reply.text.startswith(cut.text)
    assert cut.markers == tuple(marker for marker in reply.markers if marker.end <= len(cut.text))
    assert all(cut.text[m.start : m.end] == f"[{m.number}]" for m in cut.markers)


def test_a_reply_within_the_limit_is_not_cut() -> None:
    reply = compose_reply(RESULT)
    assert truncated(reply, _words(reply.text), _words) == (reply, False)


def test_reply_numbers_every_answer_and_lists_its_source(shared_corpus_pipeline: Pipeline) -> None:
    # The sentence reader answers this open question three times over, which is what is checked here.
    result = shared_corpus_pipeline.ask("What did Shoigu say about cooperation?", max_answers=3, reader="sentence")
    reply = compose_reply(result)
    lines = reply.text.splitlines()
    assert lines[0].endswith("[1]")
    sources = lines[lines.index("Sources:") + 1 :]
    assert len(sources) == len(result.answers) == len(reply.markers)
    for number, (answer, source) in enumerate(zip(result.answers, sources, strict=True), start=1):
        assert f"[{number}]" in reply.text.split("Sources:")[0]
        assert source.startswith(f"[{number}] {answer.citation.title}")
        assert answer.citation.document_id not in source and str(answer.citation.start) not in source


def test_no_answer_reply(shared_corpus_pipeline: Pipeline) -> None:
    reply = compose_reply(shared_corpus_pipeline.ask("What is the recipe for sourdough bread?"))
    assert reply.text == NO_ANSWER_REPLY and reply.markers == ()
