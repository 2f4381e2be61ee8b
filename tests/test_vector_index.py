"""The FAISS vector index: ids, removal, filtering, persistence, both kinds."""

import os
from pathlib import Path

import numpy as np
import pytest

from embeddings import ivf
from embeddings.index import VectorIndex


def _vectors(n: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
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
        VectorIndex(16, kind="annoy")


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


def test_ivf_learns_cells_as_the_collection_grows_and_keeps_finding_the_nearest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ivf, "EXACT_UP_TO", 25_000)
    # Reports on 600 topics, arriving in no order: tight clusters of near copies.
    centres = _vectors(600, dimension=16, seed=3)
    order = np.random.default_rng(4).permutation(60_000)
    noisy = np.repeat(centres, 100, axis=0)[order] + np.random.default_rng(5).normal(0, 0.05, (60_000, 16))
    vectors = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(5, 60_005, dtype=np.int64)
    index, flat = VectorIndex(16, kind="ivf"), VectorIndex(16)
    flat.add(ids, vectors)
    index.add(ids[:20_000], vectors[:20_000])
    assert index.cells == 1, "a small collection is one cell: exact search"
    query = vectors[3] + 0.01
    assert list(index.search(query, 5)[0]) == list(flat.search(query, 5, allowed_ids=ids[:20_000])[0])
    index.add(ids[20_000:30_000], vectors[20_000:30_000])
    assert index.cells == ivf.cells_for(30_000) == 512
    index.add(ids[30_000:], vectors[30_000:])
    assert index.cells == ivf.cells_for(60_000) == 1024, "cells are learnt again at twice as many"
    assert np.array_equal(np.sort(index.ids()), ids)

    near = vectors[::1_500] + np.random.default_rng(6).normal(0, 0.05, (40, 16)).astype(np.float32)
    queries = near / np.linalg.norm(near, axis=1, keepdims=True)

    def recall(probes: int) -> float:
        index.probes = probes
        found = [np.intersect1d(index.search(q, 50)[0], flat.search(q, 50)[0]).size / 50 for q in queries]
        return float(np.mean(found))

    assert recall(1) < 0.9 and recall(32) >= 0.98

    # A small filter scans every cell: its nearest are exact, however few cells hold them.
    allowed = ids[::997]
    found, _ = index.search(queries[0], 5, allowed_ids=allowed)
    assert list(found) == list(flat.search(queries[0], 5, allowed_ids=allowed)[0])

    index.remove(ids[:100])
    assert len(index) == 59_900 and ids[0] not in index.search(vectors[0], 5)[0]
    path = tmp_path / "vectors.faiss"
    index.save(path)
    loaded = VectorIndex.load(path)
    assert loaded.kind == "ivf" and loaded.cells == 1024 and len(loaded) == 59_900
    loaded.remove(ids[100:110])  # removing by id works on a loaded file too
    assert len(loaded) == 59_890 and loaded.search(vectors[200], 1)[0][0] == ids[200]
