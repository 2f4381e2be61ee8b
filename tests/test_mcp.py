"""`reportqa mcp`: the reports' `ask` and `search` as MCP tools, driven by the `mcp` package's own clients."""

import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from api.mcp_server import build_server
from qa.pipeline import Pipeline
from tests.conftest import SPUTNIK_ID, TASS_ID, free_port
from tests.test_cli_startup import _reportqa

ROOT = Path(__file__).resolve().parent.parent
# The installed command, as an assistant's configuration names it; `python -m qa.cli` where it is not installed.
REPORTQA = Path(sys.executable).with_name("reportqa")
COMMAND = [str(REPORTQA)] if REPORTQA.exists() else [sys.executable, "-m", "qa.cli"]
STARTUP_S = 120  # loading the models on a busy machine with slow cores
CALL_S = 120
QUESTION = "Who is the Russian defence minister?"


def _slices(pipeline: Pipeline, document_id: str, start: int, end: int, text: str) -> bool:
    document = pipeline.index.document(document_id)
    return document is not None and document.text[start:end] == text


async def _ask_and_search(session: ClientSession, pipeline: Pipeline) -> None:
    """List the tools, ask and search through `session`; every citation and passage slices its report."""
    await session.initialize()
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {"ask", "search"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["ask"].input_schema["properties"]["top_k"]["maximum"] == 50, "the HTTP API's limits, published"
    assert tools["ask"].output_schema and tools["search"].output_schema

    asked = await session.call_tool("ask", {"question": QUESTION, "max_answers": 2})
    assert not asked.is_error, asked.content
    result: dict[str, Any] = asked.structured_content or {}
    assert result["no_answer"] is False and 1 <= len(result["answers"]) <= 2
    assert "Shoigu" in result["answers"][0]["text"]
    for answer in result["answers"]:
        cite = answer["citation"]
        assert _slices(pipeline, cite["document_id"], cite["start"], cite["end"], answer["text"])
        context_end = cite["context_start"] + len(cite["context"])
        assert _slices(pipeline, cite["document_id"], cite["context_start"], context_end, cite["context"])
        document = pipeline.index.document(cite["document_id"])
        assert document is not None and (cite["title"], cite["date"], cite["source"]) == (
            document.title,
            document.date,
            document.source,
        )
        assert 0 <= answer["score"] <= 1

    found = await session.call_tool("search", {"query": "Russian defence minister Shoigu", "top_k": 3})
    assert not found.is_error, found.content
    passages = (found.structured_content or {})["passages"]
    assert 1 <= len(passages) <= 3 and [p["rank"] for p in passages] == list(range(1, len(passages) + 1))
    assert passages[0]["document_id"] in (SPUTNIK_ID, TASS_ID)
    for passage in passages:
        assert _slices(pipeline, passage["document_id"], passage["start"], passage["end"], passage["text"])
    only_tass = await session.call_tool("search", {"query": "minister", "sources": ["TASS"]})
    assert {p["document_id"] for p in (only_tass.structured_content or {})["passages"]} == {TASS_ID}


@pytest.mark.server
def test_ask_and_search_over_stdio(shared_corpus_pipeline: Pipeline) -> None:
    index = str(shared_corpus_pipeline.index.index_dir)
    # The whole environment: the client passes on only a few variables by default.
    server = StdioServerParameters(
        command=COMMAND[0], args=[*COMMAND[1:], "mcp", "--index-dir", index], cwd=ROOT, env=dict(os.environ)
    )

    async def run() -> None:
        with anyio.fail_after(STARTUP_S + 3 * CALL_S):
            async with (
                stdio_client(server) as (read, write),
                ClientSession(read, write, read_timeout_seconds=CALL_S) as session,
            ):
                await _ask_and_search(session, shared_corpus_pipeline)

    anyio.run(run)


def _wait_for_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or '' when it exits or prints nothing for `timeout` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


@pytest.mark.server
def test_ask_and_search_over_streamable_http(shared_corpus_pipeline: Pipeline, tmp_path: Path) -> None:
    port = free_port()
    index = str(shared_corpus_pipeline.index.index_dir)
    with (tmp_path / "stderr.log").open("w+") as errors:
        server = subprocess.Popen(
            [*COMMAND, "mcp", "--transport", "http", "--port", str(port), "--index-dir", index],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            line = _wait_for_line(server, STARTUP_S)
            assert line == f"reportqa MCP server is serving on {url} (streamable HTTP); Ctrl+C stops it\n", line

            async def run() -> None:
                with anyio.fail_after(3 * CALL_S):
                    async with (
                        streamable_http_client(url) as (read, write),
                        ClientSession(read, write, read_timeout_seconds=CALL_S) as s,
                    ):
                        await _ask_and_search(s, shared_corpus_pipeline)

            anyio.run(run)
        finally:
            server.send_signal(signal.SIGINT)  # as Ctrl+C
            server.communicate(timeout=60)
        errors.seek(0)
        assert server.returncode == 0, errors.read()


def _error_text(result: Any) -> str:
    assert result.is_error and result.structured_content is None
    return result.content[0].text


def test_bad_input_is_a_tool_error_that_says_what_to_fix(shared_corpus_pipeline: Pipeline) -> None:
    refusals = [
        ("ask", {"question": "   "}, "question: question is empty; ask something, e.g."),
        ("ask", {"question": QUESTION, "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ("ask", {"question": QUESTION, "max_answers": "3"}, "max_answers: must be a whole number, e.g. 5"),
        ("ask", {}, "question: is required"),
        ("ask", {"question": 5}, "question: Input should be a valid string"),
        ("ask", {"question": QUESTION, "date_from": "2017-02-30"}, "date_from: Input should be a valid date"),
        ("ask", {"question": QUESTION, "date_from": "2018-01-01", "date_to": "2017-01-01"}, "swap them"),
        ("search", {"query": "x", "top_k": 51}, "top_k: Input should be less than or equal to 50"),
        ("search", {"query": "x", "mode": "fuzzy"}, "mode: Input should be 'hybrid', 'dense' or 'sparse'"),
    ]

    async def run() -> None:
        async with Client(build_server(shared_corpus_pipeline)) as client:
            for tool, arguments, message in refusals:
                said = _error_text(await client.call_tool(tool, arguments))
                assert said.startswith(f"Error executing tool {tool}: ") and message in said, said
                assert "Traceback" not in said and "pydantic" not in said and "\n" not in said
            # Nothing in the reports matches: no answer, said as such, not an error.
            unsure = await client.call_tool("ask", {"question": QUESTION, "date_to": "1990-01-01"})
            assert not unsure.is_error and unsure.structured_content is not None
            assert unsure.structured_content["no_answer"] is True and unsure.structured_content["answers"] == []

    anyio.run(run)


def test_help_argument_errors_and_a_missing_index_load_no_model(tmp_path: Path) -> None:
    status, out, _, loaded = _reportqa("mcp", "--help")
    assert status == 0 and "--transport {stdio,http}" in out and loaded == []
    status, _, err, loaded = _reportqa("mcp", "--transport", "sse")
    assert status == 2 and "argument --transport: invalid choice: 'sse'" in err and loaded == []
    status, _, err, loaded = _reportqa("mcp", "--index-dir", str(tmp_path / "none"))
    assert status == 1 and "holds no index; ingest reports with `reportqa ingest PATH`" in err and loaded == []
    assert not (tmp_path / "none").exists()
