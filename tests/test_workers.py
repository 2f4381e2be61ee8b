"""Several server processes on one index directory: a write through one is seen by all."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, free_port

pytestmark = [pytest.mark.server, pytest.mark.model]

ROOT = Path(__file__).resolve().parent.parent


def test_two_workers_share_one_index(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    cli = [sys.executable, "-m", "qa.cli"]
    subprocess.run([*cli, "ingest", "--index-dir", index, str(CORPUS)], check=True, cwd=ROOT, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--index-dir", index, "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        ready = 0
        while ready < 4:  # several fresh connections ready, so both workers have started
            assert time.monotonic() < deadline, "the workers did not start"
            try:
                ready += httpx.get(f"{base}/readyz").status_code == 200
            except httpx.TransportError:
                time.sleep(0.5)
        report = {"title": "Harbour", "text": "The harbour master of Kotor is Ana Vukovic."}
        assert httpx.post(f"{base}/v1/documents", json=report).status_code == 201
        for _ in range(8):  # fresh connections, spread over both workers by the kernel
            answer = httpx.post(f"{base}/v1/ask", json={"question": "Who is the harbour master of Kotor?"}).json()
            assert "Ana Vukovic" in answer["answers"][0]["text"]
        assert httpx.get(f"{base}/v1/documents").json()["total"] == 3
    finally:
        server.terminate()
        server.wait(timeout=30)
