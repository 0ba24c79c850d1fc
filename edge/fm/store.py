"""Windows of a whole dataset on disk, memory-mapped: what training and evaluation read.

A dataset of tens of thousands of recordings does not fit in memory as windows, and the
folds of a cross-validation read the same windows many times. So the windows are streamed
once into fixed-shape arrays on disk (appended chunk by chunk, never all held at once) and
read back as memory maps: a fold takes index arrays, a batch a slice. A modality a window
lacks is stored as zeros with its mask all False and `has_pose` / `has_imu` False.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from edge.errors import EvaluationError
from edge.fm.tracks import IMU_CHANNELS, IMU_POSITIONS, LIMB_JOINTS, Window

if TYPE_CHECKING:
    from edge.fm.preprocess import PreprocessOptions

_META = "store.json"
_CHUNK = 256
_FORMAT = 1


@dataclass(frozen=True)
class StoreShape:
    """The fixed shape of every window in a store."""

    pose_frames: int  # Tp
    dims: int  # C: 2 or 3
    imu_samples: int  # Ti
    pose_rate_hz: float
    imu_rate_hz: float

    @classmethod
    def of(cls, options: PreprocessOptions) -> StoreShape:
        """The shape of the windows that `options` cut."""
        return cls(
            pose_frames=round(options.window_s * options.pose_rate_hz),
            dims=2 if options.dimensions == "2d" else 3,
            imu_samples=round(options.window_s * options.imu_rate_hz),
            pose_rate_hz=options.pose_rate_hz,
            imu_rate_hz=options.imu_rate_hz,
        )

    def arrays(self) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
        """Per-window shape and dtype of each array file."""
        joints, sensors = len(LIMB_JOINTS), len(IMU_POSITIONS)
        return {
            "pose": ((self.pose_frames, joints, self.dims), np.dtype(np.float32)),
            "pose_valid": ((self.pose_frames, joints), np.dtype(np.bool_)),
            "imu": ((sensors, self.imu_samples, IMU_CHANNELS), np.dtype(np.float32)),
            "imu_valid": ((sensors, self.imu_samples), np.dtype(np.bool_)),
        }


class WindowStore:
    """The windows of a dataset: metadata in memory, signals memory-mapped read-only."""

    def __init__(self, folder: Path, shape: StoreShape, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.shape = shape
        self.recording_ids = np.array(meta["recording_ids"], dtype=object)
        self.subjects = np.array(meta["subjects"], dtype=object)
        self.labels = np.array(meta["labels"], dtype=np.int8)  # -1: unknown
        self.starts_s = np.array(meta["starts_s"], dtype=np.float64)
        self.has_pose = np.array(meta["has_pose"], dtype=bool)
        self.has_imu = np.array(meta["has_imu"], dtype=bool)
        self.skipped = int(meta.get("skipped", 0))
        count = len(self.recording_ids)
        self.arrays: dict[str, np.ndarray] = {}
        for name, (window_shape, dtype) in shape.arrays().items():
            path = folder / f"{name}.bin"
            expected = count * int(np.prod(window_shape)) * dtype.itemsize
            if not path.is_file() or path.stat().st_size != expected:
                raise EvaluationError(f"{path}: missing or not {expected} bytes; build the store "
                                      "again")
            self.arrays[name] = np.memmap(path, dtype=dtype, mode="r",
                                          shape=(count, *window_shape)) if count else \
                np.zeros((0, *window_shape), dtype)

    def __len__(self) -> int:
        return len(self.recording_ids)

    @property
    def pose(self) -> np.ndarray:
        return self.arrays["pose"]

    @property
    def pose_valid(self) -> np.ndarray:
        return self.arrays["pose_valid"]

    @property
    def imu(self) -> np.ndarray:
        return self.arrays["imu"]

    @property
    def imu_valid(self) -> np.ndarray:
        return self.arrays["imu_valid"]

    def window(self, index: int) -> Window:
        """Window `index` as the analysis's `Window` (a copy of its arrays)."""
        label = int(self.labels[index])
        return Window(
            recording_id=str(self.recording_ids[index]),
            subject=str(self.subjects[index]),
            label=None if label < 0 else label,
            start_s=float(self.starts_s[index]),
            length_s=self.shape.pose_frames / self.shape.pose_rate_hz,
            pose=np.array(self.pose[index]) if self.has_pose[index] else None,
            pose_valid=np.array(self.pose_valid[index]) if self.has_pose[index] else None,
            imu=np.array(self.imu[index]) if self.has_imu[index] else None,
            imu_valid=np.array(self.imu_valid[index]) if self.has_imu[index] else None,
        )

    @classmethod
    def open(cls, folder: str | Path) -> WindowStore:
        path = Path(folder)
        try:
            meta = json.loads((path / _META).read_text())
        except (OSError, ValueError) as exc:
            raise EvaluationError(f"{path / _META}: not a window store ({exc})") from exc
        if meta.get("format") != _FORMAT:
            raise EvaluationError(f"{path / _META}: store format {meta.get('format')}, "
                                  f"this version reads {_FORMAT}")
        return cls(path, StoreShape(**meta["shape"]), meta)

    @classmethod
    def build(cls, windows: Iterable[Window], folder: str | Path, shape: StoreShape,
              skipped: Callable[[], int] | None = None) -> WindowStore:
        """Stream `windows` into a new store in `folder` (created; must not hold a store);
        `skipped`, asked once they are spent, says how many recordings could not be read."""
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        if (path / _META).exists():
            raise EvaluationError(f"{path} already holds a window store")
        meta: dict[str, list[Any]] = {key: [] for key in (
            "recording_ids", "subjects", "labels", "starts_s", "has_pose", "has_imu")}
        specs = shape.arrays()
        files: dict[str, IO[bytes]] = {name: (path / f"{name}.bin").open("wb") for name in specs}
        chunk: dict[str, list[np.ndarray]] = {name: [] for name in specs}
        try:
            for window in windows:
                for name, value in window_arrays(window, shape).items():
                    chunk[name].append(value)
                meta["recording_ids"].append(window.recording_id)
                meta["subjects"].append(window.subject)
                meta["labels"].append(-1 if window.label is None else int(window.label))
                meta["starts_s"].append(float(window.start_s))
                meta["has_pose"].append(window.pose is not None)
                meta["has_imu"].append(window.imu is not None)
                if len(chunk["pose"]) >= _CHUNK:
                    _flush(chunk, files)
            _flush(chunk, files)
        finally:
            for handle in files.values():
                handle.close()
        record = {"format": _FORMAT, "shape": asdict(shape), **meta,
                  "skipped": 0 if skipped is None else skipped()}
        (path / _META).write_text(json.dumps(record))
        return cls.open(path)


