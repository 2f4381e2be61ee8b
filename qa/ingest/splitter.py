"""Sentence-aware passage splitting with character offsets into the document."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qa.ingest.sentences import sentence_spans

# Tokenizes texts as a Hugging Face tokenizer does, e.g. `Encoder.tokenize`.
Tokenize = Callable[..., Any]
# Each sentence of a passage gets a stored vector. Prose has about 8 in 200 tokens; a report of one-word
# lines would have 200, and a store a hundred times the size of its text: beyond this, neighbours merge.
MAX_SENTENCES_PER_PASSAGE = 32
# Passage length and overlap in embedder tokens, without special tokens (the model's limit is 256).
PASSAGE_TOKENS = 200
OVERLAP_TOKENS = 48
# Sentences tokenized per call: a whole long report's token offsets at once, as Python objects, took
# hundreds of megabytes.
SENTENCES_PER_CALL = 512


@dataclass(frozen=True)
class PassageSpan:
    """`[start, end)` of a passage in its document, and the sentences it holds (document offsets)."""

    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    tokens: int


class PassageSplitter:
    """Packs whole sentences into passages of at most `max_tokens` embedder tokens, with overlap.

    A sentence longer than `max_tokens` is cut at token boundaries. Offsets always slice the
    document exactly: `text[p.start:p.end]` is the passage's text.

    Usage:
        splitter = PassageSplitter(encoder.tokenize)
        spans = splitter.split(document.text)

    Args:
        tokenize: the embedder's tokenizer (`Encoder.tokenize`), so lengths are counted in the tokens it
            truncates by.
        max_tokens: passage length limit, without special tokens (default 200; the model's limit is 256).
        overlap_tokens: up to this many tokens of trailing sentences repeat at the next passage's start
            (default 48), so an answer near a boundary is whole in at least one passage.
    """

    def __init__(self, tokenize: Tokenize, max_tokens: int = PASSAGE_TOKENS, overlap_tokens: int = OVERLAP_TOKENS):
        if not 0 <= overlap_tokens < max_tokens:
            raise ValueError("overlap_tokens must be at least 0 and below max_tokens")
        self.tokenize = tokenize
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def split(self, text: str) -> list[PassageSpan]:
        sentences = self._sentences_with_lengths(text)
        passages: list[PassageSpan] = []
        current: list[tuple[int, int, int]] = []
        for sentence in sentences:
            if current and sum(n for _, _, n in current) + sentence[2] > self.max_tokens:
                passages.append(_passage(current))
                current = self._overlap(current, room=self.max_tokens - sentence[2])
            current.append(sentence)
        if current:
            passages.append(_passage(current))
        return passages

    def _overlap(self, sentences: list[tuple[int, int, int]], room: int) -> list[tuple[int, int, int]]:
        kept: list[tuple[int, int, int]] = []
        budget = min(self.overlap_tokens, room)
        for sentence in reversed(sentences[1:]):  # never repeat a whole passage
            if sentence[2] > budget:
                break
            kept.insert(0, sentence)
            budget -= sentence[2]
        return kept

    def _sentences_with_lengths(self, text: str) -> list[tuple[int, int, int]]:
        spans = sentence_spans(text)
        if not spans:
            return []
        result: list[tuple[int, int, int]] = []
        for first in range(0, len(spans), SENTENCES_PER_CALL):
            chunk = spans[first : first + SENTENCES_PER_CALL]
            # Lengths beyond the model's limit are expected here: they are what gets cut, so no warning.
            encoded = self.tokenize(
                [text[s:e] for s, e in chunk], add_special_tokens=False, return_offsets_mapping=True, verbose=False
            )
            result += self._measured(text, chunk, encoded["offset_mapping"])
        return result

    def _measured(
        self, text: str, spans: list[tuple[int, int]], token_offsets: list[list[tuple[int, int]]]
    ) -> list[tuple[int, int, int]]:
        """Each sentence with its length in tokens; one too long for a passage cut into pieces that fit."""
        result = []
        for (start, end), offsets in zip(spans, token_offsets, strict=True):
            if len(offsets) <= self.max_tokens:
                result.append((start, end, max(len(offsets), 1)))
                continue
            # Too long for one passage: cut at token boundaries into contiguous pieces, so characters
            # the tokenizer drops (control characters) still belong to a piece.
            cuts = [start, *(start + offsets[i][0] for i in range(self.max_tokens, len(offsets), self.max_tokens)), end]
            for number, (piece_start, piece_end) in enumerate(zip(cuts, cuts[1:], strict=False)):
                trimmed = text[piece_start:piece_end]
                left, right = len(trimmed) - len(trimmed.lstrip()), len(trimmed.rstrip())
                tokens = min(self.max_tokens, len(offsets) - number * self.max_tokens)
                if right > left:
                    result.append((piece_start + left, piece_start + right, tokens))
        return result


def _passage(sentences: list[tuple[int, int, int]]) -> PassageSpan:
    return PassageSpan(
        start=sentences[0][0],
        end=sentences[-1][1],
        sentences=_merged([(s, e) for s, e, _ in sentences]),
        tokens=sum(n for _, _, n in sentences),
    )


def _merged(sentences: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """At most MAX_SENTENCES_PER_PASSAGE spans: runs of neighbouring sentences joined, in order."""
    size = -(-len(sentences) // MAX_SENTENCES_PER_PASSAGE)  # sentences per span, rounded up
    return tuple(
        (sentences[i][0], sentences[min(i + size, len(sentences)) - 1][1]) for i in range(0, len(sentences), size)
    )
