"""Passage vectors and BM25 keyword search in Milvus, behind a collection alias that a rebuild swaps."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException

from qa.index.base import IndexUnavailableError
from qa.models import Filters

_TEXT_BYTES = 65_535  # Milvus's longest VARCHAR
_WRITE_BATCH = 1_000
_VECTOR_INDEXES = {
    "flat": ("FLAT", {}),
    "hnsw": ("HNSW", {"M": 32, "efConstruction": 200}),
    # Milvus learns the cells of each sealed segment (at most about a million vectors of this size).
    "ivf": ("IVF_FLAT", {"nlist": 1024}),
}
# A quarter of the cells, as FAISS's default scans of 2,048 (BENCHMARKS.md, "A million passages with IVF").
_SEARCH_PARAMS = {"flat": {}, "hnsw": {"ef": 256}, "ivf": {"nprobe": 256}}
_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.float32))


@dataclass(frozen=True)
class PassageRow:
    """What Milvus holds of a passage: its vector, its BM25 terms, and what filters read."""

    id: int
    vector: np.ndarray
    terms: list[str]
    document_id: str
    source: str
    date: str | None


class MilvusPassages:
    """One Milvus collection of passages: a dense vector field, a BM25 function over the passage's terms,
    and the document id, source and date for filters.

    The terms are the ones `qa.retrieval.sparse.keyword_terms` makes (stop words dropped, English stems),
    joined by spaces: Milvus's own analyzer keeps stop words and does not stem, so the project analyses
    the text itself and Milvus's standard tokenizer only splits it again. The collection is reached by
    an alias (`name`), so a rebuild fills a new collection and swaps the alias in one step.

    Usage:
        passages = MilvusPassages("http://milvus:19530", dimension=384)
        passages.insert([PassageRow(1, vector, ["defenc", "minist"], "doc", "TASS", "2017-10-11")])
        ids, scores = passages.dense(vector, 50, Filters())

    Args:
        uri: Milvus's address, or a Milvus Lite file (`REPORTQA_MILVUS_URI`).
        dimension: the passage vectors' length.
        name: the collection alias (default "reportqa_passages").
        kind: "flat" (exact, default), "hnsw" or "ivf" vector search.
        token: Milvus credentials, "user:password" or an API key (default none).
        timeout_s: how long each call may take before Milvus counts as unreachable (default 30).

    Raises:
        IndexUnavailableError: Milvus cannot be reached.
    """

    def __init__(
        self,
        uri: str,
        dimension: int,
        name: str = "reportqa_passages",
        kind: str = "flat",
        token: str = "",
        timeout_s: float = 30.0,
    ):
        self.name, self.dimension, self.kind, self._timeout = name, dimension, kind, timeout_s
        self.where = f"Milvus at {uri}"
        with self._calls():
            self._client = MilvusClient(uri=uri, token=token, timeout=timeout_s)
            if self.name not in self._client.list_aliases().get("aliases", []):
                collection = self._create(f"{name}_1")
                self._client.create_alias(collection, self.name)
            self._client.load_collection(self.name)

    @contextmanager
    def _calls(self) -> Iterator[None]:
        try:
            yield
        except MilvusException as error:
            raise IndexUnavailableError(f"{self.where} failed ({error.message}); check REPORTQA_MILVUS_URI") from None

    def close(self) -> None:
        self._client.close()

    def _create(self, collection: str) -> str:
        schema = self._client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
        schema.add_field(
            "terms",
            DataType.VARCHAR,
            max_length=_TEXT_BYTES,
            enable_analyzer=True,
            analyzer_params={"type": "standard"},
        )
        schema.add_field("keywords", DataType.SPARSE_FLOAT_VECTOR)
        for field in ("document_id", "source", "date"):
            schema.add_field(field, DataType.VARCHAR, max_length=_TEXT_BYTES)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["terms"],
                output_field_names=["keywords"],
            )
        )
        index_type, build = _VECTOR_INDEXES[self.kind]
        indexes = self._client.prepare_index_params()
        indexes.add_index("vector", index_type=index_type, metric_type="IP", params=build)
        indexes.add_index("keywords", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        # Strong: a search sees every insert and delete that returned before it, in any replica.
        self._client.create_collection(collection, schema=schema, index_params=indexes, consistency_level="Strong")
        return collection

    # --- writing -------------------------------------------------------------------------------

    def insert(self, rows: Sequence[PassageRow], collection: str | None = None) -> None:
        """Add (or overwrite, by id) passages' rows, to the alias's collection unless `collection` is given."""
        with self._calls():
            for first in range(0, len(rows), _WRITE_BATCH):
                batch = [_entity(row) for row in rows[first : first + _WRITE_BATCH]]
                self._client.upsert(collection or self.name, batch)

    def delete(self, ids: Sequence[int]) -> None:
        """Remove passages' rows; ids not held are ignored."""
        with self._calls():
            for first in range(0, len(ids), _WRITE_BATCH):
                self._client.delete(self.name, ids=[int(i) for i in ids[first : first + _WRITE_BATCH]])

    @contextmanager
    def rebuilding(self) -> Iterator[str]:
        """A new, empty collection to fill; on success the alias moves to it and the old one is dropped."""
        with self._calls():
            old = self._client.describe_alias(self.name)["collection_name"]
            new = f"{self.name}_{int(old.rsplit('_', 1)[1]) + 1}"
            if self._client.has_collection(new):  # left by a rebuild that crashed
                self._client.drop_collection(new)
            self._create(new)
            self._client.load_collection(new)
        yield new
        with self._calls():
            self._client.alter_alias(new, self.name)
            self._client.drop_collection(old)

    # --- reading -------------------------------------------------------------------------------

    def count(self) -> int:
        with self._calls():
            rows = self._client.query(self.name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def ids(self) -> Iterator[int]:
        """Every passage id held, in batches read lazily."""
        with self._calls():
            pages = self._client.query_iterator(self.name, batch_size=10_000, filter="id >= 0", output_fields=["id"])
            while page := pages.next():
                yield from (int(row["id"]) for row in page)
            pages.close()

    def dense(self, vector: np.ndarray, k: int, filters: Filters | None) -> tuple[np.ndarray, np.ndarray]:
        """Up to `k` passage ids by inner product with the unit `vector`, best first, with their similarities."""
        return self._search([np.asarray(vector, np.float32).tolist()], "vector", "IP", k, filters)

    def keywords(self, terms: list[str], k: int, filters: Filters | None) -> tuple[np.ndarray, np.ndarray]:
        """Up to `k` passage ids by BM25 over `terms`, best first, with their (positive) scores."""
        if not terms:
            return _EMPTY
        ids, scores = self._search([" ".join(terms)], "keywords", "BM25", k, filters)
        # Milvus Lite reports BM25 as a negated distance, Milvus itself as a score: either way, its size.
        return ids, np.abs(scores)

    def _search(
        self, data: list[object], field: str, metric: str, k: int, filters: Filters | None
    ) -> tuple[np.ndarray, np.ndarray]:
        params = {"metric_type": metric, "params": _SEARCH_PARAMS[self.kind] if field == "vector" else {}}
        with self._calls():
            found = self._client.search(
                self.name,
                data=data,
                anns_field=field,
                limit=k,
                filter=filter_expression(filters or Filters()),
                output_fields=[],
                search_params=params,
            )[0]
        if not found:
            return _EMPTY
        return np.array([hit["id"] for hit in found], np.int64), np.array(
            [hit["distance"] for hit in found], np.float32
        )


def filter_expression(filters: Filters) -> str:
    """A Milvus boolean expression keeping the passages whose document passes `filters` ("" for all)."""
    clauses: list[str] = []
    if filters.date_from:
        clauses.append(f"date >= {_literal(filters.date_from)}")
    if filters.date_to:
        # Undated documents are stored with "", which sorts before every date.
        clauses.append(f'(date != "" and date <= {_literal(filters.date_to)})')
    for field, values in (("source", filters.sources), ("document_id", filters.document_ids)):
        if values:
            clauses.append(f"{field} in [{', '.join(_literal(value) for value in values)}]")
    return " and ".join(clauses)


def _literal(value: str) -> str:
    """A Milvus string literal: double quotes, with backslashes and quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _entity(row: PassageRow) -> dict[str, object]:
    terms = " ".join(row.terms).encode()[:_TEXT_BYTES].decode(errors="ignore")
    return {
        "id": row.id,
        "vector": np.asarray(row.vector, np.float32).tolist(),
        "terms": terms,
        "document_id": row.document_id,
        "source": row.source,
        "date": row.date or "",
    }
