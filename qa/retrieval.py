"""Dense, sparse and hybrid passage retrieval, fused with reciprocal-rank fusion."""

from dataclasses import dataclass

import numpy as np

from embeddings.index import VectorIndex
from qa.sparse import SparseIndex

RETRIEVAL_MODES = ("hybrid", "dense", "sparse")


@dataclass(frozen=True)
class Hit:
    """A retrieved passage id with its score in [0, 1] (higher is better)."""

    passage_id: int
    score: float


class HybridRetriever:
    """Ranks passages by dense similarity and BM25, fused with reciprocal-rank fusion (RRF).

    RRF adds 1 / (rrf_k + rank) from each ranking; the fused score is divided by its maximum
    (first in both rankings) so it lies in [0, 1].

    Usage:
        retriever = HybridRetriever(vector_index, sparse_index)
        hits = retriever.retrieve(question_text, question_vector, top_k=5)

    Args:
        vectors: the dense index.
        sparse: the BM25 index.
        rrf_k: RRF's rank offset (default 5: chosen on a held-out slice of the SQuAD train data, where
            it beat the customary 60 on recall@5, 0.948 against 0.935; see BENCHMARKS.md).
        depth: how many candidates each ranking contributes, at least (default 50).
    """

    def __init__(self, vectors: VectorIndex, sparse: SparseIndex, rrf_k: int = 5, depth: int = 50):
        self.vectors = vectors
        self.sparse = sparse
        self.rrf_k = rrf_k
        self.depth = depth

    def to_dict(self) -> dict:
        return {"rrf_k": self.rrf_k, "depth": self.depth}

    def retrieve(
        self,
        text: str,
        vector: np.ndarray,
        top_k: int,
        allowed_ids: np.ndarray | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """Return the top_k passages for a query, best first.

        Args:
            text: the query, for BM25.
            vector: the query's unit vector, for dense search.
            top_k: how many passages to return.
            allowed_ids: when given, only these passage ids can be returned.
            mode: "hybrid" (default), "dense" or "sparse".
        """
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"mode must be one of {RETRIEVAL_MODES}, not {mode!r}")
        depth = max(self.depth, top_k)
        rankings = []
        if mode in ("hybrid", "dense"):
            ids, scores = self.vectors.search(vector, depth, allowed_ids)
            if mode == "dense":
                return [Hit(int(i), float(np.clip(s, 0.0, 1.0))) for i, s in zip(ids[:top_k], scores, strict=False)]
            rankings.append(ids)
        ids, scores = self.sparse.search(text, depth, allowed_ids)
        if mode == "sparse":
            top = float(scores[0]) if len(scores) else 1.0
            return [Hit(int(i), float(s) / top) for i, s in zip(ids[:top_k], scores, strict=False)]
        rankings.append(ids)
        return self._fuse(rankings, top_k)

    def _fuse(self, rankings: list[np.ndarray], top_k: int) -> list[Hit]:
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, passage_id in enumerate(ranking.tolist(), start=1):
                fused[passage_id] = fused.get(passage_id, 0.0) + 1.0 / (self.rrf_k + rank)
        best = len(rankings) / (self.rrf_k + 1)
        ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:top_k]
        return [Hit(passage_id, score / best) for passage_id, score in ordered]
