"""Inverted-file (IVF) FAISS indexes whose number of cells follows the collection's size."""

import math
from collections.abc import Iterator
from typing import Any

import faiss
import numpy as np

from embeddings.faiss_untyped import faiss_untyped

# Up to this many vectors one cell holds them all, so an IVF search is exact and still fast.
EXACT_UP_TO = 65_536
# k-means learns the cells from at most this many vectors a cell, drawn at random.
TRAINING_VECTORS_PER_CELL = 64


def cells_for(count: int) -> int:
    """The cells for `count` vectors: 1 below EXACT_UP_TO, else the power of two nearest 4 * sqrt(count)."""
    if count < EXACT_UP_TO:
        return 1
    return int(2 ** round(math.log2(4 * math.sqrt(count))))


def new_ivf(dimension: int, cells: int = 1, sample: np.ndarray | None = None) -> faiss.IndexIVFFlat:
    """An empty IVF index: one cell (default), or `cells` cells learnt by k-means from `sample`."""
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFFlat(quantizer, dimension, cells, faiss.METRIC_INNER_PRODUCT)
    if sample is None:
        # One cell needs no k-means: every vector belongs to it whatever its centre.
        quantizer.add(np.zeros((1, dimension), np.float32))
        index.is_trained = True
    else:
        index.train(np.ascontiguousarray(sample))
    with_id_lookup(index)
    return index


def with_id_lookup(index: faiss.IndexIVFFlat) -> None:
    """Keep a hash table from id to place, so that removing and reading vectors by id needs no scan."""
    untyped: Any = index
    untyped.set_direct_map_type(faiss_untyped.DirectMap.Hashtable)


def cells_of(index: faiss.IndexIVFFlat) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each non-empty cell's ids and vectors, read in place (valid until the index changes)."""
    inverted: Any = index.invlists
    for cell in range(index.nlist):
        size = inverted.list_size(cell)
        if size:
            ids = faiss_untyped.rev_swig_ptr(inverted.get_ids(cell), size).astype(np.int64)
            codes = faiss_untyped.rev_swig_ptr(inverted.get_codes(cell), size * index.code_size)
            yield ids, codes.view(np.float32).reshape(size, index.d)


def stored_ids(index: faiss.IndexIVFFlat) -> np.ndarray:
    """Every stored id, cell by cell."""
    ids = [cell_ids for cell_ids, _ in cells_of(index)]
    return np.concatenate(ids) if ids else np.zeros(0, np.int64)


def regrown(index: faiss.IndexIVFFlat) -> faiss.IndexIVFFlat:
    """The same vectors in an index with the cells their number calls for, when that is twice as many or
    more (the collection has grown fourfold since the cells were learnt, so they were learnt from a quarter
    of it at least); else `index` itself. The vectors move cell by cell, so that the move holds one copy
    of them more, not two."""
    cells = cells_for(index.ntotal)
    if cells < 2 * index.nlist:
        return index
    ids = stored_ids(index)
    chosen = np.random.default_rng(0).choice(ids, min(len(ids), TRAINING_VECTORS_PER_CELL * cells), replace=False)
    grown = new_ivf(index.d, cells, index.reconstruct_batch(np.sort(chosen)))
    for cell_ids, vectors in cells_of(index):
        grown.add_with_ids(vectors, cell_ids)
    return grown
