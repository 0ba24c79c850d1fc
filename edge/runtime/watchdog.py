"""Tells a stuck service from a busy one: a stamp is set around each unit of work.

A stamp older than the limit means the loop is stuck inside one unit. Liveness pings to systemd
or the supervisor are sent only while the loop is not stuck, so a hung service is restarted
although its process is alive; a dead one simply stops pinging.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class WorkStamp:
    """When the current unit of work started, or None between units."""

    def __init__(self, limit_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_s = limit_s
        self._clock = clock
        self._started: float | None = None
        self._lock = threading.Lock()

    @contextmanager
    def unit(self) -> Iterator[None]:
        with self._lock:
            self._started = self._clock()
        try:
            yield
        finally:
            with self._lock:
                self._started = None

    def busy_for(self) -> float:
        """Seconds spent in the current unit of work (0 between units)."""
        with self._lock:
            started = self._started
        return 0.0 if started is None else self._clock() - started

    def stuck(self) -> bool:
        return self.busy_for() > self.limit_s
