"""Chat replies: markers, sources, and streamed pieces that rebuild the reply exactly."""

from hypothesis import given
from hypothesis import strategies as st

from api.chat_reply import NO_ANSWER_REPLY, compose_reply, stream_pieces
from qa.pipeline import Pipeline


@given(st.text())
def test_stream_pieces_rebuild_the_reply(text: str) -> None:
    assert "".join(stream_pieces(text)) == text


def test_reply_numbers_every_answer_and_lists_its_source(shared_corpus_pipeline: Pipeline) -> None:
    # The sentence reader answers this open question three times over, which is what is checked here.
    result = shared_corpus_pipeline.ask("What did Shoigu say about cooperation?", max_answers=3, reader="sentence")
    reply = compose_reply(result)
    lines = reply.splitlines()
    assert lines[0].endswith("[1]")
    sources = lines[lines.index("Sources:") + 1 :]
    assert len(sources) == len(result.answers)
    for number, (answer, source) in enumerate(zip(result.answers, sources, strict=True), start=1):
        assert f"[{number}]" in reply.split("Sources:")[0]
        assert source.startswith(f"[{number}] ")
        assert f"characters {answer.citation.start}-{answer.citation.end}" in source


def test_no_answer_reply(shared_corpus_pipeline: Pipeline) -> None:
    assert compose_reply(shared_corpus_pipeline.ask("What is the recipe for sourdough bread?")) == NO_ANSWER_REPLY
