"""Datasets: the index round-trips, is read lazily, scales, and is replaced atomically."""

from __future__ import annotations

import csv
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from recording_samples import imu_records, meta

from edge.errors import CorruptRecordingError, RecordingError, UnsupportedFormatError
from edge.recording import Dataset, DatasetWriter, IndexEntry, RecordingWriter, imu_spec
from edge.recording.dataset import COLUMNS

LABELS = [("present", "FM+"), ("absent", "FM-"), (None, None), ("not_assessable", None)]


def _record(folder: Path, i: int) -> Path:
    """A small simulator recording; subject i // 3, so every subject has up to 3 recordings."""
    label, fm_class = LABELS[i % len(LABELS)]
    path = folder / f"sim-{i:05d}"
    fields = {
        "source": "simulator",
        "subject": f"SIM{i // 3:04d}",
        "label": label,
        "fm_class": fm_class,
        "age_weeks": 9 + i % 12,
    }
    with RecordingWriter.create(path, meta(f"sim-{i:05d}", **fields), sync=False) as writer:
        writer.add_stream("imu.left_wrist", imu_spec(52.0))
        writer.append("imu.left_wrist", imu_records(1 + i % 50))
    return path


def test_the_index_round_trips_many_recordings(tmp_path: Path) -> None:
    count = 300
    with DatasetWriter.create(tmp_path / "ds", "sim-v1", "simulated cohort", sync=False) as ds:
        written = [ds.add(_record(ds.folder, i)) for i in range(count)]
    dataset = Dataset.open(tmp_path / "ds")
    assert (dataset.info.name, dataset.info.description) == ("sim-v1", "simulated cohort")
    entries = list(dataset)
    assert entries == written
    assert entries[1].label == "absent" and entries[1].fm_class == "FM-"
    assert entries[2].label is None and entries[2].age_weeks == 11
    assert entries[7].duration_s == round(7 * 19_230_769 / 1e9, 3)
    assert entries[0].streams == ("imu.left_wrist",) and entries[0].status == "complete"
    subjects = {entry.subject for entry in entries}
    assert len(subjects) == count // 3  # folds by subject, without opening a recording
    opened = dataset.open_recording(entries[5])
    assert opened.meta.recording_id == "sim-00005" and opened.count("imu.left_wrist") == 6
    assert sum(1 for _ in dataset.recordings()) == count


def test_the_index_is_plain_csv(tmp_path: Path) -> None:
    with DatasetWriter.create(tmp_path / "ds", "d") as ds:
        ds.add(_record(ds.folder, 1))
    with (tmp_path / "ds" / "recordings.csv").open(newline="") as index:
        rows = list(csv.DictReader(index))
    assert rows == [
        {
            "recording_id": "sim-00001",
            "path": "sim-00001",
            "subject": "SIM0000",
            "source": "simulator",
            "label": "absent",
            "fm_class": "FM-",
            "age_weeks": "10",
            "status": "complete",
            "duration_s": "0.019",
            "streams": "imu.left_wrist",
        }
    ]


def test_iteration_is_lazy(tmp_path: Path) -> None:
    with DatasetWriter.create(tmp_path / "ds", "d", sync=False) as ds:
        for i in range(5):
            ds.add(_record(ds.folder, i))
    with (tmp_path / "ds" / "recordings.csv").open("a") as index:
        index.write("sim-99999,x,BAD SUBJECT,simulator,,,,complete,1.0,\n")
    dataset = Dataset.open(tmp_path / "ds")
    first = [entry.recording_id for entry in itertools.islice(dataset, 5)]
    assert first == [f"sim-{i:05d}" for i in range(5)]  # the bad last row is never read
    with pytest.raises(CorruptRecordingError, match=r"recordings\.csv, line 7: subject"):
        list(dataset)


