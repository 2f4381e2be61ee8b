"""Keys and scopes, limits, request ids, metrics and logs: every 401/403/413/429/503 path."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient

from api import bodies
from api.keys import KeyFile, KeyFileError
from api.main import create_app
from api.observability import JsonFormatter
from api.settings import ServiceSettings
from qa import cli
from qa.pipeline import Pipeline

ASK = {"question": "Who is the Russian defence minister?"}
REPORT = {"title": "Port", "text": "The port reopened on Monday."}


def _client(pipeline: Pipeline, base_url: str = "http://127.0.0.1:8000", **settings) -> Iterator[TestClient]:
    """A client whose requests arrive, as far as the app can tell, on the socket at `base_url`."""
    app = create_app(ServiceSettings(index_dir=pipeline.index.index_dir, **settings), pipeline=pipeline)
    with TestClient(app, base_url=base_url) as client:
        yield client


@pytest.fixture
def keys(tmp_path: Path) -> dict:
    key_file = KeyFile(tmp_path / "keys.json")
    return {"file": key_file, "read": key_file.create("reader", "read"), "write": key_file.create("writer", "write")}


@pytest.fixture
def keyed(corpus_pipeline: Pipeline, keys: dict) -> Iterator[TestClient]:
    yield from _client(corpus_pipeline, api_keys=keys["file"].path)


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_keys_are_stored_hashed(keys: dict) -> None:
    stored = keys["file"].path.read_text()
    assert keys["read"] not in stored and keys["write"] not in stored
    assert keys["file"].find(keys["read"]).scope == "read" and keys["file"].find("rqa_wrong") is None


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Authorization: Bearer"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization: Bearer"),
        ({"Authorization": "Bearer "}, "Authorization: Bearer"),
        ({"Authorization": "Bearer rqa_not-a-key"}, "not valid"),
    ],
)
def test_missing_or_wrong_key_is_401(keyed: TestClient, headers: dict, message: str) -> None:
    for method, path, body in (("post", "/v1/ask", ASK), ("get", "/v1/documents", None), ("get", "/metrics", None)):
        response = keyed.request(method, path, json=body, headers=headers)
        assert response.status_code == 401 and message in response.json()["detail"]
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_health_and_page_need_no_key(keyed: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/", "/static/app.js", "/openapi.json"):
        assert keyed.get(path).status_code == 200


def test_read_key_reads_but_cannot_write(keyed: TestClient, keys: dict) -> None:
    read = _bearer(keys["read"])
    assert keyed.post("/v1/ask", json=ASK, headers=read).status_code == 200
    assert keyed.get("/v1/documents", headers=read).status_code == 200
    for method, path in (("post", "/v1/documents"), ("put", "/v1/documents/x"), ("delete", "/v1/documents/x")):
        response = keyed.request(method, path, json=REPORT if method != "delete" else None, headers=read)
        assert response.status_code == 403 and "write key" in response.json()["detail"]
    assert keyed.get("/v1/documents", headers=read).json()["total"] == 2


def test_write_key_writes_and_revoked_keys_stop_working(keyed: TestClient, keys: dict) -> None:
    write = _bearer(keys["write"])
    created = keyed.post("/v1/documents", json=REPORT, headers=write)
    assert created.status_code == 201
    assert keyed.delete(f"/v1/documents/{created.json()['id']}", headers=write).status_code == 204
    keys["file"].revoke("writer")
    assert keyed.post("/v1/documents", json=REPORT, headers=write).status_code == 401


def test_without_keys_writes_need_a_loopback_connection_whatever_the_host_setting(corpus_pipeline: Pipeline) -> None:
    # `uvicorn api.main:create_app --factory --host 0.0.0.0` leaves REPORTQA_HOST at 127.0.0.1: the
    # connection's local address decides, not the setting.
    for client in _client(corpus_pipeline, base_url="http://192.0.2.7:8000", host="127.0.0.1"):
        for method, path in (("post", "/v1/documents"), ("put", "/v1/documents/x"), ("delete", "/v1/documents/x")):
            refused = client.request(method, path, json=REPORT if method != "delete" else None)
            assert refused.status_code == 403 and "REPORTQA_API_KEYS" in refused.json()["detail"]
            assert "192.0.2.7" in refused.json()["detail"]
        assert client.post("/v1/ask", json=ASK).status_code == 200
    for client in _client(corpus_pipeline, base_url="http://127.0.0.1:8000", host="0.0.0.0"):
        assert client.post("/v1/documents", json=REPORT).status_code == 201
    for client in _client(corpus_pipeline, base_url="http://[::1]:8000", allowed_hosts=["reports.internal"]):
        assert client.put("/v1/documents/a", json=REPORT).status_code == 201
        named = client.put("/v1/documents/b", json=REPORT, headers={"Host": "reports.internal:8000"})
        assert named.status_code == 201
        rebound = client.put("/v1/documents/c", json=REPORT, headers={"Host": "rebind.attacker.example"})
        assert rebound.status_code == 400 and "REPORTQA_ALLOWED_HOSTS" in rebound.json()["detail"]
        assert client.get("/v1/documents/c").status_code == 404


def test_body_over_the_limit_is_413_and_stores_nothing(corpus_pipeline: Pipeline) -> None:
    for client in _client(corpus_pipeline, max_body_bytes=2048):
        response = client.post("/v1/documents", json={"text": "word " * 1000})
        assert response.status_code == 413 and "2048 bytes" in response.json()["detail"]
        chunked = client.post(
            "/v1/documents",
            content=iter([b'{"text": "', b"w" * 4000, b'"}']),
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status_code == 413
        assert client.get("/v1/documents").json()["total"] == 2


def test_a_body_without_length_is_stored_only_until_it_passes_the_limit_and_drained_only_so_far(
    corpus_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Straight through ASGI, since the test client reads the whole body before the app sees it.
    monkeypatch.setattr(bodies, "DRAIN_MAX_BYTES", 10 * 1024)
    app = create_app(
        ServiceSettings(index_dir=corpus_pipeline.index.index_dir, max_body_bytes=2048), pipeline=corpus_pipeline
    )
    chunks_sent, messages = 0, []

    async def receive() -> dict:
        nonlocal chunks_sent
        chunks_sent += 1
        return {"type": "http.request", "body": b"w" * 1024, "more_body": chunks_sent < 100}

    async def send(message: dict) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/documents",
        "raw_path": b"/v1/documents",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    anyio.run(app, scope, receive, send)
    assert messages[0]["status"] == 413
    # The 3rd KiB passes the 2 KiB limit; then 11 more are read and dropped, passing the 10 KiB drained at
    # most, so a client that sends everything first still reads the 413; the last 86 are never read.
    assert chunks_sent == 3 + 11
    assert corpus_pipeline.index.counts().documents == 2


def test_rate_limit_is_429_with_retry_after(corpus_pipeline: Pipeline) -> None:
    for client in _client(corpus_pipeline, rate_limit_per_minute=2, rate_limit_burst=3):
        statuses = [client.post("/v1/ask", json=ASK).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.post("/v1/ask", json=ASK)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "a minute" in limited.json()["detail"]
        assert client.get("/healthz").status_code == 200, "health checks are never rate limited"


def test_slow_question_is_503_but_a_slow_write_finishes(corpus_pipeline: Pipeline) -> None:
    for client in _client(corpus_pipeline, request_timeout_s=0.0001):
        response = client.post("/v1/ask", json=ASK)
        assert response.status_code == 503 and "longer than" in response.json()["detail"]
        # A 503 here would be a lie: the document would be stored anyway, and a retry store it twice.
        written = client.post("/v1/documents", json=REPORT)
        assert written.status_code == 201
        assert corpus_pipeline.index.document(written.json()["id"]).text == REPORT["text"]


def test_request_ids_metrics_and_json_logs(corpus_pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    for client in _client(corpus_pipeline):
        with caplog.at_level(logging.INFO, logger="reportqa.requests"):
            echoed = client.post("/v1/ask", json=ASK, headers={"X-Request-ID": "trace-42"})
        assert echoed.headers["X-Request-ID"] == "trace-42"
        record = next(r for r in caplog.records if r.name == "reportqa.requests")
        line = json.loads(JsonFormatter().format(record))
        assert line["request_id"] == "trace-42" and line["path"] == "/v1/ask" and line["status"] == 200
        generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
        assert generated != "bad id with spaces" and len(generated) == 32
        assert client.get("/v1/documents/nope").headers["X-Request-ID"]
        metrics = client.get("/metrics").text
        assert 'reportqa_requests_total{method="POST",route="/v1/ask",status="200"} 1.0' in metrics
        assert 'reportqa_requests_total{method="GET",route="/v1/documents/{document_id}",status="404"} 1.0' in metrics
        assert 'reportqa_request_duration_seconds_bucket{le="0.5",method="POST",route="/v1/ask"}' in metrics
        assert "reportqa_documents 2.0" in metrics and "reportqa_vectors" in metrics


def test_keys_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = str(tmp_path / "keys.json")
    assert cli.main(["keys", "--file", path, "create", "bot", "--scope", "write"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("rqa_") and KeyFile(Path(path)).find(secret).name == "bot"
    assert cli.main(["keys", "--file", path, "list"]) == 0
    listing = capsys.readouterr().out
    assert "bot\twrite" in listing and secret not in listing
    assert cli.main(["keys", "--file", path, "create", "bot"]) == 2
    assert cli.main(["keys", "--file", path, "revoke", "bot"]) == 0
    assert cli.main(["keys", "--file", path, "revoke", "bot"]) == 2
    assert "no key is named" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["{not json", '{"keys": [{"name": "x"}]}', "", '["a list"]'])
def test_a_damaged_keys_file_is_named_at_start_up_and_a_503_while_serving(
    corpus_pipeline: Pipeline, keys: dict, capsys: pytest.CaptureFixture, content: str
) -> None:
    path = keys["file"].path
    for client in _client(corpus_pipeline, api_keys=path):
        path.write_text(content, encoding="utf-8")
        response = client.get("/v1/sources", headers=_bearer(keys["read"]))
        assert response.status_code == 503 and "keys file is damaged" in response.json()["detail"]
    with pytest.raises(KeyFileError, match=str(path)):
        create_app(ServiceSettings(index_dir=corpus_pipeline.index.index_dir, api_keys=path), pipeline=corpus_pipeline)
    assert cli.main(["keys", "--file", str(path), "list"]) == 2
    assert str(path) in capsys.readouterr().err


def test_rate_limiter_forgets_idle_clients_without_anyone_being_limited(monkeypatch) -> None:
    from api import rate_limit

    monkeypatch.setattr(rate_limit, "MAX_TRACKED_CLIENTS", 5)
    clock = iter(float(t) for t in range(0, 10_000, 100))  # 100 s between requests: every bucket refills
    monkeypatch.setattr(rate_limit.time, "monotonic", lambda: next(clock))
    limiter = rate_limit.RateLimiter(per_minute=60, burst=3)
    for client in range(50):
        assert limiter.wait_time(f"10.0.0.{client}") == 0.0
    assert len(limiter._buckets) <= 6
