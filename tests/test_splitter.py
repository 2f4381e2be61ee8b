"""Sentence and passage splitting: offsets always slice the document exactly."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.sentences import sentence_spans
from qa.ingest.splitter import MAX_SENTENCES_PER_PASSAGE, PassageSplitter
from tests.conftest import CORPUS

WORDS = st.sampled_from(
    ["Shoigu", "minister", "Belgrade", "naïve", "Ωmega", "東京", "über", "e.g.", "Dr.", "U.S.", "3.14", "🙂", "x" * 120]
)
GAPS = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u2028", " \r\n", "\u3000"])
PUNCTUATION = st.sampled_from([".", "!", "?", '."', "…", ",", ";", ".)", "—"])
TEXTS = st.lists(st.one_of(WORDS, GAPS, PUNCTUATION, st.text(max_size=6)), max_size=400).map("".join)


def _covered(text: str, spans: list[tuple[int, int]]) -> bool:
    inside = set()
    for start, end in spans:
        inside.update(range(start, end))
    return all(i in inside for i, ch in enumerate(text) if not ch.isspace())


@given(TEXTS)
@settings(max_examples=300, deadline=None)
def test_sentences_are_trimmed_ordered_and_cover_the_text(text: str) -> None:
    spans = sentence_spans(text)
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert _covered(text, spans)


def test_sentences_respect_abbreviations_and_initials() -> None:
    text = "Dr. Smith met J. Doe in the U.S. on Monday. They talked! Did it help? Yes.\nHeadline here"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Dr. Smith met J. Doe in the U.S. on Monday.",
        "They talked!",
        "Did it help?",
        "Yes.",
        "Headline here",
    ]


@pytest.mark.parametrize(("max_tokens", "overlap"), [(200, 48), (24, 8)])
@given(text=TEXTS)
@settings(max_examples=150, deadline=None)
def test_passages_slice_the_document_and_fit_the_model(encoder, max_tokens: int, overlap: int, text: str) -> None:
    splitter = PassageSplitter(encoder.tokenize, max_tokens=max_tokens, overlap_tokens=overlap)
    passages = splitter.split(text)
    for passage in passages:
        body = text[passage.start : passage.end]
        assert body and body == body.strip()
        assert passage.tokens <= max_tokens
        # Within the model's limit once re-tokenized whole, special tokens included.
        assert len(encoder.tokenize(body)["input_ids"]) <= encoder.max_tokens
        for start, end in passage.sentences:
            assert passage.start <= start < end <= passage.end
    assert _covered(text, [(p.start, p.end) for p in passages])
    starts = [p.start for p in passages]
    assert starts == sorted(set(starts))


def test_overlap_repeats_trailing_sentences(encoder) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    passages = PassageSplitter(encoder.tokenize, max_tokens=40, overlap_tokens=12).split(text)
    assert len(passages) > 3
    for previous, following in zip(passages, passages[1:], strict=False):
        assert following.start < previous.end, "consecutive passages must overlap"
        assert following.sentences[0] in previous.sentences


def test_sample_reports_split_under_the_limit(encoder) -> None:
    splitter = PassageSplitter(encoder.tokenize)
    for path in CORPUS.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        passages = splitter.split(text)
        assert passages and all(p.tokens <= 200 for p in passages)
        assert _covered(text, [(p.start, p.end) for p in passages])


def test_overlap_must_be_below_the_passage_length(encoder) -> None:
    with pytest.raises(ValueError, match="overlap_tokens"):
        PassageSplitter(encoder.tokenize, max_tokens=10, overlap_tokens=10)


def test_a_report_of_one_letter_lines_keeps_few_sentence_vectors(encoder) -> None:
    # 200 KB of "x" lines once stored 200 sentence vectors a passage: 200 MB of store and WAL.
    text = "x\n" * 20_000
    passages = PassageSplitter(encoder.tokenize).split(text)
    assert passages and all(len(p.sentences) <= MAX_SENTENCES_PER_PASSAGE for p in passages)
    for passage in passages:
        starts = [start for start, _ in passage.sentences]
        assert starts == sorted(starts) and passage.sentences[0][0] == passage.start
        assert passage.sentences[-1][1] == passage.end
        assert all(text[start:end].strip() for start, end in passage.sentences)
