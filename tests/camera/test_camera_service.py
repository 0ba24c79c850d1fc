"""The camera service with each source: frames and calibration on the bus, on the host clock;
replay of recordings; raw video kept on request; a stopped stream; pyk4a over a fake of its
native module."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from service_thread import service_thread

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.pubsub import Delivery, Subscriber
from edge.bus.rpc import RpcClient
from edge.camera.messages import CalibrationMessage, CameraImuMessage, FrameMessage
from edge.camera.service import CameraService
from edge.config.model import AppConfig
from edge.errors import RpcRemoteError
from edge.geometry import parse_calibration
from edge.kinect import Capture, KinectRecording, KinectRecordingWriter, RecordingConfig
from edge.sim import draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "azure_kinect_nfov_mjpg720_5fps.mkv"


def configured(app_config: AppConfig, **camera: Any) -> AppConfig:
    data = app_config.model_dump(mode="json")
    data["camera"] = {**data["camera"], **camera}
    return AppConfig.model_validate(data)


def running(config: AppConfig, bus: Bus) -> AbstractContextManager[CameraService]:
    return service_thread(CameraService(config, bus))


def collect(subscriber: Subscriber[Any], count: int, timeout_s: float) -> list[Delivery[Any]]:
    got: list[Delivery[Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        delivery = subscriber.receive(0.1)
        if delivery is not None:
            got.append(delivery)
    return got


def test_simulated_frames_reach_the_bus_on_the_host_clock(
    app_config: AppConfig, bus: Bus, broker: BrokerService
) -> None:
    frames = Subscriber(bus, FrameMessage)
    imu = Subscriber(bus, CameraImuMessage)
    calibration = Subscriber(bus, CalibrationMessage)
    time.sleep(0.2)
    with running(configured(app_config, color="bgra"), bus):
        got = collect(frames, 20, 15.0)
        rpc = RpcClient(bus, "camera", timeout_s=5.0)
        answer = rpc.call("calibration")
        rpc.close()
    assert len(got) == 20
    first = got[0].message
    assert first.depth.shape == (576, 640) and first.depth.dtype == np.uint16
    assert first.color.shape == (720, 1280, 4) and first.color_format == "bgra"
    assert first.ir.shape == (0, 0)
    t_ns = np.array([d.t_ns for d in got])
    device = np.array([d.message.device_usec for d in got])
    assert np.all(np.diff(t_ns) > 0)
    # 30 fps on both clocks; host stamps are device stamps moved onto the host clock. In its
    # first second the clock model is still finding the lower envelope of the arrivals, and
    # each lower arrival moves it earlier: steps shrink by up to the arrival jitter. A host
    # too busy to take a capture loses it, as a real camera does: the device clock steps on
    # by whole frames.
    frames_per_step = np.diff(device) / (1e6 / 30)
    assert np.allclose(frames_per_step, np.round(frames_per_step), atol=1e-4)
    assert np.all(np.round(frames_per_step) >= 1)
    assert np.mean(np.round(frames_per_step) == 1) >= 0.5
    assert np.all(np.abs(np.diff(t_ns) / 1e3 - np.diff(device)) < 12_000)
    # A subscriber that falls behind on 4 MB frames loses some (its high-water mark), never
    # their order.
    index_steps = np.diff([d.message.index for d in got])
    assert np.all(index_steps >= 1) and np.mean(index_steps == 1) >= 0.5
    assert abs(time.monotonic_ns() - t_ns[-1]) < 2e9
    samples = collect(imu, 3, 2.0)
    assert samples and np.linalg.norm(samples[0].message.acc, axis=1).mean() == pytest.approx(
        9.8, abs=0.3)
    heard = collect(calibration, 1, 2.0)
    assert heard and heard[0].message.depth_mode == "NFOV_UNBINNED"
    parse_calibration(answer["calibration_json"])  # the same JSON the device ships
    for subscriber in (frames, imu, calibration):
        subscriber.close()


def write_recording(path: Path, frames: int = 12) -> list[np.ndarray]:
    """A multi-frame recording written by the project, from the simulated Kinect."""
    camera = SimulatedCamera(draw_subject(4, 0), options=CameraOptions(color_stride=4))
    depths = []
    with KinectRecordingWriter(path, RecordingConfig(fps=30, imu=False, ir=False),
                               calibration=camera.calibration_json(),
                               device_serial="000000000042") as writer:
        for index in range(frames):
            frame = camera.frame(index)
            writer.write_capture(Capture.at(frame.device_usec, depth=frame.depth,
                                            color=frame.color))
            depths.append(frame.depth)
    return depths


def test_a_recording_replays_at_its_fps_with_increasing_times(
    app_config: AppConfig, bus: Bus, broker: BrokerService, tmp_path: Path
) -> None:
    path = tmp_path / "written.mkv"
    depths = write_recording(path)
    frames = Subscriber(bus, FrameMessage)
    time.sleep(0.2)
    config = configured(app_config, source={"type": "mkv", "path": str(path), "loop": True},
                        color="jpeg")
    with running(config, bus):
        started = time.monotonic()
        got = collect(frames, 18, 10.0)
        elapsed = time.monotonic() - started
    frames.close()
    assert len(got) == 18
    assert 0.4 < elapsed < 1.5  # 18 frames at 30 fps: about 0.6 s
    # Bit-exact depth, frame by frame; a subscriber that joined late starts past frame 0, and
    # the loop goes on after frame 11, so each frame is matched by its own index.
    for delivery in got:
        assert np.array_equal(delivery.message.depth, depths[delivery.message.index % 12])
    assert len({d.message.index % 12 for d in got}) == 12  # every recorded frame came through
    assert got[0].message.color_format == "jpeg" and got[0].message.color.ndim == 1
    device = np.array([d.message.device_usec for d in got])
    assert np.all(np.diff(device) > 0)
    assert np.allclose(np.diff(device), 1e6 / 30, atol=2)
    assert np.all(np.diff([d.t_ns for d in got]) > 0)


def test_the_real_fixture_replays_through_the_service(
    app_config: AppConfig, bus: Bus, broker: BrokerService
) -> None:
    frames = Subscriber(bus, FrameMessage)
    time.sleep(0.2)
    config = configured(app_config, source={"type": "mkv", "path": str(FIXTURE), "speed": 0},
                        color="bgra")
    with running(config, bus) as service:
        got = collect(frames, 1, 5.0)
        assert "mkv" in service.status()
    frames.close()
    assert len(got) == 1
    depth = got[0].message.depth
    assert depth.shape == (576, 640) and 500 < np.median(depth[depth > 0]) < 2500
    assert got[0].message.color.shape == (720, 1280, 4)


def test_raw_video_is_kept_on_request_and_reads_back_identical(
    app_config: AppConfig, bus: Bus, broker: BrokerService, tmp_path: Path
) -> None:
    frames = Subscriber(bus, FrameMessage)
    time.sleep(0.2)
    raw = tmp_path / "session.mkv"
    with running(configured(app_config, keep_raw=True, color="none"), bus):
        rpc = RpcClient(bus, "camera", timeout_s=5.0)
        collect(frames, 3, 5.0)
        rpc.call("record_start", path=str(raw))
        got = collect(frames, 15, 5.0)
        rpc.call("record_stop")
        rpc.close()
    frames.close()
    with KinectRecording(raw) as recording:
        stored = list(recording.captures(color="none"))
        assert recording.device_serial == "sim000000000"
    by_time = {c.device_usec: c.depth for c in stored}
    published = {d.message.device_usec: d.message.depth for d in got}
    common = sorted(set(by_time) & set(published))
    assert len(common) >= 10
    assert all(np.array_equal(by_time[t], published[t]) for t in common)


def test_raw_video_is_refused_where_it_is_not_kept(
    app_config: AppConfig, bus: Bus, broker: BrokerService, tmp_path: Path
) -> None:
    with running(app_config, bus):
        rpc = RpcClient(bus, "camera", timeout_s=5.0)
        with pytest.raises(RpcRemoteError, match="keep_raw is off"):
            rpc.call("record_start", path=str(tmp_path / "no.mkv"))
        rpc.close()
    assert not (tmp_path / "no.mkv").exists()


def test_a_stream_that_stops_is_said_and_waited_out(
    app_config: AppConfig, bus: Bus, broker: BrokerService, tmp_path: Path
) -> None:
    path = tmp_path / "short.mkv"
    write_recording(path, frames=3)
    config = configured(app_config, source={"type": "mkv", "path": str(path)}, stall_s=0.3)
    with running(config, bus) as service:
        time.sleep(1.2)
        assert "no frames for" in service.status()


@pytest.fixture
def fake_pyk4a(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """pyk4a's Python code over the fake native module (pyk4a-bundle's own .so is not loaded)."""
    from fake_k4a_module import FakeK4aModule

    fake = FakeK4aModule()
    loaded = {name for name in sys.modules if name.split(".")[0] == "pyk4a"}
    monkeypatch.setitem(sys.modules, "k4a_module", fake)
    try:
        import pyk4a
    except ImportError:
        pytest.skip("pyk4a is not installed")
    for name, module in list(sys.modules.items()):
        if (name == "pyk4a" or name.startswith("pyk4a.")) and hasattr(module, "k4a_module"):
            monkeypatch.setattr(module, "k4a_module", fake)
    assert pyk4a.connected_device_count() == 1
    yield fake
    # pyk4a imported over the fake must not serve a later test that wants the real library.
    for name in [n for n in sys.modules if n.split(".")[0] == "pyk4a" and n not in loaded]:
        del sys.modules[name]


def test_the_k4a_source_drives_pyk4a_as_configured(
    app_config: AppConfig, bus: Bus, broker: BrokerService, fake_pyk4a: Any
) -> None:
    import pyk4a

    frames = Subscriber(bus, FrameMessage)
    imu = Subscriber(bus, CameraImuMessage)
    time.sleep(0.2)
    config = configured(app_config, source={"type": "k4a", "fps": 30, "serial": "000123401912"},
                        ir=True, color="bgra")
    with running(config, bus) as service:
        got = collect(frames, 5, 10.0)
        assert "000123401912" in service.status()
        samples = collect(imu, 1, 2.0)
    frames.close()
    imu.close()
    color_format, resolution, depth_mode, fps, synchronised = fake_pyk4a.started_with[:5]
    assert color_format == pyk4a.ImageFormat.COLOR_BGRA32
    assert resolution == pyk4a.ColorResolution.RES_720P
    assert depth_mode == pyk4a.DepthMode.NFOV_UNBINNED and fps == pyk4a.FPS.FPS_30
    assert synchronised and fake_pyk4a.stopped and fake_pyk4a.opened == 0
    assert len(got) == 5 and got[0].message.ir.shape == (576, 640)
    assert np.all(np.diff([d.message.device_usec for d in got]) > 0)
    assert samples and samples[0].message.temperature_c is not None


def test_a_kinect_that_will_not_start_says_what_to_check(
    app_config: AppConfig, bus: Bus, fake_pyk4a: Any
) -> None:
    from edge.errors import CameraUnavailable

    fake_pyk4a.fail_start = True
    service = CameraService(configured(app_config, source={"type": "k4a"}), bus)
    with pytest.raises(CameraUnavailable, match="USB 3 cable"):
        service.configure()
    fake_pyk4a.devices = 0
    with pytest.raises(CameraUnavailable, match="no Kinect is connected"):
        CameraService(configured(app_config, source={"type": "k4a"}), bus).configure()
    service.close()


def test_the_fixture_is_where_the_tests_expect_it() -> None:
    assert FIXTURE.exists() and shutil.disk_usage(FIXTURE.parent).free > 0
