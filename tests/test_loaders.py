"""Reading reports from every supported format, with dates, titles and clear failures."""

import json
import os
from pathlib import Path

import pytest

from qa.index.base import WriteResult
from qa.ingest.loaders import Failure, LoadError, discover, load_file, parse_date
from qa.ingest.paths import ingest_paths
from tests.conftest import CORPUS, SPUTNIK_ID, TASS_ID
from tests.pdf import make_pdf


def _one(path: Path, source: str | None = None):
    (document,) = list(load_file(path, source))
    return document


def test_sample_report_date_title_and_text() -> None:
    path = CORPUS / f"{SPUTNIK_ID}.txt"
    document = _one(path)
    assert document.id == SPUTNIK_ID
    assert document.date == "2017-04-25"
    assert document.title == "Russia, Serbia Confirm Interest in Developing Military Cooperation - Shoigu"
    assert document.text == path.read_text(encoding="utf-8")
    assert document.source == "Sputnik"


def test_the_sample_reports_name_their_agencies_and_have_headlines() -> None:
    documents = [_one(CORPUS / f"{name}.txt") for name in (TASS_ID, SPUTNIK_ID)]
    assert [(d.id, d.source) for d in documents] == [(TASS_ID, "TASS"), (SPUTNIK_ID, "Sputnik")]
    assert all(10 < len(d.title) < 100 for d in documents), [d.title for d in documents]


def test_a_source_on_the_date_line_unless_one_is_given(tmp_path: Path) -> None:
    path = tmp_path / "wire" / "brief.txt"
    path.parent.mkdir()
    path.write_text("date 2021-03-04 source Interfax News\nHarbour reopens\n\nThe harbour reopened.", "utf-8")
    document = _one(path)
    assert (document.date, document.source, document.title) == ("2021-03-04", "Interfax News", "Harbour reopens")
    assert _one(path, source="desk").source == "desk"
    # Without one, the folder names the source, as before; other words after the date are not a source.
    path.write_text("date 2021-03-04 Register\nHarbour reopens\n\nThe harbour reopened.", "utf-8")
    assert (_one(path).source, _one(path).title) == ("wire", "Harbour reopens")


def test_text_without_date_line_is_titled_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Just some notes.\r\nSecond line.", encoding="utf-8")
    document = _one(path, source="desk")
    assert (document.title, document.date, document.source) == ("notes.txt", None, "desk")
    assert document.text == "Just some notes.\nSecond line."


def test_markdown_heading_is_the_title(tmp_path: Path) -> None:
    path = tmp_path / "brief.md"
    path.write_text("# Weekly brief\n\nThe minister spoke.", encoding="utf-8")
    assert _one(path).title == "Weekly brief"


@pytest.mark.parametrize(
    ("heading", "title"),
    [("# Weekly brief", "Weekly brief"), ("### Weekly brief ###", "Weekly brief"), ("Weekly brief", "Weekly brief")],
)
def test_a_markdown_heading_after_the_date_line_loses_its_marks(tmp_path: Path, heading: str, title: str) -> None:
    path = tmp_path / "brief.md"
    path.write_text(f"date 2020-01-02\n{heading}\n\nThe minister spoke.", encoding="utf-8")
    assert (_one(path).date, _one(path).title) == ("2020-01-02", title)
    # In plain text a '#' is the title's own.
    text = path.with_suffix(".txt")
    text.write_text(f"date 2020-01-02\n{heading}\n\nThe minister spoke.", encoding="utf-8")
    assert _one(text).title == heading


def test_html_keeps_only_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Defence talks</title><style>p{color:red}</style></head><body>"
        "<script>var hidden = 1;</script><h1>Talks</h1><p>Shoigu met   Djordjevic.</p></body></html>",
        encoding="utf-8",
    )
    document = _one(path)
    assert document.title == "Defence talks"
    assert "Shoigu met Djordjevic." in document.text
    assert "hidden" not in document.text and "color" not in document.text


def test_html_without_closing_head_keeps_its_body(tmp_path: Path) -> None:
    # `</head>` and `<body>` may be omitted; html.parser then nests the body inside the head.
    path = tmp_path / "open.html"
    path.write_text(
        "<html><head><title>T</title><meta charset='utf-8'><style>p{color:red}</style>"
        "<script>var hidden = 1;</script><p>Body text here.</p></html>",
        encoding="utf-8",
    )
    document = _one(path)
    assert (document.title, document.text) == ("T", "Body text here.")


