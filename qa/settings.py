"""The domain's settings (index, models, reader), read from `REPORTQA_*` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.models import Precision


class Settings(BaseSettings):
    """Every field can be set as `REPORTQA_<NAME>`, e.g. `REPORTQA_INDEX_DIR=/srv/reportqa`.

    The HTTP service adds its own fields in `api.settings.ServiceSettings`.
    """

    model_config = SettingsConfigDict(env_prefix="REPORTQA_")

    index_dir: Path = Field(Path("index"), description="Folder holding the store and the vector index.")
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
