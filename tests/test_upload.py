"""POST /v1/documents/upload (a report sent as a file) and GET /v1/service (what the page needs to know)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.keys import KeyFile
from api.main import create_app
from api.settings import ServiceSettings
from qa.pipeline import Pipeline
from tests.pdf import make_pdf
from tests.stub_service import stub_app

LOOPBACK = "http://127.0.0.1:8000"  # without keys, the service takes writes only from this machine
REPORT = "date 2021-03-04\nHarbour report\n\nThe harbour master of Tromsø is Ingrid Solberg. The pier was rebuilt."


@pytest.fixture
def client(pipeline: Pipeline) -> Iterator[TestClient]:
    """An empty index of its own, written to from loopback."""
    app = create_app(ServiceSettings(index_dir=pipeline.index.index_dir), pipeline=pipeline)
    with TestClient(app, base_url=LOOPBACK) as client:
        yield client


@pytest.fixture
def stub_client() -> Iterator[TestClient]:
    """No model: for what is refused before anything is stored."""
    with TestClient(stub_app(), base_url=LOOPBACK) as client:
        yield client


def _upload(client: TestClient, name: str, content: bytes, **form: str):
    return client.post("/v1/documents/upload", files={"file": (name, content)}, data=form)


def test_a_text_file_is_stored_and_answers_questions(client: TestClient) -> None:
    response = _upload(client, "harbour report.txt", REPORT.encode())
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["id"].startswith("harbour-report-") and report["text"] == REPORT
    assert (report["title"], report["date"], report["source"]) == ("Harbour report", "2021-03-04", "")
    assert client.get(f"/v1/documents/{report['id']}").json() == report
    answer = client.post("/v1/ask", json={"question": "Who is the harbour master of Tromsø?"}).json()["answers"][0]
    assert answer["text"] == "Ingrid Solberg" and answer["citation"]["document_id"] == report["id"]


@pytest.mark.parametrize(
    ("name", "content", "title", "expected_text"),
    [
        ("notes.md", b"# Pier works\n\nThe pier was rebuilt in May.\n", "Pier works", "The pier was rebuilt in May."),
        (
            "page.html",
            b"<html><head><title>Pier works</title><style>p{}</style></head>"
            b"<body><p>The pier was rebuilt in May.</p><script>x()</script></body></html>",
            "Pier works",
            "The pier was rebuilt in May.",
        ),
        (
            "scan.pdf",
            make_pdf(["date 2020-01-02", "Pier works", "The pier was rebuilt in May."]),
            "Pier works",
            "rebuilt in May.",
        ),
        ("plain.txt", b"The pier was rebuilt in May.", "plain.txt", "The pier was rebuilt in May."),
    ],
    ids=["markdown", "html", "pdf", "text-without-title"],
)
def test_each_accepted_type_is_read_as_ingest_reads_it(
    client: TestClient, name: str, content: bytes, title: str, expected_text: str
) -> None:
    response = _upload(client, name, content)
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["title"] == title and expected_text in report["text"] and report["passages"] >= 1
    assert "<script>" not in report["text"] and "x()" not in report["text"]


def test_the_form_fields_name_title_date_and_source(client: TestClient) -> None:
    response = _upload(client, "r.txt", REPORT.encode(), title=" Pier ", date="2022-05-06", source="Harbour office")
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["title"], report["date"], report["source"]) == ("Pier", "2022-05-06", "Harbour office")
    assert [s["source"] for s in client.get("/v1/sources").json()] == ["Harbour office"]
    # The same file twice is two reports: an upload never replaces one.
    again = _upload(client, "r.txt", REPORT.encode()).json()
    assert again["id"] != report["id"] and client.get("/v1/documents").json()["total"] == 2


@pytest.mark.parametrize(
    ("name", "content", "form", "expected"),
    [
        ("report.docx", b"PK\x03\x04", {}, ".docx files are not accepted; upload a report as one of .txt, .md"),
        ("many.jsonl", b'{"text": "x"}\n', {}, ".jsonl files are not accepted"),
        ("README", b"text", {}, "a file without a name ending is not accepted"),
        ("empty.txt", b"", {}, "the file 'empty.txt' is empty; choose a report with text in it"),
        ("blank.md", b"  \n\n ", {}, "the file 'blank.md' cannot be read: the file has no text"),
        ("latin1.txt", "Tromsø".encode("latin-1"), {}, "the file 'latin1.txt' cannot be read: not UTF-8 text"),
        ("broken.pdf", b"%PDF-1.4 not really", {}, "the file 'broken.pdf' cannot be read: not a readable PDF"),
        ("r.txt", b"text", {"date": "2021-02-30"}, "date: "),
        ("r.txt", b"text", {"title": "x" * 1001}, "title: "),
    ],
    ids=["docx", "jsonl", "no-suffix", "empty", "blank", "not-utf8", "broken-pdf", "bad-date", "long-title"],
)
def test_unreadable_uploads_are_a_422_that_says_what_to_send(
    stub_client: TestClient, name: str, content: bytes, form: dict, expected: str
) -> None:
    response = _upload(stub_client, name, content, **form)
    assert response.status_code == 422 and expected in response.json()["detail"], response.text


def test_an_upload_without_a_file_names_the_field(stub_client: TestClient) -> None:
    response = stub_client.post("/v1/documents/upload", data={"title": "x"})
    assert response.status_code == 422 and response.json()["detail"].startswith("file: ")


def test_uploads_need_what_other_writes_need(tmp_path: Path) -> None:
    with TestClient(stub_app(), base_url="http://192.0.2.1:8000") as remote:
        refused = _upload(remote, "r.txt", b"text")
    assert refused.status_code == 403 and "needs an API key" in refused.json()["detail"]
    keys = KeyFile(tmp_path / "keys.json")
    read, write = keys.create("reader", "read"), keys.create("writer", "write")
    with TestClient(stub_app(api_keys=keys.path)) as keyed:
        assert _upload(keyed, "r.txt", b"text").status_code == 401
        headers = {"Authorization": f"Bearer {read}"}
        assert keyed.post("/v1/documents/upload", files={"file": ("r.txt", b"")}, headers=headers).status_code == 403
        headers = {"Authorization": f"Bearer {write}"}
        # Past the guard: refused only for being empty.
        assert keyed.post("/v1/documents/upload", files={"file": ("r.txt", b"")}, headers=headers).status_code == 422


def test_the_service_says_whether_keys_are_needed(stub_client: TestClient, tmp_path: Path) -> None:
    info = stub_client.get("/v1/service").json()
    assert info["keys_required"] is False and info["key_scope"] is None
    assert info["upload_types"] == [".txt", ".md", ".html", ".htm", ".pdf"] and info["max_body_bytes"] > 0
    keys = KeyFile(tmp_path / "keys.json")
    secrets = {"read": keys.create("reader", "read"), "write": keys.create("writer", "write")}
    with TestClient(stub_app(api_keys=keys.path)) as keyed:
        # Without a key, and with a wrong one, it still answers: it is how the page learns it needs one.
        for headers in ({}, {"Authorization": "Bearer rqa_wrong"}):
            info = keyed.get("/v1/service", headers=headers)
            assert info.status_code == 200 and info.json()["keys_required"] is True
            assert info.json()["key_scope"] is None
        for scope, secret in secrets.items():
            info = keyed.get("/v1/service", headers={"Authorization": f"Bearer {secret}"}).json()
            assert info["key_scope"] == scope
            assert secret not in str(info)
