"""The simulated cart: one world on the host clock, the same in every process, infant after
infant."""

from __future__ import annotations

import numpy as np

from edge.imu import gsp
from edge.sim import SubjectOptions
from edge.sim.mounting import POSITIONS
from edge.sim.scene import Scene, SceneOptions

OPTIONS = SceneOptions(seed=8, subject=SubjectOptions(duration_s=30.0))
START = 5000.0


def test_two_scenes_from_one_config_are_one_world() -> None:
    first, second = Scene(OPTIONS, start_s=START), Scene(OPTIONS, start_s=START)
    t = START + np.linspace(1.0, 50.0, 300)
    for position in POSITIONS:
        assert all(np.array_equal(a, b) for a, b in zip(
            first.imu_samples(position, t), second.imu_samples(position, t), strict=True))
    assert first.sensors == second.sensors
    frame, _ = first.frame(1, 12)
    assert np.array_equal(frame.depth, second.frame(1, 12)[0].depth)
    serials = {sensor.serial for sensor in first.sensors.values()}
    assert len(serials) == 4 and all(len(s) == 12 and s.isdigit() for s in serials)


def test_each_episode_is_the_next_infant_and_starts_on_time() -> None:
    scene = Scene(OPTIONS, start_s=START)
    assert scene.episode_index(START - 3.0) == 0
    assert scene.episode_index(START + 29.9) == 0 and scene.episode_index(START + 30.0) == 1
    assert scene.episode(1).subject.index == 1 and scene.episode(1).start_s == START + 30.0
    _, t_host = scene.frame(1, 0)
    assert t_host == START + 30.0
    # A sample of episode 1 is what that infant's own sensor reads at its own time.
    t = np.array([START + 31.0, START + 45.5])
    own = scene.episode(1).imus["left_ankle"].samples(t)
    assert all(np.array_equal(a, b)
               for a, b in zip(scene.imu_samples("left_ankle", t), own, strict=True))
    scene.episode(2)
    scene.episode(3)
    assert 1 not in scene._episodes  # only the latest are kept


def test_a_sensor_of_the_scene_streams_its_infant_in_gsp() -> None:
    scene = Scene(OPTIONS, start_s=START)
    sensor = scene.movesense("right_wrist")
    assert sensor.name == f"Movesense {scene.sensors['right_wrist'].serial}"
    assert sensor.command(gsp.encode_subscribe(7, "/Meas/IMU9/104"), START + 1.0) == []
    notifications = sensor.advance(START + 2.0)
    assert notifications
    reassembler = gsp.Reassembler()
    packets = [p for n in notifications if isinstance(p := reassembler.feed(n), gsp.DataPacket)]
    assert len(packets) == 13  # 104 Hz in packets of 8, for a second
    samples = gsp.decode_samples(packets[0].payload, gsp.StreamPath.parse("/Meas/IMU9/104"))
    assert 8.0 < float(np.linalg.norm(samples.acc, axis=1).mean()) < 11.5


def test_the_radio_puts_the_four_sensors_on_the_air() -> None:
    radio = Scene(OPTIONS, start_s=START).radio()
    names = sorted(p.sensor.name for p in radio.peripherals)
    assert len(names) == 4 and all(name.startswith("Movesense 2318") for name in names)
