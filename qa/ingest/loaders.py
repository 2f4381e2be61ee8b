"""Reading reports from files: plain text, Markdown, HTML, PDF and JSON Lines."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from qa.models import Document, shown, valid_unicode

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
# A report's optional first line: `date YYYY-MM-DD`, and after it, optionally, `source NAME`.
_DATE_LINE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b")
_SOURCE_AFTER_DATE = re.compile(r"^\s+source\s+(\S.*?)\s*$")
# An ATX heading: one to six '#', a space, the text, optional closing '#'s.
_HEADING = re.compile(r"^#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$")
_MAX_TITLE = 200
# A PDF's first line is taken for its title only when it is this short: longer, it is the body's first sentence.
_MAX_FIRST_LINE_TITLE = 150
# Beside reports, folders hold these and dotfiles (.DS_Store, .git/): passed over without a note.
_QUIET_NAMES = frozenset({"thumbs.db", "desktop.ini"})
MAX_ID_CHARS = 100
# Elements a browser never shows as text; the head's others (meta, link, base) hold none.
_HIDDEN_TAGS = ["script", "style", "noscript", "template", "svg", "title", "meta", "link", "base"]


class LoadError(Exception):
    """A report that cannot be read, with the reason in words."""


@dataclass(frozen=True)
class Failure:
    path: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    """What `discover` found: report files to read, paths that fail, and files in folders passed over."""

    files: list[Path]
    failures: list[Failure]
    unsupported: list[Failure]


def discover(paths: list[Path]) -> Discovery:
    """Expand files and folders (recursively) into the supported report files, sorted.

    A file named on its own with an unsupported type is a failure; one found in a folder is only noted
    (folders hold other things too), unless it is a dotfile, in a dot-folder, or an Office lock file.
    """
    files: list[Path] = []
    failures: list[Failure] = []
    unsupported: list[Failure] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*"))
            supported = [p for p in found if p.suffix.lower() in SUPPORTED_SUFFIXES]
            files.extend(p for p in supported if p.is_file())
            # A link to a file that has gone would otherwise vanish from the ingest without a word.
            failures.extend(
                Failure(shown(p), "a broken link: its target does not exist")
                for p in supported
                if p.is_symlink() and not p.exists()
            )
            unsupported.extend(
                Failure(shown(p), unsupported_reason(p))
                for p in found
                if p.suffix.lower() not in SUPPORTED_SUFFIXES and p.is_file() and not _quiet(p, path)
            )
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                failures.append(Failure(shown(path), unsupported_reason(path)))
        else:
            failures.append(Failure(shown(path), "no such file or folder"))
    # A file named twice (a folder and a file in it) would become two documents, one of them left stale.
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return Discovery(list(unique.values()), failures, unsupported)


def unsupported_reason(path: Path) -> str:
    """Why a file is not read, and what to do about it."""
    suffix = path.suffix.lower()
    kinds = ", ".join(SUPPORTED_SUFFIXES)
    if not suffix:
        return f"a file without a name ending is not read; if it is a text report, rename it to end in .txt ({kinds})"
    return f"{shown(suffix)} is not supported; save it as PDF or text ({kinds})"


def _quiet(path: Path, folder: Path) -> bool:
    """Whether a file in `folder` is one that folders hold beside reports: a dotfile, in a dot-folder, a lock file."""
    parts = path.relative_to(folder).parts
    return any(part.startswith((".", "~$")) for part in parts) or path.name.lower() in _QUIET_NAMES


def load_file(path: Path, source: str | None = None) -> Iterator[Document | Failure]:
    """Yield the documents in one file; a JSON Lines file yields one per line, bad lines as failures."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _load_jsonl(path, source)
        return
    own_title = None  # the title the file's format gives it: an HTML <title>, a PDF's metadata
    if suffix == ".pdf":
        text, lines, own_title = _read_pdf(path)
    elif suffix in (".html", ".htm"):
        text, own_title = _read_html(path)
        lines = text
    else:
        text = lines = _read_text(path)
    if not text.strip():
        raise LoadError("the file has no text")
    header = _header(lines, markdown=suffix == ".md", first_line_title=suffix == ".pdf")
    yield Document(
        id=slug(path.stem),
        text=text,
        title=own_title or header.title or shown(path.name),
        date=header.date,
        source=source if source is not None else header.source or shown(path.parent.name),
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


def _read_pdf(path: Path) -> tuple[str, str, str | None]:
    """The PDF's text with wrapped lines re-joined, as extracted (lines kept, for the title), and its metadata title."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except Exception as error:  # a damaged PDF can fail anywhere in pypdf, with many kinds of error
        raise LoadError(f"not a readable PDF ({type(error).__name__}: {error})") from None
    # Re-join lines the PDF wrapped, so sentences are not cut at every line end.
    joined = [re.sub(r"(?<!\n)\n(?!\n)", " ", re.sub(r"-\n(?=[a-z])", "", page)).strip() for page in pages]
    text = "\n\n".join(page for page in joined if page)
    if not text:
        raise LoadError("the PDF has no text layer (a scanned image?); run OCR on it first")
    # Whitespace folded: metadata titles often carry line breaks or padding from the program that wrote them.
    title = " ".join(str(title).split()) if isinstance(title, str) else ""
    return text, "\n".join(pages), _shorten(title) if title else None


@dataclass(frozen=True)
class _Header:
    """What a report's first lines say about it."""

    date: str | None = None
    title: str | None = None
    source: str | None = None


def _header(text: str, markdown: bool, first_line_title: bool) -> _Header:
    """The date, source and title a report's first lines give.

    A first line `date YYYY-MM-DD` (optionally followed by `source NAME`) dates the report, and the next
    non-empty line is its title. Otherwise a Markdown file's first heading is its title, and, with
    `first_line_title`, so is a short first line.
    """
    lines = [line.strip() for line in text.split("\n")]
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None:
        return _Header()
    match = _DATE_LINE.match(lines[first])
    if match:
        try:
            report_date: str | None = parse_date(match.group(1))
        except ValueError:
            report_date = None
        source = _SOURCE_AFTER_DATE.match(lines[first][match.end() :])
        following = next((line for line in lines[first + 1 :] if line), "")
        title = _shorten(_title_text(following, markdown)) or None
        return _Header(report_date, title, source.group(1) if source else None)
    if markdown and _HEADING.match(lines[first]):
        return _Header(title=_shorten(_title_text(lines[first], markdown)) or None)
    if first_line_title and len(lines[first]) < _MAX_FIRST_LINE_TITLE:
        return _Header(title=lines[first])
    return _Header()


def _title_text(line: str, markdown: bool) -> str:
    """A line as a title: in Markdown, without its heading marks ("# Title" is "Title")."""
    heading = _HEADING.match(line) if markdown else None
    return (heading.group(1) or "") if heading else line


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
            record = _parse_line(line, number)
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


def _parse_line(line: str, number: int) -> object:
    """One JSON Lines line; text that is not JSON, or nested too deep to parse, is a ValueError naming the line."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"line {number} is not JSON ({error.msg} at character {error.pos}): each line must be one JSON object"
        ) from None
    except RecursionError:
        # Otherwise it escapes the per-line handling and aborts the whole ingest, good files included.
        raise ValueError(
            "the line's JSON is nested too deeply to read; each line must be one JSON object of a report's fields"
        ) from None
