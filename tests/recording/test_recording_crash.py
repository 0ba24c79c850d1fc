"""Crashes, kills and full disks leave a readable, interrupted recording, never a crash."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from recording_samples import imu_records, meta

from edge.errors import DiskFullError, RecordingError
from edge.recording import Recording, RecordingWriter, imu_spec

# The writer's own view: what a power cut would leave is what is durable at the moment.
_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from recording_samples import imu_records, meta
    from edge.recording import RecordingWriter, imu_spec

    writer = RecordingWriter.create(Path(sys.argv[1]), meta())
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    written = 0
    while True:
        writer.append("imu.left_wrist", imu_records(7, start=written))
        written += 7
        writer.event("tick", written)
        writer.flush()
        print(written, flush=True)
    """
)


def test_a_writer_killed_mid_stream_leaves_every_durable_record(tmp_path: Path) -> None:
    path = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    durable = 0
    while durable < 700:
        line = process.stdout.readline()
        assert line, "the writer died before it was killed"
        durable = int(line)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    process.stdout.close()

    recording = Recording.open(path)
    assert recording.status == "interrupted"
    assert recording.meta.status == "recording"  # as the writer left it
    records, _ = recording.stream("imu.left_wrist")
    assert len(records) >= durable
    assert records.tobytes() == imu_records(len(records)).tobytes()
    assert len(recording.events) >= durable // 7


def _copy_as_after_a_crash(writer: RecordingWriter, to: Path) -> Path:
    """The folder as a power cut would leave it: the data, without the writer's lock."""
    shutil.copytree(writer.path, to)
    return to


def test_a_half_written_record_is_ignored_and_reported(tmp_path: Path) -> None:
    writer = RecordingWriter.create(tmp_path / "live", meta())
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    writer.append("imu.left_wrist", imu_records(25))
    writer.event("sensor_lost", 5, {"position": "left_wrist"})
    writer.flush()
    crashed = _copy_as_after_a_crash(writer, tmp_path / "crashed")
    writer.close()
    with (crashed / "streams" / "imu.left_wrist.bin").open("ab") as data:
        data.write(imu_records(1, start=25).tobytes()[:30])
    with (crashed / "events.jsonl").open("ab") as events:
        events.write(b'{"t_ns": 6, "kind": "sensor_b')

    recording = Recording.open(crashed)
    assert recording.status == "interrupted"
    records, _ = recording.stream("imu.left_wrist")
    assert records.tobytes() == imu_records(25).tobytes()
    assert [e.kind for e in recording.events] == ["sensor_lost"]
    assert len(recording.issues) == 2
    assert "imu.left_wrist.bin: ignored 30 bytes after the last whole record" in recording.issues[0]
    assert "events.jsonl: ignored a half-written last line" in recording.issues[1]
    assert recording.imu("left_wrist").t_ns.shape == (25,)


def test_a_crash_before_the_first_record_leaves_an_empty_stream(tmp_path: Path) -> None:
    writer = RecordingWriter.create(tmp_path / "live", meta())
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    crashed = _copy_as_after_a_crash(writer, tmp_path / "crashed")
    writer.close()
    (crashed / "streams" / "imu.left_wrist.bin").unlink()  # header durable, data file not yet
    (crashed / "streams" / ".imu.left_wrist.json.tmp").write_text("{half")  # a torn temporary
    recording = Recording.open(crashed)
    assert recording.status == "interrupted"
    assert recording.count("imu.left_wrist") == 0
    assert recording.stream("imu.left_wrist")[0].shape == (0,)
    assert recording.duration_s == 0.0
    assert any("missing, the stream has no records" in issue for issue in recording.issues)


