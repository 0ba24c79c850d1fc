"""Labelled datasets from the simulator, in the project's recording format.

Each recording is one simulated infant (subject `index` of the cohort `seed`), written by
`write_recording` as a pure function of (seed, index, options): the same call gives the same
bytes, whichever process or order writes it. Streams (see docs/recording-format.md):

- `pose`: what a perfect pose estimator reports on the depth image at the camera's frame rate:
  the true joints (`edge.skeleton.SIM`) in the depth camera frame and their depth pixels
  wherever they fall inside the image, with confidence 1 where the camera sees the joint and
  0.5 where the body hides it (a shoulder under its own arm and chest: a pose model still
  places it, less surely, as the Azure Kinect's body tracking does); NaN with confidence 0
  outside the image.
- `imu.<position>`: the four Movesense sensors. In a dataset they sample at the same true
  instants (one evaluation of the body serves all four); `t_ns` is the true time and
  `t_device_ms` what each sensor's own drifting clock stamps. The live simulator samples each
  on its own crystal instead.
- `truth.joints`: every joint in the world frame (mat centre, x left, y cranial, z up), with
  visibility in the depth image; `truth.state`: the infant's state code and the fidgety level.
- `camera.depth` (only with `images_fps`): depth images as the Kinect delivers them.

`t_ns` counts from the start of the recording (`TimeBase(clock="simulated")`).

The label and GMA class are the rater's (`Subject.rated`), what a clinic's data would carry;
they differ from the true class only in cohorts with rater error (`SubjectOptions.overlap` or
`rater_error`), whose provenance then also holds the overlap, the rater's error rate, the
factors the overlap draws, the true label and the rated class (`simulator.fm_class` is always
the true class).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge import __version__
from edge.recording import (
    DatasetWriter,
    FieldSpec,
    IndexEntry,
    RecordingMeta,
    RecordingWriter,
    StreamSpec,
    TimeBase,
    imu_spec,
    pose_spec,
)
from edge.recording.meta import FmClass as GmaClass
from edge.sim import FmClass, InfantState, SimulatedInfant, Subject, SubjectOptions, draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera, ViewTruth
from edge.sim.imu import ImuOptions, ImuRig
from edge.sim.mounting import POSITIONS, MountingOptions
from edge.sim.movesense import SensorClock
from edge.skeleton import SIM

CHUNK_S = 20.0  # generate and append this much at a time: bounds memory for long recordings
_GMA_CLASS: dict[FmClass, GmaClass] = {
    FmClass.CONTINUAL: "FM++",
    FmClass.INTERMITTENT: "FM+",
    FmClass.SPORADIC: "FM+/-",
    FmClass.ABSENT: "FM-",
    FmClass.MONOTONOUS: "FM-",  # absent, with poorly varied movement: still FM- in GMA notation
}


@dataclass(frozen=True)
class DatasetOptions:
    """What every recording of a simulated dataset holds."""

    seed: int = 0
    minutes: float = 3.0
    imu_rate_hz: float = 104.0
    images_every: int | None = None  # store the depth image of every n-th frame; None: none
    subject: SubjectOptions = field(default_factory=SubjectOptions)
    camera: CameraOptions = field(default_factory=lambda: CameraOptions(color=False))
    placement: MountingOptions = field(default_factory=MountingOptions)  # all four sensors

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise ValueError(f"minutes must be positive, not {self.minutes}")
        if self.imu_rate_hz not in (13.0, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0):
            raise ValueError(f"a Movesense samples its IMU at 13 to 1666 Hz in steps of 2x, "
                             f"not {self.imu_rate_hz}")
        if self.images_every is not None and self.images_every < 1:
            raise ValueError(f"images_every must be at least 1, not {self.images_every}")

    def subject_options(self) -> SubjectOptions:
        return SubjectOptions(**{**asdict(self.subject), "duration_s": 60.0 * self.minutes})


HIDDEN_CONFIDENCE = 0.5  # of a joint inside the image that the body hides


def recording_id(seed: int, index: int) -> str:
    return f"sim-{seed}-{index:05d}"


def write_recording(folder: Path, index: int, options: DatasetOptions) -> Path:
    """Simulate subject `index` and write its recording into `folder`; returns its path."""
    subject = draw_subject(options.seed, index, options.subject_options())
    infant = SimulatedInfant(subject)
    camera = SimulatedCamera(subject, infant, options.camera)
    rig = ImuRig(infant, ImuOptions(rate_hz=options.imu_rate_hz),
                 dict.fromkeys(POSITIONS, options.placement))
    clocks = _sensor_clocks(subject)
    path = folder / recording_id(options.seed, index)
    with RecordingWriter.create(path, _meta(subject, camera, rig, clocks, options),
                                sync=False) as writer:
        writer.add_stream("pose", pose_spec(
            SIM, options.camera.fps, points_2d=True,
            attrs={"image": "depth", "estimator": "ground truth: the true joints where the "
                   "depth camera sees them"}))
        writer.add_stream("truth.joints", _truth_joints_spec(options.camera.fps))
        writer.add_stream("truth.state", _truth_state_spec(options.camera.fps))
        for position in POSITIONS:
            writer.add_stream(f"imu.{position}", imu_spec(options.imu_rate_hz, attrs={
                "frame": "sensor: x along the limb, z out of the puck's face"}))
        if options.images_every is not None:
            writer.add_stream("camera.depth", _depth_spec(camera, options.images_every))
        _write_states(writer, subject)
        for start, end in _chunks(subject.duration_s):
            _write_frames(writer, camera, start, end)
            _write_imu(writer, rig, clocks, options.imu_rate_hz, start, end)
            if options.images_every is not None:
                _write_images(writer, camera, options.images_every, start, end)
    return path


def generate(
    folder: str | os.PathLike[str],
    subjects: int,
    options: DatasetOptions,
    *,
    jobs: int = 1,
    progress: Callable[[IndexEntry], None] | None = None,
) -> Path:
    """Write a dataset of `subjects` recordings into the new folder `folder`, `jobs` at a time.

    Recordings are indexed in subject order as they finish; `progress` sees each entry.
    """
    if subjects < 1:
        raise ValueError(f"a dataset has at least one subject, not {subjects}")
    path = Path(folder)
    description = (f"Simulated infants: seed {options.seed}, {subjects} subjects of "
                   f"{options.minutes:g} min. Not clinical data.")
    with DatasetWriter.create(path, f"sim-{options.seed}", description, sync=False) as index:
        for recording in _recordings(path, subjects, options, jobs):
            entry = index.add(recording)
            if progress is not None:
                progress(entry)
    return path


def _recordings(path: Path, subjects: int, options: DatasetOptions, jobs: int) -> Iterator[Path]:
    if jobs <= 1:
        yield from (write_recording(path, index, options) for index in range(subjects))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(write_recording, [path] * subjects, range(subjects),
                            [options] * subjects)


def _chunks(duration_s: float) -> Iterator[tuple[float, float]]:
    start = 0.0
    while start < duration_s:
        yield start, min(start + CHUNK_S, duration_s)
        start += CHUNK_S


def _sensor_clocks(subject: Subject) -> dict[str, SensorClock]:
    """Each sensor's clock: reset up to a day before the recording, crystal within +-40 ppm."""
    rng = subject.rng("dataset.clocks")
    return {
        position: SensorClock(reset_at_s=-float(rng.uniform(60.0, 86400.0)),
                              drift_ppm=float(rng.uniform(-40.0, 40.0)))
        for position in POSITIONS
    }


