"""Service settings, read from `REPORTQA_*` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.models import Precision


class Settings(BaseSettings):
    """Every field can be set as `REPORTQA_<NAME>`, e.g. `REPORTQA_INDEX_DIR=/srv/reportqa`."""

    model_config = SettingsConfigDict(env_prefix="REPORTQA_")

    index_dir: Path = Field(Path("index"), description="Folder holding the store and the vector index.")
    host: str = Field("127.0.0.1", description="Address `reportqa serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `reportqa serve` listens on.")
    index_kind: Literal["flat", "hnsw"] = Field("flat", description="Vector index for a new index directory.")
    no_answer_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Lowest score an answer may have; unset: each reader's own threshold."
    )
    reader_model_path: Path | None = Field(None, description="Span reader model folder; the shipped one when unset.")
    reader_precision: Precision = Field(
        "auto",
        description="Span reader arithmetic: bfloat16, int8 (the model's encoder.int8.onnx) or float32; "
        "auto takes the first this CPU and the model folder allow.",
    )
    model_path: Path | None = Field(None, description="Embedding model folder; the packaged MiniLM when unset.")
    api_keys: Path | None = Field(
        None, description="Keys file made by `reportqa keys`; when set, every request but health checks needs a key."
    )
    rate_limit_per_minute: int = Field(600, ge=0, description="Requests a minute per key or address; 0 is no limit.")
    rate_limit_burst: int = Field(60, ge=1, description="Requests a key or address may make at once.")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    request_timeout_s: float = Field(
        30.0, gt=0, description="Longest a question may take before a 503; writes are not cut off."
    )
    worker_threads: int = Field(8, ge=1, le=200, description="Threads serving requests in each process.")
