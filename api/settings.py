"""The HTTP service's settings: the domain's, plus address, keys, limits and threads (`REPORTQA_*`)."""

import ipaddress
import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from api.hosts import host_name
from qa.settings import Settings

# Lists read from the environment as `a,b,c` (a JSON list works too), not only as JSON.
NameList = Annotated[list[str], NoDecode]


def origin_name(origin: str) -> str:
    """An origin as browsers send it (`https://host[:port]`, lower-case), or `*`.

    Raises:
        ValueError: not a scheme and host, or with a path, query or fragment (the message shows the form).
    """
    origin = origin.strip()
    if origin == "*":
        return origin
    parts = urlsplit(origin.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise ValueError(
            f"{origin!r} is not an origin: write the page's scheme and host, and port if not the default, "
            "e.g. https://chat.example.com or http://localhost:3000"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


class ServiceSettings(Settings):
    """Every field can be set as `REPORTQA_<NAME>`, e.g. `REPORTQA_PORT=8080`."""

    host: str = Field("127.0.0.1", description="Address `reportqa serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `reportqa serve` listens on.")
    api_keys: Path | None = Field(
        None, description="Keys file made by `reportqa keys`; when set, every request but health checks needs a key."
    )
    api_keys_in_database: bool = Field(
        False,
        description="Keep API keys in the PostgreSQL of database_url, shared by every replica, instead of the "
        "api_keys file; when set, every request but health checks needs a key.",
    )
    allowed_hosts: NameList = Field(
        [],
        description="Without API keys, host names a request's Host header may name besides loopback ones "
        "(comma-separated; `*` is any): checked on loopback connections always, beyond loopback only when "
        "set (IP addresses pass there). Stops web pages that use DNS rebinding.",
    )
    forwarded_allow_ips: NameList = Field(
        [],
        description="Proxies (IP addresses or networks, comma-separated; `*` is any) whose X-Forwarded-For "
        "names the client for rate limits and logs; empty trusts no proxy.",
    )
    cors_origins: NameList = Field(
        [],
        description="Web page origins whose scripts may call the API from a browser, e.g. a chat widget on "
        "another site (comma-separated, each `scheme://host[:port]`; `*` is any); empty sends no CORS headers.",
    )
    rate_limit_per_minute: int = Field(600, ge=0, description="Requests a minute per key or address; 0 is no limit.")
    rate_limit_burst: int = Field(60, ge=1, description="Requests a key or address may make at once.")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    request_timeout_s: float = Field(
        30.0, gt=0, description="Longest a question may take before a 503; writes are not cut off."
    )
    worker_threads: int = Field(8, ge=1, le=200, description="Threads serving requests in each process.")

    @model_validator(mode="after")
    def _one_home_for_keys(self) -> "ServiceSettings":
        if self.api_keys_in_database and self.database_url is None:
            raise ValueError("REPORTQA_API_KEYS_IN_DATABASE needs REPORTQA_DATABASE_URL, the database to keep them in")
        if self.api_keys_in_database and self.api_keys is not None:
            raise ValueError("set REPORTQA_API_KEYS (a keys file) or REPORTQA_API_KEYS_IN_DATABASE, not both")
        return self

    @property
    def keys_required(self) -> bool:
        """Whether every request but health checks needs an API key."""
        return self.api_keys is not None or self.api_keys_in_database

    @field_validator("allowed_hosts", "forwarded_allow_ips", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, names: list[str]) -> list[str]:
        # Compared with the Host header's name, read the same way: no case, port or final dot.
        return [host_name(name) for name in names]

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        # A browser sends `Origin: https://host[:port]`, lower-case and without a path: an entry written
        # otherwise would never match, and the widget would fail with no word why.
        return [origin_name(origin) for origin in origins]

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, entries: list[str]) -> list[str]:
        # A mistyped entry would silently trust no one (or, worse, be read as another address): refuse it.
        for entry in entries:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{entry!r} is not an IP address or network: list proxies as e.g. 10.0.0.2,10.1.0.0/16"
                    ) from None
        return entries