def test_reading_a_huge_index_holds_one_row_at_a_time(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    DatasetWriter.create(folder, "huge", sync=False).close()
    rows = 20_000
    with (folder / "recordings.csv").open("a") as index:  # as a tool in another language would
        for i in range(rows):
            index.write(f"r{i},r{i},S{i // 4},import,present,,12,complete,180.5,pose\n")
    # In a fresh interpreter: threads other tests leave behind allocate while tracemalloc
    # watches, and it counts every thread's allocations.
    probe = (
        "import sys, tracemalloc\n"
        "from edge.recording import Dataset\n"
        "tracemalloc.start()\n"
        "seen = sum(1 for _ in Dataset.open(sys.argv[1]))\n"
        "print(seen, tracemalloc.get_traced_memory()[1])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(folder)], capture_output=True,
                            text=True, check=True, timeout=60)
    seen, peak = map(int, result.stdout.split())
    assert seen == rows
    assert peak < 5_000_000  # holding the rows as objects would take ~30 MB


def test_an_existing_dataset_grows_and_refuses_duplicates(tmp_path: Path) -> None:
    with DatasetWriter.create(tmp_path / "ds", "d", sync=False) as ds:
        ds.add(_record(ds.folder, 0))
    with DatasetWriter.open(tmp_path / "ds", sync=False) as ds:
        with pytest.raises(RecordingError, match="'sim-00000' is already indexed"):
            ds.add(ds.folder / "sim-00000")
        ds.add(_record(ds.folder / "batch2", 1))
        with pytest.raises(RecordingError, match="not inside the dataset folder"):
            ds.add(_record(tmp_path / "elsewhere", 2))
        live = RecordingWriter.create(ds.folder / "live", meta("live"))
        with pytest.raises(RecordingError, match="still being written"):
            ds.add(live.path)
        live.close()
    entries = list(Dataset.open(tmp_path / "ds"))
    assert [(e.recording_id, e.path) for e in entries] == [
        ("sim-00000", "sim-00000"),
        ("sim-00001", "batch2/sim-00001"),
    ]


def test_commits_are_atomic_and_bounded(tmp_path: Path) -> None:
    ds = DatasetWriter.create(tmp_path / "ds", "d", commit_every=4, sync=False)
    for i in range(10):
        ds.add(_record(ds.folder, i))
        # A reader sees the last commit: whole batches of 4, never a torn file.
        assert len(list(Dataset.open(tmp_path / "ds"))) == (i + 1) // 4 * 4
    with pytest.raises(RecordingError, match="another writer"):
        DatasetWriter.open(tmp_path / "ds")
    ds.close()
    assert len(list(Dataset.open(tmp_path / "ds"))) == 10
    assert sorted(p.name for p in (tmp_path / "ds").iterdir() if p.name.startswith(".")) == []
    with pytest.raises(RecordingError, match="closed"):
        ds.add(tmp_path / "ds" / "sim-00001")


def test_a_failing_block_still_commits_what_was_added(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), DatasetWriter.create(tmp_path / "ds", "d") as ds:
        ds.add(_record(ds.folder, 0))
        _ = 1 / 0
    assert [e.recording_id for e in Dataset.open(tmp_path / "ds")] == ["sim-00000"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("recording_id,path\n", "line 1: columns"),
        (",".join(COLUMNS) + "\nr1,r1,S1\n", "line 2: 3 cells for 10 columns"),
        (",".join(COLUMNS) + "\nr1,../r1,S1,import,,,,complete,1,\n", "line 2: path"),
        (",".join(COLUMNS) + "\nr1,/abs,S1,import,,,,complete,1,\n", "line 2: path"),
        (",".join(COLUMNS) + "\nr1,r1,S1,import,,,,recording,1,\n", "line 2: status"),
    ],
)
def test_a_bad_index_names_its_line(tmp_path: Path, content: str, message: str) -> None:
    DatasetWriter.create(tmp_path / "ds", "d").close()
    (tmp_path / "ds" / "recordings.csv").write_text(content)
    with pytest.raises(CorruptRecordingError, match=message):
        list(Dataset.open(tmp_path / "ds"))


def test_dataset_versions_are_enforced(tmp_path: Path) -> None:
    DatasetWriter.create(tmp_path / "ds", "d").close()
    info = tmp_path / "ds" / "dataset.json"
    info.write_text(
        info.read_text().replace('"minor": 0', '"minor": 2').replace("{", '{"x": 1,', 1)
    )
    with (tmp_path / "ds" / "recordings.csv").open("w") as index:
        index.write(",".join((*COLUMNS, "site")) + "\nr1,r1,S1,import,,,,complete,1.5,pose,A\n")
    dataset = Dataset.open(tmp_path / "ds")
    assert dataset.issues == (
        f"{info}: ignored fields of a newer format version: ['DatasetInfo.x']",
    )
    (entry,) = dataset  # a newer minor's extra column is ignored
    assert entry == IndexEntry(
        recording_id="r1", path="r1", subject="S1", source="import", status="complete",
        duration_s=1.5, streams=("pose",),
    )  # fmt: skip
    with pytest.raises(UnsupportedFormatError, match="newer minor"):
        DatasetWriter.open(tmp_path / "ds")
    info.write_text(info.read_text().replace('"major": 1', '"major": 3'))
    with pytest.raises(UnsupportedFormatError, match=r"newer format version 3\.2"):
        Dataset.open(tmp_path / "ds")
    with pytest.raises(CorruptRecordingError, match=r"nowhere/dataset\.json: missing"):
        Dataset.open(tmp_path / "nowhere")
