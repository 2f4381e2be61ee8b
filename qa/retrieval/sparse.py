"""BM25 keyword retrieval over passages (bm25s), rebuilt from the store when passages change."""

import bm25s
import numpy as np
import Stemmer

from embeddings.plain_forms import plain_forms

STOP_WORDS = "en"


def keyword_terms(texts: list[str], stemmer: Stemmer.Stemmer | None) -> list[list[str]]:
    """Each text's BM25 terms: plain forms, lower case, English stop words dropped, stemmed when `stemmer` is given.

    The server-side index hands Milvus these terms, so its BM25 matches the same words as this one.
    """
    tokens = bm25s.tokenize(
        [plain_forms(text) for text in texts],
        stopwords=STOP_WORDS,
        stemmer=stemmer,
        return_ids=False,
        show_progress=False,
    )
    return [list(terms) for terms in tokens]


class SparseIndex:
    """BM25 over passage texts with English stop words and Snowball stemming, searched by passage id.

    bm25s builds a static index, so `build` indexes the whole collection at once; the pipeline
    rebuilds it lazily after writes.

    Usage:
        sparse = SparseIndex()
        sparse.build(ids, texts)
        ids, scores = sparse.search("Russian defence minister", k=5)

    Args:
        k1: BM25 term-frequency saturation (default 1.2).
        b: BM25 length normalisation (default 0.75).
        stemming: reduce words to their English Snowball stems (default True).
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, stemming: bool = True):
        self.k1 = k1
        self.b = b
        self.stemming = stemming
        self._ids = np.zeros(0, dtype=np.int64)
        self._bm25: bm25s.BM25 | None = None
        self._stemmer = Stemmer.Stemmer("english") if stemming else None

    def empty_copy(self) -> "SparseIndex":
        """A new, empty index with these settings, to build while this one still answers."""
        return SparseIndex(self.k1, self.b, self.stemming)

    def __len__(self) -> int:
        return len(self._ids)

    def build(self, ids: np.ndarray, texts: list[str]) -> None:
        self._ids = np.asarray(ids, dtype=np.int64)
        self._bm25 = None
        if len(texts):
            # Read "ﬁnance" (a ligature from a PDF's text layer) as "finance", as the models do
            tokens = bm25s.tokenize(
                [plain_forms(text) for text in texts], stopwords=STOP_WORDS, stemmer=self._stemmer, show_progress=False
            )
            # Passages of only stop words, emoji or punctuation leave no vocabulary, which bm25s refuses.
            if tokens.vocab:
                self._bm25 = bm25s.BM25(k1=self.k1, b=self.b)
                self._bm25.index(tokens, show_progress=False)

    def search(self, query: str, k: int, allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return up to k passage ids with a positive BM25 score, best first."""
        if self._bm25 is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        terms = keyword_terms([query], self._stemmer)[0]
        if not terms:  # only stop words or punctuation: BM25 has nothing to match
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = self._bm25.get_scores(terms)
        if allowed_ids is not None:
            scores = np.where(np.isin(self._ids, allowed_ids), scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return self._ids[order], scores[order].astype(np.float32)
