"""/docs (Swagger UI) and /redoc (ReDoc) work without internet: every file they load is served here."""

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By

from api.keys import KeyFile
from tests.browser import ARTIFACTS, chromium, console_errors, wait
from tests.stub_service import serving, stub_app

DOCS_PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect")


class _Assets(HTMLParser):
    """The URLs a page loads: scripts, style sheets, icons (any <script src> or <link href>)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        url = named.get("src") if tag == "script" else named.get("href") if tag == "link" else None
        if url:
            self.urls.append(url)
        elif tag == "script":
            self.inline_scripts += 1


def _assets(html: str) -> _Assets:
    parser = _Assets()
    parser.feed(html)
    return parser


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(stub_app(), base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_every_file_the_docs_load_is_served_here(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    urls = _assets(page.text).urls
    assert len(urls) >= 2, urls  # the script, and the style sheet or icon
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not on this origin"
        assert client.get(url).status_code == 200, url
    assert "cdn" not in page.text.lower() and "fonts.googleapis" not in page.text
    assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_the_docs_policy_allows_their_own_inline_script_and_nothing_from_elsewhere(
    client: TestClient, path: str
) -> None:
    page = client.get(path)
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "http" not in policy and "'unsafe-eval'" not in policy
    scripts = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert len(scripts) == _assets(page.text).inline_scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src is not None and "'unsafe-inline'" not in script_src.group(1)


def test_the_docs_need_no_key(tmp_path: Path) -> None:
    keys = KeyFile(tmp_path / "keys.json")
    keys.create("reader", "read")
    with TestClient(stub_app(api_keys=keys.path)) as keyed:
        for path in DOCS_PAGES:
            page = keyed.get(path)
            assert page.status_code == 200, path
            for url in _assets(page.text).urls:
                assert keyed.get(url).status_code == 200, url
        assert keyed.get("/v1/sources").status_code == 401


@pytest.mark.browser
def test_swagger_ui_and_redoc_render_offline() -> None:
    """In Chromium: the operations are listed, and the console shows no file that failed or was refused."""
    with serving(stub_app()) as url, chromium() as browser:
        browser.get(f"{url}/docs")
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 5)
        browser.save_screenshot(str(ARTIFACTS / "9-docs.png"))
        paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        assert {"/v1/ask", "/v1/documents/upload", "/v1/service"} <= paths
        assert console_errors(browser) == []

        browser.get(f"{url}/redoc")
        wait(browser, lambda d: "/v1/documents/upload" in d.find_element(By.TAG_NAME, "body").text)
        browser.save_screenshot(str(ARTIFACTS / "10-redoc.png"))
        # Only the ReDoc footer's logo, which it loads from a CDN, is refused, by the page's policy.
        errors = console_errors(browser)
        assert all("cdn.redoc.ly" in error and "Content Security Policy" in error for error in errors), errors
