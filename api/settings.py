"""Service settings, read from `REPORTQA_*` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every field can be set as `REPORTQA_<NAME>`, e.g. `REPORTQA_INDEX_DIR=/srv/reportqa`."""

    model_config = SettingsConfigDict(env_prefix="REPORTQA_")

    index_dir: Path = Field(Path("index"), description="Folder holding the store and the vector index.")
    host: str = Field("127.0.0.1", description="Address `reportqa serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `reportqa serve` listens on.")
    index_kind: Literal["flat", "hnsw"] = Field("flat", description="Vector index for a new index directory.")
    no_answer_threshold: float = Field(0.35, ge=0.0, le=1.0, description="Lowest score an answer may have.")
    model_path: Path | None = Field(None, description="Embedding model folder; the packaged MiniLM when unset.")
