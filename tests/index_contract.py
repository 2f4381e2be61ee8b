"""What every `Index` implementation must do, through the interface alone.

An implementation's tests subclass `IndexContract` and give it two fixtures: `open_index`, which opens a
handle on one fresh index's storage (each call another handle on the same storage, as another process or
replica would; `open_index(encoder=E, repair=True)` opens it with another embedder, as `reportqa reindex`
does), and `encoder`, the embedder that handle uses by default.
"""

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from embeddings.encoder import Encoder
from qa.index.base import DocumentExistsError, Index, IndexFilesError, UnknownDocumentError
from qa.models import Document, Filters

OpenIndex = Callable[..., Index]

SHOIGU = Document(
    "shoigu",
    "Sergei Shoigu is the Russian defence minister. He met his Serbian counterpart in Belgrade on Tuesday.",
    title="Defence talks",
    date="2017-10-11",
    source="Sputnik",
    origin="feeds/shoigu.txt",
)
HARBOUR = Document(
    "harbour",
    "The harbour master of Kotor is Ana Vukovic. The harbour reopened on Monday after the storm.",
    title="Harbour news",
    date="2019-04-02",
    source="Local",
)
WHEAT = Document("wheat", "Wheat harvests rose in the spring across the plains.", title="Harvest", source="Local")
PIECES = st.sampled_from(["Zoë", "minister.", "\u00a0", "\n\n", "东京", " ", "🙂!", "Dr.", "\t", "wharf?"])


