"""Two `reportqa serve` replicas sharing one PostgreSQL and one Milvus (`milvus-lite server`, spoken to over
gRPC as a Milvus cluster would be): a report written through one is answered by the other, without restarts."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.engines import database_url, postgres_server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.server, pytest.mark.model]

ROOT = Path(__file__).resolve().parent.parent
REPORT = {
    "text": "The harbour master of Kotor, Ana Vukovic, reopened the port on Monday after the storm.",
    "title": "Kotor port reopens",
    "source": "Local",
    "date": "2024-03-04",
}


@pytest.fixture
def milvus_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "milvus")]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait(lambda: _listens(port), "milvus-lite server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _listens(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait(ready, what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.2)


@pytest.fixture
def replicas(tmp_path: Path, database_url: str, milvus_server: str) -> Iterator[list[str]]:  # noqa: F811
    env = {**os.environ, "REPORTQA_DATABASE_URL": database_url, "REPORTQA_MILVUS_URI": milvus_server}
    urls, processes = [], []
    try:
        # One after the other: the first creates the schema and the collection, the second finds them.
        for name in ("a", "b"):
            port = free_port()
            command = [
                sys.executable,
                "-m",
                "qa.cli",
                "serve",
                "--index-dir",
                str(tmp_path / name),
                "--port",
                str(port),
            ]
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            processes.append(process)
            assert process.stdout is not None
            assert b"serving on" in process.stdout.readline(), process.stderr.read() if process.stderr else ""
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.communicate(timeout=60)


def test_a_report_written_through_one_replica_is_answered_by_the_other(replicas: list[str]) -> None:
    writer, reader = replicas
    put = httpx.put(f"{writer}/v1/documents/kotor", json=REPORT, timeout=120)
    assert put.status_code in (200, 201), put.text
    asked = httpx.post(f"{reader}/v1/ask", json={"question": "Who is the harbour master of Kotor?"}, timeout=120)
    assert asked.status_code == 200, asked.text
    answer = asked.json()["answers"][0]
    assert answer["text"] == "Ana Vukovic" and answer["citation"]["document_id"] == "kotor"
    cited = httpx.get(f"{reader}/v1/documents/kotor", timeout=30).json()["text"]
    assert cited[answer["citation"]["start"] : answer["citation"]["end"]] == "Ana Vukovic"

    assert httpx.delete(f"{reader}/v1/documents/kotor", timeout=60).status_code == 204
    assert httpx.get(f"{writer}/v1/documents/kotor", timeout=30).status_code == 404
    again = httpx.post(f"{writer}/v1/ask", json={"question": "Who is the harbour master of Kotor?"}, timeout=120)
    assert again.status_code in (200, 409) and "Ana Vukovic" not in again.text
    ready = httpx.get(f"{writer}/readyz", timeout=30).json()
    assert ready["documents"] == 0 and ready["passages"] == ready["vectors"] == 0
