"""The MCP server behind `reportqa mcp`: the reports' `ask` and `search` as tools for desktop assistants."""

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any, TypeVar

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import BaseModel, ValidationError, WithJsonSchema

from api.commands import url_of
from api.schemas import AnswerOut, AskIn, AskOut, FiltersIn, PassageOut
from api.search_schemas import SearchIn, SearchOut
from qa.index.base import IndexFilesError
from qa.models import InvalidInputError
from qa.pipeline import EmptyIndexError, Pipeline

MCP_PATH = "/mcp"  # where the streamable HTTP transport answers
INSTRUCTIONS = (
    "Answers questions from a collection of reports (news articles, briefings, papers) with exact quotes. "
    "`ask` returns answer spans, each with a citation: document.text[start:end] is the answer, word for word; "
    "`no_answer` is true when nothing in the reports answers well enough, so do not guess then. `search` returns "
    "the best-matching passages without reading them. Quote answers with their report's title, source and date."
)
Model = TypeVar("Model", bound=BaseModel)


def _api(model: type[BaseModel], field: str) -> WithJsonSchema:
    """The JSON schema the HTTP API publishes for `model.field`, so a tool's argument means what that field does.

    The tool takes the value as it comes and `model` checks it, so a refusal is worded as the API words it.
    """
    schema = dict(model.model_json_schema()["properties"][field])
    schema.pop("title", None)
    return WithJsonSchema(schema)


def _default(model: type[BaseModel], field: str) -> Any:
    """The HTTP API's default for `model.field` (a list as a tuple, fit for a function's default)."""
    info = model.model_fields[field]
    default = info.get_default(call_default_factory=True)
    return tuple(default) if isinstance(default, list) else default


# The filters as top-level arguments: assistants fill in flat arguments more reliably than nested objects.
DateFrom = Annotated[object, _api(FiltersIn, "date_from")]
DateTo = Annotated[object, _api(FiltersIn, "date_to")]
Sources = Annotated[object, _api(FiltersIn, "sources")]
DocumentIds = Annotated[object, _api(FiltersIn, "document_ids")]


class ReportsServer(MCPServer):
    """An MCP server whose refusals of arguments say what to fix, in the words the HTTP API uses."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Call a tool; arguments that fail its signature (a missing question, a number for one) are worded.

        Raises:
            ToolError: the tool refused its arguments (one `argument: what to fix` per problem), or failed.
        """
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            cause = error.__cause__
            if isinstance(error, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            raise ToolError(f"Error executing tool {name}: {problems(cause)}") from cause


def build_server(pipeline: Pipeline) -> MCPServer:
    """An MCP server whose tools answer from `pipeline`, loaded once by the caller and shared by every call.

    Args:
        pipeline: the index, encoder and readers, as `qa.factory.open_pipeline` opens them.
    """
    server = ReportsServer("reportqa", instructions=INSTRUCTIONS, log_level="WARNING")
    # The server logs warnings and faults on stderr; bm25s sets its own logger to DEBUG, which would add noise.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    def ask(
        question: Annotated[str, _api(AskIn, "question")],
        top_k: Annotated[object, _api(AskIn, "top_k")] = _default(AskIn, "top_k"),
        max_answers: Annotated[object, _api(AskIn, "max_answers")] = _default(AskIn, "max_answers"),
        date_from: DateFrom = None,
        date_to: DateTo = None,
        sources: Sources = (),
        document_ids: DocumentIds = (),
    ) -> AskOut:
        """Answer a question from the indexed reports with exact quotes, each citing the report it comes from.

        Each answer's citation gives the report (document_id, title, date, source), the answer's character
        offsets in its text (start, end) and the sentence(s) around it (context). Scores lie in [0, 1];
        no_answer is true, and answers empty, when nothing scores high enough.
        """
        filters = _filters(date_from, date_to, sources, document_ids)
        body = _valid(AskIn, question=question, top_k=top_k, max_answers=max_answers, filters=filters)
        with _said_as_tool_errors():
            result = pipeline.ask(body.question, body.top_k, body.max_answers, body.reader, body.filters.to_filters())
        answers = [AnswerOut.from_answer(answer) for answer in result.answers]
        return AskOut(
            question=result.question, answers=answers, no_answer=result.no_answer, timings_ms=result.timings_ms
        )

    @server.tool(annotations=read_only)
    def search(
        query: Annotated[str, _api(SearchIn, "query")],
        top_k: Annotated[object, _api(SearchIn, "top_k")] = _default(SearchIn, "top_k"),
        mode: Annotated[object, _api(SearchIn, "mode")] = _default(SearchIn, "mode"),
        date_from: DateFrom = None,
        date_to: DateTo = None,
        sources: Sources = (),
        document_ids: DocumentIds = (),
    ) -> SearchOut:
        """Find the passages of the indexed reports that best match a question or keywords, without reading them.

        Each passage gives its report's document_id and its character offsets in the report's text (start, end):
        text == document.text[start:end]. Best first, with a retrieval score and rank.
        """
        filters = _filters(date_from, date_to, sources, document_ids)
        body = _valid(SearchIn, query=query, top_k=top_k, mode=mode, filters=filters)
        with _said_as_tool_errors():
            found = pipeline.search(body.query, body.top_k, body.filters.to_filters(), body.mode)
        return SearchOut(query=body.query, passages=[PassageOut.from_scored(scored) for scored in found])

    return server


