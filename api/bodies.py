"""Request bodies in the guard: read within the limit, drained before a refusal, large ones one at a time."""

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request
from starlette.requests import ClientDisconnect

# A refused body up to this size is read and dropped before the answer, so that a client that sends the whole
# body before reading (urllib, requests) gets the answer, not a connection reset; a larger one is not worth
# the bandwidth, and the connection is closed instead.
DRAIN_MAX_BYTES = 64 * 1024 * 1024
# Bodies from this size are parsed one at a time in each process (see `one_large_body_at_a_time`).
LARGE_BODY_BYTES = 1024 * 1024

_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


async def read_at_most(request: Request, limit: int) -> int | None:
    """Read a body sent without Content-Length, stopping as soon as it passes `limit` bytes.

    Returns:
        None when the body is larger; otherwise its size, with the body cached on the request as
        `Request.body()` caches it, for the route to read.
    """
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    request._body = b"".join(chunks)
    return size


async def drain(request: Request) -> None:
    """Read and drop what is left of the body, up to DRAIN_MAX_BYTES, before answering without it.

    Uvicorn closes a connection whose body the app left unread, and a client still sending into it gets a
    reset instead of the answer. Not done for `Expect: 100-continue`: that client sends nothing until it
    hears from us, and reading would ask it to send the body.
    """
    if request.headers.get("expect", "").lower() == "100-continue" or hasattr(request, "_body"):
        return
    limit = DRAIN_MAX_BYTES
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return
    read = 0
    try:
        async for chunk in request.stream():
            read += len(chunk)
            if read > limit:
                return
    except (ClientDisconnect, RuntimeError):
        # Gone, or already read to the end by the size check: nothing left to drop.
        return


@asynccontextmanager
async def one_large_body_at_a_time() -> AsyncIterator[None]:
    """Let one request with a large body through at a time (in this process and event loop).

    Parsing JSON holds Python's GIL from start to end, in a worker thread as on the event loop (measured:
    `json.loads` of a 10 MB body stalls the loop some 250 ms either way), so no thread can take it off the
    loop. What can be bounded is how many parses pile up: four at once stalled the loop four times as long
    (and held four times the memory). With this gate, the loop runs between them.
    """
    # One gate per event loop: a semaphore belongs to the loop it first waited in (tests run several).
    loop = asyncio.get_running_loop()
    if loop not in _gates:
        _gates[loop] = asyncio.Semaphore(1)
    async with _gates[loop]:
        yield
