"""The one error tree of gma-edge: every error raised on purpose derives from `EdgeError`.

Callers catch the narrowest class that lets them act; the message always says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass


class EdgeError(Exception):
    """Root of all errors that gma-edge raises on purpose."""


class MissingDependencyError(EdgeError):
    """An optional package is needed for the configured backend but is not installed."""

    def __init__(self, package: str, needed_for: str, install: str) -> None:
        super().__init__(f"{needed_for} needs the package '{package}': install it with {install}")
        self.package = package


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located as precisely as the file allows."""

    path: str
    message: str
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        key = f"{self.path}: " if self.path else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{key}{self.message}{hint}"


class ConfigError(EdgeError):
    """A config file cannot be read or does not validate; `issues` lists every problem found."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"{source}: {len(issues)} problem(s)\n{lines}")


class BusError(EdgeError):
    """Something went wrong on the message bus."""


class EndpointError(BusError):
    """An endpoint is invalid, too long for an ipc path, or not on loopback."""


class MessageError(BusError):
    """A message on the bus is malformed: wrong envelope, schema version, dtype or size."""


class RpcTimeout(BusError):
    """The peer of an RPC call did not answer in time; the next call starts afresh."""


class RpcRemoteError(BusError):
    """The RPC server answered with an error; `kind` is the remote error's class name."""

    def __init__(self, method: str, kind: str, message: str) -> None:
        super().__init__(f"{method}: {kind}: {message}")
        self.method = method
        self.kind = kind
        self.remote_message = message


class CalibrationError(EdgeError):
    """A camera calibration is malformed or unusable; `where` locates the problem in its JSON."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


class RecordingError(EdgeError):
    """A recording or dataset cannot be written or read; `path` names the file concerned."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class CorruptRecordingError(RecordingError):
    """A file of a recording or dataset is missing, malformed, or does not match its header."""


class UnsupportedFormatError(RecordingError):
    """A file was written in a major format version this gma-edge does not read: update it."""


class MissingStreamError(RecordingError):
    """The recording has no stream of the name asked for (e.g. no IMU on that position)."""


class StreamLayoutError(RecordingError):
    """A stream spec or the records appended to a stream do not fit its declared layout."""


class DiskFullError(RecordingError):
    """The disk filled up while recording: the recording ended, what was written is readable."""


class KeypointImportError(EdgeError):
    """External keypoint data cannot be imported; `path` names the file (and row) concerned."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class GspError(EdgeError):
    """A GATT sensor-data protocol message is malformed; the message says what was wrong."""


class SensorError(EdgeError):
    """A Movesense sensor could not be reached, set up or streamed from; says what to do."""

    def __init__(self, serial: str, message: str) -> None:
        super().__init__(f"sensor {serial}: {message}")
        self.serial = serial


class SensorTimeout(SensorError):
    """A sensor did not answer in time: no HELLO reply, or no data after a subscribe."""


class SensorRefused(SensorError):
    """A sensor answered with an error, or its link cannot carry the stream (MTU, slots)."""


class BluetoothUnavailable(EdgeError):
    """No Bluetooth: no adapter, BlueZ not running, or no D-Bus system bus."""


class KinectRecordingError(RecordingError):
    """An Azure Kinect recording (.mkv) cannot be read or written; the subclass names why."""


class TruncatedKinectRecordingError(KinectRecordingError, CorruptRecordingError):
    """The recording ends inside an element: cut short by a copy, or by a crash while recording.

    What comes before the cut still reads with `KinectRecording(path, allow_truncated=True)`.
    """


class DamagedKinectRecordingError(KinectRecordingError, CorruptRecordingError):
    """Bytes of the recording are damaged: a checksum mismatch, an element overrunning its
    parent, a block that does not decode."""


class NotKinectRecordingError(KinectRecordingError):
    """The file is not Matroska, or is Matroska without the Azure Kinect's tracks and tags."""


class UnsupportedKinectRecordingError(KinectRecordingError):
    """An Azure Kinect recording with a codec, FOURCC, mode or layout this reader cannot handle."""


class CameraUnavailable(EdgeError):
    """No Kinect could be opened: not plugged in, no power, or in use by another program."""


class InferenceError(EdgeError):
    """A model could not be run by its inference runtime; the message says what went wrong."""


class ModelLoadError(InferenceError):
    """A model file is missing, unreadable, or refused by its runtime; `path` names it."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class ProviderUnavailable(InferenceError):
    """A required execution provider is not installed, or did not start; says what to install."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


class FrameUnusable(InferenceError):
    """A frame lacks what the configured model needs (a colour model and no colour image)."""


class EvaluationError(EdgeError):
    """A dataset, a window store or a fold plan cannot be evaluated as asked; says why."""


class SessionError(EdgeError):
    """A screening session cannot do what was asked; says why."""


class SessionStateError(SessionError):
    """An event the session's current state does not allow (a second Start, a late cancel)."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"a session in state {state!r} cannot {event.replace('_', ' ')}")
        self.state = state
        self.event = event


class SessionStoreError(SessionError):
    """The session database cannot be opened, migrated or written; says which and why."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ExportError(EdgeError):
    """An export to removable media cannot be made or did not verify; says why and what to do."""


class ExportSpaceError(ExportError):
    """The target has too little free space for the export (checked before, or hit during)."""


class ExportVerifyError(ExportError):
    """Files read back from the target differ from what was written: the export is unusable."""


class UpdateError(EdgeError):
    """A field update cannot be built, verified, applied or rolled back; says why and what to do."""


class BundleRejected(UpdateError):
    """An update bundle failed a check (signature, hash, member, version): nothing was changed."""


class UpdateFailed(UpdateError):
    """An update did not install or did not come up; the message says what was rolled back."""


class TechnicianAccessError(EdgeError):
    """The technician screen stays closed: no PIN configured, a wrong PIN, or no valid token."""


class TechnicianLockedOut(TechnicianAccessError):
    """Too many wrong PINs in a row: every PIN is refused for a while; says how long."""


class DeployError(EdgeError):
    """A release cannot be installed or activated; says which step failed and what to do."""
