"""Shared by the benchmark scripts that start `reportqa serve`: waiting until it is ready."""

import time

import httpx


def wait_ready(base: str, timeout_s: float = 120) -> None:
    """Poll `base/readyz` until it answers 200; raise after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")
