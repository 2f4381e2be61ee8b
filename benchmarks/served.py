"""Shared by the benchmark scripts that start `reportqa serve`: serving a copy of an index, waiting until ready."""

import os
import shutil
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


@contextmanager
def serving_a_copy(index_dir: Path, port: int) -> Iterator[int]:
    """Serve a scratch copy of `index_dir` on loopback, rate limit off (one address stands for every
    client), until the block ends; yields the server's process id."""
    with tempfile.TemporaryDirectory(prefix="reportqa-served-") as scratch:
        copy = Path(scratch) / "index"
        shutil.copytree(index_dir, copy)
        env = {**os.environ, "REPORTQA_RATE_LIMIT_PER_MINUTE": "0"}
        command = [sys.executable, "-m", "qa.cli", "serve", "--index-dir", str(copy), "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            yield server.pid
        finally:
            server.terminate()
            server.wait(timeout=30)
