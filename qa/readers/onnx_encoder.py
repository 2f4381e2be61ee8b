"""The span model's int8 encoder under ONNX Runtime, for CPUs without bfloat16."""

from pathlib import Path

import numpy as np

from embeddings.onnx_session import ENCODER_FILE, encoder_feed, open_encoder_session


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
        remedy = (
            f"export it again with `reportqa export-reader --model {model_dir}`, "
            "or read in float32 (REPORTQA_READER_PRECISION)"
        )
        self.session = open_encoder_session(model_dir / ENCODER_FILE, remedy)
        self.word_embeddings = word_embeddings

    def logits(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Logits (windows x tokens) for padded `input_ids`, `token_type_ids` and `attention_mask`."""
        start_logits, end_logits = self.session.run(None, encoder_feed(inputs, self.word_embeddings))
        return start_logits, end_logits
