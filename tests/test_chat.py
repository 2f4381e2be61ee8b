"""The OpenAI-compatible endpoint, driven by the official `openai` client over real HTTP."""

import httpx
import openai
import pytest

from api.chat_reply import NO_ANSWER_REPLY
from tests.conftest import SPUTNIK_ID

QUESTION = "Who is the Russian defence minister?"


@pytest.fixture
def client(live_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_server}/v1", api_key="not-needed", max_retries=0)


def _document_text(live_server: str, document_id: str) -> str:
    return httpx.get(f"{live_server}/v1/documents/{document_id}").json()["text"]


def test_models_lists_the_service(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["reportqa"]


def test_completion_cites_its_sources(client: openai.OpenAI, live_server: str) -> None:
    completion = client.chat.completions.create(
        model="reportqa",
        messages=[
            {"role": "system", "content": "You answer from reports."},
            {"role": "user", "content": "Who is the Serbian president?"},
            {"role": "assistant", "content": "Aleksandar Vucic."},
            {"role": "user", "content": QUESTION},
        ],
        temperature=0.2,
    )
    content = completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop" and completion.model == "reportqa"
    assert content.splitlines()[0].endswith("[1]") and "Sergei Shoigu" in content.splitlines()[0]
    assert "Sources:" in content and f"document `{SPUTNIK_ID}`" in content
    citations = completion.model_extra["citations"]
    assert citations[0]["citation"]["document_id"] == SPUTNIK_ID
    for number, answer in enumerate(citations, start=1):
        cite = answer["citation"]
        assert f"[{number}]" in content
        assert _document_text(live_server, cite["document_id"])[cite["start"] : cite["end"]] == answer["text"]
    assert completion.usage.prompt_tokens > 0 and completion.usage.total_tokens > completion.usage.prompt_tokens


def test_streaming_sends_the_same_reply_in_chunks(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    whole = client.chat.completions.create(model="reportqa", messages=messages)
    chunks = list(client.chat.completions.create(model="reportqa", messages=messages, stream=True))
    assert len(chunks) > 3 and all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert streamed == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == whole.model_extra["citations"]


def test_unanswerable_question_says_so(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="reportqa", messages=[{"role": "user", "content": "What is the recipe for sourdough bread?"}]
    )
    assert completion.choices[0].message.content == NO_ANSWER_REPLY
    assert completion.model_extra["citations"] == [] and completion.model_extra["no_answer"] is True


@pytest.mark.parametrize(
    ("request_body", "error", "message"),
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]}, openai.NotFoundError, "reportqa"),
        (
            {"model": "reportqa", "messages": [{"role": "system", "content": "Hi"}]},
            openai.UnprocessableEntityError,
            "no user message",
        ),
        ({"model": "reportqa", "messages": []}, openai.UnprocessableEntityError, "messages"),
    ],
)
def test_bad_requests_are_clear_4xx(client: openai.OpenAI, request_body: dict, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        client.chat.completions.create(**request_body)
    assert message in str(raised.value)


@pytest.mark.parametrize(("content", "problem"), [("  ", "question must be 1 to 1000"), ("why " * 300, "1000")])
def test_a_turn_without_a_question_in_words_gets_a_reply_that_says_what_to_ask(
    client: openai.OpenAI, content: str, problem: str
) -> None:
    # Valid by the schema (which cannot measure the last user message after trimming), so not a 4xx.
    completion = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": content}])
    assert problem in completion.choices[0].message.content
    assert completion.model_extra["citations"] == [] and completion.model_extra["no_answer"] is True


@pytest.mark.parametrize("content", ['"a\\ud800"', '[{"type": "text", "text": "a\\ud800"}]'])
def test_a_lone_surrogate_in_a_message_is_a_422(live_server: str, content: str) -> None:
    # Written as a JSON escape, as any client can send it; the tokenizer cannot take it.
    body = '{"model": "reportqa", "messages": [{"role": "user", "content": ' + content + "}]}"
    response = httpx.post(
        f"{live_server}/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and "unpaired surrogate" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"messages": [{"role": "tool", "content": "x"}] * 256 + [{"role": "user", "content": QUESTION}]}, "messages:"),
        ({"messages": [{"role": "user", "content": "x" * 100_001}]}, "messages.0.content: content has 100001"),
        ({"stream": 0}, "stream: Input should be a valid boolean"),
        ({"stream": "true"}, "stream: Input should be a valid boolean"),
        ({"reader": ""}, "reader: reader is empty"),
    ],
)
def test_requests_past_the_schema_are_a_422_naming_the_field(live_server: str, change: dict, expected: str) -> None:
    body = {"model": "reportqa", "messages": [{"role": "user", "content": QUESTION}], **change}
    response = httpx.post(f"{live_server}/v1/chat/completions", json=body)
    assert response.status_code == 422 and expected in response.json()["detail"]
    assert response.json()["error"]["message"] == response.json()["detail"]
