"""EBML, the binary layout under Matroska: element IDs, variable-size integers, encoding, parsing.

An element is an ID (1-4 bytes, length marker kept), a size (1-8 bytes, length marker removed;
all value bits set means "unknown size") and a body. Parsing works on in-memory bytes and
raises `EbmlError` with the offset of the problem; the demuxer turns that into the project's
typed errors, with the file's name. Only the elements an Azure Kinect recording uses are named.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

# EBML header
EBML = 0x1A45DFA3
EBML_VERSION = 0x4286
EBML_READ_VERSION = 0x42F7
EBML_MAX_ID_LENGTH = 0x42F2
EBML_MAX_SIZE_LENGTH = 0x42F3
DOC_TYPE = 0x4282
DOC_TYPE_VERSION = 0x4287
DOC_TYPE_READ_VERSION = 0x4285
# Global elements
VOID = 0xEC
CRC32 = 0xBF
# Segment and its top-level children
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
SEEK_POSITION = 0x53AC
INFO = 0x1549A966
TIMESTAMP_SCALE = 0x2AD7B1
DURATION = 0x4489
DATE_UTC = 0x4461
TITLE = 0x7BA9
MUXING_APP = 0x4D80
WRITING_APP = 0x5741
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_NUMBER = 0xD7
TRACK_UID = 0x73C5
TRACK_TYPE = 0x83
TRACK_NAME = 0x536E
CODEC_ID = 0x86
CODEC_PRIVATE = 0x63A2
DEFAULT_DURATION = 0x23E383
CONTENT_ENCODINGS = 0x6D80
VIDEO = 0xE0
PIXEL_WIDTH = 0xB0
PIXEL_HEIGHT = 0xBA
ATTACHMENTS = 0x1941A469
ATTACHED_FILE = 0x61A7
FILE_NAME = 0x466E
FILE_MIME_TYPE = 0x4660
FILE_DATA = 0x465C
FILE_UID = 0x46AE
TAGS = 0x1254C367
TAG = 0x7373
TARGETS = 0x63C0
TARGET_TYPE = 0x63CA
TAG_TRACK_UID = 0x63C5
TAG_ATTACHMENT_UID = 0x63C6
SIMPLE_TAG = 0x67C8
TAG_NAME = 0x45A3
TAG_STRING = 0x4487
CUES = 0x1C53BB6B
CUE_POINT = 0xBB
CUE_TIME = 0xB3
CUE_TRACK_POSITIONS = 0xB7
CUE_TRACK = 0xF7
CUE_CLUSTER_POSITION = 0xF1
CHAPTERS = 0x1043A770
CLUSTER = 0x1F43B675
CLUSTER_TIMESTAMP = 0xE7
SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1
BLOCK_DURATION = 0x9B

# The elements that may follow a Cluster at the Segment's top level: an unknown-size Cluster
# ends where one of them starts.
TOP_LEVEL = frozenset({SEEK_HEAD, INFO, TRACKS, ATTACHMENTS, TAGS, CUES, CHAPTERS, CLUSTER})

TRACK_TYPE_VIDEO = 1
TRACK_TYPE_SUBTITLE = 0x11

UNKNOWN_SIZE = -1
_MAX_SIZE_LENGTH = 8
_MAX_ID_LENGTH = 4


class EbmlError(ValueError):
    """Malformed EBML at `offset` in the parsed bytes; never escapes edge.kinect."""

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(f"byte {offset}: {problem}")
        self.offset = offset
        self.problem = problem


class EbmlTruncated(EbmlError):
    """The bytes end before the element header does (at the end of a file: a truncation)."""


# --- parsing ------------------------------------------------------------------------------------


def read_id(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The element ID at `pos` (marker bits kept, as IDs are written) and its length."""
    if pos >= len(data):
        raise EbmlTruncated(pos, "ends before an element ID")
    first = data[pos]
    length = _vint_length(first)
    if length > _MAX_ID_LENGTH:
        raise EbmlError(pos, f"invalid element ID (first byte {first:#04x})")
    if pos + length > len(data):
        raise EbmlTruncated(pos, "ends inside an element ID")
    return int.from_bytes(data[pos : pos + length], "big"), length


