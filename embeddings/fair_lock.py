"""A lock granted in the order it was asked for."""

import threading
from collections import deque
from types import TracebackType


class FairLock:
    """A mutual-exclusion lock that waiting threads get first come, first served.

    Python's own lock lets the thread that releases it take it straight back, so a loop of short
    holds (one forward pass per batch of a long report) can keep every other thread waiting to the end.

    Usage:
        lock = FairLock()
        with lock:
            ...
    """

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._queue: deque[object] = deque()

    def __enter__(self) -> None:
        turn = object()
        with self._turns:
            self._queue.append(turn)
            try:
                self._turns.wait_for(lambda: self._queue[0] is turn)
            except BaseException:  # interrupted while waiting: give up the place, or all behind it wait forever
                self._queue.remove(turn)
                self._turns.notify_all()
                raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        with self._turns:
            self._queue.popleft()
            self._turns.notify_all()
