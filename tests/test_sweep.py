"""Packing trained weights and the GPU sweep: bit-for-bit parts, stopped candidates, refusals before training."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from qa.readers.span import SHIPPED_MODEL
from qa.training.parts import FROZEN, pack_weights, unpack_weights
from qa.training.sweep import main as sweep_main
from tests.training_data import squad_file

pytestmark = pytest.mark.model


def test_packed_weights_come_back_bit_for_bit_and_a_damaged_part_is_refused(tmp_path: Path) -> None:
    manifest = pack_weights(SHIPPED_MODEL, SHIPPED_MODEL, tmp_path / "packed", "stage", part_bytes=8 * 2**20)
    parts = [tmp_path / "packed" / part for part in manifest["parts"]]
    # The word embeddings stay behind: every part fits, and together they hold less than half the weights
    assert len(parts) >= 2 and all(part.stat().st_size < 8 * 2**20 + 2**16 for part in parts)
    assert sum(part.stat().st_size for part in parts) < (SHIPPED_MODEL / "model.safetensors").stat().st_size / 2
    unpack_weights(tmp_path / "packed", manifest, SHIPPED_MODEL, tmp_path / "model")
    rebuilt = load_file(tmp_path / "model" / "model.safetensors")
    shipped = load_file(SHIPPED_MODEL / "model.safetensors")
    assert rebuilt.keys() == shipped.keys() and all(np.array_equal(rebuilt[k], shipped[k]) for k in shipped)
    for file in ("config.json", "training.json"):
        assert (tmp_path / "model" / file).read_bytes() == (SHIPPED_MODEL / file).read_bytes()

    damaged = load_file(parts[0])
    first = next(iter(damaged))
    damaged[first] = damaged[first] + np.float16(1)
    save_file(damaged, parts[0])
    with pytest.raises(ValueError, match="do not match"):
        unpack_weights(tmp_path / "packed", manifest, SHIPPED_MODEL, tmp_path / "again")
    # From the command line the same refusals are messages: a damaged part, then a missing one, no manifest
    (tmp_path / "packed" / "sweep.json").write_text(json.dumps({"stage": manifest}))
    with pytest.raises(SystemExit, match="stage: the rebuilt weights do not match"):
        sweep_main(["unpack", str(tmp_path / "packed"), "stage", str(tmp_path / "again")])
    parts[0].unlink()
    with pytest.raises(SystemExit, match="No such file.*stage.part0"):
        sweep_main(["unpack", str(tmp_path / "packed"), "stage", str(tmp_path / "again")])
    with pytest.raises(SystemExit, match="no readable sweep.json"):
        sweep_main(["unpack", str(tmp_path), "stage", str(tmp_path / "again")])


def test_a_model_whose_word_embeddings_changed_is_not_packed_without_them(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, model)
    weights = load_file(model / "model.safetensors")
    weights[FROZEN] = weights[FROZEN] * np.float16(0.5)
    save_file(weights, model / "model.safetensors")
    with pytest.raises(ValueError, match="word embeddings differ"):
        pack_weights(model, SHIPPED_MODEL, tmp_path / "packed", "changed")


def test_a_sweep_trains_each_candidate_and_packs_a_stopped_one_from_its_last_step(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    squad_file(data)
    tiny = {"max_length": 48, "stride": 16, "held_out_percent": 20.0, "bf16": False}
    # A GPU machine's bare image has no pydantic, index or web stack: the sweep must not need them
    blocked = ["faiss", "fastapi", "uvicorn", "starlette", "bm25s", "pydantic", "pydantic_settings"]
    script = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({blocked!r}))\n"
        "from qa.training.sweep import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    # With no time to spare, the one-step run finishes and the three-step one stops after its first
    command = [
        sys.executable,
        "-c",
        script,
        "train",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--budget",
        "0",
        "--device",
        "cpu",
        "--work",
        str(tmp_path),
        "--candidate",
        "whole=" + json.dumps({**tiny, "batch_size": 64}),
        "--candidate",
        "cut=" + json.dumps({**tiny, "batch_size": 4}),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    for name, stopped_at in (("whole", None), ("cut", 1)):
        assert sweep_main(["unpack", str(tmp_path / "out"), name, str(tmp_path / name)]) == 0
        recipe = json.loads((tmp_path / name / "training.json").read_text())
        assert recipe.get("stopped_at_step") == stopped_at
        assert recipe["init"] == json.loads((SHIPPED_MODEL / "training.json").read_text())
        # The rebuilt folder is the one training wrote: its weights, and its tokenizer made again from init
        # (but for the truncation of the last text it read, which each reading sets for itself)
        trained, rebuilt = tmp_path / f"run-{name}" / "model", tmp_path / name
        for file in ("tokenizer_config.json", "config.json"):
            assert (rebuilt / file).read_bytes() == (trained / file).read_bytes()
        tokenizers = [json.loads((folder / "tokenizer.json").read_text()) for folder in (rebuilt, trained)]
        assert [{**t, "truncation": None} for t in tokenizers] == [{**tokenizers[1], "truncation": None}] * 2
        weights = load_file(rebuilt / "model.safetensors")
        assert all(np.array_equal(weights[k], v) for k, v in load_file(trained / "model.safetensors").items())
        shipped = load_file(SHIPPED_MODEL / "model.safetensors")
        assert not np.array_equal(weights["qa_outputs.weight"], shipped["qa_outputs.weight"])


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("a b={}", "NAME of ASCII letters"),
        ("x={epochs: 2}", "Expecting property name"),
        ('x={"epoch": 2}', "unexpected keyword argument 'epoch'"),
        ('x={"questions_per_file": {"qamr.json": 10}}', "not among the data files"),
    ],
)
def test_a_sweep_refuses_a_bad_candidate_before_training(tmp_path: Path, candidate: str, message: str) -> None:
    squad_file(tmp_path)
    with pytest.raises(SystemExit, match=message):
        sweep_main(
            [
                "train",
                "--data",
                str(tmp_path),
                "--out",
                str(tmp_path / "out"),
                "--budget",
                "1",
                "--device",
                "cpu",
                "--candidate",
                candidate,
            ]
        )
    assert not (tmp_path / "out").exists()


def test_a_sweep_refuses_an_unknown_device_before_starting_any_candidate(tmp_path: Path, capsys) -> None:
    squad_file(tmp_path)
    with pytest.raises(SystemExit):
        sweep_main(
            [
                "train",
                "--data",
                str(tmp_path),
                "--out",
                str(tmp_path / "out"),
                "--budget",
                "1",
                "--device",
                "tpu",
                "--candidate",
                "x={}",
            ]
        )
    assert "invalid choice: 'tpu'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
