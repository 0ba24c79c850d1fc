"""Reading an Azure Kinect recording (.mkv) without libk4a: its settings, captures and IMU samples.

Tracks are found as libk4arecord's playback finds them (matroska_read.cpp, `find_track`): by the
UID that a K4A_*_TRACK tag names, else by the track name. Device timestamps are the block's
timestamp plus K4A_START_OFFSET_NS, in us, as the SDK computes them; IMU samples carry their own.
Captures group as the SDK groups them (`capture.py`). Reading is single-pass and streaming: at
most a cluster (libk4arecord: 32 ms) and about a frame per track are held.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np

from edge.errors import (
    DamagedKinectRecordingError,
    MissingStreamError,
    NotKinectRecordingError,
    UnsupportedKinectRecordingError,
)
from edge.geometry import (
    CameraIntrinsics,
    DepthMode,
    DeviceGeometry,
    FactoryCalibration,
    depth_intrinsics,
    parse_calibration,
)
from edge.kinect import ebml, spec
from edge.kinect.capture import Capture, CaptureGrouper
from edge.kinect.demux import Block, MatroskaFile, Tag, TrackEntry
from edge.kinect.images import ColorDecoder, decode_gray16, raw_color
from edge.kinect.imu import ImuBatch, ImuSample, decode_records, decode_sample
from edge.kinect.replay import ReplayEvent, loop_events
from edge.kinect.spec import ColorFormat, RecordingConfig, TrackName, WiredSyncMode

ColorOutput = Literal["bgra", "raw", "none"]
_VIDEO = (TrackName.COLOR, TrackName.DEPTH, TrackName.IR)


@dataclass(frozen=True)
class KinectTrack:
    """A built-in track of the recording, as found."""

    role: TrackName
    name: str  # as in the file (DEPTH_IR for an old IR track)
    number: int
    uid: int
    codec_id: str
    fourcc: str | None  # None for the IMU track
    width: int | None
    height: int | None
    frame_period_ns: int | None


@dataclass(frozen=True)
class RecordingStats:
    """What a full pass over the blocks counts (`KinectRecording.scan`)."""

    frames: dict[TrackName, int]  # images per video track; samples for the IMU
    captures: int
    first_usec: int | None  # device time of the earliest block
    last_usec: int | None  # device time of the latest block (a laced IMU block's end)
    length_usec: int  # the SDK's recording length: from the start offset to the latest block

    @property
    def imu_samples(self) -> int:
        return self.frames.get(TrackName.IMU, 0)


class KinectRecording:
    """One Azure Kinect recording opened for reading; a context manager.

    Raises, on open or while iterating: `NotKinectRecordingError` (not Matroska, or no K4A
    track), `UnsupportedKinectRecordingError` (a format or mode not handled),
    `TruncatedKinectRecordingError` (cut short; pass allow_truncated=True to read what is whole
    before the cut, as after a crash), `DamagedKinectRecordingError` (a checksum mismatch, a
    malformed element or block).
    """

    def __init__(self, path: str | os.PathLike[str], *, allow_truncated: bool = False,
                 verify: bool = True) -> None:
        self.path = Path(path)
        self.verify = verify
        self._file = MatroskaFile(self.path, allow_truncated=allow_truncated)
        try:
            self.tag_list: tuple[Tag, ...] = self._file.tags
            # The first tag of a name wins, as in the SDK's get_tag.
            self.tags: dict[str, str] = {}
            for tag in reversed(self.tag_list):
                self.tags[tag.name] = tag.value
            self.tracks = self._find_tracks()
            self.config = self._read_config()
            self.calibration_json = self._calibration_text()
        except BaseException:
            self._file.close()
            raise
        self._roles = {track.number: role for role, track in self.tracks.items()}

    def __enter__(self) -> KinectRecording:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    # --- what was recorded ----------------------------------------------------------------

    @property
    def finalised(self) -> bool:
        """Whether its writer closed it (size, duration and cues written)."""
        return self._file.finalised

    @property
    def truncated(self) -> bool:
        """Whether the file was found cut short (only with allow_truncated=True)."""
        return self._file.truncated

    @property
    def start_offset_usec(self) -> int:
        return self.config.start_timestamp_offset_usec

    @property
    def device_serial(self) -> str | None:
        return self.tags.get(spec.TAG_DEVICE_SERIAL)

    @property
    def duration_usec(self) -> int | None:
        """The Segment's duration as its writer stated it; None for an unfinished file."""
        duration = self._file.info.duration
        if duration is None:
            return None
        return round(duration * self._file.info.timestamp_scale_ns / 1000)

    @property
    def depth_shape(self) -> tuple[int, int] | None:
        """(height, width) of the depth and IR images."""
        track = self.tracks.get(TrackName.DEPTH) or self.tracks.get(TrackName.IR)
        return None if track is None else _shape(track)

    @property
    def color_shape(self) -> tuple[int, int] | None:
        """(height, width) of the colour images."""
        track = self.tracks.get(TrackName.COLOR)
        return None if track is None else _shape(track)

    @property
    def fps(self) -> int:
        return self.config.fps

    def calibration(self) -> FactoryCalibration:
        """The factory calibration; `CalibrationError` when it does not parse."""
        if self.calibration_json is None:
            raise MissingStreamError(self.path, "the recording has no calibration.json")
        return parse_calibration(self.calibration_json)

    def depth_intrinsics(self) -> CameraIntrinsics:
        """The depth camera's pixel intrinsics in the recorded depth mode."""
        if self.config.depth_mode is None:
            raise MissingStreamError(self.path, "the recording has no depth camera")
        return depth_intrinsics(self.calibration().depth, self.config.depth_mode)

    def geometry(self) -> DeviceGeometry:
        """Both cameras' intrinsics in the recorded modes, and the extrinsics."""
        if self.config.depth_mode is None or self.config.color_resolution is None:
            raise MissingStreamError(self.path, "geometry needs both the depth and colour camera")
        return DeviceGeometry.from_calibration(
            self.calibration(), self.config.depth_mode, self.config.color_resolution
        )

    # --- reading --------------------------------------------------------------------------

    def captures(self, color: ColorOutput = "bgra") -> Iterator[Capture]:
        """Every capture in order. color: "bgra" decodes, "raw" passes the payload through,
        "none" skips colour (its timestamp stays)."""
        for item in self.events(color=color, imu=False):
            if isinstance(item, Capture):
                yield item

    def imu_samples(self) -> Iterator[ImuSample]:
        """Every camera IMU sample in order."""
        imu = self.tracks.get(TrackName.IMU)
        if imu is None:
            return
        for block in self._file.blocks(self.verify):
            if block.track == imu.number:
                for frame in block.frames:
                    yield self._imu_sample(frame, block)

    def imu(self) -> ImuBatch:
        """All camera IMU samples as arrays."""
        imu = self.tracks.get(TrackName.IMU)
        parts: list[bytes] = []
        if imu is not None:
            for block in self._file.blocks(self.verify):
                if block.track == imu.number:
                    for frame in block.frames:
                        self._imu_sample(frame, block)  # checks its size
                        parts.append(bytes(frame))
        return decode_records(b"".join(parts))

    def events(self, color: ColorOutput = "bgra", imu: bool = True
               ) -> Iterator[Capture | ImuSample]:
        """Captures and IMU samples in time order (by capture and accelerometer timestamps)."""
        period = self.config.frame_period_ns
        video = [role for role in _VIDEO if role in self.tracks]
        delays = self._sync_delays_ns()
        grouper: CaptureGrouper[Block] = CaptureGrouper(video, period, delays) \
            if video else CaptureGrouper([TrackName.DEPTH], period)
        decoder = self._color_decoder() if color == "bgra" else None
        pending: deque[ImuSample] = deque()
        index = 0
        for block in self._file.blocks(self.verify):
            role = self._roles.get(block.track)
            if role is TrackName.IMU:
                if imu:
                    pending.extend(self._imu_sample(frame, block) for frame in block.frames)
            elif role is not None:
                for group in grouper.push(role, block.timestamp_ns, block):
                    capture = self._capture(group, index, color, decoder)
                    index += 1
                    while pending and pending[0].acc_usec <= capture.device_usec:
                        yield pending.popleft()
                    yield capture
            if not video:
                yield from pending
                pending.clear()
                continue
            settled = grouper.settled_before_ns()
            if settled is not None:  # no capture still to come can precede these samples
                limit = self._device_usec(settled)
                while pending and pending[0].acc_usec < limit:
                    yield pending.popleft()
        for group in grouper.finish():
            capture = self._capture(group, index, color, decoder)
            index += 1
            while pending and pending[0].acc_usec <= capture.device_usec:
                yield pending.popleft()
            yield capture
        yield from pending

    def replay(self, color: ColorOutput = "bgra", imu: bool = True, loop: bool = False,
               loops: int | None = None) -> Iterator[ReplayEvent]:
        """Events for a replay, with timestamps that keep increasing across loops.

        As fast as the caller takes them; `edge.kinect.paced` holds them to recorded speed.
        `loop` repeats the recording until the caller stops (or `loops` passes, if given).
        """
        return loop_events(lambda: self.events(color=color, imu=imu),
                           self.config.frame_period_ns // 1000, loop=loop, loops=loops)

    def scan(self) -> RecordingStats:
        """Count frames, captures and IMU samples in one pass without decoding images."""
        frames = dict.fromkeys(self.tracks, 0)
        video = [role for role in _VIDEO if role in self.tracks]
        grouper: CaptureGrouper[None] = CaptureGrouper(
            video or [TrackName.DEPTH], self.config.frame_period_ns, self._sync_delays_ns()
        )
        captures = 0
        first = last = None
        for block in self._file.blocks(self.verify):
            role = self._roles.get(block.track)
            if role is None:
                continue
            if role is TrackName.IMU:
                for frame in block.frames:
                    self._imu_sample(frame, block)  # checks its size
            frames[role] += len(block.frames)
            # As the SDK finds the recording's end: a BlockGroup lasts its duration less 1 ns.
            end = block.timestamp_ns + max((block.duration_ns or 0) - 1, 0)
            first = block.timestamp_ns if first is None else min(first, block.timestamp_ns)
            last = end if last is None else max(last, end)
            if role is not TrackName.IMU:
                captures += len(grouper.push(role, block.timestamp_ns, None))
        captures += len(grouper.finish())
        return RecordingStats(
            frames=frames,
            captures=captures,
            first_usec=None if first is None else self._device_usec(first),
            last_usec=None if last is None else self._device_usec(last),
            length_usec=0 if last is None else last // 1000,
        )

    # --- decoding -------------------------------------------------------------------------

    def _capture(self, group: dict[str, Block], index: int, color: ColorOutput,
                 decoder: ColorDecoder | None) -> Capture:
        images: dict[str, np.ndarray | None] = {}
        stamps: dict[str, int | None] = {}
        for role, block in group.items():
            track = self.tracks[TrackName(role)]
            if len(block.frames) != 1:
                raise UnsupportedKinectRecordingError(
                    self.path, f"{track.name} block at byte {block.offset} holds "
                    f"{len(block.frames)} laced images: one per block is supported")
            stamps[role] = self._device_usec(block.timestamp_ns)
            try:
                images[role] = self._image(track, block.frames[0], color, decoder)
            except ValueError as exc:
                raise DamagedKinectRecordingError(
                    self.path, f"{track.name} block at byte {block.offset}: {exc}") from exc
        return Capture(
            device_usec=min(stamp for stamp in stamps.values() if stamp is not None),
            depth=images.get(TrackName.DEPTH),
            depth_usec=stamps.get(TrackName.DEPTH),
            color=images.get(TrackName.COLOR),
            color_usec=stamps.get(TrackName.COLOR),
            ir=images.get(TrackName.IR),
            ir_usec=stamps.get(TrackName.IR),
            index=index,
        )

    def _image(self, track: KinectTrack, payload: memoryview, color: ColorOutput,
               decoder: ColorDecoder | None) -> np.ndarray | None:
        width, height = track.width or 0, track.height or 0
        if track.role is not TrackName.COLOR:
            return decode_gray16(payload, width, height)
        if color == "none":
            return None
        if decoder is not None:
            return decoder.decode(payload)
        color_format = self.config.color_format
        assert color_format is not None  # a colour track implies a colour format
        return raw_color(payload, color_format, width, height)

    def _imu_sample(self, frame: memoryview, block: Block) -> ImuSample:
        try:
            return decode_sample(frame)
        except ValueError as exc:
            raise DamagedKinectRecordingError(
                self.path, f"IMU block at byte {block.offset}: {exc}") from exc

    def _color_decoder(self) -> ColorDecoder | None:
        track = self.tracks.get(TrackName.COLOR)
        if track is None or self.config.color_format is None:
            return None
        return ColorDecoder(self.config.color_format, track.width or 0, track.height or 0)

    def _device_usec(self, block_ns: int) -> int:
        # The SDK's arithmetic: block ns / 1000 + start offset ns / 1000.
        return block_ns // 1000 + self.start_offset_usec

    def _sync_delays_ns(self) -> dict[str, int]:
        delay = self.config.depth_delay_off_color_usec * 1000
        if delay > 0:
            return {TrackName.COLOR: delay}
        return {TrackName.DEPTH: -delay, TrackName.IR: -delay}

    # --- the header -----------------------------------------------------------------------

    def _find_tracks(self) -> dict[TrackName, KinectTrack]:
        entries = self._file.tracks
        found: dict[TrackName, KinectTrack] = {}
        for role in TrackName:
            entry = self._find_track(entries, role.value, spec.TRACK_TAGS[role])
            if entry is None and role is TrackName.IR:
                entry = self._find_track(entries, spec.LEGACY_IR_TRACK, None)
            if role is TrackName.IMU and entry is not None and (
                entry.track_type != ebml.TRACK_TYPE_SUBTITLE or entry.codec_id != spec.CODEC_IMU
            ):
                entry = None  # not the SDK's IMU track: a custom one, which the SDK skips too
            if entry is not None:
                found[role] = self._track(role, entry)
        if not found:
            names = ", ".join(entry.name or str(entry.number) for entry in entries)
            raise NotKinectRecordingError(
                self.path, f"a Matroska file without Azure Kinect tracks (it has: {names})"
            )
        return found

    def _find_track(self, entries: tuple[TrackEntry, ...], name: str,
                    tag_name: str | None) -> TrackEntry | None:
        uid = 0
        tag = next((t for t in self.tag_list if t.name == tag_name), None)
        if tag is not None:
            uid = tag.track_uid if tag.target_type == "TRACK" else 0
            if uid == 0 and tag.value.isdigit():
                uid = int(tag.value)
        by_uid = next((entry for entry in entries if uid and entry.uid == uid), None)
        return by_uid or next((entry for entry in entries if entry.name == name), None)

    def _track(self, role: TrackName, entry: TrackEntry) -> KinectTrack:
        fourcc = None
        width, height = entry.width, entry.height
        if role is not TrackName.IMU:
            if entry.codec_id != spec.CODEC_VIDEO:
                raise UnsupportedKinectRecordingError(
                    self.path, f"the {entry.name} track's codec is {entry.codec_id!r}: "
                    f"only {spec.CODEC_VIDEO} is supported")
            try:
                header = spec.BitmapInfoHeader.unpack(entry.codec_private)
            except ValueError as exc:
                raise DamagedKinectRecordingError(
                    self.path, f"the {entry.name} track's codec data: {exc}") from exc
            fourcc = header.fourcc
            width = width or header.width
            height = height or header.height
            if (width, height) != (header.width, header.height):
                raise DamagedKinectRecordingError(
                    self.path, f"the {entry.name} track is {width}x{height} but its "
                    f"BITMAPINFOHEADER says {header.width}x{header.height}")
        return KinectTrack(role, entry.name, entry.number, entry.uid, entry.codec_id, fourcc,
                           width, height, entry.default_duration_ns)

    def _read_config(self) -> RecordingConfig:
        color = self.tracks.get(TrackName.COLOR)
        depth = self.tracks.get(TrackName.DEPTH)
        ir = self.tracks.get(TrackName.IR)
        color_format = color_resolution = None
        if color is not None:
            try:
                color_format = ColorFormat(color.fourcc)
            except ValueError:
                raise UnsupportedKinectRecordingError(
                    self.path, f"colour FOURCC {color.fourcc!r}: supported are "
                    f"{', '.join(f.value for f in ColorFormat)}") from None
            color_resolution = spec.color_resolution_of(color.width or 0, color.height or 0)
            if color_resolution is None:
                raise UnsupportedKinectRecordingError(
                    self.path, f"colour images of {color.width}x{color.height}: not one of "
                    f"the device's resolutions")
        for track in (depth, ir):
            if track is not None and track.fourcc != spec.FOURCC_DEPTH:
                raise UnsupportedKinectRecordingError(
                    self.path, f"the {track.name} track's FOURCC is {track.fourcc!r}, "
                    f"expected {spec.FOURCC_DEPTH}")
        depth_mode = self._depth_mode(depth, ir)
        periods = {track.frame_period_ns for track in (color, depth, ir)
                   if track is not None and track.frame_period_ns}
        if len(periods) > 1:
            raise UnsupportedKinectRecordingError(
                self.path, f"the video tracks run at different frame periods: {sorted(periods)} ns")
        fps = 30 if not periods else round(1e9 / periods.pop())
        if fps not in spec.FPS_CHOICES:
            raise UnsupportedKinectRecordingError(
                self.path, f"{fps} fps: the device records at {spec.FPS_CHOICES} fps")
        sync_text = self.tags.get(spec.TAG_WIRED_SYNC_MODE, WiredSyncMode.STANDALONE.value)
        try:
            sync = WiredSyncMode(sync_text)
        except ValueError:
            raise UnsupportedKinectRecordingError(
                self.path, f"wired sync mode {sync_text!r}") from None
        return RecordingConfig(
            fps=fps,
            depth_mode=depth_mode,
            color_format=color_format,
            color_resolution=color_resolution,
            ir=ir is not None,
            imu=TrackName.IMU in self.tracks,
            depth_delay_off_color_usec=self._int_tag(spec.TAG_DEPTH_DELAY_NS) // 1000,
            wired_sync_mode=sync,
            subordinate_delay_off_master_usec=(
                self._int_tag(spec.TAG_SUBORDINATE_DELAY_NS) // 1000
                if sync is WiredSyncMode.SUBORDINATE else 0
            ),
            start_timestamp_offset_usec=self._int_tag(spec.TAG_START_OFFSET_NS) // 1000,
        )

    def _depth_mode(self, depth: KinectTrack | None, ir: KinectTrack | None) -> DepthMode | None:
        text = self.tags.get(spec.TAG_DEPTH_MODE)
        if text is None:
            if depth is not None or ir is not None:
                raise UnsupportedKinectRecordingError(
                    self.path, f"depth or IR images without a {spec.TAG_DEPTH_MODE} tag")
            return None
        try:
            mode = DepthMode(text)
        except ValueError:
            raise UnsupportedKinectRecordingError(self.path, f"depth mode {text!r}") from None
        expected = spec.depth_size(mode)
        for track in (depth, ir):
            if track is not None and (track.width, track.height) != expected:
                raise UnsupportedKinectRecordingError(
                    self.path, f"the {track.name} track is {track.width}x{track.height}, "
                    f"{mode.value} makes {expected[0]}x{expected[1]}")
        return mode

    def _int_tag(self, name: str) -> int:
        text = self.tags.get(name)
        if text is None:
            return 0
        try:
            return int(text)
        except ValueError:
            raise DamagedKinectRecordingError(
                self.path, f"tag {name} holds {text!r}, not a whole number") from None

    def _calibration_text(self) -> str | None:
        attachments = self._file.attachments
        tag = next((t for t in self.tag_list if t.name == spec.TAG_CALIBRATION_FILE), None)
        found = None
        if tag is not None and tag.target_type == "ATTACHMENT":
            found = next((a for a in attachments if a.uid == tag.attachment_uid), None)
        if found is None:
            found = next((a for a in attachments if a.name == spec.CALIBRATION_FILE), None)
        return None if found is None else found.data.decode("utf-8", errors="replace")


def _shape(track: KinectTrack) -> tuple[int, int]:
    return track.height or 0, track.width or 0

