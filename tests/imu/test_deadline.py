"""`within`: wait_for's result and timeout, without dropping a cancel that arrives as the
awaited thing completes (Python 3.10's and 3.11's wait_for does)."""

from __future__ import annotations

import asyncio

import pytest

from edge.imu.deadline import within


def test_the_result_comes_back_and_a_late_one_is_a_timeout() -> None:
    async def main() -> None:
        assert await within(asyncio.sleep(0.01, result=7), 1.0) == 7
        slow = asyncio.ensure_future(asyncio.sleep(10))
        with pytest.raises(TimeoutError):
            await within(slow, 0.05)
        await asyncio.sleep(0)
        assert slow.cancelled()

    asyncio.run(main())


def test_a_cancel_as_the_awaited_thing_completes_still_cancels() -> None:
    async def main() -> bool:
        loop = asyncio.get_running_loop()
        answer = loop.create_future()

        async def waiter() -> None:
            await within(answer, 5.0)
            await asyncio.sleep(5)  # the "runs on" a dropped cancel would lead to

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.01)  # the waiter waits
        answer.set_result(1)  # the answer and the cancel in the same loop iteration
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        return bool(done) and task.cancelled()

    assert asyncio.run(main())
