"""The HTTP API through the real app and the real model, on the sample corpus."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ServiceSettings
from qa.index.folder import VECTORS_FILE, open_store
from qa.pipeline import Pipeline
from tests.conftest import SPUTNIK_ID, TASS_ID


def _client(pipeline: Pipeline) -> Iterator[TestClient]:
    app = create_app(ServiceSettings(index_dir=pipeline.index.index_dir), pipeline=pipeline)
    # As from this machine: without API keys the service takes writes only on a loopback connection.
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
def client(shared_corpus_pipeline: Pipeline) -> Iterator[TestClient]:
    """Reads only: the shared corpus index."""
    yield from _client(shared_corpus_pipeline)


@pytest.fixture
def writable_client(corpus_pipeline: Pipeline) -> Iterator[TestClient]:
    yield from _client(corpus_pipeline)


@pytest.fixture
def empty_client(pipeline: Pipeline) -> Iterator[TestClient]:
    yield from _client(pipeline)


def _verify(client: TestClient, citation: dict, text: str) -> dict:
    body = {"document_id": citation["document_id"], "start": citation["start"], "end": citation["end"], "text": text}
    response = client.post("/v1/citations/verify", json=body)
    assert response.status_code == 200
    return response.json()


def test_ask_answers_from_the_sputnik_report_with_a_citation_that_verifies(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "Who is the Russian defence minister?"})
    assert response.status_code == 200
    body = response.json()
    assert body["no_answer"] is False and body["question"] == "Who is the Russian defence minister?"
    best = body["answers"][0]
    assert "Sergei Shoigu" in best["text"]
    assert best["citation"]["document_id"] == SPUTNIK_ID
    assert best["citation"]["date"] == "2017-04-25"
    assert set(body["timings_ms"]) >= {"encode", "retrieve", "read", "total"}
    assert "passages" not in body or body["passages"] is None
    for answer in body["answers"]:
        document = client.get(f"/v1/documents/{answer['citation']['document_id']}").json()
        cite = answer["citation"]
        assert document["text"][cite["start"] : cite["end"]] == answer["text"]
        assert document["text"][cite["context_start"] :].startswith(cite["context"])
        assert _verify(client, cite, answer["text"])["verified"] is True


def test_ask_can_include_passages_and_filter(client: TestClient) -> None:
    body = client.post(
        "/v1/ask",
        json={
            "question": "Who is the Russian defence minister?",
            "top_k": 2,
            "max_answers": 1,
            "reader": "sentence",
            "include_passages": True,
            "filters": {"document_ids": [TASS_ID]},
        },
    ).json()
    assert 1 <= len(body["passages"]) <= 2 and len(body["answers"]) <= 1
    assert {p["document_id"] for p in body["passages"]} == {TASS_ID}


def test_unanswerable_question_returns_no_answer(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "What is the recipe for sourdough bread?"}).json()
    assert body["no_answer"] is True and body["answers"] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"question": ""}, "question is empty"),
        ({"question": "   "}, "question is empty"),
        ({"question": "x" * 1001}, "shorten it to 1000"),
        ({"question": "Who?", "top_k": 0}, "top_k"),
        ({"question": "Who?", "top_k": 51}, "top_k"),
        ({"question": "Who?", "max_answers": 0}, "max_answers"),
        ({"question": "Who?", "max_answers": 100}, "max_answers"),
        ({"question": "Who?", "top_k": True}, "top_k"),
        ({"question": "Who?", "max_answers": "3"}, "max_answers"),
        ({"question": "Who?", "reader": "oracle"}, "reader must be one of"),
        ({"question": "Who?", "reader": ""}, "reader: reader is empty; use one of ['span', 'sentence']"),
        ({"question": "Who?", "reader": "r" * 101}, "reader: String should have at most 100 characters"),
        ({"question": "Who?", "include_passages": 0}, "include_passages: Input should be a valid boolean"),
        ({"question": "Who?", "include_passages": "true"}, "include_passages: Input should be a valid boolean"),
        ({"question": "Who?", "filters": {"sources": ["s" * 501]}}, "filters.sources.0: String should have at most"),
        ({"question": "Who?", "topk": 3}, "unknown field"),
        ({"question": "Who?", "filters": {"date_from": "2020-13-01"}}, "date_from"),
        ({}, "question"),
        ({"question": "\ud800?"}, "unpaired surrogate"),
        ({"question": "Who?", "filters": {"sources": ["\ud800"]}}, "filters.sources.0: text contains an unpaired"),
        ({"question": "Who?", "filters": {"document_ids": ["a\udfff"]}}, "filters.document_ids.0: text contains"),
    ],
)
def test_bad_ask_requests_get_a_422_that_says_what_to_fix(client: TestClient, body: dict, expected: str) -> None:
    # Sent as ASCII-escaped JSON, so a lone surrogate reaches the server as a client could send it.
    response = client.post("/v1/ask", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert expected in response.json()["detail"]


@pytest.mark.parametrize("question", ["What is it?", "???", "\x00", "the the the"])
def test_questions_bm25_cannot_use_still_get_an_answer_or_no_answer(client: TestClient, question: str) -> None:
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200
    assert isinstance(response.json()["no_answer"], bool)


def test_text_with_nul_and_invisible_characters_is_stored_exactly(writable_client: TestClient) -> None:
    for document_id, text in (("nul", "a\x00b. The end."), ("invisible", "\u200b")):
        created = writable_client.post("/v1/documents", json={"id": document_id, "text": text})
        assert created.status_code == 201
        stored = writable_client.get(f"/v1/documents/{document_id}").json()
        assert stored["text"] == text and stored["characters"] == len(text)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"question": "Who', "body: the body is not valid JSON (character 13: Unterminated string"),
        (b'{"question": "who\xff"}', "UTF-8 encoded JSON"),  # not UTF-8
        (b'{"question": "Who?", "top_k": ' + b"9" * 5000 + b"}", "UTF-8 encoded JSON"),  # past Python's int limit
        (b"[" * 100_000, "UTF-8 encoded JSON"),  # deeper than the parser recurses
    ],
)
def test_malformed_json_is_a_422(client: TestClient, body: bytes, expected: str) -> None:
    response = client.post("/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert expected in response.json()["detail"]


def test_a_body_not_sent_as_json_names_the_header(client: TestClient) -> None:
    response = client.post("/v1/ask", content=b'{"question": "Who?"}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["detail"]


def test_asking_before_ingest_names_the_command(empty_client: TestClient) -> None:
    response = empty_client.post("/v1/ask", json={"question": "Who is the defence minister?"})
    assert response.status_code == 409
    assert "reportqa ingest" in response.json()["detail"]


def test_empty_index_accepts_documents_then_answers(empty_client: TestClient) -> None:
    assert empty_client.get("/readyz").json()["documents"] == 0
    created = empty_client.post(
        "/v1/documents",
        json={
            "id": "harbour",
            "title": "Harbour",
            "date": "2021-06-01",
            "source": "desk",
            "text": "The harbour master is Anna Berg. The harbour reopened in June.",
        },
    )
    assert created.status_code == 201 and created.json()["passages"] >= 1
    body = empty_client.post("/v1/ask", json={"question": "Who is the harbour master?"}).json()
    assert "Anna Berg" in body["answers"][0]["text"]


def test_document_crud(writable_client: TestClient) -> None:
    page = writable_client.get("/v1/documents", params={"limit": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["id"] == TASS_ID  # newest first
    assert writable_client.get("/v1/documents", params={"offset": 1}).json()["items"][0]["id"] == SPUTNIK_ID

    document = writable_client.get(f"/v1/documents/{SPUTNIK_ID}").json()
    title = "Russia, Serbia Confirm Interest in Developing Military Cooperation - Shoigu"
    assert document["title"] == title and document["source"] == "Sputnik" and document["text"].strip()

    created = writable_client.post("/v1/documents", json={"title": "Port news", "text": "The port is open."})
    assert created.status_code == 201
    new_id = created.json()["id"]
    duplicate = writable_client.post("/v1/documents", json={"id": new_id, "text": "Again."})
    assert duplicate.status_code == 409 and "PUT" in duplicate.json()["detail"]

    replaced = writable_client.put(f"/v1/documents/{new_id}", json={"title": "Port news", "text": "The port is shut."})
    assert replaced.status_code == 200 and replaced.json()["text"] == "The port is shut."
    made = writable_client.put("/v1/documents/by-put", json={"text": "Made by PUT."})
    assert made.status_code == 201

    assert writable_client.delete(f"/v1/documents/{new_id}").status_code == 204
    assert writable_client.get(f"/v1/documents/{new_id}").status_code == 404
    assert writable_client.delete(f"/v1/documents/{new_id}").status_code == 404
    assert writable_client.get("/v1/documents").json()["total"] == 3


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("get", "/v1/documents/missing", None, 404),
        ("delete", "/v1/documents/missing", None, 404),
        ("get", "/v1/documents?limit=0", None, 422),
        ("get", "/v1/documents?limit=101", None, 422),
        ("get", "/v1/documents?offset=-1", None, 422),
        ("get", "/v1/documents?offset=281356119975734673408", None, 422),  # past SQLite's integers: found by fuzzing
        ("post", "/v1/documents", {"text": "   "}, 422),
        ("post", "/v1/documents", {"title": "no text"}, 422),
        ("post", "/v1/documents", {"id": "bad id!", "text": "x"}, 422),
        ("post", "/v1/documents", {"text": "x", "date": "yesterday"}, 422),
        ("put", "/v1/documents/bad%20id", {"text": "x"}, 422),
        ("put", f"/v1/documents/{SPUTNIK_ID}", {"text": ""}, 422),
    ],
)
def test_bad_document_requests_are_4xx_and_lose_nothing(
    writable_client: TestClient, method: str, path: str, body: dict | None, expected: int
) -> None:
    before = writable_client.get(f"/v1/documents/{SPUTNIK_ID}").json()
    response = getattr(writable_client, method)(path, **({"json": body} if body is not None else {}))
    assert response.status_code == expected
    assert response.json()["detail"]
    assert writable_client.get(f"/v1/documents/{SPUTNIK_ID}").json() == before
    assert writable_client.get("/v1/documents").json()["total"] == 2


def test_a_damaged_index_is_a_503_that_names_the_repair(writable_client: TestClient, corpus_pipeline: Pipeline) -> None:
    (corpus_pipeline.index.index_dir / VECTORS_FILE).unlink()
    ready = writable_client.get("/readyz")
    assert ready.status_code == 503 and "reportqa reindex" in ready.json()["detail"]
    # The body every error has (as /openapi.json describes it), and the probe's own flag.
    assert ready.json()["error"]["type"] == "server_error" and ready.json()["ready"] is False
    other_process = open_store(corpus_pipeline.index.index_dir)
    with other_process.transaction():
        other_process.bump_generation()  # as another process's write would, so the server reloads
    response = writable_client.post("/v1/ask", json={"question": "Who is the Russian defence minister?"})
    assert response.status_code == 503 and "reportqa reindex" in response.json()["detail"]


def test_verify_reports_what_is_really_there(client: TestClient) -> None:
    text = client.get(f"/v1/documents/{SPUTNIK_ID}").json()["text"]
    start = text.index("Sergei Shoigu")
    good = {"document_id": SPUTNIK_ID, "start": start, "end": start + 13}
    assert _verify(client, good, "Sergei Shoigu")["verified"] is True
    wrong = _verify(client, {**good, "start": start + 1, "end": start + 14}, "Sergei Shoigu")
    assert wrong["verified"] is False and wrong["actual_text"] == text[start + 1 : start + 14]
    assert f"[{start}, {start + 13})" in wrong["message"]
    past = _verify(client, {**good, "start": len(text) - 2, "end": len(text) + 5}, "xyz")
    assert past["verified"] is False and "past the end" in past["message"]
    missing = client.post("/v1/citations/verify", json={**good, "document_id": "nope", "text": "x"})
    assert missing.status_code == 404
    surrogate = client.post(
        "/v1/citations/verify",
        content=json.dumps({**good, "text": "\ud800"}),
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422 and "text: text contains an unpaired surrogate" in surrogate.json()["detail"]
    # Valid by the schema (which cannot compare two fields), so answered, not refused.
    backwards = _verify(client, {**good, "start": 10, "end": 5}, "x")
    assert backwards["verified"] is False and backwards["actual_text"] == ""
    assert backwards["message"] == "end 5 is before start 10; a citation's end is at least its start"


def test_health_readiness_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["documents"] == 2 and ready["passages"] == ready["vectors"] > 0
    schema = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/documents", "/v1/documents/{document_id}", "/v1/citations/verify"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200


def test_search_documents_and_list_sources(client: TestClient) -> None:
    found = client.get("/v1/documents", params={"q": "shoigu"}).json()
    assert found["total"] == 1 and [item["id"] for item in found["items"]] == [SPUTNIK_ID]
    assert client.get("/v1/documents", params={"q": "100%_"}).json()["total"] == 0  # literal, not a wildcard
    assert client.get("/v1/documents", params={"q": "x" * 201}).status_code == 422
    assert client.get("/v1/sources").json() == [
        {"source": "Sputnik", "documents": 1},
        {"source": "TASS", "documents": 1},
    ]


def test_the_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/static/app.js"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    assert client.get("/static/missing.js").status_code == 404
