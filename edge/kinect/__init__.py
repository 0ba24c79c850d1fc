"""Azure Kinect recordings (.mkv) read and written without libk4a.

`KinectRecording` reads a recording made by the Azure Kinect SDK (k4arecorder, pyk4a) or by
`KinectRecordingWriter`, which writes the same layout: Matroska with COLOR, DEPTH, IR and IMU
tracks, the factory calibration attached and the capture settings as K4A_* tags. PyAV decodes
and encodes the colour JPEGs; the Matroska layer is our own (`demux.py`, `muxer.py`), so that
a cut or damaged file is named as such and a crashed recording reads up to its last cluster.
"""

from edge.kinect.capture import Capture, CaptureGrouper
from edge.kinect.imu import ImuBatch, ImuSample
from edge.kinect.recording import ColorOutput, KinectRecording, KinectTrack, RecordingStats
from edge.kinect.replay import ReplayEvent, paced
from edge.kinect.spec import ColorFormat, RecordingConfig, TrackName, WiredSyncMode
from edge.kinect.writer import KinectRecordingWriter

__all__ = [
    "Capture",
    "CaptureGrouper",
    "ColorFormat",
    "ColorOutput",
    "ImuBatch",
    "ImuSample",
    "KinectRecording",
    "KinectRecordingWriter",
    "KinectTrack",
    "RecordingConfig",
    "RecordingStats",
    "ReplayEvent",
    "TrackName",
    "WiredSyncMode",
    "paced",
]
