"""Reading reports from files: plain text, Markdown, HTML, PDF and JSON Lines."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from qa.models import Document, shown, valid_unicode

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
_DATE_LINE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b")
_MAX_TITLE = 200
MAX_ID_CHARS = 100
# Elements a browser never shows as text; the head's others (meta, link, base) hold none.
_HIDDEN_TAGS = ["script", "style", "noscript", "template", "svg", "title", "meta", "link", "base"]


class LoadError(Exception):
    """A report that cannot be read, with the reason in words."""


@dataclass(frozen=True)
class Failure:
    path: str
    reason: str


def discover(paths: list[Path]) -> tuple[list[Path], list[Failure]]:
    """Expand files and folders (recursively) into the supported report files, sorted."""
    files: list[Path] = []
    failures: list[Failure] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
            files.extend(p for p in found if p.is_file())
            # A link to a file that has gone would otherwise vanish from the ingest without a word.
            failures.extend(
                Failure(shown(p), "a broken link: its target does not exist")
                for p in found
                if p.is_symlink() and not p.exists()
            )
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                failures.append(
                    Failure(shown(path), f"unsupported file type; use one of {', '.join(SUPPORTED_SUFFIXES)}")
                )
        else:
            failures.append(Failure(shown(path), "no such file or folder"))
    # A file named twice (a folder and a file in it) would become two documents, one of them left stale.
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values()), failures


def load_file(path: Path, source: str | None = None) -> Iterator[Document | Failure]:
    """Yield the documents in one file; a JSON Lines file yields one per line, bad lines as failures."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _load_jsonl(path, source)
        return
    html_title = None
    if suffix == ".pdf":
        text, lines = _read_pdf(path)
    elif suffix in (".html", ".htm"):
        text, html_title = _read_html(path)
        lines = text
    else:
        text = lines = _read_text(path)
    if not text.strip():
        raise LoadError("the file has no text")
    report_date, title = _date_and_title(lines, markdown=suffix == ".md")
    yield Document(
        id=slug(path.stem),
        text=text,
        title=html_title or title or shown(path.name),
        date=report_date,
        source=source if source is not None else shown(path.parent.name),
        origin=shown(path.resolve()),
    )


def slug(name: str) -> str:
    """A document id made of letters, digits, '.', '_' and '-'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned[:MAX_ID_CHARS] or "document"


def parse_date(value: str) -> str:
    """Validate an ISO `YYYY-MM-DD` date and return it; the ValueError says what is wrong."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueError(f"date must be a real date written YYYY-MM-DD, got {value!r}")


def _read_text(path: Path) -> str:
    try:
        # utf-8-sig drops the byte-order mark some editors write, which would hide a date or title line.
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def _read_html(path: Path) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    # Only what a reader of the page sees: drop scripts, styles and the head's own elements, but not the
    # head itself: html.parser does not close an omitted `</head>` (legal HTML), so the body can sit inside it.
    for hidden in soup(_HIDDEN_TAGS):
        hidden.decompose()
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in soup.get_text("\n").split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, title or None


def _read_pdf(path: Path) -> tuple[str, str]:
    """The PDF's text with wrapped lines re-joined, and as extracted (lines kept, for the title)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as error:  # a damaged PDF can fail anywhere in pypdf, with many kinds of error
        raise LoadError(f"not a readable PDF ({type(error).__name__}: {error})") from None
    # Re-join lines the PDF wrapped, so sentences are not cut at every line end.
    joined = [re.sub(r"(?<!\n)\n(?!\n)", " ", re.sub(r"-\n(?=[a-z])", "", page)).strip() for page in pages]
    text = "\n\n".join(page for page in joined if page)
    if not text:
        raise LoadError("the PDF has no text layer (a scanned image?); run OCR on it first")
    return text, "\n".join(pages)


def _date_and_title(text: str, markdown: bool) -> tuple[str | None, str | None]:
    lines = [line.strip() for line in text.split("\n")]
    report_date = None
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None:
        return None, None
    match = _DATE_LINE.match(lines[first])
    if match:
        try:
            report_date = parse_date(match.group(1))
        except ValueError:
            report_date = None
        following = next((line for line in lines[first + 1 :] if line), None)
        return report_date, _shorten(following) if following else None
    if markdown and lines[first].startswith("#"):
        return None, _shorten(lines[first].lstrip("#").strip())
    return None, None


def _shorten(title: str) -> str:
    if len(title) <= _MAX_TITLE:
        return title
    return title[:_MAX_TITLE].rsplit(" ", 1)[0] + "…"


def _load_jsonl(path: Path, source: str | None) -> Iterator[Document | Failure]:
    lines_of_ids: dict[str, int] = {}
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{shown(path)}:{number}"
        try:
            record = _parse_line(line)
            if not isinstance(record, dict):
                raise ValueError("each line must be a JSON object")
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError('"text" must be a non-empty string')
            for name in ("id", "title", "source", "date"):
                if isinstance(record.get(name), dict | list):
                    raise ValueError(f'"{name}" must be a string')
            record_id = str(record["id"]) if record.get("id") else None
            # The id names the report across ingests: two lines with one id would take turns replacing it.
            first_line = lines_of_ids.setdefault(record_id, number) if record_id else number
            if first_line != number:
                raise ValueError(f'"id" {record_id!r} is already used on line {first_line}; give each its own')
            key = record_id or str(number)
            report_date = record.get("date")
            title = str(record.get("title") or "")
            report_source = str(record.get("source") or source or shown(path.stem))
            for value in (text, title, report_source, key):
                valid_unicode(value)
            yield Document(
                id=slug(record_id or f"{path.stem}-{number}"),
                text=text,
                title=title,
                date=parse_date(str(report_date)) if report_date else None,
                source=report_source,
                origin=f"{shown(path.resolve())}#{key}",
            )
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            yield Failure(where, str(error))


def _parse_line(line: str) -> object:
    """One JSON Lines line; nesting too deep for the parser is a ValueError (a failure of that line only)."""
    try:
        return json.loads(line)
    except RecursionError:
        # Otherwise it escapes the per-line handling and aborts the whole ingest, good files included.
        raise ValueError(
            "the line's JSON is nested too deeply to read; each line must be one JSON object of a report's fields"
        ) from None
