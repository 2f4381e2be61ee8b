"""Average two span readers weight by weight (a "model soup"), both continued from one model."""

import json
import shutil
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file

from embeddings.onnx_session import ENCODER_FILE
from qa.training.parts import WEIGHTS
from qa.training.trainer import RECIPE, read_recipe

# Written from the weights, so an average must make its own (export-reader, calibrate-reader).
DERIVED = (ENCODER_FILE, "calibration.json")


def average_readers(model: Path, other: Path, other_share: float, out: Path) -> Path:
    """Write `(1 - other_share) * model + other_share * other` to `out`, with model's files and recipe.

    Usage:
        average_readers(Path("runs/new/model"), Path("qa/readers/model"), 0.3, Path("runs/mix"))

    Args:
        model: a reader folder written by train-reader; its recipe (held-out articles, seed) is kept.
        other: a reader of the same architecture and tensor names, e.g. the model's own init.
        other_share: the other reader's weight, strictly between 0 and 1.
        out: the new folder; `training.json` records the other recipe and its share under `averaged_with`.

    Returns:
        `out`.
    """
    if not 0 < other_share < 1:
        raise ValueError(f"--other-share must lie strictly between 0 and 1, got {other_share}")
    recipe, other_recipe = read_recipe(model, "--model"), read_recipe(other, "--with")
    with safe_open(model / WEIGHTS, "pt") as mine, safe_open(other / WEIGHTS, "pt") as theirs:
        names = mine.keys()  # a safetensors handle is not iterable
        if set(names) != set(theirs.keys()):
            raise ValueError(f"{model} and {other} hold different tensors: average readers of one architecture")
        metadata = mine.metadata()
        tensors = {}
        for name in names:
            a, b = mine.get_tensor(name), theirs.get_tensor(name)
            if a.shape != b.shape:
                raise ValueError(f"{name} is {tuple(a.shape)} in {model} but {tuple(b.shape)} in {other}")
            tensors[name] = ((1 - other_share) * a.float() + other_share * b.float()).to(a.dtype)
    out.mkdir(parents=True, exist_ok=True)
    for file in model.iterdir():
        if file.is_file() and file.name not in (WEIGHTS, RECIPE, *DERIVED):
            shutil.copy2(file, out / file.name)
    save_file(tensors, out / WEIGHTS, metadata=metadata)
    recipe["averaged_with"] = {"share": other_share, "recipe": other_recipe}
    (out / RECIPE).write_text(json.dumps(recipe, indent=2) + "\n")
    return out
