"""The Responses API (POST /v1/responses), driven by the official `openai` client over real HTTP."""

import httpx
import openai
import pytest

from tests.conftest import SPUTNIK_ID

QUESTION = "Who is the Russian defence minister?"


@pytest.fixture
def client(live_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_server}/v1", api_key="not-needed", max_retries=0)


def test_a_response_answers_with_url_citations(client: openai.OpenAI, live_server: str) -> None:
    response = client.responses.create(model="reportqa", input=QUESTION, instructions="Answer briefly.")
    assert response.status == "completed" and response.output_text.splitlines()[0] == "Sergei Shoigu [1]"
    (message,) = response.output
    (annotation,) = message.content[0].annotations
    assert annotation.type == "url_citation"
    assert response.output_text[annotation.start_index : annotation.end_index] == "[1]"
    cited = response.model_extra["citations"][0]
    start, end = cited["citation"]["start"], cited["citation"]["end"]
    assert annotation.url == f"{live_server}/?doc={SPUTNIK_ID}&start={start}&end={end}&text=Sergei+Shoigu"
    assert annotation.title == cited["citation"]["title"]
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.model_extra["no_answer"] is False


def test_a_conversation_as_input_items_resolves_the_follow_up(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="reportqa",
        input=[
            {"role": "user", "content": "Who is the Russian foreign minister?"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Sergey Lavrov [1]"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "Who did he meet?"}]},
        ],
    )
    assert "Vucic" in response.output_text.splitlines()[0]


def test_streamed_events_rebuild_the_response(client: openai.OpenAI) -> None:
    whole = client.responses.create(model="reportqa", input=QUESTION)
    events = list(client.responses.create(model="reportqa", input=QUESTION, stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(event.delta for event in events if event.type == "response.output_text.delta") == whole.output_text
    added = [event.annotation for event in events if event.type == "response.output_text.annotation.added"]
    assert [dict(a) for a in added] == [a.model_dump() for a in whole.output[0].content[0].annotations]
    assert events[-1].response.output_text == whole.output_text
    assert [event.sequence_number for event in events] == list(range(len(events)))


def test_max_output_tokens_makes_an_incomplete_response(client: openai.OpenAI) -> None:
    response = client.responses.create(model="reportqa", input=QUESTION, max_output_tokens=3)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.output_tokens <= 3 and "Sources" not in response.output_text


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"tool_choice": "required", "tools": [{"type": "function", "name": "f", "parameters": {}}]}, "tool_choice"),
        ({"text": {"format": {"type": "json_object"}}}, "text.format"),
        ({"previous_response_id": "resp_123"}, "previous_response_id"),
    ],
)
def test_what_reportqa_cannot_do_is_a_400_naming_the_parameter(client: openai.OpenAI, change: dict, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="reportqa", input=QUESTION, **change)
    assert raised.value.param == param and raised.value.code == "unsupported_parameter"
    assert param in raised.value.message


def test_another_model_is_a_404_and_a_conversation_without_a_question_a_422(live_server: str) -> None:
    response = httpx.post(f"{live_server}/v1/responses", json={"model": "gpt-4o", "input": QUESTION})
    assert response.status_code == 404 and "reportqa" in response.json()["error"]["message"]
    response = httpx.post(
        f"{live_server}/v1/responses", json={"model": "reportqa", "input": [{"role": "system", "content": "Hi"}]}
    )
    assert response.status_code == 422 and "no user message" in response.json()["detail"]
