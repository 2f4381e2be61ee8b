"""What LangChain's OpenAI chat model (langchain-openai) keeps of reportqa's citations.

Measured with langchain-openai 1.8.1: through chat completions (the default) an AIMessage keeps the reply
text and nothing else of the message: not `annotations`, `citations` or `no_answer`. Through the
Responses API (`use_responses_api=True`) the url_citation annotations are kept, invoked or streamed: in
`AIMessage.content[0]["annotations"]` as sent, and in `AIMessage.content_blocks[0]["annotations"]` as
LangChain's standard `{"type": "citation", "url", "title", "start_index", "end_index"}`.
"""

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langchain_openai import ChatOpenAI

from tests.conftest import SPUTNIK_ID

QUESTION = "Who is the Russian defence minister?"


def _model(live_server: str, **options: object) -> ChatOpenAI:
    return ChatOpenAI(base_url=f"{live_server}/v1", api_key="not-needed", model="reportqa", max_retries=0, **options)


def _citations(message: BaseMessage) -> list[dict]:
    """LangChain's standard citation blocks in a message: where its own code looks for them."""
    return [annotation for block in message.content_blocks for annotation in block.get("annotations", [])]


def _check(message: BaseMessage, live_server: str) -> None:
    (citation,) = _citations(message)
    assert citation["type"] == "citation" and citation["url"].startswith(f"{live_server}/?doc={SPUTNIK_ID}&start=")
    assert citation["title"] and message.text[citation["start_index"] : citation["end_index"]] == "[1]"
    # As the service sent them, too.
    (annotation,) = message.content[0]["annotations"]
    assert annotation["type"] == "url_citation" and annotation["url"] == citation["url"]


def test_invoke_through_the_responses_api_keeps_the_citations(live_server: str) -> None:
    message = _model(live_server, use_responses_api=True).invoke(QUESTION)
    assert isinstance(message, AIMessage) and message.text.startswith("Sergei Shoigu [1]")
    _check(message, live_server)


def test_stream_through_the_responses_api_keeps_the_citations(live_server: str) -> None:
    chunks = list(_model(live_server, use_responses_api=True).stream(QUESTION))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert isinstance(whole, AIMessageChunk) and len(chunks) > 3 and whole.text.startswith("Sergei Shoigu [1]")
    _check(whole, live_server)


@pytest.mark.parametrize("streamed", [False, True])
def test_chat_completions_keep_only_the_text(live_server: str, streamed: bool) -> None:
    model = _model(live_server)
    if streamed:
        chunks = list(model.stream(QUESTION))
        message: BaseMessage = chunks[0]
        for chunk in chunks[1:]:
            message += chunk  # type: ignore[assignment]
    else:
        message = model.invoke(QUESTION)
    # The reply still reads: markers and sources by title are in the text.
    assert message.text.startswith("Sergei Shoigu [1]") and "Sources:\n[1] " in message.text
    print(f"chat completions, streamed={streamed}: citations {_citations(message)}, kept {message.model_dump()}")


def _reportqa_tool(live_server: str) -> BaseTool:
    model = _model(live_server, use_responses_api=True)

    @tool(response_format="content_and_artifact")
    def search_reports(question: str) -> tuple[str, list[dict]]:
        """Answer a question from the indexed reports, citing them."""
        answer = model.invoke(question)
        return answer.text, [{"url": c["url"], "title": c["title"]} for c in _citations(answer)]

    return search_reports


def test_an_agent_tool_hands_the_citations_on(live_server: str) -> None:
    # As an agent calls a tool: with a tool call, whose ToolMessage carries the text for the model and the
    # citations as its artifact, for the application to show.
    search_reports = _reportqa_tool(live_server)
    call = {"type": "tool_call", "id": "call_1", "name": "search_reports", "args": {"question": QUESTION}}
    result = search_reports.invoke(call)
    assert isinstance(result, ToolMessage) and result.content.startswith("Sergei Shoigu [1]")
    (citation,) = result.artifact
    assert citation["url"].startswith(f"{live_server}/?doc={SPUTNIK_ID}&start=") and citation["title"]
