"""Requests the schema allows are answered: what JSON schema cannot say is not refused."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ServiceSettings
from qa.pipeline import Pipeline


@pytest.fixture
def client(shared_corpus_pipeline: Pipeline) -> Iterator[TestClient]:
    with TestClient(create_app(ServiceSettings(), pipeline=shared_corpus_pipeline), base_url="http://127.0.0.1") as c:
        yield c


def test_a_date_range_that_ends_before_it_starts_matches_no_report(client: TestClient) -> None:
    # The schema cannot compare the two dates, so the request is valid: it is answered, with nothing found.
    filters = {"date_from": "2020-02-01", "date_to": "2020-01-01"}
    response = client.post("/v1/ask", json={"question": "Who is the Russian defence minister?", "filters": filters})
    assert response.status_code == 200 and response.json()["no_answer"] is True


def test_an_unknown_reader_is_refused_even_in_a_chat_turn_without_a_question(client: TestClient) -> None:
    body = {"model": "reportqa", "messages": [{"role": "user"}], "reader": "nobody"}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 422 and "reader" in response.json()["detail"]
