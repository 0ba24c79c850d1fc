"""The supervisor restarts what dies or hangs, gives up after its budget, and stops in order."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.config.model import AppConfig
from edge.supervisor import ChildState, ChildView, Supervisor


def make_config(folder: Path, **supervisor: object) -> AppConfig:
    return AppConfig.model_validate(
        {
            "paths": {"runtime_dir": str(folder / "run"), "data_dir": str(folder / "data")},
            "runtime": {"watchdog_s": 2.0, "stop_timeout_s": 3.0},
            "supervisor": {
                "services": ["bus"],
                "restart_backoff_s": 0.05,
                "restart_backoff_max_s": 0.2,
                **supervisor,
            },
        }
    )


def poll_until(
    supervisor: Supervisor, condition: Callable[[ChildView], bool], timeout_s: float = 15.0
) -> ChildView:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        supervisor.poll(0.05)
        view = supervisor.snapshot()[0]
        if condition(view):
            return view
    raise AssertionError(f"condition not met within {timeout_s} s: {supervisor.snapshot()}")


def test_restarts_a_child_killed_with_sigkill(short_dir: Path) -> None:
    supervisor = Supervisor(make_config(short_dir))
    supervisor.start()
    try:
        first = poll_until(supervisor, lambda v: v.state is ChildState.READY)
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        second = poll_until(
            supervisor, lambda v: v.state is ChildState.READY and v.pid != first.pid
        )
        assert second.restarts == 1
    finally:
        supervisor.stop()
    assert supervisor.snapshot()[0].state is ChildState.STOPPED


def test_gives_up_after_its_restart_budget(short_dir: Path) -> None:
    # The broker cannot bind a tcp port that is taken, so every start fails.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    config = make_config(short_dir, restart_budget=2)
    config = config.model_copy(
        update={"bus": config.bus.model_copy(update={"transport": "tcp", "tcp_base_port": port})}
    )
    supervisor = Supervisor(config)
    supervisor.start()
    try:
        failed = poll_until(supervisor, lambda v: v.state is ChildState.FAILED, timeout_s=30)
        assert failed.restarts == 2
        assert "exited with code 1" in failed.status
        assert supervisor.any_failed()
        supervisor.poll(0.5)  # a failed child stays failed: no restart after the budget
        assert supervisor.snapshot()[0].state is ChildState.FAILED
    finally:
        supervisor.stop()
        blocker.close()


def test_a_stuck_child_is_killed_and_restarted(short_dir: Path) -> None:
    supervisor = Supervisor(make_config(short_dir))
    supervisor.start()
    try:
        first = poll_until(supervisor, lambda v: v.state is ChildState.READY)
        assert first.pid is not None
        os.kill(first.pid, signal.SIGSTOP)  # alive but silent: no more watchdog pings
        restarted = poll_until(supervisor, lambda v: v.restarts == 1)
        assert "stuck" in restarted.status
        poll_until(supervisor, lambda v: v.state is ChildState.READY and v.pid != first.pid)
    finally:
        supervisor.stop()


def test_a_child_rejecting_its_config_is_not_restarted(short_dir: Path) -> None:
    supervisor = Supervisor(make_config(short_dir))
    supervisor.config_path.write_text("[bus]\ntransport = 'carrier-pigeon'\n")
    supervisor.start()
    try:
        failed = poll_until(supervisor, lambda v: v.state is ChildState.FAILED)
        assert failed.restarts == 0
        assert failed.status == "bad config"
    finally:
        supervisor.stop()


def test_children_get_their_own_session_and_a_readable_effective_config(short_dir: Path) -> None:
    supervisor = Supervisor(make_config(short_dir))
    supervisor.start()
    try:
        ready = poll_until(supervisor, lambda v: v.state is ChildState.READY)
        assert ready.pid is not None
        # Ctrl-C in a terminal reaches the supervisor only; it stops the children in order.
        assert os.getsid(ready.pid) == ready.pid
        text = supervisor.config_path.read_text()
        assert f'runtime_dir = "{short_dir / "run"}"' in text
    finally:
        supervisor.stop()
    assert not (short_dir / "run" / "notify-bus").exists()


def test_stop_terminates_within_the_bound(short_dir: Path) -> None:
    supervisor = Supervisor(make_config(short_dir))
    supervisor.start()
    poll_until(supervisor, lambda v: v.state is ChildState.READY)
    pid = supervisor.snapshot()[0].pid
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 3.0
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
