"""The HTTP service's commands, `serve`, `mcp` and `keys`, added to `reportqa` through its entry-point group."""

import argparse
import contextlib
import errno
import http.client
import os
import socket
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.keys import KeyStore
from api.settings import ServiceSettings
from qa.cli.arguments import Commands, add_command, refuse_missing_index, settings_for, text, whole_number
from qa.cli.progress import loading
from qa.settings import Settings

WORKER_HEALTHCHECK_S = 60
HEALTH_POLL_S = 0.1  # how often `serve` asks whether the server answers yet, to say so
HEALTH_TIMEOUT_S = 30  # a worker busy starting may be slow to answer its first request
MCP_PORT = 8001  # `reportqa mcp --transport http`: next to `reportqa serve`'s 8000


def register(commands: Commands, settings: Settings) -> None:
    """Add `serve`, `mcp` and `keys`, with defaults from the service's settings (`REPORTQA_*`)."""
    service = ServiceSettings()
    serve = add_command(
        commands, "serve", lambda args, _: _serve(args, service), "Serve the HTTP API (OpenAPI docs at /docs).", service
    )
    serve.add_argument("--host", default=service.host, help=f"bind address (default {service.host})")
    serve.add_argument(
        "--port",
        type=whole_number(1, 65535),
        default=service.port,
        help=f"port (default {service.port}; env REPORTQA_PORT)",
    )
    serve.add_argument(
        "--workers", type=whole_number(1), default=1, help="server processes sharing the index (default 1)"
    )
    _register_mcp(commands, settings)

    keys = commands.add_parser("keys", help="Create, list and revoke API keys.", description="Manage API keys.")
    keys.add_argument("--file", type=Path, default=service.api_keys, help="keys file (default: REPORTQA_API_KEYS)")
    keys.set_defaults(service=service)
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="make a key; it is printed once and stored only hashed")
    create.add_argument("name", type=text)
    create.add_argument("--scope", choices=("read", "write"), default="read", help="read (default) or write")
    create.set_defaults(run=_keys_create)
    key_commands.add_parser("list", help="list keys (names, scopes, prefixes)").set_defaults(run=_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name", type=text)
    revoke.set_defaults(run=_keys_revoke)


def _register_mcp(commands: Commands, settings: Settings) -> None:
    """Add `mcp`: `ask` and `search` as MCP tools, over stdio or streamable HTTP."""
    summary = "Serve the reports to MCP assistants (Claude Desktop, ...): the tools ask and search."
    mcp = add_command(commands, "mcp", _mcp, summary, settings)
    mcp.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default: the assistant starts this command) or http (streamable HTTP at /mcp)",
    )
    mcp.add_argument("--host", default="127.0.0.1", help="http: bind address (default 127.0.0.1)")
    mcp.add_argument("--port", type=whole_number(1, 65535), default=MCP_PORT, help=f"http: port (default {MCP_PORT})")


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the index to MCP clients; the models load once, before the first request."""
    # Before the models load: a mistyped index folder or a busy port is said at once.
    if refuse_missing_index(args, settings):
        return 1
    http = args.transport == "http"
    if http and _refuse_mcp_address(args.host, args.port):
        return 1
    # Over stdio, stdout is the protocol's: anything a library prints while loading goes to stderr.
    with loading("the models"), contextlib.redirect_stdout(sys.stderr):
        from api.mcp_server import build_server, serve
        from qa.factory import open_pipeline

        server = build_server(open_pipeline(settings_for(args, settings)))
    if http and _refuse_mcp_address(args.host, args.port):  # again: another program may have taken it meanwhile
        return 1
    serve(server, args.transport, args.host, args.port)
    return 0


def _refuse_mcp_address(host: str, port: int) -> bool:
    """Say so, in one sentence, when `reportqa mcp --transport http` cannot listen on `host`:`port`."""
    try:
        with listening_socket(host, port):
            return False
    except OSError as error:
        reason = error.strerror or error
        print(
            f"reportqa: cannot listen on {host} port {port} ({reason}); choose another with --port or --host",
            file=sys.stderr,
        )
        return True


def _serve(args: argparse.Namespace, service: ServiceSettings) -> int:
    served = service.model_copy(update={"index_dir": args.index_dir, "host": args.host, "port": args.port})
    # Before the models load, so a busy port is said at once.
    if _refuse_address(args.host, args.port):
        return 1
    with loading("the models"):
        import uvicorn

        from api.main import create_app
        from api.observability import log_config
        from qa.factory import open_pipeline

        # Open the index before serving, so a missing or corrupt file is a one-line error, not a traceback.
        pipeline = open_pipeline(settings_for(args, service))
        # Built even for several workers: a bad setting, such as a damaged keys file, is a one-line error here.
        app = create_app(served, pipeline=pipeline)
    # Again: loading took seconds, in which another program may have taken the port.
    if _refuse_address(args.host, args.port):
        return 1
    # Uvicorn would take X-Forwarded-For from any process on 127.0.0.1, letting it pose as any client
    # to the rate limit and the logs: only the configured proxies are believed.
    proxies = served.forwarded_allow_ips
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_config": log_config(),
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,
    }
    with announced_once_answering(url_of(args.host, args.port)):
        if args.workers == 1:
            uvicorn.run(app, **options)
            return 0
        # Several processes: each worker opens the index itself (settings reach it through the environment);
        # they share it through the write lock and the store's generation number.
        pipeline.index.close()
        del app, pipeline
        os.environ.update({"REPORTQA_INDEX_DIR": str(args.index_dir), "REPORTQA_HOST": args.host})
        # A worker loading its models on a busy machine can take longer than uvicorn's 5 s to answer
        # the parent's health check, which would then kill and restart it, again and again.
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            workers=args.workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            **options,
        )
    return 0


def _refuse_address(host: str, port: int) -> bool:
    """Say so, in one sentence, when `reportqa serve` cannot listen on `host`:`port`."""
    try:
        with listening_socket(host, port):
            return False
    except OSError as error:
        print(f"reportqa: {address_problem(host, port, error)}", file=sys.stderr)
        return True


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` as uvicorn binds one (so binding it tells whether uvicorn could)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def address_problem(host: str, port: int, error: OSError) -> str:
    """Why `reportqa serve` cannot listen on `host`:`port`, in one sentence that says what to do."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use, by another program or another `reportqa serve`; "
            f"stop it, or choose another port with --port or REPORTQA_PORT (e.g. --port {port % 65535 + 1})"
        )
    if error.errno == errno.EACCES:
        return (
            f"this user may not listen on port {port} (ports below 1024 need privileges); "
            "choose another port with --port or REPORTQA_PORT"
        )
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return (
            f"cannot listen on {host}: it is not an address of this machine; choose another with --host or "
            "REPORTQA_HOST (127.0.0.1 serves this machine only, 0.0.0.0 every network)"
        )
    return (
        f"cannot listen on {host} port {port} ({error.strerror or error}); choose another address with "
        "--host and --port, or REPORTQA_HOST and REPORTQA_PORT"
    )


