"""The spec's numpy-only reading example runs and reads what gma-edge reads."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from recording_samples import write_sample

from edge.recording import Recording

SPEC = Path(__file__).parents[2] / "docs" / "recording-format.md"


def test_the_numpy_only_example_reads_the_same_records(tmp_path: Path) -> None:
    section = SPEC.read_text().split("## Reading without gma-edge", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    path = write_sample(tmp_path / "r1")
    with (path / "streams" / "pose.bin").open("ab") as data:
        data.write(b"\0" * 11)  # a record cut short: the example must ignore it too
    scope: dict[str, object] = {"RECORDING": path}
    exec(compile(match.group(1), str(SPEC), "exec"), scope)
    recording = Recording.open(path)
    records, _ = recording.stream("imu.left_wrist")
    assert scope["header"] == recording.header("imu.left_wrist").model_dump(mode="json")
    assert np.asarray(scope["imu"]).tobytes() == records.tobytes()
    pose = recording.pose()
    assert pose.joints is not None
    np.testing.assert_array_equal(np.asarray(scope["joints"]), pose.joints)
    assert scope["pose_header"]["joints"] == list(pose.joint_names)  # type: ignore[index]
