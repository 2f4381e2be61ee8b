"""A fault of the server is a logged 500, never dressed as the client's mistake."""

import logging

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ServiceSettings
from qa.pipeline import Pipeline

QUESTION = {"question": "Who is the Russian defence minister?"}


def _client(pipeline: Pipeline) -> TestClient:
    return TestClient(create_app(ServiceSettings(), pipeline=pipeline), raise_server_exceptions=False)


def test_a_value_error_inside_the_pipeline_is_a_logged_500(
    shared_corpus_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # What the tokenizer race raised: a ValueError that no input of the client's could cause or mend.
    def broken(*args, **kwargs):
        raise ValueError(
            "matmul: Input operand 1 has a mismatch in its core dimension 0 (size 90 is different from 202)"
        )

    monkeypatch.setattr(shared_corpus_pipeline, "ask", broken)
    with caplog.at_level(logging.ERROR), _client(shared_corpus_pipeline) as client:
        response = client.post("/v1/ask", json=QUESTION)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error" and "matmul" not in response.json()["detail"]
    assert any(record.exc_info and "matmul" in str(record.exc_info[1]) for record in caplog.records)


@pytest.mark.parametrize(
    ("body", "message"),
    [({**QUESTION, "reader": "nobody"}, "reader must be one of"), ({"question": "?" * 1001}, "1000")],
)
def test_input_the_pipeline_refuses_is_still_a_422(shared_corpus_pipeline: Pipeline, body: dict, message: str) -> None:
    with _client(shared_corpus_pipeline) as client:
        response = client.post("/v1/ask", json=body)
    assert response.status_code == 422 and message in response.json()["detail"]
