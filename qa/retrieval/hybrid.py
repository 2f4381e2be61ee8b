"""Dense, sparse and hybrid passage retrieval, fused with reciprocal-rank fusion."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa.index.base import RETRIEVAL_MODES
from qa.models import InvalidInputError

# Each returns (ids, scores), best first: the query, how many at most, and the ids allowed (None: all).
DenseSearch = Callable[[np.ndarray, int, np.ndarray | None], tuple[np.ndarray, np.ndarray]]
SparseSearch = Callable[[str, int, np.ndarray | None], tuple[np.ndarray, np.ndarray]]
SentenceVectors = Callable[[list[int]], dict[int, np.ndarray]]


@dataclass(frozen=True)
class Searches:
    """Where an index's three rankings come from: dense search, BM25, and each passage's sentence vectors."""

    dense: DenseSearch
    sparse: SparseSearch
    sentence_vectors: SentenceVectors


@dataclass(frozen=True)
class Hit:
    """A retrieved passage id with its score in [0, 1] (higher is better)."""

    passage_id: int
    score: float


class HybridRetriever:
    """Ranks passages by dense similarity, BM25 and best-sentence similarity, fused with weighted RRF.

    The dense and BM25 rankings each propose `depth` candidates; the candidates are ranked a third
    time by their best sentence's similarity to the query (sentence vectors stored at ingestion),
    which finds the passage that holds the answer more often than the passage vector alone.
    Reciprocal-rank fusion adds `weight / (rrf_k + rank)` from each ranking; the fused score is
    divided by its maximum (first in every ranking) so it lies in [0, 1].

    Usage:
        retriever = HybridRetriever()
        searches = Searches(vector_index.search, sparse_index.search, store.sentence_vectors)
        hits = retriever.retrieve(searches, question_text, question_vector, top_k=5)

    Args:
        rrf_k: RRF's rank offset (default 5).
        weights: RRF weights of the dense, BM25 and best-sentence rankings (default 0, 1, 1: the
            passage vector proposes candidates but only BM25 and the best sentence rank them).
            This and `rrf_k` were chosen on held-out articles of five kinds of training text, never
            on eval/, as the best setting that loses to neither ranking alone on any of them
            (`benchmarks/tune_fusion.py`; figures in BENCHMARKS.md).
        depth: how many candidates the dense and BM25 rankings each propose, at least (default 50).
    """

    def __init__(
        self,
        rrf_k: int = 5,
        weights: tuple[float, float, float] = (0.0, 1.0, 1.0),
        depth: int = 50,
    ):
        self.rrf_k = rrf_k
        self.weights = weights
        self.depth = depth

    def retrieve(
        self,
        searches: Searches,
        text: str,
        vector: np.ndarray,
        top_k: int,
        allowed_ids: np.ndarray | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """Return the top_k passages for a query, best first.

        Args:
            searches: the index's rankings.
            text: the query, for BM25.
            vector: the query's unit vector, for dense search.
            top_k: how many passages to return.
            allowed_ids: when given, only these passage ids can be returned.
            mode: "hybrid" (default), "dense" or "sparse".
        """
        if mode not in RETRIEVAL_MODES:
            raise InvalidInputError(f"mode must be one of {RETRIEVAL_MODES}, not {mode!r}")
        depth = max(self.depth, top_k)
        dense_ids, dense_scores = (
            searches.dense(vector, depth, allowed_ids) if mode != "sparse" else (np.zeros(0, np.int64), np.zeros(0))
        )
        if mode == "dense":
            return [
                Hit(int(i), float(np.clip(s, 0.0, 1.0))) for i, s in zip(dense_ids[:top_k], dense_scores, strict=False)
            ]
        sparse_ids, sparse_scores = searches.sparse(text, depth, allowed_ids)
        if mode == "sparse":
            top = float(sparse_scores[0]) if len(sparse_scores) else 1.0
            return [Hit(int(i), float(s) / top) for i, s in zip(sparse_ids[:top_k], sparse_scores, strict=False)]
        candidates = list(dict.fromkeys([*dense_ids.tolist(), *sparse_ids.tolist()]))
        sentences = searches.sentence_vectors(candidates)
        best_sentence = {
            pid: float(np.max(sentences[pid] @ vector)) for pid in candidates if len(sentences.get(pid, ()))
        }
        sentence_ids = sorted(best_sentence, key=lambda pid: -best_sentence[pid])
        return self.fuse([dense_ids.tolist(), sparse_ids.tolist(), sentence_ids], top_k)

    def fuse(self, rankings: list[list[int]], top_k: int) -> list[Hit]:
        """The top_k passages of the dense, BM25 and best-sentence rankings (ids, best first), fused."""
        fused: dict[int, float] = {}
        for ranking, weight in zip(rankings, self.weights, strict=True):
            for rank, passage_id in enumerate(ranking, start=1):
                fused[passage_id] = fused.get(passage_id, 0.0) + weight / (self.rrf_k + rank)
        best = sum(self.weights) / (self.rrf_k + 1)
        ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:top_k]
        return [Hit(passage_id, score / best) for passage_id, score in ordered]
