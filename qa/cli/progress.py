"""A line on a terminal while models load, so a command that takes seconds to start does not look hung."""

import itertools
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_FRAMES = "|/-\\"
_FRAME_S = 0.1


@contextmanager
def loading(what: str = "the models", stream: TextIO | None = None) -> Iterator[None]:
    """Show `| loading the models… 3 s` until the block ends, then erase the line.

    Drawn only when the stream (default stderr) is a terminal: in a pipe or a log file every frame would
    be noise. Put the imports of model code inside the block too: importing torch is most of the wait.

    Args:
        what: what is loading, as the line names it.
        stream: where to draw (default: `sys.stderr`, looked up when the block starts).
    """
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def draw() -> None:
        for frame in itertools.cycle(_FRAMES):
            out.write(f"\r{frame} loading {what}… {time.monotonic() - started:.0f} s")
            out.flush()
            if done.wait(_FRAME_S):
                return

    spinner = threading.Thread(target=draw, name="loading", daemon=True)
    spinner.start()
    try:
        yield
    finally:
        done.set()
        spinner.join()
        # Erased, so what the command prints next (an answer, an error) starts on a clean line.
        out.write("\r\033[K")
        out.flush()
