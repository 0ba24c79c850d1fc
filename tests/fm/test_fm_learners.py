"""The networks on synthetic windows with a known answer: they learn it on unseen subjects,
the same seed gives the same model, the ONNX exports agree with PyTorch, and the gradient
reversal reverses."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
sys.path.insert(0, str(Path(__file__).parent))

from fm_synthetic import synthetic_store  # noqa: E402

from edge.fm.learner import MODALITIES, usable  # noqa: E402
from edge.fm.models import csad, mbcnn  # noqa: E402
from edge.fm.models.mbcnn import window_inputs  # noqa: E402
from edge.fm.nets import reverse_gradient  # noqa: E402
from edge.fm.store import WindowStore  # noqa: E402

FAST = {"epochs": 20, "batch_size": 16, "threads": 1}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WindowStore:
    return synthetic_store(tmp_path_factory.mktemp("store"), subjects=12, per_subject=8)


def split(store: WindowStore) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(len(store))
    test = np.isin(store.subjects, ["S009", "S010", "S011"])
    return index[~test], index[test]


@pytest.mark.parametrize("modalities", MODALITIES)
def test_the_mbcnn_learns_the_synthetic_task_on_unseen_subjects(
    store: WindowStore, modalities: mbcnn.Modalities
) -> None:
    train, test = split(store)
    learner = mbcnn.create(mbcnn.Config(**FAST), modalities)
    learner.fit(store, train, seed=1)
    scores = learner.predict(store, test)
    assert scores.embedding.shape == (len(test), 128)
    assert ((scores.probability > 0.5) == store.labels[test]).mean() >= 0.9


def test_the_same_seed_gives_the_same_model_and_another_seed_another(store: WindowStore) -> None:
    train, test = split(store)
    runs = []
    for seed in (3, 3, 4):
        learner = mbcnn.create(mbcnn.Config(**FAST), "pose")
        learner.fit(store, train, seed=seed)
        runs.append(learner.predict(store, test).probability)
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_the_onnx_exports_agree_with_pytorch(store: WindowStore, tmp_path: Path) -> None:
    train, test = split(store)
    learner = csad.create(csad.Config(**FAST), "both")
    learner.fit(store, train, seed=0)
    expected = learner.predict(store, test).probability
    files = learner.export(store, train[::4], tmp_path, "csad-both")
    assert learner.predict(store, test).probability.tolist() == expected.tolist()
    for precision, path in files.items():
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        assert names == ["pose", "pose_valid", "imu", "imu_valid"]
        probability, embedding = session.run(None, window_inputs(store, test))
        assert embedding.shape == (len(test), 128)
        if precision == "fp32":
            np.testing.assert_allclose(probability, expected, atol=1e-5)
        else:
            assert ((probability > 0.5) == (expected > 0.5)).all()


def test_a_pose_model_exports_without_the_imu_inputs(store: WindowStore, tmp_path: Path) -> None:
    train, _ = split(store)
    learner = mbcnn.create(mbcnn.Config(epochs=1, threads=1), "pose")
    learner.fit(store, train, seed=0)
    files = learner.export(store, train[:4], tmp_path, "pose")
    session = ort.InferenceSession(str(files["fp32"]), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["pose", "pose_valid"]


def test_windows_without_a_modality_are_not_usable_for_it(tmp_path: Path) -> None:
    from fm_synthetic import SHAPE, synthetic_windows

    store = WindowStore.build(synthetic_windows(2, 4, 0, missing_imu_every=2), tmp_path, SHAPE)
    assert usable(store, "pose").all()
    assert usable(store, "imu").tolist() == [False, True] * 4
    assert (usable(store, "both") == usable(store, "imu")).all()
    assert store.window(0).imu is None and store.window(1).imu is not None


def test_the_gradient_reversal_is_the_identity_forward_and_reverses_backward() -> None:
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([3.0, 4.0])).sum().backward()
    assert x.grad is not None and x.grad.tolist() == [-1.5, -2.0]