def window_arrays(window: Window, shape: StoreShape) -> dict[str, np.ndarray]:
    """The window's four arrays at the store's shape; zeros and False for a missing modality
    (the layout a store keeps and an exported model reads)."""
    specs = shape.arrays()
    out = {name: np.zeros(window_shape, dtype) for name, (window_shape, dtype) in specs.items()}
    if window.pose is not None and window.pose_valid is not None:
        _check(window, "pose", window.pose.shape, specs["pose"][0])
        out["pose"][:] = window.pose
        out["pose_valid"][:] = window.pose_valid
    if window.imu is not None and window.imu_valid is not None:
        _check(window, "imu", window.imu.shape, specs["imu"][0])
        out["imu"][:] = window.imu
        out["imu_valid"][:] = window.imu_valid
    return out


def model_inputs(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Window arrays (one window or a batch) as an exported model's inputs: float32,
    contiguous, masks as 0 and 1."""
    return {name: np.ascontiguousarray(value, dtype=np.float32)
            for name, value in arrays.items()}


def _check(window: Window, name: str, got: tuple[int, ...], want: tuple[int, ...]) -> None:
    if got != want:
        raise EvaluationError(f"recording {window.recording_id} at {window.start_s:.1f} s: {name} "
                              f"window is {got}, the store's {want} (mixed rates or 2D and 3D?)")


def _flush(chunk: dict[str, list[np.ndarray]], files: dict[str, IO[bytes]]) -> None:
    for name, values in chunk.items():
        if values:
            files[name].write(np.ascontiguousarray(np.stack(values)).tobytes())
        values.clear()