def _filters(date_from: object, date_to: object, sources: object, document_ids: object) -> dict[str, object]:
    """The flat filter arguments as the HTTP API's `filters` object."""
    return {"date_from": date_from, "date_to": date_to, "sources": sources, "document_ids": document_ids}


def _valid(model: type[Model], **arguments: object) -> Model:
    """The arguments checked as the HTTP API checks its body; a refusal is a tool error that says what to fix.

    Raises:
        ToolError: an argument is not acceptable, each problem named by its argument.
    """
    try:
        body = model.model_validate(arguments)
    except ValidationError as error:
        raise ToolError(problems(error)) from None
    filters = getattr(body, "filters", None)
    if isinstance(filters, FiltersIn) and filters.to_filters().reversed_dates():
        # The HTTP API answers such a range with no reports; an assistant is better told that it swapped them.
        raise ToolError(f"date_from {filters.date_from} is after date_to {filters.date_to}; swap them")
    return body


def problems(error: ValidationError) -> str:
    """A validation error in words, one `argument: what to fix` per problem, named as the tool's arguments are."""
    said = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"] if part != "filters") or "arguments"
        message = "is required" if problem["type"] == "missing" else problem["msg"].removeprefix("Value error, ")
        said.append(f"{where}: {message}")
    return "; ".join(said)


@contextlib.contextmanager
def _said_as_tool_errors() -> Iterator[None]:
    """The pipeline's refusals as tool errors in its words; anything else stays a fault (logged, not shown)."""
    try:
        yield
    except IndexFilesError as error:
        raise ToolError(f"the index cannot be read: {error}") from None
    except (InvalidInputError, EmptyIndexError) as error:
        raise ToolError(str(error)) from None


def serve(server: MCPServer, transport: str, host: str, port: int) -> None:
    """Serve `server` until the client leaves (stdio) or Ctrl+C (http).

    Args:
        server: from `build_server`.
        transport: "stdio" (the assistant starts this process) or "http" (streamable HTTP at `MCP_PATH`).
        host: the address to listen on (http only).
        port: the port to listen on (http only).
    """
    if transport == "stdio":
        server.run("stdio")
        return
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    url = url_of(host, port) + MCP_PATH
    threading.Thread(target=_announce, args=(uvicorn_server, url), name="announce", daemon=True).start()
    # Uvicorn stops on Ctrl+C, then raises it again; as `uvicorn.run` (and so `reportqa serve`), a clean stop.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn_server.run()


def _announce(uvicorn_server: uvicorn.Server, url: str) -> None:
    """Print where the server answers, once it listens: one plain line on stdout, as `reportqa serve` does."""
    while not uvicorn_server.started:
        if uvicorn_server.should_exit:
            return
        time.sleep(0.05)
    print(f"reportqa MCP server is serving on {url} (streamable HTTP); Ctrl+C stops it", flush=True)
