"""The lifecycle every service shares: configure, warm up, report ready, run, stop in bounds.

A service implements the steps; `ServiceRunner` drives them, turns SIGTERM and SIGINT into a
stop, keeps the watchdog stamp around each unit of work and tells systemd (or the supervisor)
what is going on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from types import FrameType
from typing import ClassVar

from edge.bus.context import Bus
from edge.config.model import AppConfig
from edge.errors import ConfigError, EdgeError
from edge.runtime.logs import service_logger
from edge.runtime.notify import Notifier, watchdog_interval_s
from edge.runtime.watchdog import WorkStamp

# sysexits.h EX_CONFIG: systemd units list it in RestartPreventExitStatus= and the supervisor
# gives up at once, because restarting cannot fix a bad config.
EXIT_CONFIG = 78
EXIT_FAILURE = 1
# Set by the supervisor: a child whose parent is gone stops instead of living on as an orphan.
PARENT_ENV = "GMA_EDGE_SUPERVISOR_PID"

_STATUS_PERIOD_S = 1.0


def start_failure_status(exc: EdgeError) -> int:
    """EX_CONFIG for a bad config, or a bad file it names (a placement protocol, a sensor
    profile): restarting cannot fix those, so the supervisor and systemd must not try."""
    return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILURE


class Service(ABC):
    """One process of the appliance. `step` is one bounded unit of work; the loop is ours."""

    name: ClassVar[str]

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        self.config = config
        self.bus = bus
        self.log = service_logger(self.name)

    def configure(self) -> None:
        """Open what the service needs (sockets, devices); raise EdgeError if it cannot."""

    def warm_up(self) -> None:
        """Make the first real unit of work as fast as the rest; runs before READY."""

    @abstractmethod
    def step(self, stop: threading.Event) -> None:
        """Do one unit of work; wait on `stop`, not on sleep, so a stop is seen at once."""

    def status(self) -> str:
        """One line for systemd's STATUS= and the supervisor; called from another thread."""
        return ""

    def close(self) -> None:
        """Release what configure opened; must finish within the stop timeout."""


class ServiceRunner:
    """Drives a Service through its lifecycle in this process and returns an exit code."""

    def __init__(self, service: Service, notifier: Notifier | None = None) -> None:
        self.service = service
        self.notifier = notifier or Notifier.from_environment()
        self.stop = threading.Event()
        self.stamp = WorkStamp(service.config.runtime.watchdog_s)
        self.log = service.log
        self._wake: int | None = None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Python runs this in the main thread between two bytecodes, possibly while that thread
        # holds the lock inside `stop` (in stop.wait()): calling stop.set() here could deadlock.
        # So the handler only writes to a pipe, which takes no lock, and a thread sets `stop`.
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(OSError):
                os.write(wake, bytes([signum]))

    def _stop_on_signal(self, wake_r: int) -> None:
        with os.fdopen(wake_r, "rb", buffering=0) as pipe:
            while signum := pipe.read(1):  # empty once run() closed the other end
                self.log.info("received %s: stopping", signal.Signals(signum[0]).name)
                self.stop.set()

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        self._wake = wake_w
        threading.Thread(
            target=self._stop_on_signal, args=(wake_r,), name="signals", daemon=True
        ).start()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            return self._run()
        finally:
            self._wake = None
            os.close(wake_w)

    def _run(self) -> int:
        try:
            self.service.configure()
            self.service.warm_up()
        except EdgeError as exc:
            self.log.error("cannot start: %s", exc)
            self.notifier.status(f"failed: {exc}")
            self._close()
            return start_failure_status(exc)
        self.notifier.ready(self.service.status())
        self.log.info("ready")
        pinger = threading.Thread(target=self._ping, name="watchdog", daemon=True)
        pinger.start()
        code = 0
        try:
            while not self.stop.is_set():
                with self.stamp.unit():
                    self.service.step(self.stop)
        except EdgeError as exc:
            self.log.error("stopped by an error: %s", exc)
            code = EXIT_FAILURE
        except Exception:
            self.log.exception("crashed")
            code = EXIT_FAILURE
        self.stop.set()
        self.notifier.stopping()
        self._close()
        pinger.join(timeout=1.0)
        self.log.info("stopped")
        return code

    def _close(self) -> None:
        started = time.monotonic()
        try:
            self.service.close()
        except Exception:
            self.log.exception("close failed")
        took = time.monotonic() - started
        if took > self.service.config.runtime.stop_timeout_s:
            self.log.warning("close took %.1f s, over the %.1f s bound", took,
                             self.service.config.runtime.stop_timeout_s)

    def _ping(self) -> None:
        interval = min(watchdog_interval_s() or _STATUS_PERIOD_S, _STATUS_PERIOD_S)
        reported_stuck = False
        parent = os.environ.get(PARENT_ENV)
        while not self.stop.wait(interval):
            if parent and str(os.getppid()) != parent:
                self.log.error("the supervisor (pid %s) is gone: stopping", parent)
                self.stop.set()
                return
            if self.stamp.stuck():
                if not reported_stuck:
                    self.log.error("stuck for %.1f s in one unit of work", self.stamp.busy_for())
                    reported_stuck = True
                continue
            reported_stuck = False
            self.notifier.notify(f"WATCHDOG=1\nSTATUS={self.service.status()}")