def url_of(host: str, port: int) -> str:
    """The address to open in a browser: a server on every address (0.0.0.0, ::) is reached at loopback."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def announced_once_answering(url: str) -> Iterator[None]:
    """While the block serves, print the one plain line that says where, once /healthz at `url` answers.

    Asked as a client would: only an answer shows that the server listens, its app has started, and (with
    several workers, other processes) one of them accepts. The logs are JSON lines on stderr; this is stdout.
    """
    stop = threading.Event()
    watcher = threading.Thread(target=_announce_when_answering, args=(url, stop), name="announce", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _announce_when_answering(url: str, stop: threading.Event) -> None:
    parts = urllib.parse.urlsplit(url)
    while not stop.wait(HEALTH_POLL_S):
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=HEALTH_TIMEOUT_S)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                print(f"reportqa is serving on {url} — open it in a browser, API docs at /docs; Ctrl+C stops it")
                sys.stdout.flush()
                return
        except OSError:  # not listening yet
            continue
        finally:
            connection.close()


def _key_file(args: argparse.Namespace) -> KeyStore:
    from api.keys import KeyFile

    service: ServiceSettings = args.service
    # Unless a file is named here: the keys of every replica, in the database they share.
    if args.file is None and service.api_keys_in_database and service.database_url is not None:
        from api.database_keys import DatabaseKeys

        return DatabaseKeys(service.database_url)
    if args.file is None:
        raise ValueError("no keys file: pass --file PATH, or set REPORTQA_API_KEYS or REPORTQA_API_KEYS_IN_DATABASE")
    return KeyFile(args.file)


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    secret = _key_file(args).create(args.name, args.scope)
    print(secret)
    print(f"created {args.scope} key {args.name!r}; it is shown only now, store it safely", file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    for key in _key_file(args).entries():
        print(f"{key.name}\t{key.scope}\t{key.prefix}…\t{key.created}")
    return 0


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    _key_file(args).revoke(args.name)
    print(f"revoked {args.name!r}")
    return 0
