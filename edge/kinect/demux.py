"""Matroska demuxing of a recording: its header elements, then its blocks, cluster by cluster.

The file is read here rather than through PyAV's demuxer because ffmpeg stops quietly where a
file is cut short and skips damaged bytes, and a recording must say which happened: a cut
raises `TruncatedKinectRecordingError` (or ends the blocks, when truncation is allowed, so a
crashed recording reads up to its last complete cluster), damage raises
`DamagedKinectRecordingError`. Clusters and tags carry CRC-32s (libk4arecord writes them, so
does our writer); they are checked. Nothing here knows the Azure Kinect: see `recording.py`.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from edge.errors import (
    DamagedKinectRecordingError,
    KinectRecordingError,
    NotKinectRecordingError,
    TruncatedKinectRecordingError,
    UnsupportedKinectRecordingError,
)
from edge.kinect import ebml
from edge.kinect.ebml import EbmlError, EbmlTruncated

_HEADER_PROBE = 12  # longest ID (4) + longest size (8)
_DEFAULT_TIMESTAMP_SCALE_NS = 1_000_000  # Matroska's default when Info does not say
_NAMES = {
    ebml.INFO: "Info", ebml.TRACKS: "Tracks", ebml.ATTACHMENTS: "Attachments",
    ebml.TAGS: "Tags", ebml.CUES: "Cues", ebml.SEEK_HEAD: "SeekHead", ebml.CLUSTER: "Cluster",
    ebml.CHAPTERS: "Chapters",
}
_HEADER_ELEMENTS = (ebml.INFO, ebml.TRACKS, ebml.ATTACHMENTS, ebml.TAGS)


class _EndOfData(Exception):
    """The file ends here and truncation is allowed: stop reading quietly."""


@dataclass(frozen=True)
class TrackEntry:
    number: int
    uid: int
    track_type: int  # 1 video, 0x11 subtitle
    name: str
    codec_id: str
    codec_private: bytes
    default_duration_ns: int | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Attachment:
    name: str
    mime_type: str
    uid: int
    data: bytes


@dataclass(frozen=True)
class Tag:
    """One SimpleTag, with the target of its Tag ("" for the whole file)."""

    name: str
    value: str
    target_type: str = ""  # "TRACK", "ATTACHMENT" or ""
    track_uid: int = 0
    attachment_uid: int = 0


@dataclass(frozen=True)
class SegmentInfo:
    timestamp_scale_ns: int = _DEFAULT_TIMESTAMP_SCALE_NS
    duration: float | None = None  # in timestamp-scale ticks
    title: str = ""
    muxing_app: str = ""
    writing_app: str = ""


@dataclass(frozen=True)
class Block:
    """One SimpleBlock or Block: its frames (several when laced) and where it is."""

    track: int
    timestamp_ns: int  # since the segment's origin: (cluster + block timestamp) x scale
    frames: tuple[memoryview, ...]
    duration_ns: int | None  # a BlockGroup's BlockDuration
    offset: int  # of the block element in the file


class MatroskaFile:
    """One Matroska file opened for reading: the header parsed at once, blocks on demand."""

    def __init__(self, path: str | os.PathLike[str], allow_truncated: bool = False) -> None:
        self.path = Path(path)
        self.allow_truncated = allow_truncated
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise KinectRecordingError(self.path, f"cannot open: {exc.strerror}") from exc
        try:
            self.file_size = os.fstat(self._fd).st_size
            self.info = SegmentInfo()
            self.tracks: tuple[TrackEntry, ...] = ()
            self.attachments: tuple[Attachment, ...] = ()
            self.tags: tuple[Tag, ...] = ()
            self.first_cluster: int | None = None
            self.segment_start = 0
            self.segment_end: int | None = None
            self._seek_entries: dict[int, int] = {}
            # Found cut short (only when allowed: else that raised).
            self.truncated = False
            self._parse_header()
        except BaseException:
            os.close(self._fd)
            raise

    @property
    def finalised(self) -> bool:
        """Whether the writer closed the file: the Segment's size and duration are written."""
        return (self.segment_end is not None and not self.truncated
                and self.info.duration is not None)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def blocks(self, verify: bool = True) -> Iterator[Block]:
        """Every block in file order; `verify` checks each cluster's CRC-32 where it has one."""
        if self.first_cluster is None:
            return
        try:
            yield from self._clusters(self.first_cluster, verify)
        except _EndOfData:
            return

    def _clusters(self, pos: int, verify: bool) -> Iterator[Block]:
        end = self._data_end
        while pos < end:
            element_id, size, header = self._header_at(pos, "a top-level element")
            body = pos + header
            if element_id == ebml.CLUSTER and size == ebml.UNKNOWN_SIZE:
                pos = yield from self._unknown_size_cluster(body)
                continue
            name = _NAMES.get(element_id, f"element {element_id:#x}")
            if size == ebml.UNKNOWN_SIZE:
                raise self._damage(pos, f"the {name} has an unknown size")
            self._check_inside_segment(pos, body + size, f"the {name} at byte {pos}")
            if body + size > self.file_size:
                self._cut(f"inside the {name} at byte {pos}", "blocks")
            if element_id == ebml.CLUSTER:
                data = self._read(body, size)
                if verify and ebml.verify_crc(data, 0, size) is False:
                    raise self._damage(pos, "the Cluster's CRC-32 does not match its bytes")
                yield from self._cluster_blocks(data, body, 0, size)
            pos = body + size

    # --- header ---------------------------------------------------------------------------

    def _parse_header(self) -> None:
        if self.file_size == 0:
            raise TruncatedKinectRecordingError(self.path, "the file is empty")
        try:
            self._parse_segment_header()
        except _EndOfData:
            raise TruncatedKinectRecordingError(
                self.path, f"the file ends ({self.file_size} bytes) before its first cluster"
            ) from None
        try:
            found = self._walk_top_level()
            self._follow_seek_head(found)
        except _EndOfData:
            pass
        if self.truncated and self.first_cluster is None:
            raise TruncatedKinectRecordingError(
                self.path, f"the file ends ({self.file_size} bytes) before its first cluster: "
                "nothing was recorded before the cut"
            )
        if not self.tracks:
            raise NotKinectRecordingError(self.path, "a Matroska file without tracks")

    def _parse_segment_header(self) -> None:
        element_id, size, header = self._header_at(0, "the EBML header")
        if element_id != ebml.EBML:
            start = self._read(0, min(8, self.file_size)).hex(" ")
            raise NotKinectRecordingError(self.path, f"not a Matroska file: it starts {start}")
        if size == ebml.UNKNOWN_SIZE:
            raise self._damage(0, "the EBML header has an unknown size")
        self._check_doc_type(self._body(0, header, size, "the EBML header"), header)
        segment_at = header + size
        element_id, size, header = self._header_at(segment_at, "the Segment")
        if element_id != ebml.SEGMENT:
            raise NotKinectRecordingError(
                self.path, f"no Matroska Segment after the EBML header (element {element_id:#x})"
            )
        self.segment_start = segment_at + header
        if size != ebml.UNKNOWN_SIZE:
            self.segment_end = self.segment_start + size
            if self.segment_end > self.file_size:
                if not self.allow_truncated:
                    self._cut(f"{self.segment_end - self.file_size} bytes before the end of its "
                              f"Segment", "recording")
                self.truncated = True

    @property
    def _data_end(self) -> int:
        return self.file_size if self.segment_end is None else min(self.segment_end,
                                                                    self.file_size)

    def _check_doc_type(self, data: bytes, base: int) -> None:
        doc_type, read_version = "matroska", 1
        for child, start, end in self._children(data, 0, len(data), base):
            if child == ebml.DOC_TYPE:
                doc_type = ebml.as_text(data[start:end])
            elif child == ebml.DOC_TYPE_READ_VERSION:
                read_version = ebml.as_uint(data[start:end])
        if doc_type != "matroska":
            raise NotKinectRecordingError(self.path, f"a {doc_type!r} file, not Matroska")
        if read_version > 2:  # as libk4arecord refuses
            raise UnsupportedKinectRecordingError(
                self.path, f"Matroska DocTypeReadVersion {read_version}: at most 2 is supported"
            )

    def _walk_top_level(self) -> dict[int, int]:
        """Read the header elements up to the first Cluster; where each was found."""
        found: dict[int, int] = {}
        pos, end = self.segment_start, self._data_end
        while pos < end:
            element_id, size, header = self._header_at(pos, "a top-level element")
            if element_id == ebml.CLUSTER:
                self.first_cluster = pos
                break
            name = _NAMES.get(element_id, f"element {element_id:#x}")
            if size == ebml.UNKNOWN_SIZE:
                raise self._damage(pos, f"the {name} has an unknown size")
            if element_id in _HEADER_ELEMENTS or element_id == ebml.SEEK_HEAD:
                if element_id not in found:
                    self._parse_element(element_id, pos, header, size)
                    found[element_id] = pos
            else:
                self._check_inside_segment(pos, pos + header + size, f"the {name} at byte {pos}")
                if pos + header + size > self.file_size:
                    self._cut(f"inside the {name} at byte {pos}", "recording")
            pos += header + size
        return found

    def _follow_seek_head(self, found: dict[int, int]) -> None:
        """Header elements that come after the clusters (ffmpeg writes its Tags last)."""
        for element_id, position in self._seek_entries.items():
            pos = self.segment_start + position
            if element_id not in _HEADER_ELEMENTS or element_id in found or pos >= self.file_size:
                continue
            try:
                seen_id, size, header = self._header_at(pos, _NAMES[element_id])
            except _EndOfData:
                continue
            if seen_id != element_id or size == ebml.UNKNOWN_SIZE:
                raise self._damage(pos, f"the SeekHead points at element {seen_id:#x} here, "
                                   f"not at the {_NAMES[element_id]}")
            self._parse_element(element_id, pos, header, size)
            found[element_id] = pos

    def _parse_element(self, element_id: int, pos: int, header: int, size: int) -> None:
        name = _NAMES[element_id]
        data = self._body(pos, header, size, f"the {name} at byte {pos}")
        base = pos + header
        if ebml.verify_crc(data, 0, size) is False:
            raise self._damage(pos, f"the {name}'s CRC-32 does not match its bytes")
        if element_id == ebml.INFO:
            self.info = self._parse_info(data, base)
        elif element_id == ebml.TRACKS:
            self.tracks = tuple(
                self._parse_track(data, start, end, base)
                for child, start, end in self._children(data, 0, size, base)
                if child == ebml.TRACK_ENTRY
            )
        elif element_id == ebml.ATTACHMENTS:
            self.attachments = tuple(
                self._parse_attachment(data, start, end, base)
                for child, start, end in self._children(data, 0, size, base)
                if child == ebml.ATTACHED_FILE
            )
        elif element_id == ebml.TAGS:
            self.tags = tuple(
                tag
                for child, start, end in self._children(data, 0, size, base)
                if child == ebml.TAG
                for tag in self._parse_tag(data, start, end, base)
            )
        else:
            self._parse_seek_head(data, base)

    def _parse_info(self, data: bytes, base: int) -> SegmentInfo:
        scale = _DEFAULT_TIMESTAMP_SCALE_NS
        duration: float | None = None
        title = muxing_app = writing_app = ""
        for child, start, end in self._children(data, 0, len(data), base):
            value = data[start:end]
            if child == ebml.TIMESTAMP_SCALE:
                scale = ebml.as_uint(value)
            elif child == ebml.DURATION:
                duration = self._float(value, base + start)
            elif child == ebml.TITLE:
                title = ebml.as_text(value)
            elif child == ebml.MUXING_APP:
                muxing_app = ebml.as_text(value)
            elif child == ebml.WRITING_APP:
                writing_app = ebml.as_text(value)
        if scale <= 0:
            raise self._damage(base, "the Info's TimestampScale is 0")
        return SegmentInfo(scale, duration, title, muxing_app, writing_app)

    def _parse_track(self, data: bytes, start: int, end: int, base: int) -> TrackEntry:
        number = uid = track_type = 0
        name = codec_id = ""
        codec_private = b""
        duration: int | None = None
        width = height = None
        for child, s, e in self._children(data, start, end, base):
            value = data[s:e]
            if child == ebml.TRACK_NUMBER:
                number = ebml.as_uint(value)
            elif child == ebml.TRACK_UID:
                uid = ebml.as_uint(value)
            elif child == ebml.TRACK_TYPE:
                track_type = ebml.as_uint(value)
            elif child == ebml.TRACK_NAME:
                name = ebml.as_text(value)
            elif child == ebml.CODEC_ID:
                codec_id = ebml.as_text(value)
            elif child == ebml.CODEC_PRIVATE:
                codec_private = bytes(value)
            elif child == ebml.DEFAULT_DURATION:
                duration = ebml.as_uint(value)
            elif child == ebml.CONTENT_ENCODINGS:
                raise UnsupportedKinectRecordingError(
                    self.path, f"track {name or number} is compressed or encrypted "
                    "(ContentEncodings): not supported"
                )
            elif child == ebml.VIDEO:
                for grandchild, gs, ge in self._children(data, s, e, base):
                    if grandchild == ebml.PIXEL_WIDTH:
                        width = ebml.as_uint(data[gs:ge])
                    elif grandchild == ebml.PIXEL_HEIGHT:
                        height = ebml.as_uint(data[gs:ge])
        if number == 0:
            raise self._damage(base + start, "a track without a TrackNumber")
        return TrackEntry(number, uid, track_type, name, codec_id, codec_private, duration,
                          width, height)

    def _parse_attachment(self, data: bytes, start: int, end: int, base: int) -> Attachment:
        name = mime = ""
        uid = 0
        content = b""
        for child, s, e in self._children(data, start, end, base):
            if child == ebml.FILE_NAME:
                name = ebml.as_text(data[s:e])
            elif child == ebml.FILE_MIME_TYPE:
                mime = ebml.as_text(data[s:e])
            elif child == ebml.FILE_UID:
                uid = ebml.as_uint(data[s:e])
            elif child == ebml.FILE_DATA:
                content = bytes(data[s:e])
        return Attachment(name, mime, uid, content)

    def _parse_tag(self, data: bytes, start: int, end: int, base: int) -> list[Tag]:
        target_type = ""
        track_uid = attachment_uid = 0
        simple: list[tuple[str, str]] = []
        for child, s, e in self._children(data, start, end, base):
            if child == ebml.TARGETS:
                for grandchild, gs, ge in self._children(data, s, e, base):
                    if grandchild == ebml.TARGET_TYPE:
                        target_type = ebml.as_text(data[gs:ge])
                    elif grandchild == ebml.TAG_TRACK_UID:
                        track_uid = ebml.as_uint(data[gs:ge])
                    elif grandchild == ebml.TAG_ATTACHMENT_UID:
                        attachment_uid = ebml.as_uint(data[gs:ge])
            elif child == ebml.SIMPLE_TAG:
                name = value = ""
                for grandchild, gs, ge in self._children(data, s, e, base):
                    if grandchild == ebml.TAG_NAME:
                        name = ebml.as_text(data[gs:ge])
                    elif grandchild == ebml.TAG_STRING:
                        value = ebml.as_text(data[gs:ge])
                simple.append((name, value))
        return [Tag(name, value, target_type, track_uid, attachment_uid)
                for name, value in simple]

    def _parse_seek_head(self, data: bytes, base: int) -> None:
        for child, start, end in self._children(data, 0, len(data), base):
            if child != ebml.SEEK:
                continue
            seek_id = position = None
            for grandchild, s, e in self._children(data, start, end, base):
                if grandchild == ebml.SEEK_ID:
                    seek_id = ebml.as_uint(data[s:e])
                elif grandchild == ebml.SEEK_POSITION:
                    position = ebml.as_uint(data[s:e])
            if seek_id is not None and position is not None:
                self._seek_entries.setdefault(seek_id, position)

    # --- clusters -------------------------------------------------------------------------

    def _cluster_blocks(self, data: bytes, base: int, start: int, end: int) -> Iterator[Block]:
        cluster_ts: int | None = None
        scale = self.info.timestamp_scale_ns
        for child, s, e in self._children(data, start, end, base):
            if child == ebml.CLUSTER_TIMESTAMP:
                cluster_ts = ebml.as_uint(data[s:e])
            elif child in (ebml.SIMPLE_BLOCK, ebml.BLOCK_GROUP):
                if cluster_ts is None:
                    raise self._damage(base + s, "a block before its Cluster's Timestamp")
                if child == ebml.SIMPLE_BLOCK:
                    yield self._block(data, s, e, base, cluster_ts, scale, None)
                    continue
                block_at: tuple[int, int] | None = None
                duration: int | None = None
                for grandchild, gs, ge in self._children(data, s, e, base):
                    if grandchild == ebml.BLOCK:
                        block_at = (gs, ge)
                    elif grandchild == ebml.BLOCK_DURATION:
                        duration = ebml.as_uint(data[gs:ge]) * scale
                if block_at is None:
                    raise self._damage(base + s, "a BlockGroup without a Block")
                yield self._block(data, *block_at, base, cluster_ts, scale, duration)

    def _block(self, data: bytes, start: int, end: int, base: int, cluster_ts: int,
               scale: int, duration: int | None) -> Block:
        view = memoryview(data)
        try:
            track, length = ebml.read_size(data, start)
            pos = start + length
            if pos + 3 > end or track == ebml.UNKNOWN_SIZE:
                raise EbmlError(start, "a block header that does not fit the block")
            relative = int.from_bytes(data[pos : pos + 2], "big", signed=True)
            lacing = (data[pos + 2] >> 1) & 3
            frames = unlace(data, pos + 3, end, lacing)
        except EbmlError as exc:
            raise self._damage(base + start, f"a malformed block: {exc.problem}") from None
        return Block(
            track=track,
            timestamp_ns=(cluster_ts + relative) * scale,
            frames=tuple(view[s:e] for s, e in frames),
            duration_ns=duration,
            offset=base + start,
        )

    def _unknown_size_cluster(self, body: int) -> Generator[Block, None, int]:
        """A Cluster written without its size (by a live muxer): read child by child.

        Returns where the next top-level element starts.
        """
        cluster_ts: int | None = None
        pos, end = body, self._data_end
        while pos < end:
            child, size, header = self._header_at(pos, "an element in a Cluster")
            if child in ebml.TOP_LEVEL:
                return pos
            if size == ebml.UNKNOWN_SIZE:
                raise self._damage(pos, f"element {child:#x} in a Cluster has an unknown size")
            if pos + header + size > self.file_size:
                self._cut(f"inside the Cluster's element at byte {pos}", "blocks")
            element = self._read(pos, header + size)
            if child == ebml.CLUSTER_TIMESTAMP:
                cluster_ts = ebml.as_uint(element[header:])
            elif child in (ebml.SIMPLE_BLOCK, ebml.BLOCK_GROUP):
                if cluster_ts is None:
                    raise self._damage(pos, "a block before its Cluster's Timestamp")
                timestamp = ebml.element(ebml.CLUSTER_TIMESTAMP, cluster_ts.to_bytes(8, "big"))
                yield from self._cluster_blocks(timestamp + element, pos - len(timestamp), 0,
                                                len(timestamp) + len(element))
            pos += header + size
        return pos

    # --- reading and errors ---------------------------------------------------------------

    def _read(self, pos: int, size: int) -> bytes:
        if self._fd < 0:
            raise KinectRecordingError(self.path, "read after the recording was closed")
        try:
            data = os.pread(self._fd, size, pos)
            while len(data) < size:  # pread may return fewer bytes on some filesystems
                more = os.pread(self._fd, size - len(data), pos + len(data))
                if not more:
                    break
                data += more
        except OSError as exc:
            raise KinectRecordingError(self.path, f"cannot read: {exc.strerror}") from exc
        return data

    def _header_at(self, pos: int, what: str) -> tuple[int, int, int]:
        probe = self._read(pos, _HEADER_PROBE)
        try:
            return ebml.read_header(probe, 0)
        except EbmlTruncated:
            if pos + len(probe) >= self.file_size:
                self._cut(f"inside the header of {what} at byte {pos}", "recording")
            raise self._damage(pos, f"a malformed header of {what}") from None
        except EbmlError as exc:
            raise self._damage(pos + exc.offset, f"{what}: {exc.problem}") from None

    def _body(self, pos: int, header: int, size: int, what: str) -> bytes:
        self._check_inside_segment(pos, pos + header + size, what)
        if pos + header + size > self.file_size:
            self._cut(f"inside {what}", "recording")
        return self._read(pos + header, size)

    def _children(self, data: bytes, start: int, end: int,
                  base: int) -> Iterator[tuple[int, int, int]]:
        try:
            yield from ebml.children(data, start, end)
        except EbmlError as exc:
            raise self._damage(base + exc.offset, exc.problem) from None

    def _float(self, value: bytes, offset: int) -> float:
        try:
            return ebml.as_float(value, offset)
        except EbmlError as exc:
            raise self._damage(offset, exc.problem) from None

    def _check_inside_segment(self, pos: int, end: int, what: str) -> None:
        """An element running past the end of a whole Segment is damage (past a cut Segment's
        end, it is the cut)."""
        segment_end = self.segment_end
        if (segment_end is not None and self.segment_start > 0 and end > segment_end
                and segment_end <= self.file_size):
            raise self._damage(pos, f"{what} overruns the Segment")

    def _cut(self, where: str, what: str) -> NoReturn:
        """The file ends early: raise, or when that is allowed, note it and end the reading."""
        if self.allow_truncated:
            self.truncated = True
            raise _EndOfData
        raise TruncatedKinectRecordingError(
            self.path,
            f"the file ends {where} ({self.file_size} bytes): cut short or not closed by its "
            f"writer; open it with allow_truncated=True to read the {what} before the cut",
        )

    def _damage(self, pos: int, problem: str) -> DamagedKinectRecordingError:
        return DamagedKinectRecordingError(self.path, f"damaged at byte {pos}: {problem}")