def read_size(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The element size at `pos` (`UNKNOWN_SIZE` when all value bits are set) and its length."""
    if pos >= len(data):
        raise EbmlTruncated(pos, "ends before an element size")
    first = data[pos]
    length = _vint_length(first)
    if length > _MAX_SIZE_LENGTH:
        raise EbmlError(pos, f"invalid element size (first byte {first:#04x})")
    if pos + length > len(data):
        raise EbmlTruncated(pos, "ends inside an element size")
    value = int.from_bytes(data[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    if value == (1 << (7 * length)) - 1:
        return UNKNOWN_SIZE, length
    return value, length


def read_header(data: bytes | memoryview, pos: int) -> tuple[int, int, int]:
    """(ID, size, header length) of the element at `pos`."""
    element_id, id_length = read_id(data, pos)
    size, size_length = read_size(data, pos + id_length)
    return element_id, size, id_length + size_length


def children(data: bytes | memoryview, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(ID, body start, body end) of each child in data[start:end]; each must fit inside."""
    pos = start
    while pos < end:
        try:
            element_id, size, header = read_header(data, pos)
        except EbmlTruncated as exc:  # inside a parent, running out of bytes is damage
            raise EbmlError(exc.offset, f"{exc.problem} inside its parent") from None
        body = pos + header
        if size == UNKNOWN_SIZE:
            raise EbmlError(pos, f"element {element_id:#x} inside a parent has an unknown size")
        if body + size > end:
            raise EbmlError(pos, f"element {element_id:#x} overruns its parent")
        yield element_id, body, body + size
        pos = body + size


def verify_crc(data: bytes | memoryview, start: int, end: int) -> bool | None:
    """Check a master element's body data[start:end] against its CRC-32 child, when it has one.

    The CRC-32 element comes first; it holds the IEEE CRC-32 (little-endian) of everything after
    it in the body. None when the body carries no checksum.
    """
    if end - start < 6 or data[start] != CRC32 or data[start + 1] != 0x84:
        return None
    stored = int.from_bytes(data[start + 2 : start + 6], "little")
    return zlib.crc32(memoryview(data)[start + 6 : end]) == stored  # a view: no copy


def as_uint(data: bytes | memoryview) -> int:
    return int.from_bytes(data, "big")


def as_int(data: bytes | memoryview) -> int:
    return int.from_bytes(data, "big", signed=True)


def as_float(data: bytes | memoryview, offset: int = 0) -> float:
    if len(data) == 4:
        return float(struct.unpack(">f", data)[0])
    if len(data) == 8:
        return float(struct.unpack(">d", data)[0])
    if len(data) == 0:
        return 0.0
    raise EbmlError(offset, f"a float of {len(data)} bytes (need 4 or 8)")


def as_text(data: bytes | memoryview) -> str:
    """An ASCII or UTF-8 string; EBML strings may be padded with NULs."""
    return bytes(data).rstrip(b"\x00").decode("utf-8", errors="replace")


def _vint_length(first: int) -> int:
    # The number of leading zero bits plus one; 9 for a zero byte (invalid).
    return 9 - first.bit_length()


# --- encoding -----------------------------------------------------------------------------------


def encode_id(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def encode_size(size: int, length: int | None = None) -> bytes:
    """A size field; `length` forces a longer encoding (for fields patched in place later)."""
    minimal = 1
    while size >= (1 << (7 * minimal)) - 1:  # all ones is reserved for "unknown"
        minimal += 1
    length = minimal if length is None else length
    if not minimal <= length <= _MAX_SIZE_LENGTH:
        raise ValueError(f"size {size} does not fit in {length} bytes")
    return (size | (1 << (7 * length))).to_bytes(length, "big")


UNKNOWN_SIZE_8 = b"\x01" + b"\xff" * 7


def element(element_id: int, body: bytes, size_length: int | None = None) -> bytes:
    return encode_id(element_id) + encode_size(len(body), size_length) + body


def master(element_id: int, *parts: bytes) -> bytes:
    return element(element_id, b"".join(parts))


def uint_element(element_id: int, value: int, width: int | None = None) -> bytes:
    """An unsigned integer, minimal unless `width` fixes its size (to patch it later)."""
    if value < 0:
        raise ValueError(f"unsigned element {element_id:#x} given {value}")
    width = width if width is not None else max(1, (value.bit_length() + 7) // 8)
    return element(element_id, value.to_bytes(width, "big"))


def int_element(element_id: int, value: int, width: int = 8) -> bytes:
    return element(element_id, value.to_bytes(width, "big", signed=True))


def float_element(element_id: int, value: float) -> bytes:
    return element(element_id, struct.pack(">d", value))


def text_element(element_id: int, value: str) -> bytes:
    return element(element_id, value.encode("utf-8"))


def crc_element(body: bytes) -> bytes:
    """The CRC-32 child that goes first in a master element whose other children are `body`."""
    return element(CRC32, zlib.crc32(body).to_bytes(4, "little"))


def void(total: int) -> bytes:
    """A Void element of exactly `total` bytes (at least 2)."""
    if total < 2:
        raise ValueError(f"a Void element needs at least 2 bytes, not {total}")
    if total - 2 < 0x7F:
        return encode_id(VOID) + encode_size(total - 2, 1) + bytes(total - 2)
    return encode_id(VOID) + encode_size(total - 9, 8) + bytes(total - 9)


def fill_slot(element_id: int, body: bytes, slot: int) -> bytes:
    """The element, then a Void, making up exactly `slot` bytes: a region rewritten in place."""
    encoded = element(element_id, body)
    if len(encoded) + 1 == slot:  # a Void cannot be 1 byte: spend it on a longer size field
        size_length = len(encode_size(len(body))) + 1
        encoded = element(element_id, body, size_length)
    if len(encoded) > slot:
        raise ValueError(f"element {element_id:#x} of {len(encoded)} bytes exceeds its {slot}")
    return encoded if len(encoded) == slot else encoded + void(slot - len(encoded))
