"""Who may call a service without keys (the socket and the Host header decide), who a client is behind
proxies, throttled key guessing, /readyz for anonymous callers, and security headers. No model loads."""

import re
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.hosts import arrived_on_loopback, host_name
from api.keys import KeyFile
from api.rate_limit import UNTRUSTED_PROXY, TrustedProxies, client_address
from api.settings import ServiceSettings
from tests.stub_service import stub_app

REPORT = {"title": "Port", "text": "The port reopened on Monday."}
WRITES = (("post", "/v1/documents"), ("put", "/v1/documents/x"), ("delete", "/v1/documents/x"))


def _client(base_url: str = "http://127.0.0.1:8000", **settings) -> TestClient:
    """The app as reached through `base_url`: the test client makes it the connection's local address."""
    return TestClient(stub_app(**settings), base_url=base_url)


def _write(client: TestClient, method: str, path: str, **kwargs):
    return client.request(method, path, json=REPORT if method != "delete" else None, **kwargs)


@pytest.mark.parametrize("host_setting", ["127.0.0.1", "0.0.0.0"])
def test_without_keys_a_write_from_beyond_loopback_is_refused_whatever_the_host_setting(host_setting: str) -> None:
    with _client("http://203.0.113.5:8000", host=host_setting) as client:
        for method, path in WRITES:
            refused = _write(client, method, path)
            assert refused.status_code == 403, (method, path)
            assert "REPORTQA_API_KEYS" in refused.json()["detail"] and "203.0.113.5" in refused.json()["detail"]
        assert client.get("/readyz").status_code == 200


def test_without_keys_a_write_through_a_proxy_on_loopback_is_refused() -> None:
    with _client() as client:
        refused = _write(client, "put", "/v1/documents/x", headers={"X-Forwarded-For": "198.51.100.4"})
        assert refused.status_code == 403 and "proxy" in refused.json()["detail"]


@pytest.mark.parametrize("host", ["rebind.attacker.example", "rebind.attacker.example:8000", "10.0.0.1.nip.io"])
def test_without_keys_a_foreign_host_name_on_loopback_is_refused_for_reads_and_writes(host: str) -> None:
    # A page that rebinds its name to 127.0.0.1 makes the visitor's browser send its own name.
    with _client() as client:
        for method, path in (*WRITES, ("get", "/v1/sources"), ("get", "/readyz"), ("get", "/")):
            refused = _write(client, method, path, headers={"Host": host})
            assert refused.status_code == 400, (method, path)
            assert (
                "REPORTQA_ALLOWED_HOSTS" in refused.json()["detail"] and "REPORTQA_API_KEYS" in refused.json()["detail"]
            )
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, "liveness is never refused"


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:8000", "127.0.0.1", "127.8.9.1:80", "[::1]:8000", "app.localhost"]
)
def test_without_keys_loopback_host_names_are_served(host: str) -> None:
    with _client() as client:
        assert client.get("/readyz", headers={"Host": host}).status_code == 200
        assert _write(client, "delete", "/v1/documents/x", headers={"Host": host}).status_code not in (400, 403)


def test_allowed_hosts_are_served_on_loopback_and_checked_beyond_it_only_when_set() -> None:
    with _client(allowed_hosts=["Reports.Internal."]) as client:
        assert client.get("/readyz", headers={"Host": "reports.internal:8000"}).status_code == 200
        assert _write(client, "delete", "/v1/documents/x", headers={"Host": "reports.internal"}).status_code != 400
    with _client("http://203.0.113.5:8000") as client:
        assert client.get("/readyz", headers={"Host": "any.example"}).status_code == 200
    with _client("http://203.0.113.5:8000", allowed_hosts=["reports.example.org"]) as client:
        assert client.get("/readyz", headers={"Host": "evil.example"}).status_code == 400
        for host in ("reports.example.org", "203.0.113.5:8000", "[2001:db8::1]"):
            assert client.get("/readyz", headers={"Host": host}).status_code == 200, host
    with _client(allowed_hosts=["*"]) as client:
        assert client.get("/readyz", headers={"Host": "any.example"}).status_code == 200


def test_with_keys_the_host_name_does_not_matter(tmp_path: Path) -> None:
    secret = KeyFile(tmp_path / "keys.json").create("reader", "read")
    with _client(api_keys=tmp_path / "keys.json") as client:
        headers = {"Host": "reports.example.org", "Authorization": f"Bearer {secret}"}
        assert client.get("/readyz", headers=headers).json()["documents"] == 2


@pytest.mark.parametrize(
    ("server", "loopback"),
    [
        (("127.0.0.1", 8000), True),
        (("127.3.2.1", 8000), True),
        (("::1", 8000), True),
        (("::ffff:127.0.0.1", 8000), True),
        (("192.0.2.1", 8000), False),
        (("::ffff:192.0.2.1", 8000), False),
        (("/run/reportqa.sock", None), False),  # a Unix socket: a proxy in front may serve anyone
        (None, False),
    ],
)
def test_the_connection_s_local_address_decides_loopback(server: tuple | None, loopback: bool) -> None:
    assert arrived_on_loopback({"type": "http", "server": server}) is loopback


@pytest.mark.parametrize(
    ("header", "name"),
    [("Example.ORG:8000", "example.org"), ("example.org.", "example.org"), ("[::1]:80", "::1"), ("[::1]", "::1")],
)
def test_host_names_are_read_without_port_case_or_final_dot(header: str, name: str) -> None:
    assert host_name(header) == name


def _scope(client: tuple[str, int], forwarded: str | None = None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"type": "http", "client": client, "headers": headers}