def _full_disk(
    monkeypatch: pytest.MonkeyPatch, under: Path, budget: int, only: Callable[[str], bool]
) -> None:
    """Let writes to files under `under` chosen by `only` have `budget` more bytes, then fail
    the way a full disk does: one short write, then ENOSPC."""
    real_write = os.write
    left = [budget]

    def write(fd: int, data: bytes | memoryview) -> int:
        target = os.readlink(f"/proc/self/fd/{fd}")
        if not (target.startswith(str(under)) and only(target)):
            return real_write(fd, data)
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        chunk = bytes(data)[: left[0]]
        left[0] -= len(chunk)
        return real_write(fd, chunk)

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("everything_full", [False, True])
def test_a_full_disk_ends_the_recording_and_keeps_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, everything_full: bool
) -> None:
    writer = RecordingWriter.create(tmp_path / "r", meta())
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    writer.add_stream("imu.right_wrist", imu_spec(52.0))
    writer.append("imu.left_wrist", imu_records(40))
    writer.append("imu.right_wrist", imu_records(40))
    record = imu_records(1).nbytes
    _full_disk(
        monkeypatch,
        tmp_path / "r",
        budget=record * 10 + 17,  # the next append fails part-way through its 11th record
        only=(lambda _: True) if everything_full else (lambda target: target.endswith(".bin")),
    )
    with pytest.raises(DiskFullError, match=r"imu\.left_wrist\.bin: disk full") as raised:
        writer.append("imu.left_wrist", imu_records(20, start=40))
    assert raised.value.path.endswith("imu.left_wrist.bin")
    with pytest.raises(RecordingError, match="has ended"):
        writer.append("imu.right_wrist", imu_records(1, start=40))
    writer.close()  # a session's `finally` may close again: harmless
    monkeypatch.undo()

    recording = Recording.open(tmp_path / "r")
    assert recording.status == "interrupted"
    assert recording.issues == ()  # the failed append was cut back off: no torn record
    left, _ = recording.stream("imu.left_wrist")
    assert left.tobytes() == imu_records(40).tobytes()
    assert recording.stream("imu.right_wrist")[0].tobytes() == imu_records(40).tobytes()
    if everything_full:
        assert recording.meta.status == "recording"  # recording.json could not be rewritten
        assert not list((tmp_path / "r").glob(".*.tmp"))
    else:
        assert recording.meta.status == "interrupted"
        assert recording.meta.end_reason is not None and "disk full" in recording.meta.end_reason


def test_a_full_disk_at_fsync_is_a_disk_full_error_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = RecordingWriter.create(tmp_path / "r", meta())
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    writer.append("imu.left_wrist", imu_records(5))

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(DiskFullError):
        writer.flush()
    monkeypatch.undo()
    recording = Recording.open(tmp_path / "r")
    assert recording.status == "interrupted"
    assert recording.count("imu.left_wrist") == 5


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_new_files_and_folders_are_made_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _count_fsyncs(monkeypatch)
    writer = RecordingWriter.create(tmp_path / "sessions" / "r", meta())
    folder = str(tmp_path / "sessions" / "r")
    # The new folders' entries, recording.json's bytes and the folder holding it.
    assert str(tmp_path) in synced and str(tmp_path / "sessions") in synced
    assert f"{tmp_path}/sessions/r/.recording.json.tmp" in synced and folder in synced
    synced.clear()
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    assert synced.count(f"{folder}/streams") == 2  # header renamed, then data file created
    synced.clear()
    writer.append("imu.left_wrist", imu_records(3))
    writer.flush()
    assert f"{folder}/streams/imu.left_wrist.bin" in synced
    writer.close()


def test_appends_become_durable_at_least_every_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _count_fsyncs(monkeypatch)
    writer = RecordingWriter.create(tmp_path / "r", meta(), durable_every_s=0.2)
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    data = f"{tmp_path}/r/streams/imu.left_wrist.bin"
    writer.flush()  # the interval starts now
    writer.append("imu.left_wrist", imu_records(1))
    assert data not in synced and not writer.flush_if_due()
    time.sleep(0.25)
    writer.append("imu.left_wrist", imu_records(1, start=1))
    assert synced.count(data) == 1
    time.sleep(0.25)
    assert writer.flush_if_due()  # a quiet loop still gets its flush
    writer.close()


def test_without_sync_nothing_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced = _count_fsyncs(monkeypatch)
    with RecordingWriter.create(tmp_path / "r", meta(), sync=False) as writer:
        writer.add_stream("imu.left_wrist", imu_spec(52.0))
        writer.append("imu.left_wrist", imu_records(3))
        writer.flush()
    assert synced == []
    assert np.array_equal(
        Recording.open(tmp_path / "r").imu("left_wrist").acc, imu_records(3)["acc"]
    )
