"""`reportqa serve` says it serves only once it answers, at the address it really listens on."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from qa.pipeline import Pipeline
from tests.conftest import free_port

pytestmark = [pytest.mark.server, pytest.mark.model]

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("workers", [1, 2])
def test_the_serving_line_comes_once_it_answers(shared_corpus_pipeline: Pipeline, workers: int) -> None:
    port = free_port()
    index = str(shared_corpus_pipeline.index.index_dir)
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--index-dir", index, "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        started = time.monotonic()
        line = server.stdout.readline()  # blocks until the server prints, or exits
        assert time.monotonic() - started < 240
        url = f"http://127.0.0.1:{port}"
        assert line == f"reportqa is serving on {url} — open it in a browser, API docs at /docs; Ctrl+C stops it\n"
        # Right after the line, not eventually.
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)  # as Ctrl+C
        remaining = server.communicate(timeout=60)[0]
    assert server.returncode == 0 and remaining == "", "one line on stdout, and a clean stop on Ctrl+C"
