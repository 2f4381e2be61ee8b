"""BM25, reciprocal-rank fusion, and filters."""

import numpy as np

from embeddings.index import VectorIndex
from qa.retrieval.hybrid import HybridRetriever, Searches
from qa.retrieval.sparse import SparseIndex

TEXTS = [
    "The defence minister visited Belgrade.",
    "Wheat harvests rose in the spring.",
    "The minister of finance presented the budget.",
    "Football results from the weekend.",
]
IDS = np.array([10, 20, 30, 40], dtype=np.int64)


def test_bm25_ranks_keyword_matches_and_filters() -> None:
    sparse = SparseIndex()
    sparse.build(IDS, TEXTS)
    ids, scores = sparse.search("defence minister", k=4)
    assert list(ids[:2]) == [10, 30] and scores[0] > scores[1] > 0
    assert 20 not in ids, "a passage with no query term has no BM25 score"
    ids, _ = sparse.search("defence minister", k=4, allowed_ids=np.array([30, 40]))
    assert list(ids) == [30]


def test_fusion_favours_agreement_and_scores_lie_in_unit_range() -> None:
    sparse = SparseIndex()
    sparse.build(IDS, TEXTS)
    vectors = VectorIndex(4)
    vectors.add(IDS, np.eye(4, dtype=np.float32))
    # Each passage has two sentences; passage 40's second sentence is the closest to the query.
    sentences = {
        int(i): np.stack([np.eye(4, dtype=np.float32)[n], np.full(4, 0.5, np.float32)]) for n, i in enumerate(IDS)
    }
    sentences[40][1] = [0.0, 0.0, 1.0, 0.0]
    retriever = HybridRetriever()
    searches = Searches(vectors.search, sparse.search, lambda ids: {i: sentences[i] for i in ids})
    query = np.array([0.0, 0.0, 1.0, 0.0], dtype=np.float32)  # densely closest to passage 30
    hits = retriever.retrieve(searches, "defence minister", query, top_k=4)
    assert hits[0].passage_id == 30, "first in dense and in best sentence, second in BM25, beats the rest"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score < 1.0 and hits[-1].score > 0
    assert all(0.0 <= hit.score <= 1.0 for hit in hits)
    assert [h.passage_id for h in retriever.retrieve(searches, "defence minister", query, 2, mode="sparse")] == [10, 30]
    assert retriever.retrieve(searches, "defence minister", query, 1, mode="dense")[0].passage_id == 30
    filtered = retriever.retrieve(searches, "defence minister", query, 4, allowed_ids=np.array([10, 40]))
    assert {h.passage_id for h in filtered} <= {10, 40}


def test_empty_sparse_index_and_stop_word_queries_return_nothing() -> None:
    assert len(SparseIndex().search("anything", k=3)[0]) == 0
    sparse = SparseIndex()
    sparse.build(IDS, TEXTS)
    assert len(sparse.search("is it the ???", k=3)[0]) == 0


def test_passages_without_any_word_leave_bm25_empty_instead_of_failing() -> None:
    sparse = SparseIndex()
    sparse.build(np.array([1, 2], np.int64), ["😀😀 🎉", "The the a an of."])
    assert len(sparse) == 2
    assert len(sparse.search("Who is there?", k=3)[0]) == 0


def test_stemming_matches_word_forms() -> None:
    sparse = SparseIndex()
    sparse.build(IDS, TEXTS)
    assert sparse.search("ministers visiting", k=1)[0][0] == 10


def test_ligatures_and_fullwidth_letters_match_the_plain_words() -> None:
    sparse = SparseIndex()
    # As PDF text layers write them: "ﬁ" (U+FB01), fullwidth letters; the other way round too.
    sparse.build(IDS, [*TEXTS[:3], "The ﬁnal ｓｃｏｒｅｓ of the weekend."])
    assert sparse.search("final scores", k=1)[0][0] == 40
    assert sparse.search("ﬁnance", k=1)[0][0] == 30