def test_pdf_text_layer(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(["date 2020-01-02 Wire", "Budget report", "The budget grew by ten percent."]))
    document = _one(path)
    assert "The budget grew by ten percent." in document.text
    assert document.date == "2020-01-02"
    assert document.title == "Budget report"


def test_a_pdf_is_titled_by_its_metadata_then_a_short_first_line_then_its_name(tmp_path: Path) -> None:
    path = tmp_path / "q3.pdf"
    path.write_bytes(make_pdf(["Budget report", "The budget grew."], title="  Quarterly   review "))
    assert _one(path).title == "Quarterly review"
    path.write_bytes(make_pdf(["Budget report", "The budget grew."], title=""))
    assert _one(path).title == "Budget report"
    path.write_bytes(make_pdf(["The budget grew by ten percent " * 6, "More."]))
    assert _one(path).title == "q3.pdf"


def test_broken_pdf_and_binary_text_fail_with_a_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(LoadError, match="PDF"):
        _one(broken)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(LoadError, match="UTF-8"):
        _one(binary)
    empty = tmp_path / "empty.md"
    empty.write_text("  \n ", encoding="utf-8")
    with pytest.raises(LoadError, match="no text"):
        _one(empty)


def test_a_pdf_that_fails_deep_inside_pypdf_is_a_load_error(tmp_path: Path, monkeypatch) -> None:
    import pypdf
    from pypdf.errors import LimitReachedError

    def damaged(_path: Path) -> None:
        raise LimitReachedError("limit reached while decompressing")  # what a damaged stream raised

    monkeypatch.setattr(pypdf, "PdfReader", damaged)
    path = tmp_path / "damaged.pdf"
    path.write_bytes(make_pdf(["A report."]))
    with pytest.raises(LoadError, match="not a readable PDF"):
        _one(path)


def test_a_byte_order_mark_hides_neither_date_nor_title(tmp_path: Path) -> None:
    text = tmp_path / "bom.txt"
    text.write_text("date 2020-05-01 Wire\nHarbour news\n\nThe harbour reopened.", encoding="utf-8-sig")
    document = _one(text)
    assert (document.date, document.title) == ("2020-05-01", "Harbour news")
    assert document.text.startswith("date")
    markdown = tmp_path / "bom.md"
    markdown.write_text("# Markdown Title\n\nBody.", encoding="utf-8-sig")
    assert _one(markdown).title == "Markdown Title"
    feed = tmp_path / "bom.jsonl"
    feed.write_text(json.dumps({"id": "one", "text": "First line."}), encoding="utf-8-sig")
    assert _one(feed).id == "one"


