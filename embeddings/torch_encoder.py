"""The embedder under torch, through sentence-transformers: bfloat16, training, and folders without ONNX files."""

from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from transformers.utils import logging as transformers_logging

from embeddings.plain_forms import read_plain_forms

# The weight-loading progress bar is noise on every start of the CLI and the server.
transformers_logging.disable_progress_bar()


def load_sentence_transformer(folder: Path, device: str) -> SentenceTransformer:
    """A sentence-transformers folder, offline, in float32; its tokenizer reads plain forms (`read_plain_forms`)."""
    # Weights stored in bfloat16 (the shipped ones, at half the size) compute in float32 all the same.
    model = SentenceTransformer(
        str(folder), device=device, local_files_only=True, model_kwargs={"dtype": torch.float32}
    )
    read_plain_forms(model.tokenizer)
    return model


def torch_forward(
    model: SentenceTransformer, batch: list[str], bfloat16: bool, with_tokens: bool
) -> tuple[np.ndarray, list[np.ndarray]]:
    """One forward pass over `batch`: the pooled vectors, and each text's token vectors when `with_tokens`.

    Args:
        model: the model.
        batch: the texts, embedded in one pass.
        bfloat16: compute in torch's bfloat16 mixed precision rather than float32.
        with_tokens: also return the token vectors (else an empty list).

    Returns:
        The pooled vectors (before unit length) and the token vectors.
    """
    with torch.autocast("cpu", torch.bfloat16, enabled=bfloat16):
        if not with_tokens:
            pooled_only = model.encode(batch, batch_size=len(batch), convert_to_tensor=True, show_progress_bar=False)
            return pooled_only.float().numpy(), []
        outputs = model.encode(batch, batch_size=len(batch), output_value=None, show_progress_bar=False)
    pooled = np.stack([out["sentence_embedding"].float().numpy() for out in outputs])
    return pooled, [out["token_embeddings"].float().numpy() for out in outputs]
