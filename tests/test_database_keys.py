"""API keys in PostgreSQL: every replica sees a key created or revoked through any other, and requests need one."""

import pytest
from fastapi.testclient import TestClient

from api.database_keys import DatabaseKeys
from api.main import create_app
from api.settings import ServiceSettings
from tests.engines import database_url, postgres_server  # noqa: F401 (fixtures)
from tests.stub_service import StubPipeline


def test_a_key_made_through_one_replica_opens_every_other_until_revoked(database_url: str) -> None:  # noqa: F811
    first, second = DatabaseKeys(database_url, refresh_s=0), DatabaseKeys(database_url, refresh_s=0)
    secret = first.create("chatbot", "read")
    found = second.find(secret)
    assert found is not None and (found.name, found.scope, found.prefix) == ("chatbot", "read", secret[:8])
    assert secret not in str(second.entries())  # only its hash is stored
    assert second.find(secret + "x") is None
    with pytest.raises(ValueError, match="exists"):
        second.create("chatbot", "write")
    second.revoke("chatbot")
    assert first.find(secret) is None
    with pytest.raises(ValueError, match="no key is named"):
        first.revoke("chatbot")


def test_the_service_asks_for_a_key_kept_in_the_database(database_url: str) -> None:  # noqa: F811
    settings = ServiceSettings(database_url=database_url, milvus_uri="unused.db", api_keys_in_database=True)
    secret = DatabaseKeys(database_url).create("writer", "write")
    app = create_app(settings, pipeline=StubPipeline())  # type: ignore[arg-type]
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/readyz").json() == {"ready": True}
        assert client.get("/v1/sources").status_code == 401
        assert client.get("/v1/sources", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_keys_in_the_database_need_one() -> None:
    with pytest.raises(ValueError, match="REPORTQA_DATABASE_URL"):
        ServiceSettings(api_keys_in_database=True)


def test_the_keys_command_writes_to_the_database(
    database_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from qa import cli

    for name, value in (("DATABASE_URL", database_url), ("MILVUS_URI", "unused.db"), ("API_KEYS_IN_DATABASE", "1")):
        monkeypatch.setenv(f"REPORTQA_{name}", value)
    assert cli.main(["keys", "create", "editor", "--scope", "write"]) == 0
    secret = capsys.readouterr().out.strip()
    found = DatabaseKeys(database_url).find(secret)
    assert found is not None and found.scope == "write"
    assert cli.main(["keys", "list"]) == 0 and "editor\twrite" in capsys.readouterr().out
