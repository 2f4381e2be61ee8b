"""Span reader: a fine-tuned MiniLM with a start/end head extracts the exact answer from each passage."""

import math
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from embeddings.memory import bound_inference_memory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Before torch loads, if it ever does: oneDNN reads its kernel cache's size once.
bound_inference_memory()

import numpy as np

from embeddings.onnx_session import ENCODER_FILE
from embeddings.precision import Precision, resolve_precision
from embeddings.tokenizer import load_tokenizer
from embeddings.word_vectors import read_word_embeddings
from qa.models import ScoredPassage, Span
from qa.readers.base import Question
from qa.readers.calibration import Calibration
from qa.readers.onnx_encoder import OnnxEncoder
from qa.readers.windows import SpanCandidate, Window, best_spans, pad_windows, padded_length, tokenize_windows
from qa.text import normalize_answer

SHIPPED_MODEL = Path(__file__).parent / "model"
_LENGTH_BUCKET = 32  # windows are padded to a multiple of this, so few distinct shapes reach the kernels


@dataclass(frozen=True)
class SpanEvidence:
    """A candidate answer with the features the calibration reads (see `calibration.FEATURES`)."""

    span: Span
    features: tuple[float, ...]


# A question's candidates by (document id, start, end), each with its answer text.
Candidates = dict[tuple[str, int, int], tuple[SpanEvidence, str]]