class IndexContract:
    def _filled(self, open_index: OpenIndex) -> Index:
        index = open_index()
        result = index.add_documents([SHOIGU, HARBOUR, WHEAT])
        assert sorted(result.added) == ["harbour", "shoigu", "wheat"] and result.passages >= 3
        return index

    def _ask(self, index: Index, encoder: Encoder, text: str, **options) -> list[str]:
        hits = index.retrieve(text, encoder.encode([text])[0], **{"top_k": 3, **options})
        return [hit.passage.document_id for hit in hits]

    def test_an_empty_index_holds_nothing(self, open_index: OpenIndex, encoder: Encoder) -> None:
        index = open_index()
        assert not index.has_passages() and index.counts().documents == 0
        assert index.list_documents() == [] and index.passages() == [] and index.fault() is None
        assert self._ask(index, encoder, "Who is the defence minister?") == []

    def test_documents_read_back_as_written(self, open_index: OpenIndex) -> None:
        index = self._filled(open_index)
        assert index.document("shoigu") == SHOIGU
        info = index.document_info("shoigu")
        assert info is not None and info.characters == len(SHOIGU.text) and info.passages >= 1
        assert (info.title, info.date, info.source) == ("Defence talks", "2017-10-11", "Sputnik")
        assert index.document("nobody") is None and index.document_info("nobody") is None
        # Newest date first, undated last.
        assert [d.id for d in index.list_documents()] == ["harbour", "shoigu", "wheat"]
        assert [d.id for d in index.list_documents(offset=1, limit=1)] == ["shoigu"]
        assert [d.id for d in index.list_documents(query="KOTOR")] == ["harbour"]
        assert index.count_documents() == 3 and index.count_documents("kotor") == 1
        assert index.sources() == [("Local", 2), ("Sputnik", 1)]
        assert index.id_for_origin("feeds/shoigu.txt") == "shoigu" and index.id_for_origin("elsewhere") is None
        counts = index.counts()
        assert counts.documents == 3 and counts.passages == counts.vectors == len(index.passages())
        assert index.has_passages()

    @given(st.lists(PIECES, min_size=1, max_size=300).map("".join))
    # Each implementation's test class runs this one method: the executors differ by design.
    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    def test_every_passage_slices_its_document(self, open_index: OpenIndex, text: str) -> None:
        assume(text.strip())
        index = open_index()
        index.add_documents([Document("doc", text)])
        stored = index.document("doc")
        assert stored is not None and stored.text == text
        for passage in index.passages():
            assert stored.text[passage.start : passage.end] == passage.text

    def test_rewriting_skips_unchanged_and_never_reuses_passage_ids(self, open_index: OpenIndex) -> None:
        index = self._filled(open_index)
        old_ids = {p.id for p in index.passages() if p.document_id == "harbour"}
        again = index.add_documents([SHOIGU, HARBOUR])
        assert again.skipped == ["shoigu", "harbour"] and again.passages == 0
        changed = Document("harbour", "The harbour stayed closed all week.", title="Harbour news")
        result = index.add_documents([changed])
        assert result.replaced == ["harbour"] and result.added == []
        new_ids = {p.id for p in index.passages() if p.document_id == "harbour"}
        assert new_ids and new_ids.isdisjoint(old_ids)
        assert index.document("harbour") == changed
        assert index.counts().passages == index.counts().vectors

    def test_creating_an_id_in_use_is_refused_and_changes_nothing(self, open_index: OpenIndex) -> None:
        index = self._filled(open_index)
        before = index.passages()
        with pytest.raises(DocumentExistsError):
            index.add_documents([Document("new", "A new report."), Document("harbour", "Another text.")], replace=False)
        assert index.document("new") is None and index.document("harbour") == HARBOUR
        assert index.passages() == before

    def test_deleting_removes_passages_from_retrieval(self, open_index: OpenIndex, encoder: Encoder) -> None:
        index = self._filled(open_index)
        index.delete_document("shoigu")
        assert index.document("shoigu") is None and index.count_documents() == 2
        assert all(p.document_id != "shoigu" for p in index.passages())
        assert "shoigu" not in self._ask(index, encoder, "Who is the Russian defence minister?")
        assert index.counts().passages == index.counts().vectors
        with pytest.raises(UnknownDocumentError):
            index.delete_document("shoigu")

    @pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
    def test_retrieval_ranks_the_answering_passage_first(self, open_index: OpenIndex, encoder: Encoder, mode) -> None:
        index = self._filled(open_index)
        question = "Who is the harbour master of Kotor?"
        hits = index.retrieve(question, encoder.encode([question])[0], top_k=2, mode=mode)
        assert hits[0].passage.document_id == "harbour" and len(hits) <= 2
        assert [hit.rank for hit in hits] == list(range(1, len(hits) + 1))
        assert all(0.0 <= hit.score <= 1.0 for hit in hits)
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
        passage = hits[0].passage
        assert passage.sentence_vectors is not None and passage.sentence_vectors.shape[0] == len(passage.sentences)

    def test_filters_restrict_retrieval(self, open_index: OpenIndex, encoder: Encoder) -> None:
        index = self._filled(open_index)
        question = "Who is the Russian defence minister?"
        assert set(self._ask(index, encoder, question, filters=Filters(sources=("Local",)))) <= {"harbour", "wheat"}
        assert set(self._ask(index, encoder, question, filters=Filters(document_ids=("wheat",)))) == {"wheat"}
        dated = Filters(date_from="2017-01-01", date_to="2017-12-31")
        assert self._ask(index, encoder, question, filters=dated) == ["shoigu"]
        assert self._ask(index, encoder, question, filters=Filters(sources=("nowhere",))) == []

    def test_another_handle_sees_each_write(self, open_index: OpenIndex, encoder: Encoder) -> None:
        index, other = self._filled(open_index), open_index()
        question = "Where did the ferry dock?"
        other.add_documents([Document("ferry", "The ferry docked at Bar after midnight.")])
        assert self._ask(index, encoder, question, top_k=1) == ["ferry"]
        index.delete_document("ferry")
        assert other.document("ferry") is None and "ferry" not in self._ask(other, encoder, question)

    def test_reindex_rebuilds_what_retrieval_needs(self, open_index: OpenIndex, encoder: Encoder) -> None:
        index = self._filled(open_index)
        before = index.counts()
        index.reindex()
        assert index.counts() == before and index.fault() is None
        assert self._ask(index, encoder, "Who is the harbour master of Kotor?", top_k=1) == ["harbour"]
        assert np.isfinite([hit.score for hit in index.retrieve("harbour", encoder.encode(["harbour"])[0], 3)]).all()

    def test_an_index_refuses_another_model_until_reindex_re_embeds_it(
        self, open_index: OpenIndex, encoder: Encoder
    ) -> None:
        index, other = self._filled(open_index), other_model(encoder)
        question = "Who is the harbour master of Kotor?"
        before = index.retrieve(question, encoder.encode([question])[0], 3)
        with pytest.raises(ValueError, match="another model.*reportqa reindex"):
            open_index(encoder=other)
        reindexed = open_index(encoder=other, repair=True)
        # The same passages, ids and ranking; every vector, sentences' too, now the other model's.
        after = reindexed.retrieve(question, other.encode([question])[0], 3)
        assert [hit.passage for hit in after] == [hit.passage for hit in before]
        for old, new in zip(before, after, strict=True):
            assert old.passage.sentence_vectors is not None and new.passage.sentence_vectors is not None
            rotated = np.roll(old.passage.sentence_vectors.astype(np.float32), 7, axis=1)
            assert np.allclose(new.passage.sentence_vectors.astype(np.float32), rotated, atol=2e-3)
        assert open_index(encoder=other).count_documents() == 3  # opens without a repair
        with pytest.raises(ValueError, match="another model"):
            open_index()

    def test_a_re_embedding_cut_short_is_refused_until_reindex_runs_again(
        self, open_index: OpenIndex, encoder: Encoder
    ) -> None:
        self._filled(open_index)
        crashing, other = other_model(encoder), other_model(encoder)

        def fail(texts, spans):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt  # as a kill part way through would leave it

        crashing.encode_with_spans = fail  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            open_index(encoder=crashing, repair=True)
        for model in (encoder, other):
            with pytest.raises(ValueError, match=r"being re-embedded.*reportqa reindex"):
                open_index(encoder=model)
        reindexed = open_index(encoder=other, repair=True)
        assert reindexed.counts().passages == reindexed.counts().vectors
        assert self._ask(reindexed, other, "Who is the harbour master of Kotor?", top_k=1) == ["harbour"]

    def test_a_handle_open_during_a_re_embedding_for_another_model_stops_answering(
        self, open_index: OpenIndex, encoder: Encoder
    ) -> None:
        index = self._filled(open_index)
        assert self._ask(index, encoder, "Who met Vucic?")
        open_index(encoder=other_model(encoder), repair=True)
        with pytest.raises(IndexFilesError, match="re-embedded by another model"):
            self._ask(index, encoder, "Who met Vucic?")
        with pytest.raises(IndexFilesError, match="re-embedded by another model"):
            index.add_documents([Document("ferry", "The ferry docked at Bar after midnight.")])


def other_model(encoder: Encoder) -> Encoder:
    """Another 384-dimension model: the same texts' vectors with their coordinates rotated, so the same
    passages rank alike, but no vector it makes matches the real model's."""
    other = copy.copy(encoder)
    other.model_path = Path("other-model")
    other.encode = lambda texts: np.roll(encoder.encode(texts), 7, axis=1)  # type: ignore[method-assign]
    other.identity_vector = lambda text: np.roll(encoder.identity_vector(text), 7)  # type: ignore[method-assign]

    def encode_with_spans(texts, spans):  # type: ignore[no-untyped-def]
        vectors, span_vectors = encoder.encode_with_spans(texts, spans)
        return np.roll(vectors, 7, axis=1), [np.roll(rows, 7, axis=1) for rows in span_vectors]

    other.encode_with_spans = encode_with_spans  # type: ignore[method-assign]
    return other