def _meta(subject: Subject, camera: SimulatedCamera, rig: ImuRig,
          clocks: dict[str, SensorClock], options: DatasetOptions) -> RecordingMeta:
    mount = camera.world_to_depth.inverse().translation_mm
    cohort = options.subject
    overlap: dict[str, object] = {}
    if cohort.overlap > 0.0 or cohort.rater_error:  # absent otherwise: old datasets unchanged
        overlap = {
            "overlap": cohort.overlap,
            "rater_error": round(cohort.rated_wrong, 6),
            "small_movements": round(subject.small_movements, 3),
            "small_bout_s": round(subject.small_bout_s, 2),
            "small_pause_s": round(subject.small_pause_s, 2),
            "large_mix": round(subject.large_mix, 3),
            "true_label": "present" if subject.fm_present else "absent",
            "rated_class": subject.rated.name.lower(),
        }
    return RecordingMeta(
        recording_id=recording_id(subject.seed, subject.index),
        source="simulator",
        subject=f"sim{subject.seed}-{subject.index:05d}",
        label="present" if subject.rated_present else "absent",
        fm_class=_GMA_CLASS[subject.rated],
        age_weeks=round(subject.age_weeks),
        versions={"gma-edge": __version__},
        provenance={
            "simulator": {
                "seed": subject.seed,
                "index": subject.index,
                "fm_class": subject.fm_class.name.lower(),
                "age_weeks": round(subject.age_weeks, 2),
                "sex": subject.sex.name.lower(),
                "size_z": round(subject.size_z, 3),
                "activity": round(subject.activity, 3),
                "fidgety_intensity": round(subject.fidgety_intensity, 3),
                "asymmetry": round(subject.asymmetry, 3),
                "head_side": subject.head_side,
                "nuisance": round(subject.nuisance, 4),
                "nuisance_rho": subject.nuisance_rho,
                "camera_height_mm": round(float(mount[2]), 1),
                "clothing_mm": round(camera.appearance.clothing_mm, 2),
                "clock_drift_ppm": {p: round(c.drift_ppm, 3) for p, c in clocks.items()},
                "imu_rate_hz": options.imu_rate_hz,
                "states": [[span.start_s, span.end_s, span.state.name.lower()]
                           for span in subject.schedule],
                **overlap,
            }
        },
        time_base=TimeBase(clock="simulated"),
    )


def _numbers(start: float, end: float, period_s: float) -> np.ndarray:
    """Numbers of the samples, every `period_s` from 0, taken in [start, end)."""
    return np.arange(np.ceil(start / period_s - 1e-9), np.ceil(end / period_s - 1e-9))


