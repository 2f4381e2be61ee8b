"""Cross-origin requests: only the origins REPORTQA_CORS_ORIGINS names may call the API from a browser."""

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.middleware.cors import CORSMiddleware

from api.cors import install_cors
from api.keys import KeyFile
from api.main import create_app
from api.settings import ServiceSettings

WIDGET = "https://chat.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


def _app(tmp_path: Path, **settings: object) -> FastAPI:
    service = ServiceSettings(index_dir=tmp_path, **settings)
    app = create_app(service, pipeline=object())  # type: ignore[arg-type]
    # Until create_app installs it itself; once it does, it is not installed twice.
    if not any(middleware.cls is CORSMiddleware for middleware in app.user_middleware):
        install_cors(app, service)
    return app


def test_a_widget_on_an_allowed_origin_may_post_with_a_key(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, cors_origins=[WIDGET, "http://localhost:3000"])) as client:
        preflight = client.options("/v1/chat/completions", headers={"Origin": WIDGET, **PREFLIGHT})
        listed = client.get("/v1/models", headers={"Origin": WIDGET})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == WIDGET
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == WIDGET
    assert "x-request-id" in listed.headers["access-control-expose-headers"].lower()


def test_with_keys_a_preflight_needs_none_and_a_refusal_is_readable(tmp_path: Path) -> None:
    # A browser sends the preflight without the Authorization header it asks about.
    keys = KeyFile(tmp_path / "keys.json")
    secret = keys.create("widget", "read")
    with TestClient(_app(tmp_path, cors_origins=[WIDGET], api_keys=keys.path)) as client:
        preflight = client.options("/v1/chat/completions", headers={"Origin": WIDGET, **PREFLIGHT})
        refused = client.get("/v1/models", headers={"Origin": WIDGET})
        listed = client.get("/v1/models", headers={"Origin": WIDGET, "Authorization": f"Bearer {secret}"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == WIDGET
    # The page's script can read why, rather than a bare network error.
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == WIDGET
    assert listed.status_code == 200


def test_another_origin_gets_no_cors_headers(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, cors_origins=[WIDGET])) as client:
        preflight = client.options("/v1/chat/completions", headers={"Origin": "https://evil.example", **PREFLIGHT})
        listed = client.get("/v1/models", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in listed.headers


def test_without_origins_there_is_no_cors(tmp_path: Path) -> None:
    app = _app(tmp_path)
    assert not any(middleware.cls is CORSMiddleware for middleware in app.user_middleware)
    with TestClient(app) as client:
        preflight = client.options("/v1/chat/completions", headers={"Origin": WIDGET, **PREFLIGHT})
    assert preflight.status_code == 405 and "access-control-allow-origin" not in preflight.headers


def test_origins_are_read_from_the_environment_as_browsers_send_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTQA_CORS_ORIGINS", "https://Chat.Example.com/, http://localhost:3000")
    assert ServiceSettings().cors_origins == [WIDGET, "http://localhost:3000"]
    monkeypatch.setenv("REPORTQA_CORS_ORIGINS", "*")
    assert ServiceSettings().cors_origins == ["*"]


@pytest.mark.parametrize("origin", ["chat.example.com", "https://chat.example.com/widget", "ftp://example.com"])
def test_an_origin_that_could_never_match_is_refused_showing_the_form(
    monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    monkeypatch.setenv("REPORTQA_CORS_ORIGINS", origin)
    with pytest.raises(ValidationError, match="e.g. https://chat.example.com"):
        ServiceSettings()
