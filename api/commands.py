"""The HTTP service's commands, `serve` and `keys`, added to `reportqa` through its entry-point group."""

import argparse
import os
import sys
from pathlib import Path

from api.settings import ServiceSettings
from qa.cli.arguments import Commands, add_command, settings_for, text
from qa.settings import Settings

WORKER_HEALTHCHECK_S = 60


def register(commands: Commands, settings: Settings) -> None:
    """Add `serve` and `keys`, with defaults from the service's settings (`REPORTQA_*`)."""
    service = ServiceSettings()
    serve = add_command(
        commands, "serve", lambda args, _: _serve(args, service), "Serve the HTTP API (OpenAPI docs at /docs).", service
    )
    serve.add_argument("--host", default=service.host, help=f"bind address (default {service.host})")
    serve.add_argument("--port", type=int, default=service.port, help=f"port (default {service.port})")
    serve.add_argument("--workers", type=int, default=1, help="server processes sharing the index (default 1)")

    keys = commands.add_parser("keys", help="Create, list and revoke API keys.", description="Manage API keys.")
    keys.add_argument("--file", type=Path, default=service.api_keys, help="keys file (default: REPORTQA_API_KEYS)")
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="make a key; it is printed once and stored only hashed")
    create.add_argument("name", type=text)
    create.add_argument("--scope", choices=("read", "write"), default="read", help="read (default) or write")
    create.set_defaults(run=_keys_create)
    key_commands.add_parser("list", help="list keys (names, scopes, prefixes)").set_defaults(run=_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name", type=text)
    revoke.set_defaults(run=_keys_revoke)


def _serve(args: argparse.Namespace, service: ServiceSettings) -> int:
    import uvicorn

    from api.main import create_app
    from api.observability import log_config
    from qa.factory import open_pipeline

    served = service.model_copy(update={"index_dir": args.index_dir, "host": args.host, "port": args.port})
    # Open the index before serving, so a missing or corrupt file is a one-line error, not a traceback.
    pipeline = open_pipeline(settings_for(args, service))
    # Built even for several workers: a bad setting, such as a damaged keys file, is a one-line error here.
    app = create_app(served, pipeline=pipeline)
    # Uvicorn would take X-Forwarded-For from any process on 127.0.0.1, letting it pose as any client
    # to the rate limit and the logs: only the configured proxies are believed.
    proxies = served.forwarded_allow_ips
    if args.workers == 1:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_config=log_config(),
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies,
        )
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
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config(),
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
    )
    return 0


def _key_file(args: argparse.Namespace):
    from api.keys import KeyFile

    if args.file is None:
        raise ValueError("no keys file: pass --file PATH or set REPORTQA_API_KEYS")
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
