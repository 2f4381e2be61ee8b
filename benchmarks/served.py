"""Shared by the benchmark scripts that start `reportqa serve`: serving a copy of an index, waiting until ready."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def wait_ready(base: str, timeout_s: float = 120) -> None:
    """Poll `base/readyz` until it answers 200; raise after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(index_dir: Path, port: int, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`reportqa serve` on `index_dir` at loopback `port`, with `env` added to this environment, until the
    block ends; yields the process at once, without waiting for it to be ready."""
    command = [sys.executable, "-m", "qa.cli", "serve", "--index-dir", str(index_dir), "--port", str(port)]
    server = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def serving_a_copy(index_dir: Path, port: int) -> Iterator[int]:
    """Serve a scratch copy of `index_dir` on loopback, rate limit off (one address stands for every
    client), until the block ends; yields the server's process id."""
    with tempfile.TemporaryDirectory(prefix="reportqa-served-") as scratch:
        copy = Path(scratch) / "index"
        shutil.copytree(index_dir, copy)
        with running_server(copy, port, {"REPORTQA_RATE_LIMIT_PER_MINUTE": "0"}) as server:
            wait_ready(f"http://127.0.0.1:{port}")
            yield server.pid
