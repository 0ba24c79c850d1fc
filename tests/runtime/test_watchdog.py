"""WorkStamp tells a stuck loop from a busy one: only one unit of work longer than the limit."""

from __future__ import annotations

import threading

import pytest

from edge.runtime.watchdog import WorkStamp


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stuck_only_inside_a_unit_longer_than_the_limit() -> None:
    clock = Clock()
    stamp = WorkStamp(limit_s=5.0, clock=clock)
    assert not stamp.stuck()
    assert stamp.busy_for() == 0.0
    with stamp.unit():
        clock.now += 4.9
        assert not stamp.stuck()  # busy, not stuck
        clock.now += 0.1
        assert not stamp.stuck()  # exactly the limit is still allowed
        clock.now += 0.01
        assert stamp.stuck()
        assert stamp.busy_for() == pytest.approx(5.01)
    assert not stamp.stuck()
    clock.now += 1000.0
    assert not stamp.stuck()  # idling between units is never stuck


def test_many_short_units_never_add_up_to_stuck() -> None:
    clock = Clock()
    stamp = WorkStamp(limit_s=1.0, clock=clock)
    for _ in range(100):
        with stamp.unit():
            clock.now += 0.5
            assert not stamp.stuck()


def test_each_unit_starts_its_own_stamp() -> None:
    clock = Clock()
    stamp = WorkStamp(limit_s=1.0, clock=clock)
    with stamp.unit():
        clock.now += 0.9
    clock.now += 5.0
    with stamp.unit():
        clock.now += 0.9
        assert not stamp.stuck()
        assert stamp.busy_for() == pytest.approx(0.9)


def test_a_unit_that_raises_clears_the_stamp() -> None:
    clock = Clock()
    stamp = WorkStamp(limit_s=1.0, clock=clock)
    with pytest.raises(RuntimeError), stamp.unit():
        raise RuntimeError("the step failed")
    clock.now += 10.0
    assert not stamp.stuck()


def test_another_thread_sees_the_stamp() -> None:
    clock = Clock()
    stamp = WorkStamp(limit_s=1.0, clock=clock)
    inside, leave = threading.Event(), threading.Event()

    def work() -> None:
        with stamp.unit():
            inside.set()
            leave.wait(5)

    worker = threading.Thread(target=work)
    worker.start()
    assert inside.wait(5)
    clock.now += 2.0
    assert stamp.stuck()  # as the pinger thread sees it
    leave.set()
    worker.join(5)
    assert not stamp.stuck()
