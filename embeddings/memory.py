"""Bounds on the memory inference keeps between requests: oneDNN's kernel cache and malloc's arenas."""

import ctypes
import ctypes.util
import os
from functools import lru_cache

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    # find_library runs ldconfig in a subprocess: look it up once, not on every write.
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def bound_inference_memory(kernel_cache: int = 64, arenas: int = 2) -> None:
    """Cap oneDNN's cache of compiled kernels and glibc's malloc arenas; call before the first forward pass.

    Every new input shape compiles and caches kernels, and every serving thread may get its own malloc
    arena, so without caps resident memory keeps creeping up as new text lengths arrive.

    Args:
        kernel_cache: kernels oneDNN keeps (default 64; its own default is 1,024); an explicit
            `ONEDNN_PRIMITIVE_CACHE_CAPACITY` wins.
        arenas: malloc arenas at most (default 2, one per core here); `MALLOC_ARENA_MAX` wins.
    """
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(kernel_cache))
    libc = _libc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(_M_ARENA_MAX, arenas)


def release_free_memory() -> bool:
    """Hand memory that malloc holds but no longer uses back to the system (glibc only).

    Returns:
        True when glibc released something.
    """
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
