"""A writer that dies, or whose disk fills, leaves a recording that reads up to its last cluster."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from kinect_samples import SMALL, write_recording

from edge.errors import DiskFullError, TruncatedKinectRecordingError
from edge.kinect import KinectRecording
from edge.kinect import muxer as muxer_module


def depths(path: Path, allow_truncated: bool = False) -> list[int]:
    """The first pixel after the hole-free corner of each capture's depth: which frame it is."""
    with KinectRecording(path, allow_truncated=allow_truncated) as recording:
        return [int(c.depth[5, 5]) for c in recording.captures(color="none")
                if c.depth is not None]


def test_an_unclosed_writer_leaves_a_readable_unfinished_file(tmp_path: Path) -> None:
    # The IMU runs half a frame ahead of the images: a 20 ms window keeps them in order.
    written, writer = write_recording(tmp_path / "r.mkv", frames=12, close=False,
                                      reorder_window_usec=20_000)
    try:
        # What a crash would leave now: every capture but the newest cluster's.
        with KinectRecording(written.path) as recording:
            assert not recording.finalised and recording.duration_usec is None
            assert recording.start_offset_usec == written.imu[0].acc_usec
            got = list(recording.captures(color="none"))
            assert len(got) == 11
            for capture, sent in zip(got, written.captures, strict=False):
                assert np.array_equal(capture.depth, sent.depth)
            samples = list(recording.imu_samples())
            assert samples == written.imu[: len(samples)] and len(samples) > 100
        # A crash in the middle of a cluster's write: cut it short.
        data = written.path.read_bytes()
        cut = tmp_path / "cut.mkv"
        cut.write_bytes(data[: len(data) - 1000])
        with pytest.raises(TruncatedKinectRecordingError, match="allow_truncated"):
            depths(cut)
        assert len(depths(cut, allow_truncated=True)) == 10
    finally:
        writer.close()
    assert len(depths(written.path)) == 12


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, sys.argv[2])
    from kinect_samples import write_recording
    from pathlib import Path
    write_recording(Path(sys.argv[1]), frames=20, close=False, reorder_window_usec=100_000)
    os._exit(9)
    """
)


def test_a_killed_writer_process_leaves_its_clusters(tmp_path: Path) -> None:
    path = tmp_path / "killed.mkv"
    here = str(Path(__file__).parent)
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path), here], check=False,
                   timeout=60)
    with KinectRecording(path) as recording:
        assert not recording.finalised
        stats = recording.scan()
    # 20 frames at 30 fps span 633 ms; the last 100 ms (and the open cluster) were held.
    assert 14 <= stats.captures <= 17
    assert stats.imu_samples > 0


def test_a_full_disk_ends_the_recording_after_its_last_whole_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    big_writes = 0

    def filling_write(fd: int, data: bytes | memoryview) -> int:
        nonlocal big_writes
        if len(data) > 50_000:
            big_writes += 1
            if big_writes > 6:
                real_write(fd, bytes(data)[:1000])  # a partial write, then the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(muxer_module.os, "write", filling_write)
    with pytest.raises(DiskFullError, match="last whole cluster"):
        write_recording(tmp_path / "full.mkv", frames=12, config=SMALL,
                        reorder_window_usec=20_000)
    monkeypatch.undo()
    got = depths(tmp_path / "full.mkv")
    assert len(got) == 6
