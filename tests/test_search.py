"""POST /v1/search: passages with scores and offsets that slice their reports, without reading."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ServiceSettings
from qa.pipeline import Pipeline
from tests.conftest import SPUTNIK_ID, TASS_ID


@pytest.fixture
def client(shared_corpus_pipeline: Pipeline) -> Iterator[TestClient]:
    with TestClient(create_app(ServiceSettings(), pipeline=shared_corpus_pipeline), base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_search_returns_passages_that_slice_their_reports(client: TestClient, mode: str) -> None:
    response = client.post("/v1/search", json={"query": "Russian defence minister Shoigu", "top_k": 3, "mode": mode})
    assert response.status_code == 200
    passages = response.json()["passages"]
    assert 1 <= len(passages) <= 3 and [p["rank"] for p in passages] == list(range(1, len(passages) + 1))
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    for passage in passages:
        text = client.get(f"/v1/documents/{passage['document_id']}").json()["text"]
        assert text[passage["start"] : passage["end"]] == passage["text"]
    assert passages[0]["document_id"] in (SPUTNIK_ID, TASS_ID)


def test_search_filters_and_refusals(client: TestClient) -> None:
    only_tass = client.post("/v1/search", json={"query": "minister", "filters": {"document_ids": [TASS_ID]}})
    assert {p["document_id"] for p in only_tass.json()["passages"]} == {TASS_ID}
    for body, field in (
        ({"query": "  "}, "query"),
        ({"query": "x", "top_k": 51}, "top_k"),
        ({"query": "x", "mode": "y"}, "mode"),
    ):
        response = client.post("/v1/search", json=body)
        assert response.status_code == 422 and field in response.json()["detail"]
