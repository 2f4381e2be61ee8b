"""A model folder's ONNX encoder files under ONNX Runtime, refused when exported from other weights."""

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime

ENCODER_FILE = "encoder.int8.onnx"
# The same graph in float32: what torch computes, without importing torch (an embedder's only).
FLOAT32_ENCODER_FILE = "encoder.float32.onnx"
WEIGHTS_DIGEST = "model.safetensors sha256"  # the file's metadata key naming the weights it was exported from


def open_encoder_session(path: Path, remedy: str) -> "onnxruntime.InferenceSession":
    """Open a model folder's encoder file for the CPU.

    The file starts from word vectors (see `encoder_feed`): the word embeddings, half the weights,
    stay in model.safetensors.

    Args:
        path: the file (`ENCODER_FILE` or `FLOAT32_ENCODER_FILE`) in its model folder; it must come from
            the folder's model.safetensors.
        remedy: what the refusal tells the user to do, e.g. the command that exports the file again.

    Returns:
        The `onnxruntime.InferenceSession`.

    Raises:
        ValueError: the file was exported from other weights than the folder's.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initializers are not the user's business
    # Its threads spin while a pass runs but not after, where they took the CPU from the question's
    # embedding (BENCHMARKS.md, "ONNX Runtime's spinning threads").
    options.add_session_config_entry("session.force_spinning_stop", "1")
    model_dir = path.parent
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    # A folder whose weights were replaced after the export would run the old model.
    if session.get_modelmeta().custom_metadata_map.get(WEIGHTS_DIGEST) != weights_file_sha256(model_dir):
        raise ValueError(f"{path} was exported from other weights than {model_dir / 'model.safetensors'}: {remedy}")
    return session


def encoder_feed(inputs: dict[str, np.ndarray], word_embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """The encoder file's inputs for padded token ids: their word vectors in place of the ids."""
    return {
        "inputs_embeds": word_embeddings[inputs["input_ids"]],
        "token_type_ids": inputs["token_type_ids"],
        "attention_mask": inputs["attention_mask"],
    }


def weights_file_sha256(model_dir: Path) -> str:
    """The SHA-256 of a model folder's model.safetensors."""
    return hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
