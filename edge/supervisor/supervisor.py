"""Supervises the services as child processes, the way systemd does on the cart.

Each child gets its own $NOTIFY_SOCKET and $WATCHDOG_USEC, so it reports READY, STATUS,
WATCHDOG and STOPPING with exactly the code it runs under systemd. A child that exits, is not
ready in time, or stops pinging while ready (stuck) is killed and restarted with exponential
backoff, until its restart budget within the window is spent; then it is marked failed.
"""

from __future__ import annotations

import enum
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from edge.bus.endpoints import runtime_dir
from edge.config.loader import render_config
from edge.config.model import AppConfig
from edge.runtime.service import EXIT_CONFIG, PARENT_ENV

log = logging.getLogger("gma-edge.supervisor")


class ChildState(enum.Enum):
    STARTING = "starting"
    READY = "ready"
    BACKOFF = "backoff"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ChildView:
    """What the supervisor knows of one child, for display."""

    name: str
    state: ChildState
    pid: int | None
    restarts: int
    status: str


@dataclass
class _Child:
    name: str
    notify_path: Path
    notify: socket.socket
    state: ChildState = ChildState.STOPPED
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    last_ping: float = 0.0
    next_start: float = 0.0
    restarts: deque[float] = field(default_factory=deque)
    status: str = ""
    log_file: IO[bytes] | None = None


