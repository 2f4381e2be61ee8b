"""The pipeline on the real model: answers, citations, ingestion through it, and reading while documents change."""

import json
import logging
from pathlib import Path

import pytest

from qa.ingest.paths import ingest_paths
from qa.models import Document, Filters, InvalidInputError
from qa.pipeline import EmptyIndexError, Pipeline
from qa.text import normalize_answer
from tests.conftest import SPUTNIK_ID, TASS_ID


def _assert_citations_verify(pipeline: Pipeline, result) -> None:
    for answer in result.answers:
        cite = answer.citation
        text = pipeline.index.document(cite.document_id).text
        assert text[cite.start : cite.end] == answer.text
        assert text[cite.context_start : cite.context_start + len(cite.context)] == cite.context
        assert cite.context_start <= cite.start and cite.end <= cite.context_start + len(cite.context)


def test_answers_the_defence_minister_from_the_sputnik_report(shared_corpus_pipeline: Pipeline) -> None:
    result = shared_corpus_pipeline.ask("Who is the Russian defence minister?")
    assert not result.no_answer
    best = result.answers[0]
    assert best.citation.document_id == SPUTNIK_ID
    assert "Sergei Shoigu" in best.text
    assert all(0.0 <= a.score <= 1.0 for a in result.answers)
    assert [a.score for a in result.answers] == sorted((a.score for a in result.answers), reverse=True)
    _assert_citations_verify(shared_corpus_pipeline, result)


def test_answers_never_repeat_a_span(shared_corpus_pipeline: Pipeline) -> None:
    result = shared_corpus_pipeline.ask("What did Shoigu say about cooperation?", top_k=10, max_answers=10)
    spans = [(a.citation.document_id, a.citation.start, a.citation.end) for a in result.answers]
    for i, (doc, start, end) in enumerate(spans):
        for other_doc, other_start, other_end in spans[i + 1 :]:
            assert doc != other_doc or end <= other_start or other_end <= start, "answers overlap"


@pytest.mark.parametrize(
    ("question", "best"),
    [("Which organisation will Serbia not join?", "nato"), ("Who is the Russian defence minister?", "sergei shoigu")],
)
def test_an_answer_found_at_several_places_is_given_once(
    shared_corpus_pipeline: Pipeline, question: str, best: str
) -> None:
    # No threshold, so the weaker readings of the same name (found again further on) would reach the list.
    shared = shared_corpus_pipeline
    everything = Pipeline(shared.index, shared.encoder, list(shared.readers.values()), no_answer_threshold=0.0)
    result = everything.ask(question, top_k=10, max_answers=5)
    texts = [normalize_answer(answer.text) for answer in result.answers]
    assert texts[0] == best and len(texts) == 5
    assert len(set(texts)) == len(texts), texts
    _assert_citations_verify(shared, result)


def test_unanswerable_question_says_no_answer(shared_corpus_pipeline: Pipeline) -> None:
    result = shared_corpus_pipeline.ask("What is the recipe for sourdough bread?")
    assert result.no_answer and result.answers == []


def test_filters_restrict_the_documents(shared_corpus_pipeline: Pipeline) -> None:
    question = "Who is the Russian defence minister?"
    only_tass = shared_corpus_pipeline.ask(question, filters=Filters(document_ids=(TASS_ID,)))
    assert {p.passage.document_id for p in only_tass.passages} == {TASS_ID}
    dated = shared_corpus_pipeline.ask(question, filters=Filters(date_from="2017-09-01", date_to="2017-12-31"))
    assert {p.passage.document_id for p in dated.passages} == {TASS_ID}
    nothing = shared_corpus_pipeline.ask(question, filters=Filters(sources=("nowhere",)))
    assert nothing.passages == [] and nothing.no_answer


def test_asking_an_empty_index_names_the_ingest_command(pipeline: Pipeline) -> None:
    with pytest.raises(EmptyIndexError, match="reportqa ingest"):
        pipeline.ask("Anything?")


def test_an_empty_reader_name_is_refused_not_read_as_the_default(shared_corpus_pipeline: Pipeline) -> None:
    with pytest.raises(InvalidInputError, match="reader must be one of"):
        shared_corpus_pipeline.ask("Who is the Russian defence minister?", reader="")


@pytest.mark.parametrize("question", ["", "   ", "x" * 1001])
def test_bad_questions_are_refused(shared_corpus_pipeline: Pipeline, question: str) -> None:
    with pytest.raises(InvalidInputError, match="1 to 1000"):
        shared_corpus_pipeline.ask(question)


def test_embedding_draws_no_progress_bar_in_the_server_log(encoder, capsys, caplog) -> None:
    # sentence-transformers draws one per call at its INFO level, which the server's logging sets.
    caplog.set_level(logging.INFO, logger="sentence_transformers")
    encoder.encode(["One sentence."])
    encoder.encode_with_spans(["One sentence."], [[(0, 3)]])
    assert "Batches" not in capsys.readouterr().err


