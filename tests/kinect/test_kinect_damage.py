"""Cut-short and damaged recordings raise a typed error that names the problem, never a raw one."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from kinect_samples import REAL

from edge.errors import (
    CorruptRecordingError,
    DamagedKinectRecordingError,
    KinectRecordingError,
    NotKinectRecordingError,
    TruncatedKinectRecordingError,
    UnsupportedKinectRecordingError,
)
from edge.kinect import KinectRecording

DATA = REAL.read_bytes()
CLUSTER_ID = b"\x1f\x43\xb6\x75"
CLUSTERS = [i for i in range(len(DATA)) if DATA.startswith(CLUSTER_ID, i)]
CUES = DATA.rfind(b"\x1c\x53\xbb\x6b")


def read_all(path: Path, allow_truncated: bool = False) -> tuple[int, int]:
    """(captures, IMU samples) after reading every block and decoding every image."""
    with KinectRecording(path, allow_truncated=allow_truncated) as recording:
        captures = samples = 0
        for item in recording.events():
            if hasattr(item, "depth"):
                captures += 1
            else:
                samples += 1
        return captures, samples


def copy_with(tmp_path: Path, data: bytes, name: str = "damaged.mkv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def flipped(position: int) -> bytes:
    damaged = bytearray(DATA)
    damaged[position] ^= 0xFF
    return bytes(damaged)


def test_the_fixture_has_the_layout_these_tests_cut_into() -> None:
    assert len(CLUSTERS) == 2 and CLUSTERS[1] < CUES
    assert read_all(REAL) == (1, 1)


@pytest.mark.parametrize(
    ("cut", "readable"),
    [
        (3, None),  # inside the EBML header
        (DATA.find(b"V_MS/VFW"), None),  # inside Tracks
        (DATA.find(b"CalibrationInformation") + 500, None),  # inside the attachment
        (DATA.find(b"K4A_WIRED_SYNC_MODE"), None),  # inside Tags
        (CLUSTERS[1] + 2, (0, 1)),  # inside the capture's cluster header
        (CLUSTERS[1] + 300_000, (0, 1)),  # inside the depth image
        (CUES, (1, 1)),  # the Cues are missing
        (len(DATA) - 3, (1, 1)),  # inside the Cues
    ],
)
def test_a_cut_copy_is_named_truncated_and_reads_up_to_the_cut(
    tmp_path: Path, cut: int, readable: tuple[int, int] | None
) -> None:
    path = copy_with(tmp_path, DATA[:cut])
    with pytest.raises(TruncatedKinectRecordingError, match="ends") as raised:
        read_all(path)
    assert isinstance(raised.value, CorruptRecordingError)  # older handlers catch it too
    assert str(path) in str(raised.value)
    if readable is None:  # nothing to read before the cut: an error even when allowed
        with pytest.raises(TruncatedKinectRecordingError):
            read_all(path, allow_truncated=True)
        return
    assert read_all(path, allow_truncated=True) == readable
    with KinectRecording(path, allow_truncated=True) as recording:
        list(recording.imu_samples())
        assert recording.truncated and not recording.finalised


def test_an_empty_file_is_truncated(tmp_path: Path) -> None:
    with pytest.raises(TruncatedKinectRecordingError, match="empty"):
        KinectRecording(copy_with(tmp_path, b""))


def test_a_flipped_byte_in_an_image_fails_the_clusters_checksum(tmp_path: Path) -> None:
    path = copy_with(tmp_path, flipped(CLUSTERS[1] + 400_000))
    with pytest.raises(DamagedKinectRecordingError, match="CRC-32") as raised:
        read_all(path)
    assert f"byte {CLUSTERS[1]}" in str(raised.value)


def test_a_flipped_byte_in_the_tags_fails_their_checksum(tmp_path: Path) -> None:
    path = copy_with(tmp_path, flipped(DATA.rfind(b"001514394512") + 3))  # not the JSON's
    with pytest.raises(DamagedKinectRecordingError, match="Tags's CRC-32"):
        KinectRecording(path)


def test_a_cluster_that_overruns_the_segment_is_damage(tmp_path: Path) -> None:
    damaged = bytearray(DATA)
    size_at = CLUSTERS[1] + 4
    assert damaged[size_at] >> 5 == 1  # a 3-byte size, as libmatroska wrote this one
    damaged[size_at : size_at + 3] = b"\x3f\xff\xf0"  # 2 MB: past the Segment's end
    with pytest.raises(DamagedKinectRecordingError, match="overruns the Segment"):
        read_all(copy_with(tmp_path, bytes(damaged)))


def test_not_matroska_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotKinectRecordingError, match="not a Matroska file"):
        KinectRecording(copy_with(tmp_path, b"hello, this is text\n" * 10, "text.mkv"))
    with pytest.raises(NotKinectRecordingError, match="not a Matroska file"):
        KinectRecording(copy_with(tmp_path, flipped(0)))


def test_matroska_without_kinect_tracks_is_named(tmp_path: Path) -> None:
    path = tmp_path / "plain.mkv"
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
        for packet in stream.encode(frame.reformat(format="yuvj420p")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(NotKinectRecordingError, match="without Azure Kinect tracks"):
        KinectRecording(path)


def test_an_unknown_colour_fourcc_is_unsupported(tmp_path: Path) -> None:
    at = DATA.find(b"MJPG")
    path = copy_with(tmp_path, DATA[:at] + b"H264" + DATA[at + 4 :])
    with pytest.raises(UnsupportedKinectRecordingError, match="H264"):
        KinectRecording(path)


def test_a_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(KinectRecordingError, match="cannot open"):
        KinectRecording(tmp_path / "absent.mkv")


def test_random_damage_never_escapes_as_a_raw_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    # Mostly the header's bytes, where a flip changes structure rather than pixels.
    positions = [*rng.integers(0, CLUSTERS[1] + 64, 30), *rng.integers(0, len(DATA), 6)]
    outcomes = set()
    for position in positions:
        path = copy_with(tmp_path, flipped(int(position)))
        try:
            read_all(path)
            outcomes.add("read")
        except KinectRecordingError as exc:
            outcomes.add(type(exc).__name__)
    assert "DamagedKinectRecordingError" in outcomes