class Supervisor:
    """Starts, watches, restarts and stops the configured services."""

    def __init__(
        self,
        config: AppConfig,
        log_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.log_dir = log_dir
        self._clock = clock
        folder = runtime_dir(config)
        # Children read exactly this config, with the runtime folder made explicit and one
        # start for the simulated world, so that simulated devices agree on the infant.
        start_ns = time.monotonic_ns() if config.sim.start_ns is None else config.sim.start_ns
        effective = config.model_copy(
            update={"paths": config.paths.model_copy(update={"runtime_dir": folder}),
                    "sim": config.sim.model_copy(update={"start_ns": start_ns})}
        )
        self.config_path = folder / "effective-config.toml"
        self.config_path.write_text(render_config(effective), encoding="utf-8")
        self._selector = selectors.DefaultSelector()
        self._children: dict[str, _Child] = {}
        for name in config.supervisor.services:
            path = folder / f"notify-{name}"
            path.unlink(missing_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            sock.bind(str(path))
            sock.setblocking(False)
            self._children[name] = _Child(name=name, notify_path=path, notify=sock)
            self._selector.register(sock, selectors.EVENT_READ, name)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        for child in self._children.values():
            self._spawn(child)

    def poll(self, timeout_s: float) -> None:
        """Handle notifications for up to `timeout_s`, then check every child once."""
        for key, _ in self._selector.select(timeout_s):
            self._drain(self._children[key.data])
        now = self._clock()
        for child in self._children.values():
            self._check(child, now)

    def stop(self) -> None:
        """Stop the children in reverse start order, each within the stop timeout."""
        for child in reversed(list(self._children.values())):
            self._terminate(child)
            child.state = ChildState.STOPPED
        for child in self._children.values():
            self._selector.unregister(child.notify)
            child.notify.close()
            child.notify_path.unlink(missing_ok=True)
        self._selector.close()

    def all_ready(self) -> bool:
        return all(child.state is ChildState.READY for child in self._children.values())

    def any_failed(self) -> bool:
        return any(child.state is ChildState.FAILED for child in self._children.values())

    def snapshot(self) -> list[ChildView]:
        return [
            ChildView(
                name=child.name,
                state=child.state,
                pid=child.process.pid if child.process else None,
                restarts=len(child.restarts),
                status=child.status,
            )
            for child in self._children.values()
        ]

    # -- one child --------------------------------------------------------------------------

    def _spawn(self, child: _Child) -> None:
        env = dict(os.environ)
        env.update(
            NOTIFY_SOCKET=str(child.notify_path),
            WATCHDOG_USEC=str(int(self.config.runtime.watchdog_s * 1e6)),
            PYTHONUNBUFFERED="1",
        )
        env[PARENT_ENV] = str(os.getpid())
        env.pop("WATCHDOG_PID", None)
        command = [sys.executable, "-m", "edge", "service", child.name,
                   "--config", str(self.config_path)]
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            if child.log_file is None:
                child.log_file = (self.log_dir / f"{child.name}.log").open("ab")
            output = child.log_file
        # A session of its own: Ctrl-C reaches the supervisor only, which stops children in order.
        child.process = subprocess.Popen(
            command, env=env, stdout=output, stderr=output, start_new_session=True
        )
        child.state = ChildState.STARTING
        child.started_at = child.last_ping = self._clock()
        child.status = "starting"
        log.info("%s started (pid %d)", child.name, child.process.pid)

    def _drain(self, child: _Child) -> None:
        while True:
            try:
                data = child.notify.recv(4096)
            except BlockingIOError:
                return
            self._on_notify(child, data.decode(errors="replace"))

    def _on_notify(self, child: _Child, message: str) -> None:
        now = self._clock()
        for line in message.splitlines():
            key, _, value = line.partition("=")
            if key == "READY" and value == "1" and child.state is ChildState.STARTING:
                child.state = ChildState.READY
                child.last_ping = now
                log.info("%s ready after %.2f s", child.name, now - child.started_at)
            elif key == "WATCHDOG" and value == "1":
                child.last_ping = now
            elif key == "STATUS":
                child.status = value
            elif key == "STOPPING":
                child.status = "stopping"

    def _check(self, child: _Child, now: float) -> None:
        cfg = self.config.supervisor
        if child.state is ChildState.BACKOFF and now >= child.next_start:
            self._spawn(child)
            return
        if child.state not in (ChildState.STARTING, ChildState.READY) or child.process is None:
            return
        code = child.process.poll()
        if code is not None:
            if code == EXIT_CONFIG:
                log.error("%s cannot start with this config (exit %d): not restarting",
                          child.name, code)
                child.state = ChildState.FAILED
                child.status = "bad config"
                return
            self._restart(child, now, f"exited with code {code}")
        elif child.state is ChildState.STARTING and now - child.started_at > cfg.ready_timeout_s:
            self._restart(child, now, f"not ready after {cfg.ready_timeout_s:.0f} s")
        elif (child.state is ChildState.READY
              and now - child.last_ping > self.config.runtime.watchdog_s):
            self._restart(child, now, f"stuck: no watchdog ping for {now - child.last_ping:.1f} s")

    def _restart(self, child: _Child, now: float, reason: str) -> None:
        self._kill(child)
        cfg = self.config.supervisor
        while child.restarts and now - child.restarts[0] > cfg.restart_window_s:
            child.restarts.popleft()
        if len(child.restarts) >= cfg.restart_budget:
            child.state = ChildState.FAILED
            child.status = f"failed: {reason}"
            log.error("%s %s; %d restarts in %.0f s: giving up", child.name, reason,
                      len(child.restarts), cfg.restart_window_s)
            return
        delay = min(cfg.restart_backoff_s * 2 ** len(child.restarts), cfg.restart_backoff_max_s)
        child.restarts.append(now)
        child.state = ChildState.BACKOFF
        child.next_start = now + delay
        child.status = f"restarting in {delay:.1f} s: {reason}"
        log.warning("%s %s; restart %d in %.1f s", child.name, reason, len(child.restarts), delay)

    def _kill(self, child: _Child) -> None:
        if child.process is not None and child.process.poll() is None:
            child.process.kill()
            child.process.wait()

    def _terminate(self, child: _Child) -> None:
        process = child.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.config.runtime.stop_timeout_s)
            except subprocess.TimeoutExpired:
                log.error("%s did not stop within %.1f s: killed", child.name,
                          self.config.runtime.stop_timeout_s)
                process.kill()
                process.wait()
        if child.log_file is not None:
            child.log_file.close()
            child.log_file = None
