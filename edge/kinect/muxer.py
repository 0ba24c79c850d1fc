"""Writing Matroska laid out as libk4arecord does: a header, whole clusters, finished in place.

    EBML header | Segment (8-byte size, "unknown" until finished)
        SeekHead slot | Info slot | Tracks | Attachments | Tags | Cluster ... | Cues

Modelled on libk4arecord (src/record/sdk/record.cpp: k4a_record_write_header, k4a_record_flush;
src/record/internal/matroska_write.cpp: write_cluster). The SeekHead and Info go into slots of
fixed size padded with Void and are rewritten in place on `finish` (Info gains its Duration,
the SeekHead the Cues); the Segment's size is patched last. Each cluster reaches the file in
one write and is cut back off if that fails, so a crash or a full disk leaves a file that ends
after a whole cluster. Unlike libk4arecord, Info and the tags are on disk before the first
cluster, so such a file keeps its timestamp scale and K4A_START_OFFSET_NS.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from edge.kinect import ebml

_SEEK_SLOT = 256
_INFO_SLOT = 256
_MATROSKA_EPOCH = datetime(2001, 1, 1, tzinfo=timezone.utc)
_MAX_LACE = 256  # frames in one laced block: the count is stored in a byte, less one


@dataclass(frozen=True)
class SegmentInfoFields:
    timestamp_scale_ns: int
    title: str
    muxing_app: str
    writing_app: str
    created: datetime


def track_entry(number: int, uid: int, track_type: int, name: str, codec_id: str,
                codec_private: bytes = b"", default_duration_ns: int | None = None,
                width: int | None = None, height: int | None = None) -> bytes:
    parts = [
        ebml.uint_element(ebml.TRACK_NUMBER, number),
        ebml.uint_element(ebml.TRACK_UID, uid),
        ebml.uint_element(ebml.TRACK_TYPE, track_type),
        ebml.text_element(ebml.TRACK_NAME, name),
        ebml.text_element(ebml.CODEC_ID, codec_id),
    ]
    if codec_private:
        parts.append(ebml.element(ebml.CODEC_PRIVATE, codec_private))
    if default_duration_ns is not None:
        parts.append(ebml.uint_element(ebml.DEFAULT_DURATION, default_duration_ns))
    if width is not None and height is not None:
        parts.append(ebml.master(ebml.VIDEO, ebml.uint_element(ebml.PIXEL_WIDTH, width),
                                 ebml.uint_element(ebml.PIXEL_HEIGHT, height)))
    return ebml.master(ebml.TRACK_ENTRY, *parts)


def attached_file(name: str, mime_type: str, uid: int, data: bytes) -> bytes:
    return ebml.master(
        ebml.ATTACHED_FILE,
        ebml.text_element(ebml.FILE_NAME, name),
        ebml.text_element(ebml.FILE_MIME_TYPE, mime_type),
        ebml.element(ebml.FILE_DATA, data),
        ebml.uint_element(ebml.FILE_UID, uid),
    )


def tag(name: str, value: str, track_uid: int = 0, attachment_uid: int = 0) -> bytes:
    """One Tag with one SimpleTag; targeted at a track or an attachment, or at the file."""
    targets = b""
    if track_uid:
        targets = ebml.text_element(ebml.TARGET_TYPE, "TRACK") + \
            ebml.uint_element(ebml.TAG_TRACK_UID, track_uid)
    elif attachment_uid:
        targets = ebml.text_element(ebml.TARGET_TYPE, "ATTACHMENT") + \
            ebml.uint_element(ebml.TAG_ATTACHMENT_UID, attachment_uid)
    return ebml.master(
        ebml.TAG,
        ebml.element(ebml.TARGETS, targets),
        ebml.master(ebml.SIMPLE_TAG, ebml.text_element(ebml.TAG_NAME, name),
                    ebml.text_element(ebml.TAG_STRING, value)),
    )


def simple_block(track: int, relative: int, payload: bytes) -> bytes:
    """A SimpleBlock of one keyframe, `relative` ticks after its cluster's timestamp."""
    header = ebml.encode_size(track) + relative.to_bytes(2, "big", signed=True) + b"\x80"
    return ebml.element(ebml.SIMPLE_BLOCK, header + payload)


def block_group(track: int, relative: int, frames: Sequence[bytes], duration: int) -> bytes:
    """A BlockGroup of frames of equal size (fixed-size lacing when more than one)."""
    if not 1 <= len(frames) <= _MAX_LACE:
        raise ValueError(f"a block holds 1..{_MAX_LACE} frames, not {len(frames)}")
    if len({len(frame) for frame in frames}) != 1:
        raise ValueError("laced frames must be of equal size")
    header = ebml.encode_size(track) + relative.to_bytes(2, "big", signed=True)
    if len(frames) == 1:
        block = header + b"\x00" + frames[0]
    else:
        block = header + b"\x04" + bytes([len(frames) - 1]) + b"".join(frames)
    return ebml.master(ebml.BLOCK_GROUP, ebml.element(ebml.BLOCK, block),
                       ebml.uint_element(ebml.BLOCK_DURATION, duration))


