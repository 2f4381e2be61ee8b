"""The HTTP service's settings: the domain's, plus address, keys, limits and threads (`REPORTQA_*`)."""

from pathlib import Path

from pydantic import Field

from qa.settings import Settings


class ServiceSettings(Settings):
    """Every field can be set as `REPORTQA_<NAME>`, e.g. `REPORTQA_PORT=8080`."""

    host: str = Field("127.0.0.1", description="Address `reportqa serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `reportqa serve` listens on.")
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
