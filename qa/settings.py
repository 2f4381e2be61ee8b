"""The domain's settings (index, models, reader), read from `REPORTQA_*` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from embeddings.precision import Precision


class Settings(BaseSettings):
    """Every field can be set as `REPORTQA_<NAME>`, e.g. `REPORTQA_INDEX_DIR=/srv/reportqa`.

    The HTTP service adds its own fields in `api.settings.ServiceSettings`.
    """

    model_config = SettingsConfigDict(env_prefix="REPORTQA_")

    index_dir: Path = Field(Path("index"), description="Folder holding the store and the vector index.")
    index_kind: Literal["flat", "hnsw", "ivf"] = Field("flat", description="Vector index for a new index directory.")
    no_answer_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Lowest score an answer may have; unset: each reader's own threshold."
    )
    reader_model_path: Path | None = Field(None, description="Span reader model folder; the shipped one when unset.")
    reader_precision: Precision = Field(
        "auto",
        description="Span reader arithmetic: bfloat16, int8 (the model's encoder.int8.onnx) or float32; "
        "auto takes the first this CPU and the model folder allow.",
    )
    # Chosen on held-out training articles with benchmarks/early_stop.py
    # (BENCHMARKS.md, "Stopping after a confident first passage").
    reader_early_stop_score: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Span reader: read the top passage alone, and the others only when its best answer scores "
        "below this; 1 reads every passage.",
    )
    model_path: Path | None = Field(
        None, description="Embedding model folder; the retriever shipped in embeddings/model when unset."
    )
    embedding_precision: Precision = Field(
        "float32",
        description="Embedding arithmetic: float32, bfloat16, int8 (the model folder's encoder.int8.onnx, "
        "written by `reportqa export-embedder`) or auto, the first of bfloat16 and int8 this CPU and folder allow.",
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL connection URL: with milvus_uri, the index lives in PostgreSQL and Milvus "
        "(shared by every replica) instead of index_dir.",
    )
    milvus_uri: str | None = Field(
        None, description="Milvus address (http://host:19530) or a Milvus Lite file; set with database_url."
    )
    milvus_collection: str = Field(
        "reportqa_passages", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$", description="Milvus collection alias."
    )
    milvus_token: str = Field("", description="Milvus credentials, user:password or an API key; none when empty.")

    @model_validator(mode="after")
    def _both_engines(self) -> "Settings":
        if (self.database_url is None) != (self.milvus_uri is None):
            missing = "REPORTQA_MILVUS_URI" if self.milvus_uri is None else "REPORTQA_DATABASE_URL"
            raise ValueError(f"the server-side index needs PostgreSQL and Milvus both: set {missing} too")
        return self

    @property
    def server_side(self) -> bool:
        """Whether the index lives in PostgreSQL and Milvus rather than in `index_dir`."""
        return self.database_url is not None and self.milvus_uri is not None
