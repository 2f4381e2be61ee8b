"""Sentence boundaries as character offsets, for splitting passages and picking answer sentences."""

import re

# A candidate end of sentence: terminal punctuation with any closing quotes or brackets, then space;
# or a line break, since reports put headlines and bylines on lines of their own.
_CANDIDATE = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n")
_NEXT_CHARACTER = re.compile(r"\s*(\S?)")
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "sr",
    "jr",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "no",
    "fig",
    "al",
    "gen",
    "col",
    "lt",
    "sgt",
    "gov",
    "sen",
    "rep",
    "inc",
    "ltd",
    "co",
    "corp",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "approx",
    "u.s",
    "u.k",
    "u.n",
}


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split `text[start:end]` into sentences.

    Returns:
        `(start, end)` offsets into `text`, in order, each trimmed of surrounding whitespace and
        never empty; together they cover every non-whitespace character of the range.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _CANDIDATE.finditer(text, start, end):
        if match.group() != "\n" and not _ends_sentence(text, match.start(), match.end()):
            continue
        _append_trimmed(text, cursor, match.end(), spans)
        cursor = match.end()
    _append_trimmed(text, cursor, end, spans)
    return spans


def _ends_sentence(text: str, punct_start: int, punct_end: int) -> bool:
    following_match = _NEXT_CHARACTER.match(text, punct_end)  # matches anywhere, if only the empty string
    following = following_match.group(1) if following_match else ""
    if following.islower():
        return False
    if text[punct_start] != ".":
        return True
    word_match = re.search(r"[\w.]*$", text[max(0, punct_start - 20) : punct_start])
    word = word_match.group().lower() if word_match else ""
    # "J. Smith" and "U.S." are initials, not ends of sentences.
    return word not in _ABBREVIATIONS and not (len(word) == 1 and word.isalpha())


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