class SpanModel:
    """A fine-tuned start/end model: finds each passage's best spans with the evidence for them.

    Args:
        model_dir: a folder with `model.safetensors` and tokenizer files (default: the shipped model).
        max_answer_tokens: longest answer in tokens (default 30).
        spans_per_passage: candidates kept from each passage (default 3).
        precision: "bfloat16" (torch mixed precision; about 3x faster than float32 where the CPU
            supports it), "int8" (the folder's `encoder.int8.onnx` under ONNX Runtime; about 1.5x faster
            than float32 on a CPU without bfloat16), "float32", or "auto" (default): bfloat16 where the
            CPU supports it, else int8 where the folder has the ONNX file, else float32.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        max_answer_tokens: int = 30,
        spans_per_passage: int = 3,
        precision: Precision = "auto",
    ):
        self.model_dir = Path(model_dir) if model_dir else SHIPPED_MODEL
        require_weights(self.model_dir)
        self.tokenizer = load_tokenizer(self.model_dir)
        self.max_answer_tokens = max_answer_tokens
        self.spans_per_passage = spans_per_passage
        self.precision = resolve_precision(
            precision, self.model_dir / ENCODER_FILE, f"reportqa export-reader --model {self.model_dir}"
        )
        self._read_logits = self._logits_reader()
        self.windows_read = 0
        self._forward = threading.Lock()
        self._tokenizing = threading.Lock()

    def evidence(self, question: str, passages: list[ScoredPassage]) -> list[SpanEvidence]:
        """Every passage's best spans in document offsets, with their calibration features."""
        return with_question_features(self.candidates(question, passages))

    def candidates(self, question: str, passages: list[ScoredPassage]) -> Candidates:
        """Every passage's best spans in document offsets, with the features a span has on its own."""
        found: Candidates = {}
        if not passages:
            return found
        windows = self.windows(question, [scored.passage.text for scored in passages])
        start_logits, end_logits = self._logits(windows)
        for window, starts, ends in zip(windows, start_logits, end_logits, strict=True):
            scored = passages[window.context_index]
            text = scored.passage.text
            for candidate in best_spans(window, starts, ends, self.max_answer_tokens, self.spans_per_passage, text):
                keep_strongest(found, _evidence(scored, candidate), text[candidate.start : candidate.end])
        return found

    def windows(self, question: str, texts: list[str]) -> list[Window]:
        """The windows the model reads for `question` over `texts` (see `tokenize_windows`); thread-safe."""
        # The tokenizer keeps each call's truncation settings as state, so it serves one call at a time.
        with self._tokenizing:
            return tokenize_windows(self.tokenizer, [question] * len(texts), texts)

    def _logits(self, windows: list[Window]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Start and end logits per window; windows of one length bucket share a forward pass.

        One batch padded to the longest window spends most of its work on padding when a short
        passage is read with a long one; a pass per bucket reads only the tokens each bucket needs.
        """
        buckets: dict[int, list[int]] = {}
        for position, window in enumerate(windows):
            buckets.setdefault(padded_length(len(window.input_ids), _LENGTH_BUCKET), []).append(position)
        starts: list[np.ndarray] = [np.empty(0)] * len(windows)
        ends: list[np.ndarray] = [np.empty(0)] * len(windows)
        with self._forward:
            for positions in buckets.values():
                inputs = pad_windows([windows[p] for p in positions], self.tokenizer.pad_token_id, _LENGTH_BUCKET)
                start_logits, end_logits = self._read_logits(inputs)
                for row, position in enumerate(positions):
                    starts[position] = start_logits[row]
                    ends[position] = end_logits[row]
            self.windows_read += len(windows)
        return starts, ends

    def _logits_reader(self) -> Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
        """What turns padded windows into logits: the int8 file, without torch (never imported then), or torch."""
        if self.precision == "int8":
            return OnnxEncoder(self.model_dir, read_word_embeddings(self.model_dir)).logits
        from qa.readers.torch_span import load_span_model, torch_logits

        return partial(torch_logits, load_span_model(self.model_dir), bfloat16=self.precision == "bfloat16")


class SpanReader:
    """Reads each retrieved passage with the question and returns the exact answer spans.

    Scores are calibrated probabilities that the answer is right (F1 >= 0.5 against a reference
    answer), from the span's logits and the passage's retrieval score and rank.

    Usage:
        reader = SpanReader()
        spans = reader.read(Question(text, vector), scored_passages, max_spans=3)

    Args:
        model_dir: a folder with `model.safetensors`, tokenizer files and `calibration.json`
            (default: the model shipped in `qa/readers/model`).
        max_answer_tokens: longest answer in tokens (default 30).
        spans_per_passage: candidates kept from each passage (default 3).
        precision: "auto" (default), "bfloat16", "int8" or "float32"; see `SpanModel`.
        early_stop_score: read the first passage alone, and the others only when its best answer scores
            below this (default 1.0: every passage is read; the service's setting is
            `REPORTQA_READER_EARLY_STOP_SCORE`).
    """

    name = "span"

    def __init__(
        self,
        model_dir: Path | None = None,
        max_answer_tokens: int = 30,
        spans_per_passage: int = 3,
        precision: Precision = "auto",
        early_stop_score: float = 1.0,
    ):
        self.model = SpanModel(model_dir, max_answer_tokens, spans_per_passage, precision)
        self.calibration = Calibration.load(self.model.model_dir / "calibration.json")
        self.no_answer_threshold = self.calibration.threshold
        self.early_stop_score = early_stop_score

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "model_dir": str(self.model.model_dir),
            "max_answer_tokens": self.model.max_answer_tokens,
            "spans_per_passage": self.model.spans_per_passage,
            "precision": self.model.precision,
            "no_answer_threshold": self.no_answer_threshold,
            "early_stop_score": self.early_stop_score,
        }

    def read(self, question: Question, passages: list[ScoredPassage], max_spans: int) -> list[Span]:
        if self.early_stop_score >= 1.0 or len(passages) < 2:
            return self._scored(self.model.candidates(question.text, passages))[: max_spans * 4]
        found = self.model.candidates(question.text, passages[:1])
        spans = self._scored(found)
        if spans and spans[0].score >= self.early_stop_score:
            return spans[: max_spans * 4]
        for item, text in self.model.candidates(question.text, passages[1:]).values():
            keep_strongest(found, item, text)
        return self._scored(found)[: max_spans * 4]

    def _scored(self, candidates: Candidates) -> list[Span]:
        """The candidates as spans scored by the calibration, best first."""
        evidence = with_question_features(candidates)
        if not evidence:
            return []
        probabilities = self.calibration.probability(np.array([e.features for e in evidence]))
        spans = [
            Span(e.span.document_id, e.span.passage_id, e.span.start, e.span.end, float(p))
            for e, p in zip(evidence, probabilities.tolist(), strict=True)
        ]
        spans.sort(key=lambda span: -span.score)
        return spans


def require_weights(folder: Path) -> None:
    """Refuse a folder without trained weights, saying which folders have them."""
    if not (folder / "model.safetensors").exists():
        raise FileNotFoundError(f"{folder} has no model.safetensors: pass a folder written by `reportqa train-reader`")


def _evidence(scored: ScoredPassage, candidate: SpanCandidate) -> SpanEvidence:
    passage = scored.passage
    span = Span(passage.document_id, passage.id, passage.start + candidate.start, passage.start + candidate.end, 0.0)
    features = (
        candidate.logit - candidate.null_logit,
        candidate.log_probability,
        scored.score,
        1.0 / scored.rank,
    )
    return SpanEvidence(span, features)


def keep_strongest(found: Candidates, item: SpanEvidence, text: str) -> None:
    """Add `item` to `found`, or keep the stronger reading where its span is already there.

    Overlapping passages and windows find the same span.
    """
    key = (item.span.document_id, item.span.start, item.span.end)
    if key not in found or item.features > found[key][0].features:
        found[key] = (item, text)


def with_question_features(candidates: Candidates) -> list[SpanEvidence]:
    """Append what a span's own logits cannot say: how it compares with the question's other candidates."""
    found = list(candidates.values())
    if not found:  # passages with no readable token give no candidates
        return []
    margins = np.array([item.features[0] for item, _ in found])
    shares = np.exp(margins - margins.max())
    shares /= shares.sum()
    # The same answer read in several places is more likely right than one read once.
    normalized = [normalize_answer(text) for _, text in found]
    answers = Counter(normalized)
    return [
        SpanEvidence(item.span, (*item.features, float(share), math.log(answers[answer])))
        for (item, _), share, answer in zip(found, shares.tolist(), normalized, strict=True)
    ]
