"""ServiceRunner in this process: notifications in order, failures, stops, the stuck watchdog.

ServiceRunner.run installs signal handlers, which Python allows only in the main thread, so
these tests run it in the test's own thread and drive the scenario from a helper thread.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.config.model import AppConfig
from edge.errors import EndpointError, MessageError
from edge.runtime.notify import Notifier
from edge.runtime.service import EXIT_FAILURE, PARENT_ENV, Service, ServiceRunner


class Recorder:
    """A Notifier's send function that remembers what was sent, and when."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []

    def __call__(self, state: str) -> None:
        self.sent.append((time.monotonic(), state))

    def states(self) -> list[str]:
        return [state.split("\n")[0] for _, state in self.sent]

    def pings(self) -> list[float]:
        return [t for t, state in self.sent if state.startswith("WATCHDOG=1")]


class Scripted(Service):
    """A service whose steps wait a little, or hang while told to, or fail."""

    name = "telemetry"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self.hang = threading.Event()
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.fail_with: BaseException | None = None
        self.fail_configure: BaseException | None = None
        self.closed = 0
        self.close_takes_s = 0.0

    def configure(self) -> None:
        if self.fail_configure is not None:
            raise self.fail_configure

    def step(self, stop: threading.Event) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if self.hang.is_set():
            self.hanging.set()
            self.release.wait(10)  # stuck: not even a stop is seen here
            self.hang.clear()
        stop.wait(0.01)

    def status(self) -> str:
        return "scripted"

    def close(self) -> None:
        time.sleep(self.close_takes_s)
        self.closed += 1


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No watchdog or supervisor of ours, and the signal handlers as they were afterwards."""
    for name in ("WATCHDOG_USEC", "WATCHDOG_PID", PARENT_ENV, "NOTIFY_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def with_runtime(config: AppConfig, **runtime: float) -> AppConfig:
    return config.model_copy(update={"runtime": config.runtime.model_copy(update=runtime)})


def run_while(runner: ServiceRunner, scenario: Callable[[], object], limit_s: float = 15) -> int:
    """Run the service here while `scenario` plays in a thread; then stop it (bounded)."""
    errors: list[BaseException] = []

    def play() -> None:
        try:
            scenario()
        except BaseException as exc:
            errors.append(exc)
        finally:
            runner.stop.set()

    thread = threading.Thread(target=play, daemon=True)
    watchdog = threading.Timer(limit_s, runner.stop.set)  # never let a test hang the session
    thread.start()
    watchdog.start()
    try:
        code = runner.run()
    finally:
        watchdog.cancel()
        thread.join(5)
    if errors:
        raise errors[0]
    return code


def test_ready_status_and_stopping_in_order(app_config: AppConfig, bus: Bus) -> None:
    recorder = Recorder()
    service = Scripted(app_config, bus)
    runner = ServiceRunner(service, Notifier(recorder))
    assert run_while(runner, lambda: time.sleep(0.2)) == 0
    states = recorder.states()
    assert states[0] == "READY=1"
    assert recorder.sent[0][1] == "READY=1\nSTATUS=scripted"
    assert states[-1] == "STOPPING=1"
    assert states.count("READY=1") == 1
    assert service.closed == 1


def test_a_service_that_cannot_start_says_why_and_never_reports_ready(
    app_config: AppConfig, bus: Bus
) -> None:
    recorder = Recorder()
    service = Scripted(app_config, bus)
    service.fail_configure = EndpointError("cannot bind ipc:///x: Address in use")
    runner = ServiceRunner(service, Notifier(recorder))
    assert runner.run() == EXIT_FAILURE
    assert recorder.states() == ["STATUS=failed: cannot bind ipc:///x: Address in use"]
    assert service.closed == 1  # a half-finished start cleans up after itself


def test_a_broker_whose_port_is_taken_fails_to_start(short_dir: Path) -> None:
    taken: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
    port = taken.bind_to_random_port("tcp://127.0.0.1", min_port=20000, max_port=60000)
    config = AppConfig.model_validate(
        {"paths": {"runtime_dir": str(short_dir)},
         "bus": {"transport": "tcp", "tcp_base_port": port}}
    )
    recorder = Recorder()
    try:
        runner = ServiceRunner(BrokerService(config, Bus.from_config(config)), Notifier(recorder))
        assert runner.run() == EXIT_FAILURE
    finally:
        taken.close(0)
    [state] = recorder.states()
    assert state.startswith("STATUS=failed: cannot bind tcp://127.0.0.1:")


@pytest.mark.parametrize("error", [MessageError("bad"), RuntimeError("bug")])
def test_a_step_that_raises_ends_the_service_with_failure(
    app_config: AppConfig, bus: Bus, error: BaseException
) -> None:
    recorder = Recorder()
    service = Scripted(app_config, bus)
    service.fail_with = error
    runner = ServiceRunner(service, Notifier(recorder))
    assert run_while(runner, lambda: runner.stop.wait(10)) == EXIT_FAILURE
    assert recorder.states()[0] == "READY=1"
    assert recorder.states()[-1] == "STOPPING=1"
    assert service.closed == 1


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_stop_signal_stops_the_loop_within_the_bound(
    app_config: AppConfig, bus: Bus, stop_signal: int
) -> None:
    config = with_runtime(app_config, stop_timeout_s=1.0)
    service = Scripted(config, bus)
    runner = ServiceRunner(service, Notifier(None))
    sent_at: list[float] = []

    def send() -> None:
        time.sleep(0.2)
        sent_at.append(time.monotonic())
        os.kill(os.getpid(), stop_signal)
        # Not runner.stop.set() by the scenario: give the signal the chance to do it.
        deadline = time.monotonic() + 5
        while not runner.stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)

    assert run_while(runner, send) == 0
    assert time.monotonic() - sent_at[0] < config.runtime.stop_timeout_s
    assert service.closed == 1


def test_a_stop_signal_while_the_main_thread_holds_the_stop_events_lock(
    short_dir: Path,
) -> None:
    # A signal handler runs on the main thread between two bytecodes, which can be inside
    # stop.wait() with the event's own lock held. A handler that took that lock would deadlock
    # the service, and SIGTERM would never stop it. This plays that moment deterministically.
    script = textwrap.dedent(f"""
        import os, signal, time
        from edge.bus.context import Bus
        from edge.config.model import AppConfig
        from edge.runtime.notify import Notifier
        from edge.runtime.service import Service, ServiceRunner

        class HoldsTheLock(Service):
            name = "telemetry"

            def step(self, stop):
                with stop._cond:  # what the main thread holds inside stop.wait()
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(0.05)  # the handler runs here, with the lock held
                stop.wait(0.01)

        config = AppConfig.model_validate({{"paths": {{"runtime_dir": "{short_dir}"}}}})
        runner = ServiceRunner(HoldsTheLock(config, Bus.from_config(config)), Notifier(None))
        raise SystemExit(runner.run())
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    try:
        _, stderr = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()  # SIGTERM would be caught by the deadlocked handler
        process.communicate()
        pytest.fail("the service deadlocked in its SIGTERM handler")
    assert process.returncode == 0, stderr.decode()


