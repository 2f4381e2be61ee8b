"""Real PostgreSQL and Milvus Lite for the server-side index's tests: started here, in temporary folders.

PostgreSQL comes from Debian's packages (`make test` installs them); it refuses to run as root, so as root
its cluster is made and run as the `postgres` user. Each test gets its own database on the one server.
"""

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import free_port

_databases = itertools.count(1)


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test`, or apt-get install postgresql")
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on a free port for this test session; yields its URL without a database."""
    # Not pytest's tmp_path: its folders are private to the user running the tests, not readable by `postgres`.
    bin_dir, folder, port = _postgres_bin(), Path(tempfile.mkdtemp(prefix="reportqa-postgres-")), free_port()
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "reportqa", "--auth=trust", "--encoding=UTF8"]
    subprocess.run(_as_postgres([*initdb, "--locale=C.UTF-8"]), check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options]
    subprocess.run(_as_postgres([*pg_ctl, "-w", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql://reportqa@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server: str) -> str:
    """A new, empty database on the session's server."""
    name = f"reportqa_test_{next(_databases)}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


@pytest.fixture
def milvus_uri(tmp_path: Path) -> str:
    """A Milvus Lite database file of this test's own."""
    return str(tmp_path / "milvus.db")
