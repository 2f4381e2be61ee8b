"""A model's word embedding matrix read from its model.safetensors in numpy, without torch."""

import json
import struct
from pathlib import Path

import numpy as np

_HEADER_LENGTH = struct.Struct("<Q")  # safetensors files start with their JSON header's length


def read_word_embeddings(model_dir: Path) -> np.ndarray:
    """The float32 word embeddings (vocabulary x hidden size) of a BERT folder's model.safetensors.

    The ONNX encoder files start from word vectors, so a model served from them needs this matrix and
    nothing else of the weights; reading it here keeps torch out of such a process.

    Args:
        model_dir: a folder with model.safetensors holding one `*word_embeddings.weight` tensor in
            float32, float16 or bfloat16.

    Returns:
        The matrix in float32; bfloat16 and float16 values widen exactly.

    Raises:
        ValueError: the file holds no such tensor, or one in another type.
    """
    path = model_dir / "model.safetensors"
    with path.open("rb") as weights:
        (header_length,) = _HEADER_LENGTH.unpack(weights.read(_HEADER_LENGTH.size))
        header = json.loads(weights.read(header_length))
        names = [name for name in header if name.endswith("word_embeddings.weight")]
        if len(names) != 1:
            raise ValueError(f"{path} holds {len(names)} word embedding tensors, not one")
        entry = header[names[0]]
        begin, end = entry["data_offsets"]
        weights.seek(_HEADER_LENGTH.size + header_length + begin)
        raw = weights.read(end - begin)
    return _as_float32(raw, entry["dtype"], path).reshape(entry["shape"])


def _as_float32(raw: bytes, dtype: str, path: Path) -> np.ndarray:
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4").copy()
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if dtype == "BF16":
        # A bfloat16 is the high half of the float32 with the same value.
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    raise ValueError(f"{path}: word embeddings in {dtype}, not float32, float16 or bfloat16")
