"""The guard under a real uvicorn on loopback: refusals reach clients that send the whole body first,
forged X-Forwarded-For escapes no limit, large bodies go one at a time, and `serve` trusts no proxy
unless told. A stand-in pipeline: no model loads."""

import argparse
import json
import logging
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from api import commands, guard
from api.keys import KeyFile
from api.rate_limit import UNTRUSTED_PROXY
from api.settings import ServiceSettings
from tests.conftest import free_port
from tests.stub_service import StubPipeline, serving, stub_app

QUESTION = {"question": "Who is the Russian defence minister?"}


def _post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    """POST as urllib does: the whole body is written before the answer is read."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(("keyed", "status"), [(False, 413), (True, 401)])
def test_a_refused_body_reaches_a_client_that_sends_it_all_first_as_an_answer(
    tmp_path: Path, keyed: bool, status: int
) -> None:
    settings: dict = {"max_body_bytes": 1024}
    if keyed:
        KeyFile(tmp_path / "keys.json").create("writer", "write")
        settings["api_keys"] = tmp_path / "keys.json"
    body = b'{"text": "' + b"w" * (16 * 1024 * 1024) + b'"}'  # far past the socket buffers
    with serving(stub_app(**settings)) as base:
        # Before: the server closed the connection with the body unread, and urllib got a reset.
        for _ in range(2):
            code, answer = _post(f"{base}/v1/documents", body)
            assert code == status and answer["error"]["code"] == status


def test_rotating_x_forwarded_for_escapes_neither_the_rate_limit_nor_the_log(caplog: pytest.LogCaptureFixture) -> None:
    # uvicorn's defaults, as `uvicorn api.main:create_app --factory` starts it: it believes X-Forwarded-For
    # from 127.0.0.1 and rewrites the client before the app sees it.
    app = stub_app(rate_limit_per_minute=6, rate_limit_burst=5)
    with (
        serving(app, proxy_headers=True, forwarded_allow_ips="127.0.0.1,::1") as base,
        caplog.at_level(logging.INFO, logger="reportqa.requests"),
    ):
        statuses = [
            _post(f"{base}/v1/ask", json.dumps(QUESTION).encode(), {"X-Forwarded-For": f"203.0.113.{n}"})[0]
            for n in range(20)
        ]
    assert statuses.count(409) == 5 and statuses.count(429) == 15, statuses
    clients = {record.fields["client"] for record in caplog.records if record.name == "reportqa.requests"}
    assert clients == {UNTRUSTED_PROXY}


def test_large_bodies_are_handled_one_at_a_time_small_ones_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "LARGE_BODY_BYTES", 1000)
    for padding, most in ((0, 3), (1000, 1)):
        pipeline = StubPipeline(delay_s=0.5)
        body = json.dumps({**QUESTION, "filters": {"document_ids": ["x" * 10] * (padding // 10)}}).encode()
        with serving(stub_app(pipeline)) as base:
            threads = [threading.Thread(target=_post, args=(f"{base}/v1/ask", body)) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert pipeline.most_in_flight == most, (len(body), pipeline.most_in_flight)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("configured", "proxy_headers"), [([], False), (["10.0.0.2", "10.1.0.0/16"], True)])
def test_serve_trusts_forwarded_headers_only_from_configured_proxies(
    monkeypatch: pytest.MonkeyPatch, workers: int, configured: list[str], proxy_headers: bool
) -> None:
    import uvicorn

    import api.main
    import qa.factory

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    monkeypatch.setattr(qa.factory, "open_pipeline", lambda settings: StubPipeline())
    monkeypatch.setattr(api.main, "create_app", lambda settings, pipeline: None)
    # The multi-worker path sets these for its workers: restored after the test.
    monkeypatch.setenv("REPORTQA_INDEX_DIR", "unused-index")
    monkeypatch.setenv("REPORTQA_HOST", "127.0.0.1")
    args = argparse.Namespace(index_dir=Path("unused-index"), host="127.0.0.1", port=free_port(), workers=workers)
    assert commands._serve(args, ServiceSettings(forwarded_allow_ips=configured)) == 0
    assert calls[0]["proxy_headers"] is proxy_headers and calls[0]["forwarded_allow_ips"] == configured