def _write_frames(writer: RecordingWriter, camera: SimulatedCamera, start: float,
                  end: float) -> None:
    t = _numbers(start, end, camera.period_s) * camera.period_s
    if not len(t):
        return
    sample = camera.infant.sample(t)
    view = camera.view(sample, color=False)
    joints, px, confidence = camera_joints(camera, view)
    t_ns = np.round(t * 1e9).astype(np.int64)
    writer.append("pose", {"t_ns": t_ns, "joints": joints, "joints_2d": px,
                           "confidence": confidence})
    writer.append("truth.joints", {"t_ns": t_ns, "joints": sample.joints_mm,
                                   "visible": view.visible_depth})
    writer.append("truth.state", {"t_ns": t_ns, "state": sample.state,
                                  "fidgety": sample.fidgety})


def camera_joints(camera: SimulatedCamera, view: ViewTruth
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The joints as the pose stream holds them: 3D (mm) and 2D (px) where they fall inside
    the depth image or are seen, NaN elsewhere; confidence 1 seen, lower hidden, 0 outside."""
    seen = view.visible_depth
    depth = camera.geometry.depth
    px = view.joints_depth_px
    with np.errstate(invalid="ignore"):
        inside = (np.rint(px[..., 0]) >= 0) & (np.rint(px[..., 0]) < depth.width) & \
            (np.rint(px[..., 1]) >= 0) & (np.rint(px[..., 1]) < depth.height)
    placed = inside | seen
    confidence = np.where(seen, 1.0, np.where(placed, HIDDEN_CONFIDENCE, 0.0))
    return (np.where(placed[..., None], view.joints_mm, np.nan),
            np.where(placed[..., None], px, np.nan), confidence.astype(np.float32))


def _write_imu(writer: RecordingWriter, rig: ImuRig, clocks: dict[str, SensorClock],
               rate_hz: float, start: float, end: float) -> None:
    t = _numbers(start, end, 1.0 / rate_hz) / rate_hz
    if not len(t):
        return
    t_ns = np.round(t * 1e9).astype(np.int64)
    for position, (acc, gyro, magn) in rig.samples(t).items():
        writer.append(f"imu.{position}", {
            "t_ns": t_ns, "t_device_ms": clocks[position].timestamp_ms(t),
            "acc": acc, "gyro": gyro, "magn": magn,
        })


def _write_images(writer: RecordingWriter, camera: SimulatedCamera, every: int,
                  start: float, end: float) -> None:
    for number in _numbers(start, end, camera.period_s * every).tolist():
        frame = camera.frame(round(number) * every)
        writer.append("camera.depth", {
            "t_ns": np.array([round(frame.t_true_s * 1e9)], dtype=np.int64),
            "device_usec": np.array([frame.device_usec], dtype=np.int64),
            "depth": frame.depth[None],
        })


def _write_states(writer: RecordingWriter, subject: Subject) -> None:
    for span in subject.schedule:
        writer.event("state", round(span.start_s * 1e9), {
            "state": span.state.name.lower(), "assessable": span.state.assessable,
        })


def _truth_joints_spec(fps: float) -> StreamSpec:
    count = len(SIM)
    return StreamSpec(
        fields=(
            FieldSpec(name="t_ns", type="<i8", unit="ns", description="True time of the frame."),
            FieldSpec(name="joints", type="<f4", shape=(count, 3), unit="mm",
                      description="True joints in the world: mat centre, x the infant's left, "
                      "y cranial, z up."),
            FieldSpec(name="visible", type="|b1", shape=(count,), unit="1",
                      description="Seen by the depth camera: in its field, not occluded."),
        ),
        rate_hz=fps, joint_set=SIM.name, joints=SIM.joints,
        attrs={"frame": "world"},
    )


def _truth_state_spec(fps: float) -> StreamSpec:
    codes = {state.name.lower(): int(state) for state in InfantState}
    return StreamSpec(
        fields=(
            FieldSpec(name="t_ns", type="<i8", unit="ns", description="True time of the frame."),
            FieldSpec(name="state", type="|i1", unit="1",
                      description="The infant's state: see attrs.codes."),
            FieldSpec(name="fidgety", type="<f4", unit="1",
                      description="How much the fidgety component is switched on, 0 to 1."),
        ),
        rate_hz=fps, attrs={"codes": codes},
    )


def _depth_spec(camera: SimulatedCamera, every: int) -> StreamSpec:
    depth = camera.geometry.depth
    return StreamSpec(
        fields=(
            FieldSpec(name="t_ns", type="<i8", unit="ns", description="True time of the frame."),
            FieldSpec(name="device_usec", type="<i8", unit="us",
                      description="The camera's own clock, middle of the exposure."),
            FieldSpec(name="depth", type="<u2", shape=(depth.height, depth.width), unit="mm",
                      description="Depth along the optical axis; 0 where invalid."),
        ),
        rate_hz=camera.options.fps / every,
        attrs={"calibration": camera.calibration_json(),
               "depth_mode": camera.options.depth_mode.value},
    )
