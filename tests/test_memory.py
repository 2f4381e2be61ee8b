"""Memory bounds set before torch loads."""

import os
import subprocess
import sys

from embeddings.memory import release_free_memory


def test_the_kernel_cache_is_capped_before_torch_loads() -> None:
    # A fresh interpreter: importing the encoder sets the cap unless the environment already has one,
    # before its torch path (bfloat16, training) is imported.
    code = (
        "import embeddings.encoder, embeddings.torch_encoder, os, sys;"
        "print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'], 'torch' in sys.modules)"
    )
    unset = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    # Both interpreters at once: each spends seconds importing torch, and the fast tier has a minute.
    runs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for env in (unset, {**unset, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "8"})
    ]
    outputs = [run.communicate()[0].split() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert outputs[0] == ["64", "True"]
    assert outputs[1][0] == "8"


def test_freed_memory_goes_back_to_the_system() -> None:
    # Allocate and free many small blocks so that malloc holds free memory it can hand back.
    blocks = [bytearray(4096) for _ in range(20_000)]
    del blocks
    assert release_free_memory() is True
