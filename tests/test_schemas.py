"""The request schemas: the OpenAPI schema says what the server enforces, no more and no less.

No model is loaded: the bodies are validated by the same pydantic models FastAPI uses.
"""

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from api.ask_schemas import AskBatchIn
from api.chat_schemas import MAX_CONTENT_CHARS, MAX_MESSAGES, ChatIn, StreamOptions
from api.main import create_app
from api.responses_schemas import ResponsesIn
from api.schemas import AskIn, FiltersIn, NewDocumentIn, VerifyIn
from api.settings import ServiceSettings

QUESTION = {"question": "Who?"}
USER = {"role": "user", "content": "Who is the defence minister?"}
CHAT = {"model": "reportqa", "messages": [USER]}
# Every boolean in a request body, with a body that is valid around it.
BOOLEANS = [
    (AskIn, QUESTION, "include_passages"),
    (AskBatchIn, {"questions": ["Who?"]}, "include_passages"),
    (ChatIn, CHAT, "stream"),
    (StreamOptions, {}, "include_usage"),
    (ResponsesIn, {"model": "reportqa", "input": "Who?"}, "stream"),
]


def _refusal(model: type[BaseModel], body: dict) -> list[tuple[tuple, str]]:
    """The (location, message) of each error, as FastAPI would raise them; [] when valid."""
    try:
        # As FastAPI does: the body parsed by json.loads (which lets a lone surrogate through), then validated.
        model.model_validate(json.loads(json.dumps(body)))
    except ValidationError as error:
        return [(tuple(item["loc"]), item["msg"]) for item in error.errors()]
    return []


def _request_components(tmp_path: Path) -> dict[str, dict]:
    """The served OpenAPI schema's request bodies, and every schema they refer to, by name."""
    openapi = create_app(ServiceSettings(index_dir=tmp_path)).openapi()
    components = openapi["components"]["schemas"]
    bodies = [op["requestBody"] for path in openapi["paths"].values() for op in path.values() if "requestBody" in op]
    names, found = re.findall(r'"#/components/schemas/(\w+)"', json.dumps(bodies)), {}
    while names:
        name = names.pop()
        if name not in found:
            found[name] = components[name]
            names += re.findall(r'"#/components/schemas/(\w+)"', json.dumps(components[name]))
    return found


def _branches(schema: dict) -> list[dict]:
    return schema.get("anyOf", [schema])


def test_every_request_boolean_is_held_to_true_or_false_below(tmp_path: Path) -> None:
    # A boolean added later to any request body must join BOOLEANS, and so be tested as strict.
    booleans = {
        (name, field)
        for name, component in _request_components(tmp_path).items()
        for field, schema in component.get("properties", {}).items()
        if any(branch.get("type") == "boolean" for branch in _branches(schema))
    }
    assert booleans == {(model.__name__, field) for model, _, field in BOOLEANS}


@pytest.mark.parametrize(("model", "body", "field"), BOOLEANS)
@pytest.mark.parametrize("value", [0, 1, "true", "false", None])
def test_booleans_are_json_true_or_false_only(model: type[BaseModel], body: dict, field: str, value: object) -> None:
    assert _refusal(model, {**body, field: value}) == [((field,), "Input should be a valid boolean")]
    assert _refusal(model, {**body, field: True}) == []


@pytest.mark.parametrize("model", [AskIn, ChatIn])
def test_the_reader_schema_lists_the_readers_and_an_empty_name_is_refused_in_words(model: type[BaseModel]) -> None:
    base = QUESTION if model is AskIn else CHAT
    reader = model.model_json_schema()["properties"]["reader"]["anyOf"][0]
    assert reader["enum"] == ["span", "sentence"] and reader["minLength"] == 1
    ((location, message),) = _refusal(model, {**base, "reader": ""})
    assert location == ("reader",) and "reader is empty; use one of ['span', 'sentence']" in message
    assert _refusal(model, {**base, "reader": "sentence"}) == []


def test_a_chat_without_a_user_message_is_refused_as_its_schema_says() -> None:
    messages = ChatIn.model_json_schema()["properties"]["messages"]
    assert messages["contains"]["properties"]["role"] == {"const": "user"} and messages["minItems"] == 1
    ((location, message),) = _refusal(ChatIn, {**CHAT, "messages": [{"role": "system", "content": "Be brief."}]})
    assert location == ("messages",) and "no user message" in message


def test_the_question_is_the_last_user_message() -> None:
    messages = [USER, {"role": "assistant", "content": "Shoigu."}, {"role": "user", "content": "And Serbia's?"}]
    assert ChatIn.model_validate({**CHAT, "messages": [*messages, {"role": "tool", "content": "x"}]}).question() == (
        "And Serbia's?"
    )


