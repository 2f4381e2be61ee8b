"""The OpenAI-compatible endpoint, driven by the official `openai` client over real HTTP."""

import httpx
import openai
import pytest

from api.chat_reply import NO_ANSWER_REPLY
from embeddings.encoder import Encoder
from tests.conftest import SPUTNIK_ID

QUESTION = "Who is the Russian defence minister?"
SENTENCES = {"reader": "sentence", "max_answers": 3}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture
def client(live_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_server}/v1", api_key="not-needed", max_retries=0)


def _document_text(live_server: str, document_id: str) -> str:
    return httpx.get(f"{live_server}/v1/documents/{document_id}").json()["text"]


def test_models_lists_the_service(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["reportqa"]


def _check_annotations(content: str, annotations: list, citations: list[dict], live_server: str) -> None:
    """Each [n] marker has a url_citation whose url opens the cited span and whose title is the report's."""
    assert len(annotations) == len(citations)
    for annotation in annotations:
        assert annotation.type == "url_citation"
        cite = annotation.url_citation
        number = int(content[cite.start_index : cite.end_index].strip("[]"))
        answer = citations[number - 1]
        # The page that shows the report at the span, checked against the text.
        page = httpx.URL(cite.url)
        assert str(page.copy_with(query=None)) == f"{live_server}/" and httpx.get(page).status_code == 200
        shown = page.params
        start, end = int(shown["start"]), int(shown["end"])
        assert _document_text(live_server, shown["doc"])[start:end] == shown["text"] == answer["text"]
        assert (shown["doc"], start, end) == tuple(answer["citation"][key] for key in ("document_id", "start", "end"))
        assert cite.title == answer["citation"]["title"]


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
    citations = completion.model_extra["citations"]
    assert citations[0]["citation"]["document_id"] == SPUTNIK_ID
    # Sources by title and date, for a person; ids, offsets and scores only in the structured fields.
    sources = content.split("Sources:\n")[1]
    assert sources.startswith(f"[1] {citations[0]['citation']['title']} (") and "2017)" in sources
    assert SPUTNIK_ID not in content and "score" not in content and "characters" not in content
    for number, answer in enumerate(citations, start=1):
        cite = answer["citation"]
        assert f"[{number}]" in content
        assert _document_text(live_server, cite["document_id"])[cite["start"] : cite["end"]] == answer["text"]
    _check_annotations(content, completion.choices[0].message.annotations, citations, live_server)
    assert completion.usage.prompt_tokens > 0 and completion.usage.total_tokens > completion.usage.prompt_tokens


def test_streaming_sends_the_same_reply_in_chunks(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    whole = client.chat.completions.create(model="reportqa", messages=messages)
    chunks = list(client.chat.completions.create(model="reportqa", messages=messages, stream=True))
    assert len(chunks) > 3 and all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert streamed == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage is None
    # As OpenAI sends them: the annotations on the last chunk's delta; the citations beside them.
    annotations = chunks[-1].choices[0].delta.model_extra["annotations"]
    assert annotations == [a.model_dump() for a in whole.choices[0].message.annotations] and annotations
    assert chunks[-1].model_extra["citations"] == whole.model_extra["citations"]


def test_include_usage_sends_a_last_chunk_with_the_usage(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model="reportqa", messages=messages)
    stream = client.chat.completions.create(
        model="reportqa", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    *chunks, last = list(stream)
    assert last.choices == [] and last.usage == whole.usage
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)


def test_n_choices_lead_with_each_answer_in_turn(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "What did Shoigu say about cooperation?"}]
    completion = client.chat.completions.create(model="reportqa", messages=messages, n=2, extra_body=SENTENCES)
    citations = completion.model_extra["citations"]
    assert len(citations) >= 2 and [choice.index for choice in completion.choices] == [0, 1]
    for choice, answer in zip(completion.choices, citations, strict=False):
        assert choice.message.content.startswith(" ".join(answer["text"].split()))
        assert len(choice.message.annotations) == len(citations)
    # More choices than answers: the extra ones repeat the first.
    many = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}], n=3)
    assert len({choice.message.content for choice in many.choices}) == len(many.model_extra["citations"]) == 1
    assert len(many.choices) == 3


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
def test_a_token_limit_cuts_the_reply(client: openai.OpenAI, encoder: Encoder, limit: str) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model="reportqa", messages=messages)
    first_line = whole.choices[0].message.content.splitlines()[0]
    tokens = encoder.count_tokens(first_line)
    cut = client.chat.completions.create(model="reportqa", messages=messages, **{limit: tokens})
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == tokens
    assert cut.choices[0].message.content == first_line == "Sergei Shoigu [1]"
    assert cut.choices[0].message.annotations == whole.choices[0].message.annotations
    shorter = client.chat.completions.create(model="reportqa", messages=messages, **{limit: tokens - 1})
    assert shorter.choices[0].message.content == "Sergei Shoigu" and shorter.choices[0].message.annotations == []
    roomy = client.chat.completions.create(model="reportqa", messages=messages, **{limit: 1000})
    assert roomy.choices[0].finish_reason == "stop"
    assert roomy.choices[0].message.content == whole.choices[0].message.content


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"tools": [TOOL], "tool_choice": "required"}, "tool_choice"),
        ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "lookup"}}}, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}}, "response_format"),
    ],
)
def test_what_reportqa_cannot_do_is_a_400_naming_the_parameter(client: openai.OpenAI, change: dict, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}], **change)
    assert raised.value.param == param and raised.value.code == "unsupported_parameter"
    assert raised.value.body["type"] == "invalid_request_error" and param in raised.value.message


@pytest.mark.parametrize("tool_choice", ["auto", "none", None])
def test_tools_a_reply_may_leave_uncalled_are_accepted(client: openai.OpenAI, tool_choice: str | None) -> None:
    options = {"tool_choice": tool_choice} if tool_choice else {}
    completion = client.chat.completions.create(
        model="reportqa", messages=[{"role": "user", "content": QUESTION}], tools=[TOOL], **options
    )
    assert "Sergei Shoigu" in completion.choices[0].message.content and not completion.choices[0].message.tool_calls


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
        ({"n": 0}, "n: Input should be greater than or equal to 1"),
        ({"n": 21}, "n: Input should be less than or equal to 20"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"max_completion_tokens": 2.5}, "max_completion_tokens: must be a whole number, not 2.5"),
        ({"stream_options": {"include_usage": 1}}, "stream_options.include_usage: Input should be a valid boolean"),
        ({"response_format": {"type": "yaml"}}, "response_format.type: Input should be 'text'"),
    ],
)
def test_requests_past_the_schema_are_a_422_naming_the_field(live_server: str, change: dict, expected: str) -> None:
    body = {"model": "reportqa", "messages": [{"role": "user", "content": QUESTION}], **change}
    response = httpx.post(f"{live_server}/v1/chat/completions", json=body)
    assert response.status_code == 422 and expected in response.json()["detail"]
    assert response.json()["error"]["message"] == response.json()["detail"]
