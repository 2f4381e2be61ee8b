"""What a sentence-transformers folder computes, read from its JSON files: enough to run it from an ONNX file."""

import json
from pathlib import Path
from typing import Any


def mean_pooling_max_tokens(folder: Path, tokenizer_max_length: int) -> int:
    """The longest input, in tokens, of a folder's transformer with mean pooling (and optionally Normalize).

    The ONNX encoder files hold the transformer only; this checks the rest is what `Encoder` computes
    around them, and reads the length sentence-transformers truncates to.

    Args:
        folder: a sentence-transformers folder.
        tokenizer_max_length: its tokenizer's `model_max_length`, the length without a configured one.

    Returns:
        The folder's `max_seq_length`, or the tokenizer's and the model's limit, whichever is lower.

    Raises:
        ValueError: the folder has other modules, or pools otherwise than by the mean.
    """
    modules = _read_json(folder / "modules.json")
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or set(kinds[2:]) - {"Normalize"}:
        raise ValueError(f"{folder}: ONNX embedding needs a transformer and mean pooling, not {' + '.join(kinds)}")
    pooling = _read_json(folder / modules[1]["path"] / "config.json")
    mode = pooling.get("pooling_mode")
    if mode is None:  # older sentence-transformers folders: one flag per mode
        flags = (
            key.removeprefix("pooling_mode_") for key, on in pooling.items() if key.startswith("pooling_mode_") and on
        )
        mode = "+".join(sorted(flags))
    if mode not in ("mean", "mean_tokens"):
        raise ValueError(f"{folder}: ONNX embedding needs a mean-pooling model, this one pools by {mode}")
    transformer = folder / modules[0]["path"]
    configured = _read_json(transformer / "sentence_bert_config.json").get("max_seq_length")
    if configured is not None:
        return int(configured)
    positions = _read_json(transformer / "config.json").get("max_position_embeddings", tokenizer_max_length)
    return int(min(tokenizer_max_length, positions))


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise ValueError(f"{path} is missing: ONNX embedding needs a sentence-transformers folder")
    return json.loads(path.read_text(encoding="utf-8"))