def test_jsonl_lines_that_are_not_valid_reports_are_failures(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    lines = [
        '{"id": "s1", "text": "The knave \\udc80 is Jack."}',
        '{"id": "s2", "title": "\\ud800", "text": "A report."}',
        '{"id": "s2\\udfff", "text": "A report."}',
        json.dumps({"id": "s3", "title": {"a": 1}, "text": "A report."}),
        json.dumps({"id": "s4", "text": "A report."}),
        json.dumps({"id": "s4", "text": "The same id again."}),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    items = list(load_file(path))
    assert [item.id for item in items if not isinstance(item, Failure)] == ["s4"]
    reasons = [item.reason for item in items if isinstance(item, Failure)]
    assert all("unpaired surrogate" in reason for reason in reasons[:3])
    assert '"title" must be a string' in reasons[3] and "already used on line 5" in reasons[4]


def test_jsonl_records_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "bulk.jsonl"
    lines = [
        json.dumps({"id": "r1", "title": "One", "date": "2021-05-06", "source": "wire", "text": "First report."}),
        "{not json",
        json.dumps({"id": "r2", "text": "   "}),
        json.dumps({"id": "r3", "date": "2021-13-01", "text": "Bad date."}),
        json.dumps({"text": "No id given."}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = list(load_file(path))
    documents = [item for item in items if not isinstance(item, Failure)]
    failures = [item for item in items if isinstance(item, Failure)]
    assert [(d.id, d.title, d.date, d.source) for d in documents] == [
        ("r1", "One", "2021-05-06", "wire"),
        ("bulk-5", "", None, "bulk"),
    ]
    assert [f.path.rsplit(":", 1)[1] for f in failures] == ["2", "3", "4"]
    assert failures[0].reason.startswith("line 2 is not JSON (") and "must be one JSON object" in failures[0].reason
    assert "text" in failures[1].reason and "YYYY-MM-DD" in failures[2].reason


def test_a_line_that_is_not_json_says_which_and_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "Fine."}) + "\n\nnot json at all\n", encoding="utf-8")
    (failure,) = [item for item in load_file(path) if isinstance(item, Failure)]
    assert failure.reason == "line 3 is not JSON (Expecting value at character 0): each line must be one JSON object"


def test_a_jsonl_line_nested_too_deeply_is_a_failure_of_that_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    lines = [json.dumps({"id": "before", "text": "First."}), "[" * 5000, json.dumps({"id": "after", "text": "Last."})]
    path.write_text("\n".join(lines), encoding="utf-8")
    items = list(load_file(path))
    assert [item.id for item in items if not isinstance(item, Failure)] == ["before", "after"]
    (failure,) = [item for item in items if isinstance(item, Failure)]
    assert failure.path.endswith("deep.jsonl:2") and "nested too deeply" in failure.reason


class _ListIndex:
    """Just what ingest_paths asks of an index, keeping the documents in a list."""

    def __init__(self) -> None:
        self.documents: list = []

    def id_for_origin(self, origin: str) -> None:
        return None

    def document(self, document_id: str) -> None:
        return None

    def add_documents(self, documents: list) -> WriteResult:
        self.documents += documents
        return WriteResult(added=[document.id for document in documents])


def test_a_deeply_nested_jsonl_line_does_not_stop_the_ingest(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A report before.", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("[" * 5000 + "\n" + json.dumps({"id": "b1", "text": "Kept."}), encoding="utf-8")
    (tmp_path / "c.txt").write_text("A report after.", encoding="utf-8")
    report = ingest_paths(_ListIndex(), [tmp_path], show_progress=False)  # type: ignore[arg-type]
    assert report.added == ["a", "b1", "c"]
    assert [Path(f.path).name for f in report.failures] == ["b.jsonl:1"]


def test_discover_recurses_and_reports_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.txt").write_text("x", encoding="utf-8")
    (tmp_path / "a" / "skip.bin").write_bytes(b"\0")
    (tmp_path / "image.png").write_bytes(b"\0")
    (tmp_path / "a" / "gone.md").symlink_to(tmp_path / "deleted.md")
    found = discover([tmp_path / "a", tmp_path / "image.png", tmp_path / "missing"])
    assert found.files == [tmp_path / "a" / "b" / "deep.txt"]
    assert [Path(f.path).name for f in found.failures] == ["gone.md", "image.png", "missing"]
    assert "broken link" in found.failures[0].reason
    assert [Path(f.path).name for f in found.unsupported] == ["skip.bin"]


def test_files_of_other_types_in_folders_are_noted_but_dotfiles_are_not(tmp_path: Path) -> None:
    (tmp_path / "report.docx").write_bytes(b"PK")
    (tmp_path / "notes").write_text("x", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("A report.", encoding="utf-8")
    for quiet in (".DS_Store", ".git/config", ".git/objects/x.txt.orig", "~$report.docx", "Thumbs.db"):
        (tmp_path / quiet).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / quiet).write_bytes(b"\0")
    found = discover([tmp_path])
    assert found.files == [tmp_path / "ok.txt"] and found.failures == []
    notes = {Path(note.path).name: note.reason for note in found.unsupported}
    assert list(notes) == ["notes", "report.docx"]
    assert notes["report.docx"].startswith(".docx is not supported; save it as PDF or text")
    assert "rename it to end in .txt" in notes["notes"]
    # Notes, not failures: the ingest goes on, and its report lists them.
    report = ingest_paths(_ListIndex(), [tmp_path], show_progress=False)  # type: ignore[arg-type]
    assert report.added == ["ok"] and report.failures == []
    assert [Path(note.path).name for note in report.unsupported] == ["notes", "report.docx"]


def test_names_that_are_not_utf8_are_shown_escaped(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"r\xe9ports")
    folder.mkdir()
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("A report.", encoding="utf-8")
    (folder / os.fsdecode(b"caf\xe9.doc")).write_bytes(b"\0")
    files = discover([folder]).files
    (failure,) = discover([folder / os.fsdecode(b"caf\xe9.doc")]).failures
    document = _one(files[0])
    assert (document.title, document.source) == ("caf\\xe9.txt", "r\\xe9ports")
    assert document.origin.endswith("/r\\xe9ports/caf\\xe9.txt") and document.id == "caf"
    assert failure.path.endswith("/r\\xe9ports/caf\\xe9.doc")
    # Each can be stored, sent as JSON and printed, which a lone surrogate cannot.
    for text in (document.title, document.source, document.origin, failure.path):
        text.encode("utf-8")


@pytest.mark.parametrize("value", ["2020-02-30", "20-01-01", "2020-1-1", "yesterday"])
def test_parse_date_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date(value)
