"""Several questions in one request: POST /v1/ask/batch and `Pipeline.ask_many`, on the sample corpus."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.ask_schemas import AskBatchIn
from qa.models import InvalidInputError
from qa.pipeline import MAX_BATCH_QUESTIONS, Pipeline
from tests.conftest import SPUTNIK_ID, TASS_ID
from tests.test_api import _client

QUESTIONS = [
    "Who is the Russian defence minister?",
    "What is the recipe for sourdough bread?",
    "Who is the Russian foreign minister?",
]


@pytest.fixture
def client(shared_corpus_pipeline: Pipeline) -> Iterator[TestClient]:
    yield from _client(shared_corpus_pipeline)


def _batch(client: TestClient, body: dict) -> dict:
    response = client.post("/v1/ask/batch", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_question_gets_its_own_result_in_the_order_asked(client: TestClient) -> None:
    results = _batch(client, {"questions": [f"  {QUESTIONS[0]} ", *QUESTIONS[1:]]})["results"]
    assert [result["question"] for result in results] == QUESTIONS
    assert "Sergei Shoigu" in results[0]["answers"][0]["text"] and results[0]["no_answer"] is False
    assert results[1]["no_answer"] is True and results[1]["answers"] == []
    assert "Lavrov" in results[2]["answers"][0]["text"]
    # Each result is what /v1/ask answers for its question, in the same shape.
    for question, result in zip(QUESTIONS, results, strict=True):
        alone = client.post("/v1/ask", json={"question": question}).json()
        assert set(result) == set(alone) and result["passages"] is None
        assert result["answers"] == alone["answers"] and result["no_answer"] == alone["no_answer"]
        assert set(result["timings_ms"]) == {"encode", "retrieve", "read", "total"}


def test_every_citation_slices_its_document(client: TestClient) -> None:
    results = _batch(client, {"questions": QUESTIONS + ["Who did Shoigu meet?", "What does Serbia want to keep?"]})
    texts = {
        document_id: client.get(f"/v1/documents/{document_id}").json()["text"] for document_id in (SPUTNIK_ID, TASS_ID)
    }
    cited = 0
    for result in results["results"]:
        for answer in result["answers"]:
            cite = answer["citation"]
            assert texts[cite["document_id"]][cite["start"] : cite["end"]] == answer["text"]
            assert texts[cite["document_id"]][cite["context_start"] :].startswith(cite["context"])
            cited += 1
    assert cited >= 3


def test_options_apply_to_every_question(client: TestClient) -> None:
    body = {
        "questions": QUESTIONS[::2],
        "top_k": 2,
        "max_answers": 1,
        "reader": "sentence",
        "include_passages": True,
        "filters": {"document_ids": [TASS_ID]},
    }
    for result in _batch(client, body)["results"]:
        assert 1 <= len(result["passages"]) <= 2 and len(result["answers"]) <= 1
        assert {passage["document_id"] for passage in result["passages"]} == {TASS_ID}


@pytest.mark.parametrize(
    ("questions", "expected"),
    [
        (["Who?", "   ", "What?"], "questions.1: question is empty"),
        (["Who?", "What?", "x" * 1001], "questions.2: question has 1001 characters; shorten it to 1000"),
        ([5, "Who?"], "questions.0: Input should be a valid string"),
        (["Who?", "\ud800?"], "questions.1: text contains an unpaired surrogate"),
        ([], f"questions: questions is empty; send 1 to {MAX_BATCH_QUESTIONS} questions"),
        (["Who?"] * (MAX_BATCH_QUESTIONS + 1), f"send {MAX_BATCH_QUESTIONS} at most"),
        ("Who?", "questions: Input should be a valid list"),
    ],
)
def test_a_bad_question_list_is_a_422_naming_the_position(client: TestClient, questions: object, expected: str) -> None:
    # Sent as ASCII-escaped JSON, so a lone surrogate reaches the server as a client could send it.
    body = json.dumps({"questions": questions})
    response = client.post("/v1/ask/batch", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and expected in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"top_k": 51}, "top_k"),
        ({"max_answers": 0}, "max_answers"),
        ({"reader": "oracle"}, "reader must be one of"),
        ({"question": "Who?"}, "question: unknown field"),
        ({"include_passages": 1}, "include_passages: Input should be a valid boolean"),
        ({"include_passages": "true"}, "include_passages: Input should be a valid boolean"),
    ],
)
def test_bad_options_are_a_422(client: TestClient, body: dict, expected: str) -> None:
    response = client.post("/v1/ask/batch", json={"questions": ["Who?"], **body})
    assert response.status_code == 422 and expected in response.json()["detail"]


def test_the_schema_says_the_limits() -> None:
    schema = AskBatchIn.model_json_schema()["properties"]["questions"]
    assert (schema["minItems"], schema["maxItems"], schema["items"]["maxLength"]) == (1, MAX_BATCH_QUESTIONS, 1000)
    assert (
        len(AskBatchIn.model_validate({"questions": ["Who?"] * MAX_BATCH_QUESTIONS}).questions) == MAX_BATCH_QUESTIONS
    )


def test_an_empty_index_is_a_409(pipeline: Pipeline) -> None:
    for client in _client(pipeline):
        response = client.post("/v1/ask/batch", json={"questions": ["Who is the defence minister?"]})
        assert response.status_code == 409 and "reportqa ingest" in response.json()["detail"]


def test_ask_many_answers_as_ask_does(shared_corpus_pipeline: Pipeline) -> None:
    results = shared_corpus_pipeline.ask_many(QUESTIONS, top_k=3)
    assert [result.answers for result in results] == [shared_corpus_pipeline.ask(q, top_k=3).answers for q in QUESTIONS]
    with pytest.raises(InvalidInputError, match=r"questions\[1\]: question must be 1 to 1000"):
        shared_corpus_pipeline.ask_many(["Who?", " "])
    for count in (0, MAX_BATCH_QUESTIONS + 1):
        with pytest.raises(InvalidInputError, match=f"send 1 to {MAX_BATCH_QUESTIONS} questions, not {count}"):
            shared_corpus_pipeline.ask_many(["Who?"] * count)