@pytest.mark.parametrize(
    ("client", "forwarded", "trusted", "expected"),
    [
        (("198.51.100.7", 4000), None, [], "198.51.100.7"),
        # Invented by the client itself: ignored.
        (("198.51.100.7", 4000), "203.0.113.9", [], "198.51.100.7"),
        (("198.51.100.7", 4000), "203.0.113.9", ["10.0.0.2"], "198.51.100.7"),
        # Uvicorn's defaults replaced the peer (127.0.0.1) by the header's claim: not believed.
        (("203.0.113.9", 0), "203.0.113.9", [], UNTRUSTED_PROXY),
        (("203.0.113.9", 0), "1.2.3.4, 203.0.113.9", [], UNTRUSTED_PROXY),
        # ... unless proxies are configured (then `reportqa serve` gave uvicorn the same list).
        (("203.0.113.9", 0), "203.0.113.9", ["10.0.0.2"], "203.0.113.9"),
        # Uvicorn left a configured proxy's connection alone: the last entry that is no proxy.
        (("10.0.0.2", 5000), "1.2.3.4, 203.0.113.9, 10.0.0.3", ["10.0.0.0/24"], "203.0.113.9"),
        (("10.0.0.2", 5000), "203.0.113.9", ["*"], "203.0.113.9"),
    ],
)
def test_the_client_is_the_socket_peer_unless_a_trusted_proxy_names_it(
    client: tuple[str, int], forwarded: str | None, trusted: list[str], expected: str
) -> None:
    assert client_address(_scope(client, forwarded), TrustedProxies(trusted)) == expected


def test_list_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTQA_ALLOWED_HOSTS", "Reports.Example.org:8443, intranet.")
    monkeypatch.setenv("REPORTQA_FORWARDED_ALLOW_IPS", "10.0.0.2,10.1.0.0/16")
    settings = ServiceSettings()
    assert settings.allowed_hosts == ["reports.example.org", "intranet"]
    assert settings.forwarded_allow_ips == ["10.0.0.2", "10.1.0.0/16"]
    monkeypatch.setenv("REPORTQA_FORWARDED_ALLOW_IPS", "proxy.internal")
    with pytest.raises(ValidationError, match="not an IP address or network"):
        ServiceSettings()


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    secret = KeyFile(tmp_path / "keys.json").create("reader", "read")
    app = stub_app(api_keys=tmp_path / "keys.json", rate_limit_per_minute=60, rate_limit_burst=3)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client, secret


def test_failed_authentications_are_throttled_per_address(keyed: tuple[TestClient, str]) -> None:
    client, secret = keyed
    wrong = {"Authorization": "Bearer rqa_guess"}
    assert [client.get("/v1/sources", headers=wrong).status_code for _ in range(4)] == [401, 401, 401, 429]
    throttled = client.get("/v1/sources", headers={"Authorization": f"Bearer {secret}"})
    # Even a right key waits: otherwise a throttled guess would still say whether it was right.
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert "failed authentications" in throttled.json()["detail"]
    assert client.get("/readyz", headers=wrong).status_code == 429, "/readyz is no way around the throttle"
    assert client.get("/readyz").status_code == 200 and client.get("/healthz").status_code == 200


def test_readyz_shows_counts_only_to_a_valid_key(keyed: tuple[TestClient, str]) -> None:
    client, secret = keyed
    assert client.get("/readyz").json() == {"ready": True}
    assert client.get("/readyz", headers={"Authorization": "Bearer rqa_guess"}).json() == {"ready": True}
    counted = client.get("/readyz", headers={"Authorization": f"Bearer {secret}"}).json()
    assert counted == {"ready": True, "documents": 2, "passages": 5, "vectors": 5}
    with _client() as keyless:
        assert keyless.get("/readyz").json()["documents"] == 2


def test_security_headers(keyed: tuple[TestClient, str]) -> None:
    client, _ = keyed
    for path in ("/", "/static/app.js", "/static/style.css", "/healthz", "/v1/sources"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Referrer-Policy"] == "no-referrer"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    docs = client.get("/docs")
    policy = docs.headers["Content-Security-Policy"]
    assert docs.status_code == 200 and "script-src 'self' 'sha256-" in policy and "http" not in policy
    assert docs.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_needs_nothing_its_policy_forbids() -> None:
    page = (Path(__file__).resolve().parent.parent / "api" / "static" / "index.html").read_text(encoding="utf-8")
    assert "<style" not in page, "an inline style sheet would need 'unsafe-inline'"
    assert not re.search(r"<[^>]*\s(style|on[a-z]+)\s*=", page), "so would a style attribute or an event handler"
    for tag in page.split("<script")[1:]:
        assert 'src="/static/' in tag.split(">")[0], "an inline script would need 'unsafe-inline'"


@pytest.mark.parametrize(("expect", "reads"), [(None, 5), ("100-continue", 0)])
def test_a_refused_body_is_drained_unless_the_client_waits_to_be_asked(expect: str | None, reads: int) -> None:
    # Straight through ASGI, to count what the app reads: 5 KiB over the 2 KiB limit, in 1 KiB pieces.
    received = []

    async def receive() -> dict:
        received.append(1)
        return {"type": "http.request", "body": b"w" * 1024, "more_body": len(received) < 5}

    async def send(message: dict) -> None:
        sent.append(message)

    sent: list[dict] = []
    headers = [(b"content-length", b"5120"), (b"host", b"127.0.0.1:8000")]
    headers += [(b"expect", expect.encode())] if expect else []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/v1/documents/x",
        "raw_path": b"/v1/documents/x",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    anyio.run(stub_app(max_body_bytes=2048), scope, receive, send)
    assert sent[0]["status"] == 413 and len(received) == reads
