"""Writing the appliance's camera streams as an Azure Kinect recording that libk4arecord reads.

The tracks, tags and attachment are those libk4arecord writes (record.cpp): COLOR, DEPTH, IR
(V_MS/VFW/FOURCC with a BITMAPINFOHEADER; depth and IR as big-endian `b16g`), IMU (S_K4A/IMU,
40-byte samples with ns timestamps), calibration.json, the K4A_* tags. Blocks are sorted into
clusters of 32 ms as libk4arecord does, and held until the newest timestamp is
`reorder_window_usec` past a cluster, so that images and IMU samples arriving a little out of
order (they come from different queues) still land in time order; memory stays bounded by
that window. Colour arrays are encoded to JPEG for an MJPG track; JPEG bytes pass through.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

import numpy as np

from edge import __version__
from edge.durable import sync_folder
from edge.errors import RecordingError, StreamLayoutError
from edge.geometry import DepthMode, FactoryCalibration, calibration_to_json
from edge.kinect import ebml, muxer, spec
from edge.kinect.capture import Capture
from edge.kinect.images import JpegEncoder, encode_gray16
from edge.kinect.imu import ImuBatch, ImuSample, encode_sample
from edge.kinect.spec import ColorFormat, RecordingConfig, TrackName, WiredSyncMode
from edge.recording.durable import io_error

_VALID_TAG = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True)
class _Track:
    role: TrackName
    number: int
    uid: int
    width: int = 0
    height: int = 0


class KinectRecordingWriter:
    """An Azure Kinect recording being written; a context manager that finishes it on exit.

    `write_capture` and `write_imu` append as data comes; `close` writes what is held, the
    cues, duration and sizes. Until then the file on disk is a valid, unfinished recording
    that ends after a whole cluster. Raises `StreamLayoutError` for data that does not fit the
    configuration (or comes later than the reorder window allows), `RecordingError` (or
    `DiskFullError`) when the file cannot be written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: RecordingConfig | None = None,
        *,
        calibration: str | bytes | FactoryCalibration | None = None,
        device_serial: str | None = None,
        color_firmware: str | None = None,
        depth_firmware: str | None = None,
        tags: Mapping[str, str] | None = None,
        jpeg_quality: int = 90,
        reorder_window_usec: int = 500_000,
        sync: bool = False,
        created: datetime | None = None,
        seed: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.config = config = config or RecordingConfig()
        if config.fps not in spec.FPS_CHOICES:
            raise ValueError(f"{config.fps} fps: the device records at {spec.FPS_CHOICES} fps")
        if not (config.has_color or config.depth_mode is not None or config.imu):
            raise ValueError("nothing to record: no colour, no depth mode and no IMU")
        if reorder_window_usec < 0:
            raise ValueError(f"reorder window must not be negative, got {reorder_window_usec}")
        for name in tags or {}:
            _check_tag_name(name)
        self._reorder_ns = reorder_window_usec * 1000
        self._random = random.Random(seed)
        self._uids: set[int] = set()
        self._tracks = self._make_tracks()
        self._by_role = {track.role: track for track in self._tracks}
        self._calibration = _calibration_bytes(calibration)
        self._attachment_uid = self._new_uid() if self._calibration is not None else 0
        self._extra_tags = dict(tags or {})
        self._device = {spec.TAG_COLOR_FIRMWARE: color_firmware,
                        spec.TAG_DEPTH_FIRMWARE: depth_firmware,
                        spec.TAG_DEVICE_SERIAL: device_serial}
        self._created = created or datetime.now(timezone.utc)
        self._jpeg = None
        color = self._by_role.get(TrackName.COLOR)
        if config.color_format is ColorFormat.MJPG and color is not None:
            self._jpeg = JpegEncoder(color.width, color.height, jpeg_quality)
        # Blocks held per 32 ms cluster window: window -> [(timestamp ns, track, order, payload)]
        self._pending: dict[int, list[tuple[int, int, int, bytes]]] = {}
        self._order = 0
        self._origin_ns: int | None = None
        self._newest_ns = 0
        self._written_window: int | None = None
        self._start_offset_ns = 0
        self._last_cue_ns: int | None = None
        self._closed = False
        try:
            self._muxer = muxer.MatroskaMuxer(self.path, sync)
        except FileExistsError as exc:
            raise RecordingError(self.path, "exists already: a recording is never "
                                 "overwritten") from exc
        except OSError as exc:
            raise io_error(self.path, exc, "the recording was not started") from exc

    def __enter__(self) -> KinectRecordingWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if error is None:
            self.close()
            return
        try:  # finish what was written; the error in flight is the one to report
            self.close()
        except (RecordingError, OSError):
            self._muxer.close()

    @property
    def start_offset_usec(self) -> int | None:
        """K4A_START_OFFSET_NS in us, once the first cluster fixed it."""
        return self._start_offset_ns // 1000 if self._muxer.header_written else None

    def write_capture(self, capture: Capture) -> None:
        """Append the images of a capture; each goes to its track at its own timestamp."""
        self._check_open()
        blocks: list[tuple[int, int, bytes]] = []
        for role, image, stamp in (
            (TrackName.COLOR, capture.color, capture.color_usec),
            (TrackName.DEPTH, capture.depth, capture.depth_usec),
            (TrackName.IR, capture.ir, capture.ir_usec),
        ):
            if image is None:
                continue
            track = self._by_role.get(role)
            if track is None:
                raise StreamLayoutError(self.path, f"a {role.value} image, but the recording "
                                        f"has no {role.value} track ({self.config})")
            usec = capture.device_usec if stamp is None else stamp
            blocks.append((self._timestamp_ns(usec), track.number, self._payload(track, image)))
        for timestamp, _, _ in blocks:  # all or none of the capture
            self._window(timestamp)
        for timestamp, number, payload in blocks:
            self._hold(timestamp, number, payload)
        self._write_ready()

    def write_imu(self, sample: ImuSample) -> None:
        """Append one camera IMU sample (filed at its accelerometer timestamp)."""
        self._check_open()
        track = self._by_role.get(TrackName.IMU)
        if track is None:
            raise StreamLayoutError(self.path, "an IMU sample, but the recording has no IMU track")
        self._hold(self._timestamp_ns(sample.acc_usec), track.number, encode_sample(sample))
        self._write_ready()

    def write_imu_batch(self, batch: ImuBatch) -> None:
        for sample in batch.samples():
            self.write_imu(sample)

    def flush(self) -> None:
        """Make what is on disk durable (with sync=True); held blocks stay held."""
        try:
            self._muxer.flush()
        except OSError as exc:
            raise io_error(self.path, exc, "the recording may lose its last clusters") from exc

    def close(self) -> None:
        """Write every held block and finish the file (cues, duration, sizes)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._write_ready(final=True)
            if not self._muxer.header_written:
                self._write_header()
            duration = (self._newest_ns - self._start_offset_ns) / spec.TIMESTAMP_SCALE_NS
            self._muxer.finish(max(duration, 0.0))
            if self._muxer.sync:  # the new file's directory entry, too
                sync_folder(self.path.parent)
        except OSError as exc:
            self._muxer.close()
            raise io_error(self.path, exc, "the recording ends after its last whole "
                           "cluster, unfinished") from exc

    # --- holding and writing clusters -----------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RecordingError(self.path, "the recording is closed")

    def _timestamp_ns(self, usec: int) -> int:
        if usec < 0:
            raise StreamLayoutError(self.path, f"device timestamp {usec} us is negative")
        return usec * 1000

    def _window(self, timestamp_ns: int) -> int:
        """The cluster window of a timestamp; raises when that cluster was written already."""
        origin = timestamp_ns if self._origin_ns is None else self._origin_ns
        window = (timestamp_ns - origin) // spec.CLUSTER_SPAN_NS
        if self._written_window is not None and window <= self._written_window:
            raise StreamLayoutError(
                self.path, f"timestamp {timestamp_ns // 1000} us comes after the clusters up to "
                f"{self._window_end_ns(self._written_window) // 1000} us were written: data "
                f"more than reorder_window_usec ({self._reorder_ns // 1000}) late")
        return window

    def _hold(self, timestamp_ns: int, track: int, payload: bytes) -> None:
        window = self._window(timestamp_ns)
        if self._origin_ns is None:
            self._origin_ns = timestamp_ns
        self._pending.setdefault(window, []).append((timestamp_ns, track, self._order, payload))
        self._order += 1
        self._newest_ns = max(self._newest_ns, timestamp_ns)

    def _window_end_ns(self, window: int) -> int:
        assert self._origin_ns is not None
        return self._origin_ns + (window + 1) * spec.CLUSTER_SPAN_NS

    def _write_ready(self, final: bool = False) -> None:
        for window in sorted(self._pending):
            if not final and self._window_end_ns(window) + self._reorder_ns > self._newest_ns:
                break
            blocks = sorted(self._pending.pop(window))
            try:
                self._write_cluster(blocks)
            except OSError as exc:
                self._closed = True
                self._muxer.close()
                raise io_error(self.path, exc, "the recording ends after its last whole "
                               "cluster, unfinished") from exc
            self._written_window = window

    def _write_cluster(self, blocks: list[tuple[int, int, int, bytes]]) -> None:
        if not self._muxer.header_written:
            self._start_offset_ns = blocks[0][0]  # the first cluster's start, as the SDK's
            self._write_header()
        scale = spec.TIMESTAMP_SCALE_NS
        cluster = (blocks[0][0] - self._start_offset_ns) // scale
        imu = self._by_role.get(TrackName.IMU)
        elements: list[bytes] = []
        cue = None
        index = 0
        while index < len(blocks):
            timestamp, number, _, payload = blocks[index]
            relative = (timestamp - self._start_offset_ns) // scale - cluster
            if imu is not None and number == imu.number:
                # Consecutive IMU samples share a laced BlockGroup, as libk4arecord's do.
                run = [payload]
                last = timestamp
                while (index + len(run) < len(blocks) and len(run) < 256
                       and blocks[index + len(run)][1] == number):
                    last = blocks[index + len(run)][0]
                    run.append(blocks[index + len(run)][3])
                duration = (last - timestamp + scale) // scale
                elements.append(muxer.block_group(number, relative, run, duration))
                index += len(run)
                continue
            elements.append(muxer.simple_block(number, relative, payload))
            if number == 1 and cue is None and (
                self._last_cue_ns is None or timestamp >= self._last_cue_ns + spec.CUE_GAP_NS
            ):
                cue = ((timestamp - self._start_offset_ns) // scale, number)
                self._last_cue_ns = timestamp
            index += 1
        self._muxer.write_cluster(cluster, elements, cue)

    # --- the header -----------------------------------------------------------------------

    def _new_uid(self) -> int:
        # 60-bit, non-zero and unique within the file, as libk4arecord's new_unique_id.
        while True:
            uid = self._random.getrandbits(60)
            if uid and uid not in self._uids:
                self._uids.add(uid)
                return uid

    def _make_tracks(self) -> list[_Track]:
        config = self.config
        wanted: list[tuple[TrackName, tuple[int, int]]] = []
        if config.color_resolution is not None:
            wanted.append((TrackName.COLOR, spec.color_size(config.color_resolution)))
        if config.depth_mode is not None:
            size = spec.depth_size(config.depth_mode)
            if config.has_depth:
                wanted.append((TrackName.DEPTH, size))
            if config.has_ir:
                wanted.append((TrackName.IR, size))
        if config.imu:
            wanted.append((TrackName.IMU, (0, 0)))
        return [_Track(role, number, self._new_uid(), *size)
                for number, (role, size) in enumerate(wanted, start=1)]

    def _write_header(self) -> None:
        info = muxer.SegmentInfoFields(
            timestamp_scale_ns=spec.TIMESTAMP_SCALE_NS,
            title="Azure Kinect",
            muxing_app=f"gma-edge-{__version__}",
            writing_app=f"gma-edge-{__version__} (k4arecord-compatible)",
            created=self._created,
        )
        attachments = []
        if self._calibration is not None:
            attachments.append(muxer.attached_file(spec.CALIBRATION_FILE,
                                                   "application/octet-stream",
                                                   self._attachment_uid, self._calibration))
        self._muxer.write_header(info, [self._track_entry(t) for t in self._tracks],
                                 attachments, self._tags())

    def _track_entry(self, track: _Track) -> bytes:
        config = self.config
        if track.role is TrackName.IMU:
            return muxer.track_entry(track.number, track.uid, ebml.TRACK_TYPE_SUBTITLE,
                                     TrackName.IMU.value, spec.CODEC_IMU)
        if track.role is TrackName.COLOR:
            assert config.color_format is not None
            header = spec.BitmapInfoHeader.for_color(config.color_format, track.width,
                                                     track.height)
        else:
            header = spec.BitmapInfoHeader.for_depth(track.width, track.height)
        return muxer.track_entry(track.number, track.uid, ebml.TRACK_TYPE_VIDEO,
                                 track.role.value, spec.CODEC_VIDEO, header.pack(),
                                 config.frame_period_ns, track.width, track.height)

    def _tags(self) -> list[bytes]:
        """The tags in the order libk4arecord writes them."""
        config = self.config
        tags: list[bytes] = []
        color = self._by_role.get(TrackName.COLOR)
        depth = self._by_role.get(TrackName.DEPTH)
        ir = self._by_role.get(TrackName.IR)
        imu = self._by_role.get(TrackName.IMU)
        if color is not None:
            tags.append(muxer.tag(spec.TRACK_TAGS[TrackName.COLOR], str(color.uid), color.uid))
            tags.append(muxer.tag(spec.TAG_COLOR_MODE, config.color_mode_tag, color.uid))
        if config.depth_mode is DepthMode.PASSIVE_IR:
            tags.append(muxer.tag(spec.TAG_DEPTH_MODE, config.depth_mode.value))
        elif depth is not None and config.depth_mode is not None:
            tags.append(muxer.tag(spec.TRACK_TAGS[TrackName.DEPTH], str(depth.uid), depth.uid))
            tags.append(muxer.tag(spec.TAG_DEPTH_MODE, config.depth_mode.value, depth.uid))
        if ir is not None:
            mode = "PASSIVE" if config.depth_mode is DepthMode.PASSIVE_IR else "ACTIVE"
            tags.append(muxer.tag(spec.TRACK_TAGS[TrackName.IR], str(ir.uid), ir.uid))
            tags.append(muxer.tag(spec.TAG_IR_MODE, mode, ir.uid))
        if config.has_color and config.depth_mode is not None:
            tags.append(muxer.tag(spec.TAG_DEPTH_DELAY_NS,
                                  str(config.depth_delay_off_color_usec * 1000)))
        tags.append(muxer.tag(spec.TAG_WIRED_SYNC_MODE, config.wired_sync_mode.value))
        if config.wired_sync_mode is WiredSyncMode.SUBORDINATE:
            tags.append(muxer.tag(spec.TAG_SUBORDINATE_DELAY_NS,
                                  str(config.subordinate_delay_off_master_usec * 1000)))
        for name, value in self._device.items():
            if value is not None:
                tags.append(muxer.tag(name, value))
        if self._calibration is not None:
            tags.append(muxer.tag(spec.TAG_CALIBRATION_FILE, spec.CALIBRATION_FILE,
                                  attachment_uid=self._attachment_uid))
        if imu is not None:
            tags.append(muxer.tag(spec.TRACK_TAGS[TrackName.IMU], str(imu.uid), imu.uid))
            tags.append(muxer.tag(spec.TAG_IMU_MODE, "ON", imu.uid))
        tags.extend(muxer.tag(name, value) for name, value in self._extra_tags.items())
        tags.append(muxer.tag(spec.TAG_START_OFFSET_NS, str(self._start_offset_ns)))
        return tags

    # --- payloads -------------------------------------------------------------------------

    def _payload(self, track: _Track, image: np.ndarray) -> bytes:
        image = np.asarray(image)
        shape = (track.height, track.width)
        if track.role is not TrackName.COLOR:
            if image.dtype != np.uint16 or image.shape != shape:
                raise StreamLayoutError(
                    self.path, f"{track.role.value} image of shape {image.shape} and dtype "
                    f"{image.dtype}: the track holds {shape} uint16")
            return encode_gray16(image)
        color_format = self.config.color_format
        if image.dtype != np.uint8:
            raise StreamLayoutError(self.path, f"colour image of dtype {image.dtype}: need uint8")
        if color_format is ColorFormat.MJPG:
            if image.ndim == 1:
                return image.tobytes()  # already JPEG
            assert self._jpeg is not None
            try:
                return self._jpeg.encode(image)
            except ValueError as exc:
                raise StreamLayoutError(self.path, str(exc)) from exc
        expected = {
            ColorFormat.BGRA: (track.height, track.width, 4),
            ColorFormat.YUY2: (track.height, track.width, 2),
            ColorFormat.NV12: (track.height * 3 // 2, track.width),
        }
        assert color_format is not None
        if image.shape != expected[color_format]:
            raise StreamLayoutError(
                self.path, f"{color_format.value} colour image of shape {image.shape}: the track "
                f"holds {expected[color_format]}")
        return np.ascontiguousarray(image).tobytes()


def _check_tag_name(name: str) -> None:
    # libk4arecord's validate_name_characters.
    if not name or not set(name) <= _VALID_TAG:
        raise ValueError(f"tag name {name!r}: use A-Z, 0-9, '-' and '_' only")
    if name in spec.BUILT_IN_TAGS:
        raise ValueError(f"tag {name} is the writer's own: set it through the configuration")


def _calibration_bytes(calibration: str | bytes | FactoryCalibration | None) -> bytes | None:
    if calibration is None:
        return None
    if isinstance(calibration, FactoryCalibration):
        calibration = calibration_to_json(calibration)
    data = calibration.encode("utf-8") if isinstance(calibration, str) else bytes(calibration)
    return data.rstrip(b"\x00")  # the device's copy is NUL-terminated; the SDK drops the NUL
