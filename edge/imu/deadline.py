"""Waiting with a deadline that never drops a cancel.

Python 3.10's and 3.11's `asyncio.wait_for` returns the result, and drops the cancel, when a
task is cancelled just as the awaited thing completes; the cancelled task then runs on. The
cart's JetPack 6 has Python 3.10, and the IMU links are cancelled on every stop, so a link
could reconnect forever after its service was told to stop. `asyncio.wait` has no such flaw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], timeout_s: float) -> T:
    """The result of `awaitable`, or TimeoutError after `timeout_s` (and it is cancelled)."""
    future = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({future}, timeout=timeout_s)
    except BaseException:
        future.cancel()
        raise
    if not done:
        future.cancel()
        raise TimeoutError
    return future.result()
