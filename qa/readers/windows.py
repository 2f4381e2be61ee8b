"""Question + passage windows for a BERT-style span model, and best-span decoding from its logits."""

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerFast

MAX_QUESTION_TOKENS = 64  # longer questions are cut so that every window keeps room for the passage
# The tokenizer sees a blank line as a space, but an answer never runs from one paragraph into the next.
PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


@dataclass(frozen=True)
class Window:
    """One model input: question tokens, then a stretch of one context's tokens.

    `offsets[i]` is the `[start, end)` in the context of token i, or None for question and
    special tokens; `context_index` says which of the tokenized contexts the window comes from.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    offsets: list[tuple[int, int] | None]
    context_index: int


@dataclass(frozen=True)
class SpanCandidate:
    """A span in context character offsets, with the model's evidence for it.

    `logit` is its start + end logit, `null_logit` the window's no-answer ([CLS]) logit, and
    `log_probability` its log start probability + log end probability over the window.
    """

    start: int
    end: int
    logit: float
    null_logit: float
    log_probability: float


def tokenize_windows(
    tokenizer: PreTrainedTokenizerFast,
    questions: list[str],
    contexts: list[str],
    max_length: int = 256,
    stride: int = 96,
) -> list[Window]:
    """Tokenize question/context pairs into windows, sliding over contexts too long for one.

    Args:
        tokenizer: a fast (offset-mapping) BERT tokenizer.
        questions: one question per context.
        contexts: the texts to read.
        max_length: tokens per window, special tokens included (default 256).
        stride: tokens shared by consecutive windows of one context (default 96).

    Returns:
        Windows in context order; a context yields one window or more.
    """
    questions = [_cut_question(tokenizer, question) for question in questions]
    encoded = tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_token_type_ids=True,
    )
    windows = []
    for i, input_ids in enumerate(encoded["input_ids"]):
        sequence_ids = encoded.sequence_ids(i)
        offsets = [
            (start, end) if sequence == 1 else None
            for (start, end), sequence in zip(encoded["offset_mapping"][i], sequence_ids, strict=True)
        ]
        windows.append(
            Window(input_ids, encoded["token_type_ids"][i], offsets, encoded["overflow_to_sample_mapping"][i])
        )
    return windows


def _cut_question(tokenizer: PreTrainedTokenizerFast, question: str) -> str:
    offsets = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return question if len(offsets) <= MAX_QUESTION_TOKENS else question[: offsets[MAX_QUESTION_TOKENS - 1][1]]


def padded_length(length: int, multiple_of: int) -> int:
    """`length` rounded up to a multiple of `multiple_of`."""
    return -(-length // multiple_of) * multiple_of


def pad_windows(windows: list[Window], pad_id: int, multiple_of: int = 1) -> dict[str, np.ndarray]:
    """Stack windows into `input_ids`, `token_type_ids` and `attention_mask` arrays.

    Args:
        windows: the windows to stack.
        pad_id: the tokenizer's padding token.
        multiple_of: pad to the longest window rounded up to a multiple of this (default 1).
    """
    length = padded_length(max(len(window.input_ids) for window in windows), multiple_of)
    input_ids = np.full((len(windows), length), pad_id, dtype=np.int64)
    token_type_ids = np.zeros((len(windows), length), dtype=np.int64)
    attention_mask = np.zeros((len(windows), length), dtype=np.int64)
    for row, window in enumerate(windows):
        size = len(window.input_ids)
        input_ids[row, :size] = window.input_ids
        token_type_ids[row, :size] = window.token_type_ids
        attention_mask[row, :size] = 1
    return {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask}


def best_spans(
    window: Window,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    max_answer_tokens: int = 30,
    top_n: int = 5,
    context: str = "",
) -> list[SpanCandidate]:
    """The `top_n` best spans of one window: start <= end, both on passage tokens, at most `max_answer_tokens` long.

    Args:
        window: the window the logits belong to.
        start_logits: one logit per token (padding may follow).
        end_logits: one logit per token.
        max_answer_tokens: longest span in tokens (default 30).
        top_n: how many spans at most (default 5).
        context: the window's context text; when given, no span crosses a blank line in it, and a
            span's last letter keeps the accents written after it as combining marks.
    """
    on_passage = np.array([offset is not None for offset in window.offsets])
    positions = np.flatnonzero(on_passage)
    if positions.size == 0:
        return []
    starts = start_logits[: len(on_passage)]
    ends = end_logits[: len(on_passage)]
    # Only the strongest starts and ends can form the best pairs, so pair those.
    candidates = min(20, positions.size)
    best_starts = positions[np.argsort(-starts[positions])[:candidates]]
    best_ends = positions[np.argsort(-ends[positions])[:candidates]]
    null_logit = float(start_logits[0] + end_logits[0])
    # Normalise over the tokens a span may use plus [CLS], the model's "not in this window".
    allowed = np.concatenate(([0], positions))
    normaliser = _log_sum_exp(starts[allowed]) + _log_sum_exp(ends[allowed])
    pairs = [
        (float(starts[s] + ends[e]), int(s), int(e))
        for s in best_starts
        for e in best_ends
        if s <= e < s + max_answer_tokens
    ]
    pairs.sort(reverse=True)
    spans = []
    for logit, s, e in pairs:
        # Pairs are formed from passage tokens only, which all have offsets.
        first, last = window.offsets[s], window.offsets[e]
        if first is None or last is None:
            continue
        start, end = first[0], last[1]
        if context:
            if PARAGRAPH_BREAK.search(context, start, end):
                continue
            end = _past_combining_marks(context, end)
        spans.append(SpanCandidate(start, end, logit, null_logit, logit - normaliser))
        if len(spans) == top_n:
            break
    return spans


def _past_combining_marks(context: str, end: int) -> int:
    # The tokenizer drops accents, and with them the offsets of a combining mark after a token's last
    # letter: "Hà" written "Ha" + U+0300 would be cut to "Ha".
    while end < len(context) and unicodedata.category(context[end]).startswith("M"):
        end += 1
    return end


def _log_sum_exp(values: np.ndarray) -> float:
    peak = float(values.max())
    return peak + float(np.log(np.exp(values - peak).sum()))
