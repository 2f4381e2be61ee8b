"""The chat and Responses request bodies, and the parameters refused before any model runs (no model loads)."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from api.chat_schemas import ChatIn, StreamOptions
from api.main import create_app
from api.responses_schemas import ResponsesIn
from api.settings import ServiceSettings

USER = {"role": "user", "content": "Who is the defence minister?"}
CHAT = {"model": "reportqa", "messages": [USER]}
RESPONSE = {"model": "reportqa", "input": "Who is the defence minister?"}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {}}}


def _refusal(model: type[BaseModel], body: dict) -> list[tuple[tuple, str]]:
    try:
        model.model_validate(json.loads(json.dumps(body)))
    except ValidationError as error:
        return [(tuple(item["loc"]), item["msg"]) for item in error.errors()]
    return []


@pytest.mark.parametrize(
    ("model", "body", "field"), [(StreamOptions, {}, "include_usage"), (ResponsesIn, RESPONSE, "stream")]
)
@pytest.mark.parametrize("value", [0, 1, "true", None])
def test_new_booleans_are_json_true_or_false_only(
    model: type[BaseModel], body: dict, field: str, value: object
) -> None:
    assert _refusal(model, {**body, field: value}) == [((field,), "Input should be a valid boolean")]
    assert _refusal(model, {**body, field: True}) == []


def test_the_smaller_token_limit_applies() -> None:
    assert ChatIn.model_validate(CHAT).token_limit() is None
    assert ChatIn.model_validate({**CHAT, "max_tokens": 50, "max_completion_tokens": 20.0}).token_limit() == 20
    assert [loc for loc, _ in _refusal(ChatIn, {**CHAT, "max_tokens": True})] == [("max_tokens",)]


def test_responses_input_is_a_question_or_messages() -> None:
    assert [m.text() for m in ResponsesIn.model_validate(RESPONSE).messages()] == [RESPONSE["input"]]
    items = [
        {"role": "developer", "content": "Be brief."},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Sergei Shoigu [1]"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Who did he meet?"}]},
    ]
    messages = ResponsesIn.model_validate({**RESPONSE, "input": items}).messages()
    assert [(m.role, m.text()) for m in messages] == [
        ("developer", "Be brief."),
        ("assistant", "Sergei Shoigu [1]"),
        ("user", "Who did he meet?"),
    ]
    ((location, message),) = _refusal(ResponsesIn, {**RESPONSE, "input": items[:3]})
    assert location == ("input",) and "no user message" in message
    assert _refusal(ResponsesIn, {**RESPONSE, "input": ""}) == [
        (("input",), "Value error, input is empty; send the question, e.g. 'Who is the Russian defence minister?'")
    ]
    ((location, message),) = _refusal(ResponsesIn, {**RESPONSE, "input": "a\ud800"})
    assert location == ("input",) and "unpaired surrogate" in message
    ((location, message),) = _refusal(ResponsesIn, {**RESPONSE, "input": [items[3]] * 257})
    assert location == ("input",) and "input has 257 items; send 256 at most" in message


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # Refused before the pipeline is used: no model is needed.
    with TestClient(create_app(ServiceSettings(index_dir=tmp_path), pipeline=object())) as client:  # type: ignore[arg-type]
        yield client


@pytest.mark.parametrize(
    ("path", "change", "param"),
    [
        ("/v1/chat/completions", {"tools": [TOOL], "tool_choice": "required"}, "tool_choice"),
        ("/v1/chat/completions", {"tool_choice": {"type": "function", "function": {"name": "lookup"}}}, "tool_choice"),
        ("/v1/chat/completions", {"response_format": {"type": "json_object"}}, "response_format"),
        ("/v1/chat/completions", {"response_format": {"type": "json_schema", "json_schema": {}}}, "response_format"),
        ("/v1/responses", {"tool_choice": "required"}, "tool_choice"),
        ("/v1/responses", {"text": {"format": {"type": "json_schema", "name": "a", "schema": {}}}}, "text.format"),
        ("/v1/responses", {"previous_response_id": "resp_1"}, "previous_response_id"),
    ],
)
def test_a_parameter_reportqa_cannot_honour_is_an_openai_style_400(
    client: TestClient, path: str, change: dict, param: str
) -> None:
    body = CHAT if path == "/v1/chat/completions" else RESPONSE
    response = client.post(path, json={**body, **change})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "unsupported_parameter"
    assert error["param"] == param and param in error["message"] and response.json()["detail"] == error["message"]
