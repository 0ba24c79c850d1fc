"""Simulated datasets: deterministic bytes, labels and truth that match the simulator, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.cli import main
from edge.recording import Dataset, Recording
from edge.sim import InfantState, SimulatedInfant, SubjectOptions, draw_subject
from edge.sim.dataset import HIDDEN_CONFIDENCE, DatasetOptions, generate, write_recording
from edge.sim.mounting import POSITIONS

SHORT = DatasetOptions(seed=5, minutes=0.25)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return Recording.open(write_recording(tmp_path_factory.mktemp("ds"), 2, SHORT))


def test_the_same_seed_writes_the_same_bytes_in_any_number_of_processes(tmp_path: Path) -> None:
    one = generate(tmp_path / "one", 3, SHORT, jobs=1)
    two = generate(tmp_path / "two", 3, SHORT, jobs=2)
    other = generate(tmp_path / "other", 1, DatasetOptions(seed=6, minutes=0.25))
    assert tree_bytes(one) == tree_bytes(two)
    name = "sim-5-00000/streams/imu.left_wrist.bin"
    assert tree_bytes(one)[name] != tree_bytes(other)[name.replace("sim-5", "sim-6")]


def test_the_index_carries_the_simulated_labels(tmp_path: Path) -> None:
    dataset = Dataset.open(generate(tmp_path / "ds", 4, SHORT))
    for number, entry in enumerate(dataset):
        subject = draw_subject(5, number, SHORT.subject_options())
        assert entry.subject == f"sim5-{number:05d}"
        assert entry.label == ("present" if subject.fm_present else "absent")
        assert entry.source == "simulator" and entry.status == "complete"
        assert abs(entry.duration_s - 15.0) < 0.05


def test_pose_is_the_truth_where_the_camera_sees_it(recording: Recording) -> None:
    pose = recording.pose()
    assert pose.joints is not None and pose.joints_2d is not None
    assert len(pose.t_ns) == pytest.approx(15 * 30, abs=2)
    seen = pose.confidence == 1.0
    hidden = pose.confidence == HIDDEN_CONFIDENCE
    assert set(np.unique(pose.confidence)) <= {0.0, HIDDEN_CONFIDENCE, 1.0}
    assert 0.5 < seen.mean() < 1.0  # most joints are seen, not all (occlusion, ears)
    assert hidden.any()  # hidden by the body, still placed
    placed = seen | hidden
    assert np.isnan(pose.joints[~placed]).all() and np.isfinite(pose.joints[placed]).all()
    # 3D joints in the depth camera frame: in front of it, about a camera height away.
    assert 400 < np.nanmedian(pose.joints[..., 2]) < 1100
    truth, _ = recording.stream("truth.joints")
    assert (truth["visible"] == seen).all()
    assert np.array_equal(truth["t_ns"], pose.t_ns)


def test_truth_state_and_joints_are_the_infant_s(recording: Recording) -> None:
    subject = draw_subject(5, 2, SHORT.subject_options())
    infant = SimulatedInfant(subject)
    records, header = recording.stream("truth.state")
    t = records["t_ns"] * 1e-9
    assert (records["state"] == subject.state_at(t)).all()
    assert header.attrs["codes"]["calm"] == InfantState.CALM
    joints, _ = recording.stream("truth.joints")
    expected = infant.sample(t[[0, 100]]).joints_mm
    np.testing.assert_allclose(joints["joints"][[0, 100]], expected, atol=1e-3)


def test_imu_streams_are_regular_and_stamped_by_drifting_clocks(recording: Recording) -> None:
    for position in POSITIONS:
        imu = recording.imu(position)
        assert len(imu.t_ns) == 15 * 104
        assert np.all(np.diff(imu.t_ns) > 0)
        at_rest = np.linalg.norm(imu.acc, axis=1)
        assert 8.0 < np.median(at_rest) < 11.5  # gravity, give or take the infant's moves
        device = imu.t_device_ms.astype(np.int64)
        elapsed_ms = (imu.t_ns[-1] - imu.t_ns[0]) * 1e-6
        drift = recording.meta.provenance["simulator"]["clock_drift_ppm"][position]
        # Whole-ms stamps on a crystal drift_ppm fast: within 1 ms over the recording.
        assert abs((device[-1] - device[0]) - elapsed_ms * (1 + 1e-6 * drift)) <= 1.0


def test_depth_images_are_stored_on_request(tmp_path: Path) -> None:
    options = DatasetOptions(seed=5, minutes=0.1, images_every=30)
    stored = Recording.open(write_recording(tmp_path, 0, options))
    records, header = stored.stream("camera.depth")
    frames = len(stored.pose().t_ns)  # about 180, the count depends on the drifted clock
    assert records["depth"].shape == (-(-frames // 30), 576, 640)
    assert records["depth"].dtype == np.uint16
    assert np.array_equal(records["t_ns"], stored.pose().t_ns[::30])
    assert np.all(np.diff(records["t_ns"]) == pytest.approx(1e9, rel=1e-4))
    assert 600 < np.median(records["depth"][0][records["depth"][0] > 0]) < 1000
    assert header.attrs["calibration"].startswith("{")


def test_the_cli_writes_a_dataset_and_refuses_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    assert main(["sim", "dataset", str(out), "--subjects", "2", "--minutes", "0.1",
                 "--seed", "9", "--jobs", "1"]) == 0
    assert [entry.recording_id for entry in Dataset.open(out)] == ["sim-9-00000", "sim-9-00001"]
    assert "2 simulated infants" in capsys.readouterr().out
    assert main(["sim", "dataset", str(tmp_path / "bad"), "--imu-rate", "100"]) == 2
    assert "13 to 1666 Hz" in capsys.readouterr().err
    assert main(["sim", "dataset", str(out), "--subjects", "1", "--minutes", "0.1"]) == 1
    assert "not empty" in capsys.readouterr().err


def test_the_nuisance_moves_the_camera_by_its_value(tmp_path: Path) -> None:
    from edge.cli.sim_cmd import NUISANCES

    subject = SubjectOptions(nuisance_rho=0.9)
    plain = DatasetOptions(seed=5, minutes=0.05, subject=subject)
    shifted = DatasetOptions(seed=5, minutes=0.05, subject=subject, **NUISANCES["camera-height"])
    facts = [Recording.open(write_recording(tmp_path / name, 0, options)).meta.provenance[
        "simulator"] for name, options in (("plain", plain), ("shifted", shifted))]
    nuisance = facts[0]["nuisance"]
    rise = facts[1]["camera_height_mm"] - facts[0]["camera_height_mm"]
    assert rise == pytest.approx(100.0 * (2 * nuisance - 1), abs=0.2)
