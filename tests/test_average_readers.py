"""average-readers: two readers' weights averaged, their recipe recorded, mismatches refused."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from qa.cli import main
from qa.training.average import average_readers


def _reader(folder: Path, value: float, seed: int, shape: tuple[int, ...] = (2, 3)) -> Path:
    folder.mkdir(parents=True)
    tensors = {"qa_outputs.weight": torch.full(shape, value, dtype=torch.float16), "bias": torch.zeros(2)}
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    (folder / "training.json").write_text(json.dumps({"seed": seed, "held_out_percent": 8.0}))
    (folder / "config.json").write_text("{}")
    (folder / "encoder.int8.onnx").write_bytes(b"stale")
    return folder


def test_the_average_weighs_each_reader_by_its_share_and_keeps_the_models_recipe(tmp_path: Path) -> None:
    model, other = _reader(tmp_path / "new", 1.0, seed=30), _reader(tmp_path / "old", 3.0, seed=16)
    out = average_readers(model, other, 0.25, tmp_path / "mix")
    weights = load_file(out / "model.safetensors")
    assert weights["qa_outputs.weight"].dtype == torch.float16
    assert torch.equal(weights["qa_outputs.weight"], torch.full((2, 3), 1.5, dtype=torch.float16))
    recipe = json.loads((out / "training.json").read_text())
    assert recipe["seed"] == 30
    assert recipe["averaged_with"] == {"share": 0.25, "recipe": {"seed": 16, "held_out_percent": 8.0}}
    # The int8 file was written from the model's weights, not the average's.
    assert (out / "config.json").is_file() and not (out / "encoder.int8.onnx").exists()


def test_readers_of_other_shapes_are_refused(tmp_path: Path) -> None:
    model, other = _reader(tmp_path / "a", 1.0, 1), _reader(tmp_path / "b", 1.0, 2, shape=(3, 3))
    with pytest.raises(ValueError, match=r"qa_outputs.weight is \(2, 3\)"):
        average_readers(model, other, 0.5, tmp_path / "mix")
    assert not (tmp_path / "mix").exists()


@pytest.mark.parametrize("share", ["0", "1", "1.5"])
def test_a_share_outside_zero_and_one_is_a_clear_error(tmp_path: Path, capsys, share: str) -> None:
    model, other = _reader(tmp_path / "a", 1.0, 1), _reader(tmp_path / "b", 2.0, 2)
    args = ["average-readers", "--model", str(model), "--with", str(other), "--out", str(tmp_path / "mix")]
    assert main([*args, "--other-share", share]) == 2
    assert "--other-share must lie strictly between 0 and 1" in capsys.readouterr().err
