"""The pipeline on the real model: answers, citations, re-ingestion, deletion, crash recovery."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from embeddings.index import VectorIndex
from qa.ingest import ingest_paths
from qa.models import Document, Filters
from qa.pipeline import (
    STORE_FILE,
    VECTORS_FILE,
    DocumentExistsError,
    EmptyIndexError,
    IndexFilesError,
    Pipeline,
    UnknownDocumentError,
)
from tests.conftest import CORPUS, SPUTNIK_ID, TASS_ID


def _assert_citations_verify(pipeline: Pipeline, result) -> None:
    for answer in result.answers:
        cite = answer.citation
        text = pipeline.store.document(cite.document_id).text
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
    with pytest.raises(ValueError, match="reader must be one of"):
        shared_corpus_pipeline.ask("Who is the Russian defence minister?", reader="")


@pytest.mark.parametrize("question", ["", "   ", "x" * 1001])
def test_bad_questions_are_refused(shared_corpus_pipeline: Pipeline, question: str) -> None:
    with pytest.raises(ValueError, match="1 to 1000"):
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
    first = ingest_paths(pipeline, [folder, report, folder / ".." / "reports"], show_progress=False)
    old_ids = set(pipeline.store.passage_ids().tolist())
    assert first.added == ["brief"] and pipeline.store.count_documents() == 1
    assert ingest_paths(pipeline, [folder], show_progress=False).skipped == ["brief"]

    report.write_text("date 2020-03-04 Desk\nBriefing\n\nThe airport closed on Tuesday.", encoding="utf-8")
    third = ingest_paths(pipeline, [folder], show_progress=False)
    assert third.replaced == ["brief"]
    new_ids = set(pipeline.store.passage_ids().tolist())
    assert new_ids.isdisjoint(old_ids), "replaced passages get new ids; old ids are never reused"
    assert set(pipeline.vectors.ids().tolist()) == new_ids
    assert "airport" in pipeline.ask("What closed on Tuesday?").answers[0].text


@pytest.mark.parametrize("name", ["report", "r" * 120])
def test_same_file_name_in_two_folders_gets_two_ids(tmp_path: Path, pipeline: Pipeline, name: str) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{name}.txt").write_text(f"Report from folder {folder}.", encoding="utf-8")
    report = ingest_paths(pipeline, [tmp_path], show_progress=False)
    first, second = report.added
    assert first == name[:100] and second.startswith(name[:91] + "-")
    assert len(second) <= 100, "within the API's ids, so PUT can replace it"
    assert ingest_paths(pipeline, [tmp_path], show_progress=False).skipped == report.added


def test_unreadable_file_is_reported_and_the_rest_ingested(tmp_path: Path, pipeline: Pipeline) -> None:
    (tmp_path / "good.txt").write_text("The bridge was repaired.", encoding="utf-8")
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf at all")
    # Valid JSON that is not valid unicode: refused by the loader, not by SQLite or the tokenizer mid-batch.
    (tmp_path / "feed.jsonl").write_text('{"id": "knave", "text": "The knave \\udc80 is Jack."}\n', encoding="utf-8")
    report = ingest_paths(pipeline, [tmp_path], show_progress=False)
    assert report.added == ["good"]
    assert [Path(f.path.split(":")[0]).name for f in report.failures] == ["bad.pdf", "feed.jsonl"]


def test_a_repeated_jsonl_id_is_refused_and_reingesting_changes_nothing(tmp_path: Path, pipeline: Pipeline) -> None:
    feed = tmp_path / "feed.jsonl"
    records = [{"id": "rep", "title": "First", "text": "The first report."},
               {"id": "rep", "title": "Second", "text": "The second report."}]  # fmt: skip
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    for _ in range(3):
        report = ingest_paths(pipeline, [feed], show_progress=False)
        assert [f.path.rsplit(":", 1)[1] for f in report.failures] == ["2"]
        assert "line 1" in report.failures[0].reason
        assert [d.title for d in pipeline.store.list_documents(0, 10)] == ["First"]


def test_delete_removes_passages_and_vectors(corpus_pipeline: Pipeline) -> None:
    corpus_pipeline.delete_document(SPUTNIK_ID)
    assert corpus_pipeline.store.document(SPUTNIK_ID) is None
    remaining = set(corpus_pipeline.store.passage_ids().tolist())
    assert set(corpus_pipeline.vectors.ids().tolist()) == remaining
    assert set(VectorIndex.load(corpus_pipeline.index_dir / VECTORS_FILE).ids().tolist()) == remaining
    result = corpus_pipeline.ask("Who is the Russian defence minister?", top_k=10)
    assert all(p.passage.document_id == TASS_ID for p in result.passages)
    with pytest.raises(UnknownDocumentError):
        corpus_pipeline.delete_document(SPUTNIK_ID)


def test_an_answer_from_a_document_replaced_while_reading_is_dropped(pipeline: Pipeline, monkeypatch) -> None:
    text = "Springfield held an election in May. " * 12 + "The mayor of Springfield is Ada Lovelace."
    pipeline.add_documents([Document(id="race", text=text)])
    question = "Who is the mayor of Springfield?"
    assert pipeline.ask(question).answers[0].text == "Ada Lovelace"
    reader = pipeline.readers[pipeline.default_reader]
    read = reader.read

    def read_then_replace(*args, **kwargs):
        spans = read(*args, **kwargs)
        pipeline.add_documents([Document(id="race", text="Springfield news.")])
        return spans

    monkeypatch.setattr(reader, "read", read_then_replace)
    result = pipeline.ask(question)
    assert result.no_answer and result.answers == []


def test_creating_an_id_another_writer_took_meanwhile_is_refused(pipeline: Pipeline, monkeypatch) -> None:
    embed = pipeline._embed_passages

    def embed_while_another_writer_creates_it(documents):
        embedded = embed(documents)
        monkeypatch.setattr(pipeline, "_embed_passages", embed)
        pipeline.add_documents([Document(id="same", text="The other writer came first.")])
        return embedded

    monkeypatch.setattr(pipeline, "_embed_passages", embed_while_another_writer_creates_it)
    with pytest.raises(DocumentExistsError):
        pipeline.add_documents([Document(id="same", text="This one came second.")], replace=False)
    assert pipeline.store.document("same").text == "The other writer came first."
    with pytest.raises(DocumentExistsError):
        pipeline.add_documents([Document(id="same", text="And this one third.")], replace=False)
    assert set(pipeline.vectors.ids().tolist()) == set(pipeline.store.passage_ids().tolist())


def test_reopening_reconciles_vectors_with_the_store(corpus_pipeline: Pipeline, encoder) -> None:
    index_dir = corpus_pipeline.index_dir
    stored = np.sort(corpus_pipeline.store.passage_ids())
    # Simulate a crash between saving vectors and committing the store: one orphan, one missing.
    vectors = VectorIndex.load(index_dir / VECTORS_FILE)
    vectors.remove(stored[:1])
    vectors.add(np.array([999_999]), np.ones((1, encoder.dimension), np.float32) / np.sqrt(encoder.dimension))
    vectors.save(index_dir / VECTORS_FILE)
    corpus_pipeline.store.close()

    reopened = Pipeline(index_dir, encoder=encoder)
    assert np.array_equal(np.sort(reopened.vectors.ids()), stored)
    assert np.array_equal(np.sort(VectorIndex.load(index_dir / VECTORS_FILE).ids()), stored)


def test_a_failed_write_leaves_store_and_vectors_as_they_were(corpus_pipeline: Pipeline, monkeypatch) -> None:
    before = np.sort(corpus_pipeline.store.passage_ids())

    def disk_full(path):
        raise OSError("disk full")

    monkeypatch.setattr(corpus_pipeline.vectors, "save", disk_full)
    with pytest.raises(OSError, match="disk full"):
        corpus_pipeline.add_documents([Document("new", "A new report about the harbour.")])
    assert corpus_pipeline.store.document("new") is None
    assert np.array_equal(np.sort(corpus_pipeline.store.passage_ids()), before)
    assert np.array_equal(np.sort(corpus_pipeline.vectors.ids()), before)


PIECES = st.sampled_from(["Zoë", "minister.", "\u00a0", "\n\n", "东京", " ", "🙂!", "Dr.", "\t", "wharf?"])


@given(st.lists(PIECES, min_size=1, max_size=300).map("".join))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_stored_passages_slice_their_document(pipeline: Pipeline, text: str) -> None:
    assume(text.strip())
    pipeline.add_documents([Document("doc", text)])
    passages = pipeline.store.passages(pipeline.store.passage_ids().tolist(), with_vectors=True)
    stored = pipeline.store.document("doc").text
    assert stored == text
    for passage in passages:
        assert stored[passage.start : passage.end] == passage.text
        assert passage.sentence_vectors.shape == (len(passage.sentences), pipeline.encoder.dimension)


def test_hnsw_index_answers_deletes_and_reopens(tmp_path: Path, encoder) -> None:
    pipeline = Pipeline(tmp_path / "hnsw", encoder=encoder, index_kind="hnsw")
    ingest_paths(pipeline, [CORPUS], show_progress=False)
    assert "Sergei Shoigu" in pipeline.ask("Who is the Russian defence minister?").answers[0].text
    pipeline.delete_document(TASS_ID)
    remaining = np.sort(pipeline.store.passage_ids())
    assert np.array_equal(np.sort(pipeline.vectors.ids()), remaining)
    pipeline.store.close()
    reopened = Pipeline(tmp_path / "hnsw", encoder=encoder)  # the kind comes from the saved index
    assert reopened.vectors.kind == "hnsw"
    assert np.array_equal(np.sort(reopened.vectors.ids()), remaining)


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_damaged_vector_file_names_the_repair_command(corpus_pipeline: Pipeline, encoder, damage: str) -> None:
    index_dir = corpus_pipeline.index_dir
    stored = np.sort(corpus_pipeline.store.passage_ids())
    corpus_pipeline.store.close()
    if damage == "corrupt":
        (index_dir / VECTORS_FILE).write_bytes(b"not a faiss index")
    else:
        (index_dir / VECTORS_FILE).unlink()
    with pytest.raises(IndexFilesError, match=r"vectors.faiss is (unreadable|missing).*reportqa reindex"):
        Pipeline(index_dir, encoder=encoder)
    repaired = Pipeline(index_dir, encoder=encoder, repair=True)
    assert np.array_equal(np.sort(repaired.vectors.ids()), stored)
    reopened = Pipeline(index_dir, encoder=encoder)
    assert "Sergei Shoigu" in reopened.ask("Who is the Russian defence minister?").answers[0].text


def test_an_index_refuses_another_model_of_the_same_dimension(corpus_pipeline: Pipeline, encoder, monkeypatch) -> None:
    index_dir = corpus_pipeline.index_dir
    assert Pipeline(index_dir, encoder=encoder).store.count_documents() == 2
    encode = encoder.encode
    # Another 384-dimension model: the same length of vector, pointing elsewhere.
    monkeypatch.setattr(encoder, "encode", lambda texts: np.roll(encode(texts), 7, axis=1))
    with pytest.raises(ValueError, match="embedded by another model"):
        Pipeline(index_dir, encoder=encoder)


def test_corrupt_store_is_named(tmp_path: Path, encoder) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / STORE_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(IndexFilesError, match="store.sqlite3 is not a readable SQLite database"):
        Pipeline(tmp_path / "index", encoder=encoder)


def test_another_process_writes_are_seen_before_the_next_read(corpus_pipeline: Pipeline, encoder) -> None:
    # Two pipelines on one directory stand for two processes (a server worker and `reportqa ingest`).
    other = Pipeline(corpus_pipeline.index_dir, encoder=encoder)
    other.add_documents([Document("harbour", "The harbour master of Kotor is Ana Vukovic.")])
    result = corpus_pipeline.ask("Who is the harbour master of Kotor?")
    assert "Ana Vukovic" in result.answers[0].text
    corpus_pipeline.delete_document("harbour")
    assert other.store.document("harbour") is None
    assert "harbour" not in {p.passage.document_id for p in other.ask("Who is the harbour master?").passages}
    assert set(other.vectors.ids().tolist()) == set(other.store.passage_ids().tolist())


def test_a_question_finds_a_report_written_with_ligatures(pipeline: Pipeline) -> None:
    written = "The ﬁnance committee met in Oslo. It approved a ﬁne of ５００ euros for the ﬁrm."
    plain = "The finance committee met in Oslo. It approved a fine of 500 euros for the firm."
    # The encoder reads both alike, so the written report is found by the plain words
    vectors = pipeline.encoder.encode([written, plain])
    assert float(vectors[0] @ vectors[1]) > 0.999
    pipeline.add_documents([Document(id="ledger", text=written, title="Ledger")])
    pipeline.add_documents([Document(id="weather", text="Rain fell over Bergen all week.", title="Weather")])
    result = pipeline.ask("How large was the fine the finance committee approved?")
    assert result.passages[0].passage.document_id == "ledger"
    best = result.answers[0]
    assert best.text == written[best.citation.start : best.citation.end]
    assert "５００" in best.text
