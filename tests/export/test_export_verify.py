"""An export is verified after writing, and a failed one leaves nothing that looks finished."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
from collections import namedtuple
from pathlib import Path

import pytest

from edge.errors import ExportError, ExportSpaceError, ExportVerifyError
from edge.export import job as job_module
from edge.export import manifest as manifest_module
from edge.export.job import ExportJob, export
from edge.export.manifest import MANIFEST, HashingWriter, read_manifest, verify
from edge.export.targets import export_targets
from edge.sim.dataset import DatasetOptions, write_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_recording(tmp_path_factory.mktemp("rec"), 0,
                           DatasetOptions(seed=7, minutes=3 / 60))


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    folder = tmp_path / "stick"
    folder.mkdir()
    return folder


def written(root: Path) -> HashingWriter:
    writer = HashingWriter(root)
    writer.write_bytes("a.txt", b"alpha\n")
    writer.write("deep/b.tsv", (b"1\t2\n", b"3\t4\n"))
    writer.finish()
    return writer


def test_the_manifest_is_what_sha256sum_checks(tmp_path: Path) -> None:
    writer = written(tmp_path)
    assert read_manifest(tmp_path) == writer.sums
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST], cwd=tmp_path, check=False,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(("damage", "words"), [
    (lambda root: (root / "deep/b.tsv").write_bytes(b"1\t2\n3\t5\n"), "differs: deep/b.tsv"),
    (lambda root: (root / "a.txt").unlink(), "missing: a.txt"),
    (lambda root: (root / "stray.txt").write_text("?"), "not in the manifest: stray.txt"),
])
def test_verification_finds_a_changed_missing_or_stray_file(tmp_path: Path, damage,
                                                            words: str) -> None:
    writer = written(tmp_path)
    verify(tmp_path, writer.sums)
    damage(tmp_path)
    with pytest.raises(ExportVerifyError, match=words):
        verify(tmp_path, writer.sums)


def test_a_malformed_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("not a sum  a.txt\n")
    with pytest.raises(ExportVerifyError, match="line 1"):
        read_manifest(tmp_path)


def test_a_path_outside_the_export_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a new relative path"):
        HashingWriter(tmp_path).write_bytes("../escape.txt", b"x")


def test_a_full_stick_before_writing_is_refused_with_the_sizes(
        recording: Path, stick: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(job_module.shutil, "disk_usage", lambda _: usage(10**9, 10**9, 2**20))
    with pytest.raises(ExportSpaceError, match=r"has 1 MB free; this export needs about \d+ MB"):
        export([recording], stick, "1")
    assert list(stick.iterdir()) == []


def test_a_stick_that_fills_up_while_writing_leaves_no_folder(
        recording: Path, stick: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_fsync = os.fsync

    def filling(descriptor: int) -> None:
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(descriptor)

    monkeypatch.setattr(manifest_module.os, "fsync", filling)
    with pytest.raises(ExportSpaceError, match="the target is full"):
        export([recording], stick, "1")
    assert list(stick.iterdir()) == []
    assert recording.joinpath("recording.json").exists()  # the source is only read


def test_a_file_that_reads_back_wrong_fails_the_export(
        recording: Path, stick: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def corrupting(root: Path, expected: dict[str, str], progress=None) -> None:
        victim = next(root.glob("sub-*/ses-*/motion/*_motion.tsv"))
        data = bytearray(victim.read_bytes())
        data[10] ^= 0x01
        victim.write_bytes(bytes(data))
        verify(root, expected, progress)

    monkeypatch.setattr(job_module, "verify", corrupting)
    with pytest.raises(ExportVerifyError, match="differs: sub-"):
        export([recording], stick, "1")
    assert list(stick.iterdir()) == []


def test_a_read_only_or_missing_target_is_refused(recording: Path, stick: Path) -> None:
    with pytest.raises(ExportError, match="is the USB stick mounted"):
        export([recording], stick / "gone", "1")
    if os.geteuid() != 0:  # root writes anywhere
        stick.chmod(0o500)
        try:
            with pytest.raises(ExportError, match="cannot be written"):
                export([recording], stick, "1")
        finally:
            stick.chmod(0o700)


def test_an_existing_export_is_never_overwritten(recording: Path, stick: Path) -> None:
    export([recording], stick, "1", name="same")
    before = read_manifest(stick / "same")
    with pytest.raises(ExportError, match="already exists"):
        export([recording], stick, "1", name="same")
    assert read_manifest(stick / "same") == before


def test_a_job_in_a_thread_reports_its_outcome(recording: Path, stick: Path) -> None:
    job = ExportJob([recording], stick, "1", ["s1"])
    job.join(60)
    assert job.finished and job.error is None and job.outcome is not None
    snapshot = job.snapshot()
    assert snapshot["phase"] == "done" and snapshot["fraction"] == 1.0
    assert snapshot["sessions"] == ["s1"] and snapshot["path"] == str(job.outcome.path)
    failed = ExportJob([stick / "nothing"], stick, "1", ["s2"])
    failed.join(60)
    assert failed.outcome is None and isinstance(failed.error, ExportError)
    assert failed.snapshot()["phase"] == "failed" and "nothing" in failed.snapshot()["message"]


Partition = namedtuple("Partition", "device mountpoint fstype opts")


def test_targets_are_writable_mounts_under_the_roots_and_configured_folders(
        tmp_path: Path) -> None:
    media = tmp_path / "media"
    for name in ("nurse/STICK", "nurse/LOCKED"):
        (media / name).mkdir(parents=True)
    other = tmp_path / "elsewhere"
    other.mkdir()
    demo = tmp_path / "demo-stick"
    demo.mkdir()
    mounts = [Partition("/dev/sda1", str(media / "nurse/STICK"), "vfat", "rw,nosuid"),
              Partition("/dev/sdb1", str(media / "nurse/LOCKED"), "vfat", "ro,nosuid"),
              Partition("/dev/vda", str(other), "ext4", "rw"),
              Partition("/dev/vda2", "/", "ext4", "rw")]
    targets = export_targets([media], [demo, tmp_path / "absent"], lambda: mounts)
    assert [t.name for t in targets] == ["STICK", "demo-stick"]
    assert all(t.free_bytes > 0 and t.total_bytes >= t.free_bytes for t in targets)
    assert targets[0].to_dict()["path"] == str(media / "nurse/STICK")


def test_a_job_waits_for_the_report_still_being_written(recording: Path, tmp_path: Path,
                                                         stick: Path) -> None:
    session = tmp_path / "sessions" / "20261207-101010-ab12"
    session.mkdir(parents=True)
    (session / "recording").symlink_to(recording, target_is_directory=True)
    release = threading.Event()

    def report() -> None:  # the report of a decision just made, written seconds later
        release.wait(10)
        (session / "report.html").write_text("<html>report</html>")

    writing = threading.Thread(target=report)
    writing.start()
    job = ExportJob([session], stick, "1", ["s1"], after=writing)
    job.join(0.3)
    assert not job.finished  # it waits; nothing is copied yet
    release.set()
    job.join(60)
    assert job.error is None and job.outcome is not None
    [copied] = job.outcome.path.glob("derivatives/gma-edge/sub-*/ses-*/report.html")
    assert copied.read_text() == "<html>report</html>"
