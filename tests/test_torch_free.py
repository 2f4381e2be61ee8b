"""Serving without torch: word vectors read from safetensors, a folder's layout from its JSON, the CPU's flags."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from embeddings import precision as precisions
from embeddings.folder_layout import mean_pooling_max_tokens
from embeddings.word_vectors import read_word_embeddings


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_word_embeddings_widen_to_the_float32_torch_reads(tmp_path: Path, dtype: torch.dtype) -> None:
    words = torch.randn(50, 8).to(dtype)
    save_file(
        {"bert.embeddings.word_embeddings.weight": words, "qa_outputs.weight": torch.randn(2, 8)},
        tmp_path / "model.safetensors",
    )
    read = read_word_embeddings(tmp_path)
    assert read.dtype == np.float32 and read.shape == (50, 8)
    np.testing.assert_array_equal(read, words.float().numpy())


def test_a_file_without_one_word_embedding_tensor_is_refused(tmp_path: Path) -> None:
    save_file({"encoder.weight": torch.zeros(2, 2)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="0 word embedding tensors"):
        read_word_embeddings(tmp_path)


def _folder(
    tmp_path: Path, pooling: dict, extra_modules: tuple[str, ...] = (), max_seq_length: int | None = 256
) -> Path:
    """A sentence-transformers folder's JSON files only: a transformer, pooling by `pooling`, then `extra_modules`."""
    kinds = ("Transformer", "Pooling", *extra_modules)
    modules = [
        {
            "idx": n,
            "name": str(n),
            "path": "" if n == 0 else f"{n}_{kind}",
            "type": f"sentence_transformers.models.{kind}",
        }
        for n, kind in enumerate(kinds)
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    for module in modules[1:]:
        (tmp_path / module["path"]).mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "sentence_bert_config.json").write_text(
        json.dumps({} if max_seq_length is None else {"max_seq_length": max_seq_length})
    )
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 512}))
    return tmp_path


@pytest.mark.parametrize(
    "pooling",
    [
        {"embedding_dimension": 8, "pooling_mode": "mean"},  # sentence-transformers 5
        {"word_embedding_dimension": 8, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True},  # older
    ],
)
def test_a_mean_pooling_folder_gives_its_length(tmp_path: Path, pooling: dict) -> None:
    assert mean_pooling_max_tokens(_folder(tmp_path, pooling, ("Normalize",)), 512) == 256


def test_without_a_configured_length_the_tokenizer_s_and_the_model_s_limit_holds(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"pooling_mode": "mean"}, max_seq_length=None)
    assert mean_pooling_max_tokens(folder, 1_000_000) == 512
    assert mean_pooling_max_tokens(folder, 128) == 128


@pytest.mark.parametrize(
    ("pooling", "extra_modules", "message"),
    [
        ({"pooling_mode": "cls"}, (), "pools by cls"),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}, (), "pools by cls_token\\+mean_tokens"),
        ({"pooling_mode": "mean"}, ("Dense", "Normalize"), "Transformer \\+ Pooling \\+ Dense \\+ Normalize"),
    ],
)
def test_a_folder_that_computes_more_than_mean_pooling_is_refused(
    tmp_path: Path, pooling: dict, extra_modules: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        mean_pooling_max_tokens(_folder(tmp_path, pooling, extra_modules), 512)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [({"avx2", "avx512f"}, False), ({"avx512f", "avx512_bf16"}, True), ({"amx_bf16", "amx_tile"}, True)],
)
def test_bfloat16_is_native_where_the_cpu_lists_its_flags(monkeypatch, flags: set[str], expected: bool) -> None:
    monkeypatch.setattr(precisions, "_cpu_flags", lambda: flags)
    assert precisions.cpu_has_bf16() is expected


# Ingests a report and answers a question as `reportqa serve` does on a CPU without bfloat16.
_SERVE_WITHOUT_BFLOAT16 = """
import sys
from pathlib import Path

import api.main
from qa.factory import open_pipeline
from qa.models import Document
from qa.settings import Settings

pipeline = open_pipeline(Settings(index_dir=Path(sys.argv[1]), reader_precision="int8"))
text = "Foreign Minister Sergey Lavrov met President Aleksandar Vucic in Belgrade on Monday."
pipeline.index.add_documents([Document("tass", text)])
citation = pipeline.ask("Where did Lavrov meet Vucic?").answers[0].citation
print(text[citation.start : citation.end])
print(sorted({name.split(".")[0] for name in sys.modules} & {"torch", "sentence_transformers"}))
"""


@pytest.mark.model
def test_the_shipped_models_ingest_and_answer_without_importing_torch(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _SERVE_WITHOUT_BFLOAT16, str(tmp_path / "index")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["Belgrade", "[]"]