def unlace(data: bytes, pos: int, end: int, lacing: int) -> list[tuple[int, int]]:
    """(start, end) of each frame of a block whose frames start at `pos`."""
    if lacing == 0:
        return [(pos, end)]
    if pos >= end:
        raise EbmlError(pos, "a laced block without a frame count")
    count = data[pos] + 1
    pos += 1
    sizes: list[int] = []
    if lacing == 1:  # Xiph: each size as a run of 255s and a final byte
        for _ in range(count - 1):
            size = 0
            while True:
                if pos >= end:
                    raise EbmlError(pos, "Xiph lace sizes run past the block")
                byte = data[pos]
                pos += 1
                size += byte
                if byte != 255:
                    break
            sizes.append(size)
    elif lacing == 3:  # EBML: the first size, then signed differences
        size, length = ebml.read_size(data, pos)
        pos += length
        sizes.append(size)
        for _ in range(count - 2):
            raw, length = ebml.read_size(data, pos)
            pos += length
            size += raw - ((1 << (7 * length - 1)) - 1)
            sizes.append(size)
    else:  # fixed: equal frames
        if (end - pos) % count:
            raise EbmlError(pos, f"{end - pos} bytes do not split into {count} equal frames")
        sizes = [(end - pos) // count] * (count - 1)
    frames = []
    for size in sizes:
        if size < 0 or pos + size > end:
            raise EbmlError(pos, "lace sizes run past the block")
        frames.append((pos, pos + size))
        pos += size
    frames.append((pos, end))
    return frames
