"""A service driven in a thread of the test, as ServiceRunner drives it in its own process.

ServiceRunner.run installs signal handlers, which Python allows only in the main thread, so the
thread drives the lifecycle itself: configure, warm up, step until stopped, close.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from edge.runtime.service import Service

S = TypeVar("S", bound=Service)


@contextmanager
def service_thread(service: S) -> Iterator[S]:
    """`service` running until the block ends; a failure in its loop fails the test."""
    service.configure()
    service.warm_up()
    stop = threading.Event()
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            while not stop.is_set():
                service.step(stop)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=loop, name=service.name, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        stop.set()
        thread.join(10)
        service.close()
    assert not thread.is_alive(), f"{service.name} did not stop"
    assert not failure, f"{service.name} failed: {failure[0]!r}"
