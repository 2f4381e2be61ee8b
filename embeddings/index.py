"""FAISS vector index keyed by passage ids, persisted atomically."""

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from embeddings.faiss_untyped import faiss_untyped
from embeddings.ivf import new_ivf, regrown, stored_ids, with_id_lookup

INDEX_KINDS = ("flat", "hnsw", "ivf")


class VectorIndex:
    """Inner-product search over unit vectors, each stored under an int64 id.

    `flat` is exact search (the default). `hnsw` and `ivf` are approximate and fast on large collections.
    `hnsw` rebuilds its graph when vectors are removed, since HNSW cannot delete in place. `ivf` scans the
    cells whose centres are nearest the query; it keeps one cell (exact search) up to 65,536 vectors and
    learns more cells, about 4 * sqrt(count), when the collection grows past that and each time it has
    grown fourfold since.

    Usage:
        index = VectorIndex(dimension=384)
        index.add(np.array([7]), vectors)
        ids, scores = index.search(query_vector, k=5)
        index.save(Path("index/vectors.faiss"))

    Args:
        dimension: vector length.
        kind: "flat" (default), "hnsw" or "ivf".
        hnsw_neighbors: graph degree M for "hnsw" (default 32).
        search_depth: candidates an "hnsw" search keeps (efSearch; default 128, at least k); more finds
            more of the exact nearest at some cost in time. Not saved with the index.
        probes: cells an "ivf" search scans (nprobe; default 512, at most all of them). Not saved with the
            index.
    """

    def __init__(
        self, dimension: int, kind: str = "flat", hnsw_neighbors: int = 32, search_depth: int = 128, probes: int = 512
    ):
        if kind not in INDEX_KINDS:
            raise ValueError(f"index kind must be one of {INDEX_KINDS}, not {kind!r}")
        self.dimension = dimension
        self.kind = kind
        self.hnsw_neighbors = hnsw_neighbors
        self.search_depth = search_depth
        self.probes = probes
        self._index = self._empty()

    def _empty(self) -> faiss.IndexIDMap2 | faiss.IndexIVFFlat:
        if self.kind == "ivf":
            return new_ivf(self.dimension)
        inner: faiss.Index
        if self.kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(self.dimension, self.hnsw_neighbors, faiss.METRIC_INNER_PRODUCT)
            inner = hnsw
        else:
            inner = faiss.IndexFlatIP(self.dimension)
        return faiss.IndexIDMap2(inner)

    @property
    def cells(self) -> int:
        """The IVF cells the vectors are spread over (1 for the other kinds)."""
        return int(self._index.nlist) if isinstance(self._index, faiss.IndexIVFFlat) else 1

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """All stored ids, as int64."""
        if isinstance(self._index, faiss.IndexIVFFlat):
            return stored_ids(self._index)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, np.int64))
        if isinstance(self._index, faiss.IndexIVFFlat):
            self._index = regrown(self._index)

    def remove(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        if self.kind == "flat":
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            return
        if isinstance(self._index, faiss.IndexIVFFlat):
            # The id table removes by a list of ids only.
            self._index.remove_ids(faiss_untyped.IDSelectorArray(ids))
            return
        # HNSW cannot delete: rebuild from the vectors that stay.
        kept = np.setdiff1d(self.ids(), ids)
        vectors = np.stack([self._index.reconstruct(int(i)) for i in kept]) if len(kept) else None
        self._index = self._empty()
        if vectors is not None:
            self.add(kept, vectors)

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the ids and scores of the k nearest vectors, best first.

        Args:
            query: one unit vector.
            k: how many results at most.
            allowed_ids: when given, only these ids are searched.
        """
        if allowed_ids is not None and len(allowed_ids) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        k = min(k, len(self) if allowed_ids is None else len(allowed_ids))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        selector = None if allowed_ids is None else faiss.IDSelectorBatch(np.asarray(allowed_ids, np.int64))
        params = None
        if self.kind == "hnsw":
            params = faiss_untyped.SearchParametersHNSW(sel=selector, efSearch=max(self.search_depth, k))
        elif isinstance(self._index, faiss.IndexIVFFlat):
            # A filter keeping a share of the ids scans as many more cells, so that about as many of them are
            # compared; a small one scans every cell, which is exact, and cheap since ids outside it are skipped.
            probes = self.probes if allowed_ids is None else math.ceil(self.probes * len(self) / len(allowed_ids))
            params = faiss_untyped.SearchParametersIVF(sel=selector, nprobe=min(probes, self._index.nlist))
        elif selector is not None:
            params = faiss_untyped.SearchParameters(sel=selector)
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        found = ids[0] >= 0
        return ids[0][found], scores[0][found]

    def save(self, path: Path) -> None:
        """Write to `path` atomically: readers see the old file or the new one, never a torn one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            # Through Python's file, not FAISS's own: FAISS takes only paths that are valid UTF-8.
            with open(fd, "wb") as handle:
                faiss.write_index(self._index, faiss_untyped.PyCallbackIOWriter(handle.write))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: Path, hnsw_neighbors: int = 32) -> "VectorIndex":
        with open(path, "rb") as handle:
            raw: Any = faiss.read_index(faiss_untyped.PyCallbackIOReader(handle.read))
        if isinstance(raw, faiss.IndexIVFFlat):
            kind = "ivf"
            with_id_lookup(raw)
        else:
            if not isinstance(raw, faiss.IndexIDMap2):
                raw = faiss.downcast_index(raw)
            kind = "hnsw" if isinstance(faiss.downcast_index(raw.index), faiss.IndexHNSWFlat) else "flat"
        index = cls(raw.d, kind=kind, hnsw_neighbors=hnsw_neighbors)
        index._index = raw
        return index