class MatroskaMuxer:
    """One Matroska file being written: the header once, then whole clusters, then `finish`.

    Raises OSError; the caller turns it into the project's typed error.
    """

    def __init__(self, path: Path, sync: bool = False) -> None:
        self.path = path
        self.sync = sync
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        self.size = 0
        self._segment_size_at = 0
        self._segment_start = 0
        self._seek_at = 0
        self._info_at = 0
        self._info: SegmentInfoFields | None = None
        self._positions: dict[int, int] = {}  # top-level element -> position in the Segment
        self._cues: list[tuple[int, int, int]] = []  # (time, track, cluster position)
        self.header_written = False

    def write_header(self, info: SegmentInfoFields, tracks: Sequence[bytes],
                     attachments: Sequence[bytes], tags: Sequence[bytes]) -> None:
        head = ebml.master(
            ebml.EBML,
            ebml.uint_element(ebml.EBML_VERSION, 1),
            ebml.uint_element(ebml.EBML_READ_VERSION, 1),
            ebml.uint_element(ebml.EBML_MAX_ID_LENGTH, 4),
            ebml.uint_element(ebml.EBML_MAX_SIZE_LENGTH, 8),
            ebml.text_element(ebml.DOC_TYPE, "matroska"),
            ebml.uint_element(ebml.DOC_TYPE_VERSION, 2),
            ebml.uint_element(ebml.DOC_TYPE_READ_VERSION, 2),
        )
        segment = ebml.encode_id(ebml.SEGMENT)
        self._segment_size_at = len(head) + len(segment)
        self._segment_start = self._segment_size_at + len(ebml.UNKNOWN_SIZE_8)
        self._info = info
        body: list[bytes] = []
        at = 0

        def place(element_id: int, data: bytes) -> None:
            nonlocal at
            self._positions[element_id] = at
            body.append(data)
            at += len(data)

        self._seek_at = self._segment_start
        at = _SEEK_SLOT  # the SeekHead slot is filled once the positions are known
        self._info_at = self._segment_start + at
        place(ebml.INFO, self._info_slot(None))
        place(ebml.TRACKS, ebml.master(ebml.TRACKS, *tracks))
        if attachments:
            place(ebml.ATTACHMENTS, ebml.master(ebml.ATTACHMENTS, *attachments))
        tags_body = b"".join(tags)
        place(ebml.TAGS, ebml.element(ebml.TAGS, ebml.crc_element(tags_body) + tags_body))
        self._append(head + segment + ebml.UNKNOWN_SIZE_8 + self._seek_slot() + b"".join(body))
        self.header_written = True

    def write_cluster(self, timestamp: int, blocks: Sequence[bytes],
                      cue: tuple[int, int] | None = None) -> None:
        """One cluster at `timestamp` ticks; `cue` (time, track) indexes it in the Cues."""
        content = ebml.uint_element(ebml.CLUSTER_TIMESTAMP, timestamp) + b"".join(blocks)
        position = self.size - self._segment_start
        self._append(ebml.element(ebml.CLUSTER, ebml.crc_element(content) + content))
        if cue is not None:
            self._cues.append((cue[0], cue[1], position))

    def flush(self) -> None:
        """Make what was written durable (fsync), when this muxer was asked to sync."""
        if self.sync:
            os.fsync(self._fd)

    def finish(self, duration: float) -> None:
        """Write the Cues, the Duration, the SeekHead and the Segment's size; then close."""
        if self._cues:
            self._positions[ebml.CUES] = self.size - self._segment_start
            self._append(ebml.master(ebml.CUES, *(
                ebml.master(ebml.CUE_POINT, ebml.uint_element(ebml.CUE_TIME, time),
                            ebml.master(ebml.CUE_TRACK_POSITIONS,
                                        ebml.uint_element(ebml.CUE_TRACK, track),
                                        ebml.uint_element(ebml.CUE_CLUSTER_POSITION, position)))
                for time, track, position in self._cues
            )))
        self._patch(self._info_at, self._info_slot(duration))
        self._patch(self._seek_at, self._seek_slot())
        self._patch(self._segment_size_at,
                    ebml.encode_size(self.size - self._segment_start, len(ebml.UNKNOWN_SIZE_8)))
        if self.sync:
            os.fsync(self._fd)
        self.close()

    def close(self) -> None:
        """Close the file as it is (finished or not)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _info_slot(self, duration: float | None) -> bytes:
        info = self._info
        assert info is not None
        created_ns = (info.created - _MATROSKA_EPOCH) // timedelta(microseconds=1) * 1000
        parts = [
            ebml.uint_element(ebml.TIMESTAMP_SCALE, info.timestamp_scale_ns),
            ebml.text_element(ebml.MUXING_APP, info.muxing_app),
            ebml.text_element(ebml.WRITING_APP, info.writing_app),
            ebml.int_element(ebml.DATE_UTC, created_ns),
            ebml.text_element(ebml.TITLE, info.title),
        ]
        if duration is not None:
            parts.append(ebml.float_element(ebml.DURATION, duration))
        return ebml.fill_slot(ebml.INFO, b"".join(parts), _INFO_SLOT)

    def _seek_slot(self) -> bytes:
        entries = [
            ebml.master(ebml.SEEK, ebml.element(ebml.SEEK_ID, ebml.encode_id(element_id)),
                        ebml.uint_element(ebml.SEEK_POSITION, position))
            for element_id, position in self._positions.items()
        ]
        return ebml.fill_slot(ebml.SEEK_HEAD, b"".join(entries), _SEEK_SLOT)

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            # A partial cluster would end the file mid-element: cut it back off (shrinking a
            # file needs no space, so this works on a full disk too).
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)
                os.lseek(self._fd, self.size, os.SEEK_SET)
            raise
        self.size += len(data)

    def _patch(self, position: int, data: bytes) -> None:
        written = 0
        while written < len(data):
            written += os.pwrite(self._fd, data[written:], position + written)

