"""The FAISS vector index: ids, removal, filtering, persistence, both kinds."""

import os
from pathlib import Path

import numpy as np
import pytest

from embeddings.index import VectorIndex


def _vectors(n: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_remove_filter_and_persist(tmp_path: Path, kind: str) -> None:
    vectors = _vectors(200)
    ids = np.arange(1000, 1200, dtype=np.int64)
    index = VectorIndex(16, kind=kind)
    index.add(ids, vectors)
    found, scores = index.search(vectors[7], k=3)
    assert found[0] == 1007 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)

    index.remove(np.array([1007, 1008]))
    assert len(index) == 198 and 1007 not in index.ids()
    assert 1007 not in index.search(vectors[7], k=10)[0]

    allowed = np.array([1100, 1150, 1199])
    found, _ = index.search(vectors[150], k=10, allowed_ids=allowed)
    assert set(found) <= set(allowed) and found[0] == 1150
    assert len(index.search(vectors[0], k=5, allowed_ids=np.array([], np.int64))[0]) == 0

    # A folder name that is not UTF-8, which FAISS's own file functions refuse.
    path = tmp_path / os.fsdecode(b"index-\xff") / "vectors.faiss"
    index.save(path)
    assert not list(path.parent.glob("*.tmp")), "the temporary file must be renamed into place"
    loaded = VectorIndex.load(path)
    assert loaded.kind == kind
    assert np.array_equal(np.sort(loaded.ids()), np.sort(index.ids()))
    assert loaded.search(vectors[150], k=1)[0][0] == 1150


def test_ids_and_vectors_must_match() -> None:
    with pytest.raises(ValueError, match="ids"):
        VectorIndex(16).add(np.array([1, 2]), _vectors(3))


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="flat"):
        VectorIndex(16, kind="ivf")


def test_a_deeper_hnsw_search_finds_more_of_the_exact_nearest() -> None:
    # Tight clusters of near copies: the 50 nearest are near ties, which a shallow search misses.
    centres = _vectors(20, dimension=32)
    noisy = np.repeat(centres, 150, axis=0) + np.random.default_rng(1).normal(0, 0.05, (3000, 32))
    vectors = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(len(vectors), dtype=np.int64)
    flat, hnsw = VectorIndex(32), VectorIndex(32, kind="hnsw", hnsw_neighbors=16)
    flat.add(ids, vectors)
    hnsw.add(ids, vectors)
    queries = _vectors(30, dimension=32, seed=2)

    def recall(depth: int) -> float:
        hnsw.search_depth = depth
        found = [np.intersect1d(hnsw.search(q, 50)[0], flat.search(q, 50)[0]).size / 50 for q in queries]
        return float(np.mean(found))

    assert recall(50) < 0.9 and recall(1000) >= 0.99
