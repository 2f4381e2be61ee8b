"""The shipped span reader: offline loading, windows and offsets, span decoding, calibration, answers."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.tokenizer import load_tokenizer
from qa.models import Passage, ScoredPassage
from qa.pipeline import Pipeline
from qa.readers import Question
from qa.readers.calibration import (
    FEATURES,
    Calibration,
    expected_calibration_error,
    fit_logistic,
    reliability,
    risk_coverage,
)
from qa.readers.span import SHIPPED_MODEL, SpanModel
from qa.readers.torch_span import load_span_model
from qa.readers.windows import best_spans, tokenize_windows
from qa.training.examples import Example, label_windows
from tests.conftest import SPUTNIK_ID

pytestmark = pytest.mark.model

WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(SHIPPED_MODEL)


def test_the_shipped_model_loads_offline_and_fits_the_size_limit() -> None:
    files = {path.name for path in SHIPPED_MODEL.iterdir()}
    assert {"model.safetensors", "encoder.int8.onnx", "config.json", "tokenizer.json", "calibration.json"} <= files
    assert "README.md" in files
    assert (SHIPPED_MODEL / "model.safetensors").stat().st_size <= 50 * 1024 * 1024
    model = load_span_model(SHIPPED_MODEL)
    assert model.config.model_type == "bert" and not model.training
    calibration = Calibration.load(SHIPPED_MODEL / "calibration.json")
    assert 0.0 < calibration.threshold < 1.0


@settings(max_examples=40, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=400), separators=st.sampled_from([" ", "\n", " \u00a0", "\u2028"]))
def test_window_offsets_slice_the_context_and_cover_it(tokenizer, words: list[str], separators: str) -> None:
    context = separators.join(words)
    windows = tokenize_windows(tokenizer, ["Who said it?"], [context], max_length=64, stride=16)
    in_windows = set()
    for window in windows:
        assert len(window.input_ids) <= 64 and window.context_index == 0
        for offset in window.offsets:
            if offset is not None:
                assert 0 <= offset[0] < offset[1] <= len(context)
                in_windows.add(offset)
    # Sliding windows lose no token of the context.
    alone = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert in_windows == {tuple(offset) for offset in alone}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), max_tokens=st.integers(1, 12))
def test_best_spans_start_before_end_inside_the_passage(tokenizer, seed: int, max_tokens: int) -> None:
    context = "Sergei Shoigu met the delegation in Moscow on Tuesday and spoke about cooperation."
    window = tokenize_windows(tokenizer, ["Who met the delegation?"], [context])[0]
    rng = np.random.default_rng(seed)
    starts, ends = rng.normal(size=(2, len(window.input_ids) + 5))
    spans = best_spans(window, starts, ends, max_answer_tokens=max_tokens, top_n=5)
    assert spans and [s.logit for s in spans] == sorted((s.logit for s in spans), reverse=True)
    context_tokens = [i for i, offset in enumerate(window.offsets) if offset is not None]
    for span in spans:
        assert 0 <= span.start < span.end <= len(context)
        first = next(i for i in context_tokens if window.offsets[i][0] == span.start)
        last = next(i for i in context_tokens if window.offsets[i][1] == span.end)
        assert first <= last < first + max_tokens
        assert span.log_probability <= 0.0


def test_spans_never_cross_a_blank_line(tokenizer) -> None:
    context = "Russian Defense Minister Sergei Shoigu\n\n    Russia and Serbia met in Moscow."
    window = tokenize_windows(tokenizer, ["Who is the minister?"], [context])[0]
    # Logits that favour a span from "Sergei" across the blank line to "Russia", then "Sergei Shoigu".
    starts, ends = np.zeros((2, len(window.input_ids)))
    first = next(i for i, o in enumerate(window.offsets) if o and o[0] == context.index("Sergei"))
    name_end = next(i for i, o in enumerate(window.offsets) if o and o[1] == context.index("Shoigu") + 6)
    across = next(i for i, o in enumerate(window.offsets) if o and o[0] > context.index("\n"))
    starts[first], ends[across], ends[name_end] = 9.0, 9.0, 5.0
    unchecked = best_spans(window, starts, ends, top_n=1)[0]
    assert "\n" in context[unchecked.start : unchecked.end]
    checked = best_spans(window, starts, ends, top_n=3, context=context)
    assert checked and all("\n\n" not in context[s.start : s.end] for s in checked)
    assert context[checked[0].start : checked[0].end] == "Sergei Shoigu"


def test_ligatures_and_fullwidth_forms_read_as_the_plain_words(tokenizer) -> None:
    written = "The ﬁnance committee paid a ﬁne of ５００ dollars."
    window = tokenize_windows(tokenizer, ["How much?"], [written])[0]
    plain = tokenize_windows(tokenizer, ["How much?"], ["The finance committee paid a fine of 500 dollars."])[0]
    assert window.input_ids == plain.input_ids
    # The offsets still point into the text as written, so a span cut from them slices it.
    assert {"ﬁnance", "ﬁne", "５００"} <= {written[o[0] : o[1]] for o in window.offsets if o}
    # Superscripts keep their meaning: "10⁶" is not read as "106".
    assert tokenizer("10⁶")["input_ids"] != tokenizer("106")["input_ids"]


def test_a_span_keeps_the_accents_written_after_its_last_letter(tokenizer) -> None:
    context = "The capital of Vietnam is Ha\u0300 No\u0323i, on the Red River."
    window = tokenize_windows(tokenizer, ["What is the capital?"], [context])[0]
    ha, no = (next(i for i, o in enumerate(window.offsets) if o and o[0] == context.index(w)) for w in ("Ha", "No"))
    starts, ends = np.zeros((2, len(window.input_ids)))
    starts[ha], ends[ha], ends[no] = 9.0, 9.0, 5.0
    spans = best_spans(window, starts, ends, top_n=2, context=context)
    assert [context[s.start : s.end] for s in spans] == ["Ha\u0300", "Ha\u0300 No\u0323"]


def test_training_labels_point_at_the_answer_tokens(tokenizer) -> None:
    context = "The treaty was signed in 1648. " * 30 + "The minister is Sergei Shoigu, who spoke."
    start = context.index("Sergei Shoigu")
    examples = [Example("Who is the minister?", context, (start, start + 13)), Example("Who?", context, None)]
    labelled = label_windows(tokenizer, examples, max_length=96, stride=32)
    answered = [w for w in labelled if w.start_token > 0]
    assert answered, "some window holds the answer"
    for item in answered:
        offsets = item.window.offsets
        assert context[offsets[item.start_token][0] : offsets[item.end_token][1]] == "Sergei Shoigu"
    negatives = [w for w in labelled if examples[w.window.context_index].answer is None]
    assert negatives and all(w.start_token == w.end_token == 0 for w in negatives)


def test_candidates_carry_their_share_of_the_question_and_how_often_they_were_found() -> None:
    text = "Sergei Shoigu is the Russian defence minister. He met the Serbian delegation in Moscow."
    passages = [
        ScoredPassage(Passage(1, f"report-{n}", 0, len(text), text, ((0, len(text)),)), 1.0 / n, n) for n in (1, 2)
    ]
    passages.append(ScoredPassage(Passage(3, "other", 10, 48, "The weather in Belgrade was mild today.", ()), 0.1, 3))
    evidence = SpanModel().evidence("Who is the Russian defence minister?", passages)
    columns = dict(zip(FEATURES, np.array([e.features for e in evidence]).T, strict=True))
    assert abs(columns["candidate_share"].sum() - 1.0) < 1e-6
    assert np.argmax(columns["candidate_share"]) == np.argmax(columns["margin"])
    # "Sergei Shoigu" is read in both copies of the report and nowhere else.
    in_report = [e for e in evidence if e.span.document_id != "other"]
    named = [e for e in in_report if text[e.span.start : e.span.end] == "Sergei Shoigu"]
    assert {e.span.document_id for e in named} == {"report-1", "report-2"}
    assert all(abs(e.features[FEATURES.index("log_support")] - np.log(2)) < 1e-9 for e in named)
    assert min(columns["log_support"]) == 0.0  # some candidate was read once


def test_passages_of_different_lengths_read_together_as_each_alone() -> None:
    # Windows of different lengths go through separate forward passes: each must get its own logits back.
    filler = " ".join(f"The delegation visited factory number {n} in the eastern region." for n in range(12))
    texts = [
        "Sergei Shoigu is the Russian defence minister.",
        "The defence minister of Russia, Sergei Shoigu, flew to Minsk.",
        f"{filler} The minister, Sergei Shoigu, met them in Moscow.",
        f"{filler[:300]} Talks were led by the defence minister Sergei Shoigu.",
    ]
    passages = [ScoredPassage(Passage(n, f"report-{n}", 0, len(t), t, ()), 1.0, 1) for n, t in enumerate(texts)]
    model = SpanModel(precision="float32")
    question = "Who is the Russian defence minister?"
    windows = tokenize_windows(model.tokenizer, [question] * 4, texts)
    assert len({-(-len(w.input_ids) // 32) for w in windows}) == 3  # the two short ones share a bucket
    together = {
        (e.span.document_id, e.span.start, e.span.end): e.features[:4] for e in model.evidence(question, passages)
    }
    alone = {
        (e.span.document_id, e.span.start, e.span.end): e.features[:4]
        for passage in passages
        for e in model.evidence(question, [passage])
    }
    assert together.keys() == alone.keys()
    assert all(np.allclose(together[key], alone[key], atol=1e-4) for key in together)


@pytest.mark.parametrize("text", ["   ", "\u200b", "\n\n"])
def test_a_passage_without_readable_text_gives_no_candidates(text: str) -> None:
    passage = ScoredPassage(Passage(1, "blank", 0, len(text), text, ()), 1.0, 1)
    assert SpanModel().evidence("Who is the Russian defence minister?", [passage]) == []


def test_logistic_fit_recovers_known_weights_and_calibrates() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(20_000, 2))
    truth = 1 / (1 + np.exp(-(features @ np.array([2.0, -1.0]) + 0.5)))
    labels = (rng.random(20_000) < truth).astype(float)
    weights, bias = fit_logistic(features, labels)
    assert np.allclose(weights, [2.0, -1.0], atol=0.1) and abs(bias - 0.5) < 0.1
    fitted = Calibration(tuple(weights), bias, 0.5).probability(features)
    assert expected_calibration_error(fitted, labels) < 0.02
    assert expected_calibration_error(np.full(20_000, 0.99), labels) > 0.3


def test_reliability_table_shows_where_scores_are_too_high() -> None:
    scores = np.array([0.05, 0.15, 0.12, 0.95, 0.91])
    right = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    table = reliability(scores, right)
    rows = [(row["from"], row["count"], row["accuracy"]) for row in table]
    assert rows == [(0.0, 1, 0.0), (0.1, 2, 1.0), (0.9, 2, 0.5)]
    assert table[2]["confidence"] == 0.93  # over 0.5 right: too high in that bin
    # The error is the bins' gaps weighted by their size.
    assert abs(expected_calibration_error(scores, right) - (0.05 + 2 * 0.865 + 2 * 0.43) / 5) < 1e-9


def test_risk_coverage_trades_answered_questions_for_right_ones() -> None:
    scores = np.array([0.1, 0.3, 0.55, 0.7, 0.9])
    right = np.array([0.0, 0.0, 1.0, 0.0, 1.0])
    curve = {row["threshold"]: (row["answered"], row["right_of_answered"]) for row in risk_coverage(scores, right)}
    assert curve[0.0] == (1.0, 0.4)
    assert curve[0.5] == (0.6, round(2 / 3, 4))
    assert curve[0.75] == (0.2, 1.0)
    assert curve[0.95] == (0.0, None)  # nothing answered: no share right to report
    assert list(curve) == sorted(curve) and len(curve) == 20


def test_calibration_file_with_other_features_is_refused(tmp_path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"features": ["margin"], "weights": [1.0], "bias": 0.0, "threshold": 0.5}))
    with pytest.raises(ValueError, match="features"):
        Calibration.load(path)
    with pytest.raises(FileNotFoundError, match="calibrate-reader"):
        Calibration.load(tmp_path / "missing.json")


def test_the_span_reader_extracts_the_minister_s_name(shared_corpus_pipeline: Pipeline) -> None:
    result = shared_corpus_pipeline.ask("Who is the Russian defence minister?")
    assert shared_corpus_pipeline.default_reader == "span"
    best = result.answers[0]
    assert best.text == "Sergei Shoigu" and best.citation.document_id == SPUTNIK_ID
    document = shared_corpus_pipeline.index.document(SPUTNIK_ID)
    assert document.text[best.citation.start : best.citation.end] == "Sergei Shoigu"


@pytest.mark.parametrize(
    "question",
    [
        "What did Shoigu say about cooperation?",
        "When was the report published?",
        "Which countries are mentioned?",
        "What did the Chinese minister discuss?",
    ],
)
def test_every_span_answer_slices_its_document(shared_corpus_pipeline: Pipeline, question: str) -> None:
    # Read directly, below any threshold, so that every candidate span is checked.
    vector = shared_corpus_pipeline.encoder.encode([question])[0]
    passages = shared_corpus_pipeline.retrieve(Question(question, vector), top_k=10)
    spans = shared_corpus_pipeline.readers["span"].read(Question(question, vector), passages, max_spans=10)
    assert spans
    for span in spans:
        passage = next(p.passage for p in passages if p.passage.id == span.passage_id)
        assert passage.start <= span.start < span.end <= passage.end and 0.0 <= span.score <= 1.0
        text = shared_corpus_pipeline.index.document(span.document_id).text
        assert text[span.start : span.end] == passage.text[span.start - passage.start : span.end - passage.start]
    result = shared_corpus_pipeline.ask(question, top_k=10, max_answers=10)
    for answer in result.answers:
        cite = answer.citation
        text = shared_corpus_pipeline.index.document(cite.document_id).text
        assert text[cite.start : cite.end] == answer.text


def test_a_question_the_corpus_cannot_answer_gets_no_answer(shared_corpus_pipeline: Pipeline) -> None:
    result = shared_corpus_pipeline.ask("What is the recipe for sourdough bread?", reader="span")
    assert result.no_answer and result.answers == []
