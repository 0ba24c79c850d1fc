"""The one recording format of gma-edge: appliance sessions, simulator datasets and imports.

A recording is a folder: `recording.json` (metadata, status), `streams/<name>.json` + `.bin`
(typed time series of fixed-size little-endian records) and `events.jsonl`. A dataset is a
folder of recordings with `dataset.json` and `recordings.csv`. The spec, with a numpy-only
reading example, is docs/recording-format.md.
"""

from edge.recording.dataset import Dataset, DatasetInfo, DatasetWriter, IndexEntry
from edge.recording.events import Event
from edge.recording.layout import (
    IMU_POSITIONS,
    FieldSpec,
    StreamHeader,
    StreamSpec,
    imu_spec,
    pose_spec,
)
from edge.recording.meta import RecordingMeta, TimeBase
from edge.recording.reader import Recording
from edge.recording.schema import CURRENT, FormatTag
from edge.recording.series import ImuSeries, PoseSeries
from edge.recording.writer import RecordingWriter

__all__ = [
    "CURRENT",
    "IMU_POSITIONS",
    "Dataset",
    "DatasetInfo",
    "DatasetWriter",
    "Event",
    "FieldSpec",
    "FormatTag",
    "ImuSeries",
    "IndexEntry",
    "PoseSeries",
    "Recording",
    "RecordingMeta",
    "RecordingWriter",
    "StreamHeader",
    "StreamSpec",
    "TimeBase",
    "imu_spec",
    "pose_spec",
]