def test_reingest_skips_unchanged_and_replaces_changed(tmp_path: Path, pipeline: Pipeline) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    report = folder / "brief.txt"
    report.write_text("date 2020-03-04 Desk\nBriefing\n\nThe harbour reopened on Monday.", encoding="utf-8")
    # Named twice, through its folder and itself: still one document, so no stale copy is left behind.
    first = ingest_paths(pipeline.index, [folder, report, folder / ".." / "reports"], show_progress=False)
    old_ids = {passage.id for passage in pipeline.index.passages()}
    assert first.added == ["brief"] and pipeline.index.count_documents() == 1
    assert ingest_paths(pipeline.index, [folder], show_progress=False).skipped == ["brief"]

    report.write_text("date 2020-03-04 Desk\nBriefing\n\nThe airport closed on Tuesday.", encoding="utf-8")
    third = ingest_paths(pipeline.index, [folder], show_progress=False)
    assert third.replaced == ["brief"]
    new_ids = {passage.id for passage in pipeline.index.passages()}
    assert new_ids.isdisjoint(old_ids), "replaced passages get new ids; old ids are never reused"
    assert pipeline.index.counts().vectors == len(new_ids)
    assert "airport" in pipeline.ask("What closed on Tuesday?").answers[0].text


@pytest.mark.parametrize("name", ["report", "r" * 120])
def test_same_file_name_in_two_folders_gets_two_ids(tmp_path: Path, pipeline: Pipeline, name: str) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{name}.txt").write_text(f"Report from folder {folder}.", encoding="utf-8")
    report = ingest_paths(pipeline.index, [tmp_path], show_progress=False)
    first, second = report.added
    assert first == name[:100] and second.startswith(name[:91] + "-")
    assert len(second) <= 100, "within the API's ids, so PUT can replace it"
    assert ingest_paths(pipeline.index, [tmp_path], show_progress=False).skipped == report.added


def test_unreadable_file_is_reported_and_the_rest_ingested(tmp_path: Path, pipeline: Pipeline) -> None:
    (tmp_path / "good.txt").write_text("The bridge was repaired.", encoding="utf-8")
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf at all")
    # Valid JSON that is not valid unicode: refused by the loader, not by SQLite or the tokenizer mid-batch.
    (tmp_path / "feed.jsonl").write_text('{"id": "knave", "text": "The knave \\udc80 is Jack."}\n', encoding="utf-8")
    report = ingest_paths(pipeline.index, [tmp_path], show_progress=False)
    assert report.added == ["good"]
    assert [Path(f.path.split(":")[0]).name for f in report.failures] == ["bad.pdf", "feed.jsonl"]


def test_a_repeated_jsonl_id_is_refused_and_reingesting_changes_nothing(tmp_path: Path, pipeline: Pipeline) -> None:
    feed = tmp_path / "feed.jsonl"
    records = [
        {"id": "rep", "title": "First", "text": "The first report."},
        {"id": "rep", "title": "Second", "text": "The second report."},
    ]
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    for _ in range(3):
        report = ingest_paths(pipeline.index, [feed], show_progress=False)
        assert [f.path.rsplit(":", 1)[1] for f in report.failures] == ["2"]
        assert "line 1" in report.failures[0].reason
        assert [d.title for d in pipeline.index.list_documents(0, 10)] == ["First"]


def test_an_answer_from_a_document_replaced_while_reading_is_dropped(pipeline: Pipeline, monkeypatch) -> None:
    text = "Springfield held an election in May. " * 12 + "The mayor of Springfield is Ada Lovelace."
    pipeline.index.add_documents([Document(id="race", text=text)])
    question = "Who is the mayor of Springfield?"
    assert pipeline.ask(question).answers[0].text == "Ada Lovelace"
    reader = pipeline.readers[pipeline.default_reader]
    read = reader.read

    def read_then_replace(*args, **kwargs):
        spans = read(*args, **kwargs)
        pipeline.index.add_documents([Document(id="race", text="Springfield news.")])
        return spans

    monkeypatch.setattr(reader, "read", read_then_replace)
    result = pipeline.ask(question)
    assert result.no_answer and result.answers == []


def test_a_question_finds_a_report_written_with_ligatures(pipeline: Pipeline) -> None:
    written = "The ﬁnance committee met in Oslo. It approved a ﬁne of ５００ euros for the ﬁrm."
    plain = "The finance committee met in Oslo. It approved a fine of 500 euros for the firm."
    # The encoder reads both alike, so the written report is found by the plain words
    vectors = pipeline.encoder.encode([written, plain])
    assert float(vectors[0] @ vectors[1]) > 0.999
    pipeline.index.add_documents([Document(id="ledger", text=written, title="Ledger")])
    pipeline.index.add_documents([Document(id="weather", text="Rain fell over Bergen all week.", title="Weather")])
    result = pipeline.ask("How large was the fine the finance committee approved?")
    assert result.passages[0].passage.document_id == "ledger"
    best = result.answers[0]
    assert best.text == written[best.citation.start : best.citation.end]
    assert "５００" in best.text
