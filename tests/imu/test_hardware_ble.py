"""Against real Movesense sensors over BlueZ: run with `pytest --hardware ble` on a machine
with a Bluetooth adapter and a sensor running the GATT sensor-data firmware, switched on and
in range. GMA_EDGE_TEST_SENSOR names its 12-digit serial (else the strongest one heard)."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

from edge.imu.backends.ble import BleRadio
from edge.imu.config import ImuConfig
from edge.imu.discovery import Discovery
from edge.imu.link import LinkState, SensorLink, settings_from
from edge.imu.messages import ImuMessage

pytestmark = pytest.mark.hardware("ble")


def test_a_real_sensor_is_found_streams_and_is_checked_against_the_profile() -> None:
    radio = BleRadio(os.environ.get("GMA_EDGE_TEST_ADAPTER"))
    received: list[ImuMessage] = []

    async def main() -> SensorLink:
        discovery = Discovery(adapter=radio.adapter)
        heard = await discovery.scan(5.0)
        assert heard, "no Movesense heard: is one switched on and in range?"
        wanted = os.environ.get("GMA_EDGE_TEST_SENSOR") or heard[0].serial
        link = SensorLink("left_wrist", wanted, radio, discovery,
                          settings_from(ImuConfig(rate_hz=104)), received.append)
        task = asyncio.create_task(link.run())
        await asyncio.sleep(10.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await discovery.close()
        return link

    link = asyncio.run(main())
    assert link.state is LinkState.STREAMING, link.message
    assert link.firmware, "the firmware revision was not read"
    samples = sum(len(m.t_ns) for m in received)
    assert samples > 104 * 5
    acc = np.concatenate([m.acc for m in received])
    assert 8.5 < float(np.median(np.linalg.norm(acc, axis=1))) < 11.0  # lying still: 1 g
    t_ns = np.concatenate([m.t_ns for m in received])
    assert np.all(np.diff(t_ns) > 0)
    assert link.clock.quality.uncertainty_ns < 5_000_000
