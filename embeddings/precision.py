"""Which arithmetic a model runs in: float32, bfloat16 where the CPU has it, or a folder's int8 ONNX file."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

# "auto" picks the fastest this CPU and the model folder allow.
Precision = Literal["auto", "float32", "bfloat16", "int8"]


def resolve_precision(precision: Precision, onnx_file: Path, export_command: str) -> Precision:
    """The precision "auto" stands for on this CPU, or the one asked for once its file is known to exist.

    Args:
        precision: the precision asked for.
        onnx_file: where the model's int8 file would be.
        export_command: the command that writes it, named when int8 is asked for and it is missing.

    Returns:
        "bfloat16" where the CPU supports it, else "int8" where the file exists, else "float32"; or
        `precision` itself when it is not "auto".

    Raises:
        FileNotFoundError: int8 was asked for and the file is missing.
    """
    if precision == "int8" and not onnx_file.exists():
        raise FileNotFoundError(f"{onnx_file} is missing: write it with `{export_command}`")
    if precision != "auto":
        return precision
    if cpu_has_bf16():
        return "bfloat16"
    return "int8" if onnx_file.exists() else "float32"


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX), where torch's bfloat16 is fast.

    Read from the CPU's flags where Linux lists them, so that choosing a precision imports no torch.
    """
    flags = _cpu_flags()
    if flags is not None:
        return bool(flags & {"avx512_bf16", "amx_bf16"})
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str] | None:
    """The x86 feature flags /proc/cpuinfo lists; None where it lists none (another system or architecture)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return None
