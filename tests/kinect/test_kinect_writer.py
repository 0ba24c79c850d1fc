"""Recordings the appliance writes read back identical, through our reader and through PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from kinect_samples import REAL, REAL_CALIBRATION, SMALL, imu_sample, write_recording

from edge.errors import RecordingError, StreamLayoutError
from edge.geometry import ColorResolution, DepthMode
from edge.kinect import (
    Capture,
    ColorFormat,
    ImuSample,
    KinectRecording,
    KinectRecordingWriter,
    RecordingConfig,
    TrackName,
    ebml,
)
from edge.kinect.demux import MatroskaFile


def test_a_written_recording_reads_back_identical(tmp_path: Path) -> None:
    written, _ = write_recording(tmp_path / "r.mkv", frames=10, tags={"GMA_SESSION": "S-17"})
    with KinectRecording(written.path) as recording:
        assert recording.config == RecordingConfig(
            fps=30, depth_mode=DepthMode.NFOV_2X2BINNED, color_format=ColorFormat.MJPG,
            color_resolution=ColorResolution.RES_720P, ir=True, imu=True,
            start_timestamp_offset_usec=written.imu[0].acc_usec,
        )
        assert recording.finalised
        assert recording.device_serial == "000000424242"
        assert recording.tags["GMA_SESSION"] == "S-17"
        assert recording.tags["K4A_COLOR_MODE"] == "MJPG_720P"
        assert recording.tags["K4A_DEPTH_MODE"] == "NFOV_2X2BINNED"
        assert recording.tags["K4A_IR_MODE"] == "ACTIVE"
        assert recording.calibration_json == REAL_CALIBRATION
        assert recording.calibration().depth.sensor_width == 1024
        captures = list(recording.captures())
        imu = list(recording.imu_samples())
        newest = max(written.captures[-1].device_usec, written.imu[-1].acc_usec)
        assert recording.duration_usec == newest - written.imu[0].acc_usec
    assert len(captures) == len(written.captures)
    for got, sent in zip(captures, written.captures, strict=True):
        assert got.depth is not None and sent.depth is not None and sent.ir is not None
        assert np.array_equal(got.depth, sent.depth)  # bit-exact
        assert np.array_equal(got.ir, sent.ir)
        assert got.depth_usec == got.color_usec == got.ir_usec == sent.device_usec
        assert got.color is not None and sent.color is not None
        assert np.abs(got.color.astype(int) - sent.color).mean() < 3  # JPEG, quality 90
    assert imu == written.imu  # exact, timestamps and float32 values


def test_it_replays_at_its_frame_rate_with_increasing_timestamps(tmp_path: Path) -> None:
    written, _ = write_recording(tmp_path / "r.mkv", frames=6)
    with KinectRecording(written.path) as recording:
        events = list(recording.replay(color="none", loops=2))
    stamps = [event.timestamp_usec for event in events]
    assert stamps == sorted(stamps)
    captures = [e.timestamp_usec for e in events if isinstance(e.item, Capture)]
    assert len(captures) == 12
    assert set(np.diff(captures)) <= {33_333, 33_334}  # 30 fps, across the loop too
    assert [e.loop for e in events if isinstance(e.item, Capture)] == [0] * 6 + [1] * 6
    assert sum(isinstance(e.item, ImuSample) for e in events) == 2 * len(written.imu)


def test_pyav_recognises_the_tracks_and_decodes_depth_the_same(tmp_path: Path) -> None:
    written, _ = write_recording(tmp_path / "r.mkv", frames=3)
    with av.open(str(written.path)) as container:
        streams = {s.metadata.get("title"): s for s in container.streams}
        assert streams["COLOR"].codec_context.name == "mjpeg"
        assert (streams["COLOR"].codec_context.width, streams["COLOR"].codec_context.height) \
            == (1280, 720)
        for name in ("DEPTH", "IR"):
            context = streams[name].codec_context
            assert (context.name, context.pix_fmt) == ("rawvideo", "gray16be")
            assert (context.width, context.height) == (320, 288)
            assert context.codec_tag == "b16g"
        assert streams["IMU"].type == "subtitle"
        assert streams["DEPTH"].metadata["K4A_DEPTH_MODE"] == "NFOV_2X2BINNED"
        assert container.metadata["K4A_DEVICE_SERIAL_NUMBER"] == "000000424242"
        attachment = container.streams.attachments[0]
        assert attachment.name == "calibration.json"
        assert attachment.data == REAL_CALIBRATION.encode()
        colour = next(container.decode(streams["COLOR"]))
        assert colour.to_ndarray(format="bgra").shape == (720, 1280, 4)
    with av.open(str(written.path)) as container:
        depth = next(s for s in container.streams if s.metadata.get("title") == "DEPTH")
        frames = list(container.decode(depth))
        assert len(frames) == 3
        assert np.array_equal(frames[1].to_ndarray(), written.captures[1].depth)


def test_the_real_recording_remuxes_byte_for_byte(tmp_path: Path) -> None:
    with KinectRecording(REAL) as real:
        capture = next(real.captures(color="raw"))
        samples = list(real.imu_samples())
        config = real.config
        tags = real.tags
    out = tmp_path / "copy.mkv"
    with KinectRecordingWriter(
        out, config, calibration=REAL_CALIBRATION, device_serial=tags["K4A_DEVICE_SERIAL_NUMBER"],
        color_firmware=tags["K4A_COLOR_FIRMWARE_VERSION"],
        depth_firmware=tags["K4A_DEPTH_FIRMWARE_VERSION"],
    ) as writer:
        for sample in samples:
            writer.write_imu(sample)
        writer.write_capture(capture)  # the JPEG passes through
    with KinectRecording(out) as copy, KinectRecording(REAL) as real:
        assert copy.config == real.config
        assert copy.tags.keys() == real.tags.keys()
        for name in ("K4A_DEPTH_MODE", "K4A_COLOR_MODE", "K4A_START_OFFSET_NS",
                     "K4A_DEVICE_SERIAL_NUMBER", "K4A_DEPTH_DELAY_NS", "K4A_WIRED_SYNC_MODE"):
            assert copy.tags[name] == real.tags[name]
        assert copy.duration_usec == real.duration_usec
        assert copy.scan() == real.scan()
        ours, theirs = next(copy.captures(color="raw")), next(real.captures(color="raw"))
        for field in ("depth", "ir", "color"):
            assert np.array_equal(getattr(ours, field), getattr(theirs, field))
        assert ours.device_usec == theirs.device_usec
        assert list(copy.imu_samples()) == list(real.imu_samples())


@pytest.mark.parametrize("color_format", [ColorFormat.BGRA, ColorFormat.NV12, ColorFormat.YUY2])
def test_raw_colour_formats_round_trip(tmp_path: Path, color_format: ColorFormat) -> None:
    config = RecordingConfig(fps=15, depth_mode=None, color_format=color_format,
                             color_resolution=ColorResolution.RES_720P, imu=False)
    shape = {ColorFormat.BGRA: (720, 1280, 4), ColorFormat.NV12: (1080, 1280),
             ColorFormat.YUY2: (720, 1280, 2)}[color_format]
    image = np.random.default_rng(3).integers(16, 235, shape, dtype=np.uint8)
    with KinectRecordingWriter(tmp_path / "c.mkv", config) as writer:
        writer.write_capture(Capture.at(5_000, color=image))
        writer.write_capture(Capture.at(5_000 + 66_666, color=image[::-1].copy()))
    with KinectRecording(tmp_path / "c.mkv") as recording:
        assert recording.config.color_format is color_format and recording.config.fps == 15
        raw = [c.color for c in recording.captures(color="raw")]
        bgra = next(recording.captures()).color
    assert np.array_equal(raw[0], image) and np.array_equal(raw[1], image[::-1])
    assert bgra is not None and bgra.shape == (720, 1280, 4)
    if color_format is ColorFormat.BGRA:
        assert np.array_equal(bgra, image)


def test_late_imu_within_the_window_is_put_in_order(tmp_path: Path) -> None:
    path = tmp_path / "late.mkv"
    config = RecordingConfig(fps=30, depth_mode=DepthMode.NFOV_2X2BINNED, color_format=None,
                             color_resolution=None, ir=False)
    depth = np.ones((288, 320), np.uint16)
    with KinectRecordingWriter(path, config, reorder_window_usec=200_000) as writer:
        for index in range(5):
            writer.write_capture(Capture.at(1_000_000 + index * 33_333, depth=depth))
        # The IMU queue lags: its samples come after the images they precede.
        for usec in range(1_000_000, 1_150_000, 10_000):
            writer.write_imu(imu_sample(usec))
        writer.write_capture(Capture.at(1_500_000, depth=depth))
        with pytest.raises(StreamLayoutError, match="reorder_window_usec"):
            writer.write_imu(imu_sample(1_100_000))
    with KinectRecording(path) as recording:
        stamps = [item.device_usec for item in recording.events(color="none")]
        assert stamps == sorted(stamps) and len(stamps) == 21


def test_data_that_does_not_fit_the_tracks_is_refused(tmp_path: Path) -> None:
    with KinectRecordingWriter(tmp_path / "x.mkv", SMALL) as writer:
        with pytest.raises(StreamLayoutError, match="uint16"):
            writer.write_capture(Capture.at(1, depth=np.zeros((576, 640), np.uint16)))
        with pytest.raises(StreamLayoutError, match="uint16"):
            writer.write_capture(Capture.at(1, depth=np.zeros((288, 320), np.float32)))
        with pytest.raises(StreamLayoutError, match="colour"):
            writer.write_capture(Capture.at(1, color=np.zeros((10, 10, 4), np.uint8)))
        with pytest.raises(StreamLayoutError, match="negative"):
            writer.write_imu(imu_sample(-5))
    no_imu = RecordingConfig(imu=False, color_format=None, color_resolution=None)
    with KinectRecordingWriter(tmp_path / "y.mkv", no_imu) as writer, \
            pytest.raises(StreamLayoutError, match="no IMU track"):
        writer.write_imu(imu_sample(5))
    with pytest.raises(RecordingError, match="never overwritten"):
        KinectRecordingWriter(tmp_path / "x.mkv", SMALL)
    with pytest.raises(ValueError, match="tag name"):
        KinectRecordingWriter(tmp_path / "z.mkv", SMALL, tags={"lower": "x"})
    with pytest.raises(ValueError, match="the writer's own"):
        KinectRecordingWriter(tmp_path / "z.mkv", SMALL, tags={"K4A_DEPTH_MODE": "x"})


def test_clusters_are_short_checksummed_and_indexed(tmp_path: Path) -> None:
    written, _ = write_recording(tmp_path / "r.mkv", frames=40)
    data = written.path.read_bytes()
    file = MatroskaFile(written.path)
    try:
        blocks = list(file.blocks())
        assert file.finalised and file.info.duration is not None
        position = file.first_cluster
    finally:
        file.close()
    clusters = 0
    while position is not None and position < len(data):
        element_id, size, header = ebml.read_header(data, position)
        if element_id == ebml.CLUSTER:
            clusters += 1
            body = position + header
            assert ebml.verify_crc(data, body, body + size) is True
        position += header + size
    assert clusters >= 40  # a cluster per capture at 30 fps: clusters span 32 ms
    times = [block.timestamp_ns for block in blocks]
    assert times == sorted(times)
    imu_blocks = [b for b in blocks if b.track == 4]
    assert any(len(b.frames) > 1 for b in imu_blocks)  # IMU samples laced, as the SDK's
    with av.open(str(written.path)) as container:  # ffmpeg finds the Cues and seeks
        container.seek(1_000_000, stream=container.streams.video[0])
        packet = next(container.demux(container.streams.video[0]))
        assert packet.pts is not None and packet.pts <= 1_000_000 + 33_334


def test_a_file_with_nothing_written_is_still_a_valid_empty_recording(tmp_path: Path) -> None:
    with KinectRecordingWriter(tmp_path / "e.mkv", SMALL, calibration=REAL_CALIBRATION):
        pass
    with KinectRecording(tmp_path / "e.mkv") as recording:
        assert list(recording.captures()) == [] and recording.scan().captures == 0
        assert recording.tracks.keys() == set(TrackName)


def test_the_depth_delay_is_recorded_and_undone_when_grouping(tmp_path: Path) -> None:
    delay = 15_000  # depth exposed 15 ms after colour: more than half a frame period
    config = RecordingConfig(fps=30, depth_mode=DepthMode.NFOV_2X2BINNED, ir=False, imu=False,
                             depth_delay_off_color_usec=delay)
    depth = np.zeros((288, 320), np.uint16)
    with KinectRecording(REAL) as real:
        jpeg = next(real.captures(color="raw")).color
    with KinectRecordingWriter(tmp_path / "d.mkv", config) as writer:
        for index in range(4):
            usec = 1_000_000 + index * 33_333
            writer.write_capture(Capture(device_usec=usec - delay, depth=depth, depth_usec=usec,
                                         color=jpeg, color_usec=usec - delay))
    with KinectRecording(tmp_path / "d.mkv") as recording:
        assert recording.tags["K4A_DEPTH_DELAY_NS"] == str(delay * 1000)
        assert recording.config.depth_delay_off_color_usec == delay
        captures = list(recording.captures(color="none"))
    assert len(captures) == 4
    assert all(c.depth_usec is not None and c.color_usec is not None
               and c.depth_usec - c.color_usec == delay for c in captures)
