"""The span model's int8 encoder under ONNX Runtime, for CPUs without bfloat16."""

import hashlib
from pathlib import Path

import numpy as np

ENCODER_FILE = "encoder.int8.onnx"
WEIGHTS_DIGEST = "model.safetensors sha256"  # the file's metadata key naming the weights it was exported from


class OnnxEncoder:
    """Start and end logits from a model folder's `encoder.int8.onnx` (written by `reportqa export-reader`).

    The file starts from word vectors, so the word embeddings are looked up here, from the
    model.safetensors weights the tokenizer's ids index.

    Usage:
        encoder = OnnxEncoder(model_dir, word_embeddings)
        start_logits, end_logits = encoder.logits(pad_windows(windows, pad_id))

    Args:
        model_dir: the model folder; its encoder file must come from its model.safetensors.
        word_embeddings: the model's word embedding matrix, float32 (vocabulary x hidden size).

    Raises:
        ValueError: the encoder file was exported from other weights than the folder's.
    """

    def __init__(self, model_dir: Path, word_embeddings: np.ndarray):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initializers are not the user's business
        # Its threads spin while a read runs but not after, where they took the CPU from the question's
        # embedding (BENCHMARKS.md, "ONNX Runtime's spinning threads").
        options.add_session_config_entry("session.force_spinning_stop", "1")
        path = model_dir / ENCODER_FILE
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        # A folder whose weights were replaced after the export would read with the old model.
        if self.session.get_modelmeta().custom_metadata_map.get(WEIGHTS_DIGEST) != weights_file_sha256(model_dir):
            raise ValueError(
                f"{path} was exported from other weights than {model_dir / 'model.safetensors'}: export it again "
                f"with `reportqa export-reader --model {model_dir}`, or read in float32 (REPORTQA_READER_PRECISION)"
            )
        self.word_embeddings = word_embeddings

    def logits(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Logits (windows x tokens) for padded `input_ids`, `token_type_ids` and `attention_mask`."""
        start_logits, end_logits = self.session.run(None, encoder_feed(inputs, self.word_embeddings))
        return start_logits, end_logits


def encoder_feed(inputs: dict[str, np.ndarray], word_embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """The encoder file's inputs for padded windows: their word vectors in place of their token ids."""
    return {
        "inputs_embeds": word_embeddings[inputs["input_ids"]],
        "token_type_ids": inputs["token_type_ids"],
        "attention_mask": inputs["attention_mask"],
    }


def weights_file_sha256(model_dir: Path) -> str:
    """The SHA-256 of a model folder's model.safetensors."""
    return hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