def test_chat_size_is_capped_in_the_schema_and_the_check() -> None:
    schema = ChatIn.model_json_schema()
    assert schema["properties"]["messages"]["maxItems"] == MAX_MESSAGES
    content = schema["$defs"]["ChatMessage"]["properties"]["content"]["anyOf"]
    assert content[0]["maxLength"] == MAX_CONTENT_CHARS and content[1]["maxItems"] > 0
    assert schema["$defs"]["ContentPart"]["properties"]["text"]["anyOf"][0]["maxLength"] == MAX_CONTENT_CHARS
    too_many = {**CHAT, "messages": [{"role": "tool", "content": "x"}] * MAX_MESSAGES + [USER]}
    assert _refusal(ChatIn, too_many) == [
        (("messages",), f"List should have at most {MAX_MESSAGES} items after validation, not {MAX_MESSAGES + 1}")
    ]
    long = {**CHAT, "messages": [{"role": "user", "content": "x" * (MAX_CONTENT_CHARS + 1)}]}
    ((location, message),) = _refusal(ChatIn, long)
    assert location == ("messages", 0, "content") and f"shorten it to {MAX_CONTENT_CHARS}" in message
    part = {"role": "user", "content": [{"type": "text", "text": "x" * (MAX_CONTENT_CHARS + 1)}]}
    ((location, message),) = _refusal(ChatIn, {**CHAT, "messages": [part]})
    assert location == ("messages", 0, "content") and f"shorten it to {MAX_CONTENT_CHARS}" in message


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"sources": ["s" * 501]}, ("sources", 0)),
        ({"document_ids": ["d" * 101]}, ("document_ids", 0)),
    ],
)
def test_filter_items_are_capped(body: dict, location: tuple) -> None:
    assert [loc for loc, _ in _refusal(FiltersIn, body)] == [location]


def test_verify_with_end_before_start_is_valid_as_its_schema_says() -> None:
    # JSON schema cannot compare two fields; the router answers it as not verified instead of refusing it.
    body = VerifyIn.model_validate({"document_id": "a", "start": 10, "end": 5, "text": "x"})
    assert (body.start, body.end) == (10, 5)
    assert VerifyIn.model_json_schema()["properties"]["document_id"]["maxLength"] == 100


def _bounded(schema: dict) -> bool:
    if schema.get("type") == "string":
        # A pattern bounds the length only when its last quantifier does, as the document id's does.
        pattern = re.search(r"\{\d*,?\d+\}\$$", schema.get("pattern", ""))
        return bool({"maxLength", "enum", "format"} & set(schema) or pattern)
    if schema.get("type") == "array":
        return "maxItems" in schema and all(_bounded(item) for item in _branches(schema["items"]))
    return True


def test_every_request_string_and_list_is_bounded_in_the_served_schema(tmp_path: Path) -> None:
    unbounded = [
        f"{name}.{field}"
        for name, component in _request_components(tmp_path).items()
        for field, schema in component.get("properties", {}).items()
        if not all(_bounded(branch) for branch in _branches(schema))
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("model", "body", "location"),
    [
        (NewDocumentIn, {"title": "\ud800", "text": "x"}, ("title",)),
        (NewDocumentIn, {"source": "\ud800", "text": "x"}, ("source",)),
        (NewDocumentIn, {"text": "a\udfff"}, ("text",)),
        (AskIn, {**QUESTION, "filters": {"sources": ["\ud800"]}}, ("filters", "sources", 0)),
        (AskIn, {**QUESTION, "reader": "\ud800"}, ("reader",)),
        (VerifyIn, {"document_id": "\ud800", "start": 0, "end": 1, "text": "x"}, ("document_id",)),
        (
            ChatIn,
            {**CHAT, "messages": [{"role": "user", "content": [{"type": "te\ud800xt"}]}]},
            ("messages", 0, "content"),
        ),
    ],
)
def test_a_lone_surrogate_in_a_length_limited_field_is_refused_by_name(
    model: type[BaseModel], body: dict, location: tuple
) -> None:
    # A length limit makes pydantic convert the string first, which failed without naming the surrogate.
    assert _refusal(model, body) == [
        (location, "Value error, text contains an unpaired surrogate (invalid unicode); send valid UTF-8")
    ]


@pytest.mark.parametrize("field", ["top_k", "max_answers"])
def test_integers_are_read_as_json_schema_reads_them(field: str) -> None:
    # JSON schema's integers include 5.0; true, "5" and 4.5 are not integers.
    assert _refusal(AskIn, {**QUESTION, field: 5.0}) == []
    assert _refusal(ChatIn, {**CHAT, field: 5.0}) == []
    for value in (True, "5", 4.5):
        assert [location for location, _ in _refusal(AskIn, {**QUESTION, field: value})] == [(field,)]


@pytest.mark.parametrize("value", [0, 1_600_000_000, True])
def test_a_date_is_only_text(value: object) -> None:
    # A number would be read as a Unix time; the schema says "format: date", a string.
    errors = _refusal(AskIn, {**QUESTION, "filters": {"date_from": value}})
    assert errors and errors[0][0] == ("filters", "date_from") and "YYYY-MM-DD" in errors[0][1]
    assert _refusal(NewDocumentIn, {"text": "A report.", "date": value})
    assert _refusal(AskIn, {**QUESTION, "filters": {"date_from": "2020-01-02"}}) == []


def test_a_method_a_path_does_not_serve_names_every_method_it_does(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(ServiceSettings(index_dir=tmp_path), pipeline=object())) as client:  # type: ignore[arg-type]
        listing = client.options("/v1/documents")
        one = client.options("/v1/documents/some-id")
        upload = client.options("/v1/documents/upload")
    assert listing.status_code == 405 and listing.headers["allow"] == "GET, POST"
    assert one.status_code == 405 and one.headers["allow"] == "DELETE, GET, PUT"
    assert upload.status_code == 405 and upload.headers["allow"] == "POST"