def test_the_service_stops_when_its_supervisor_is_gone(
    app_config: AppConfig, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PARENT_ENV, "2147483646")  # not our parent: the supervisor is gone
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    runner = ServiceRunner(Scripted(app_config, bus), Notifier(None))
    timer = threading.Timer(10, runner.stop.set)
    timer.start()
    started = time.monotonic()
    try:
        assert runner.run() == 0
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3.0, "the orphan did not notice"


def test_a_close_over_its_bound_is_reported(
    app_config: AppConfig, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    config = with_runtime(app_config, stop_timeout_s=0.05)
    service = Scripted(config, bus)
    service.close_takes_s = 0.15
    runner = ServiceRunner(service, Notifier(None))
    with caplog.at_level(logging.WARNING, logger="gma-edge.telemetry"):
        assert run_while(runner, lambda: None) == 0
    assert any(r.getMessage().startswith("close took") and "bound" in r.getMessage()
               for r in caplog.records)


def test_no_watchdog_pings_while_a_step_is_stuck(
    app_config: AppConfig, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 0.05 s
    config = with_runtime(app_config, watchdog_s=0.3)
    recorder = Recorder()
    service = Scripted(config, bus)
    runner = ServiceRunner(service, Notifier(recorder))
    marks: dict[str, float] = {}

    def scenario() -> None:
        time.sleep(0.4)
        marks["hang"] = time.monotonic()
        service.hang.set()
        assert service.hanging.wait(5)
        time.sleep(1.2)
        marks["release"] = time.monotonic()
        service.release.set()
        time.sleep(0.5)
        marks["end"] = time.monotonic()

    assert run_while(runner, scenario) == 0
    pings = recorder.pings()
    hang, release, end = marks["hang"], marks["release"], marks["end"]
    assert [t for t in pings if t < hang], "no pings while healthy"
    # Busy, but not yet for longer than the limit: still alive.
    assert [t for t in pings if hang < t < hang + 0.2], "no pings while merely busy"
    # Stuck (beyond the limit, plus one ping period of slack): silence.
    stuck_from = hang + config.runtime.watchdog_s + 0.1
    assert release - stuck_from > 0.7
    assert not [t for t in pings if stuck_from < t < release], "pinged while stuck"
    # Unstuck: pings again.
    assert [t for t in pings if release < t < end], "no pings after the step returned"
