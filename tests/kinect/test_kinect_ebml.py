"""EBML encoding and parsing: sizes, slots rewritten in place, the three kinds of lacing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.kinect import ebml
from edge.kinect.demux import unlace
from edge.kinect.spec import BitmapInfoHeader, ColorFormat


@given(st.integers(min_value=0, max_value=(1 << 56) - 2))
def test_sizes_round_trip_in_the_fewest_bytes(size: int) -> None:
    encoded = ebml.encode_size(size)
    assert ebml.read_size(encoded, 0) == (size, len(encoded))
    if len(encoded) > 1:
        assert size >= (1 << (7 * (len(encoded) - 1))) - 1


@given(st.integers(min_value=0, max_value=(1 << 21)), st.integers(min_value=4, max_value=8))
def test_a_longer_size_field_reads_the_same(size: int, length: int) -> None:
    assert ebml.read_size(ebml.encode_size(size, length), 0) == (size, length)


def test_all_ones_is_an_unknown_size_and_zero_is_invalid() -> None:
    assert ebml.read_size(ebml.UNKNOWN_SIZE_8, 0) == (ebml.UNKNOWN_SIZE, 8)
    assert ebml.read_size(b"\xff", 0) == (ebml.UNKNOWN_SIZE, 1)
    with pytest.raises(ebml.EbmlError, match="invalid element size"):
        ebml.read_size(b"\x00\x01", 0)
    with pytest.raises(ebml.EbmlTruncated):
        ebml.read_size(b"\x40", 0)
    with pytest.raises(ebml.EbmlError, match="invalid element ID"):
        ebml.read_id(b"\x08\x00\x00\x00\x00", 0)


def test_ids_and_elements_encode_as_matroska_writes_them() -> None:
    assert ebml.encode_id(ebml.SEGMENT) == b"\x18\x53\x80\x67"
    assert ebml.uint_element(ebml.TIMESTAMP_SCALE, 1000) == b"\x2a\xd7\xb1\x82\x03\xe8"
    element = ebml.master(ebml.TRACKS, ebml.text_element(ebml.CODEC_ID, "S_K4A/IMU"))
    (child_id, start, end), = list(ebml.children(element, 5, len(element)))
    assert child_id == ebml.CODEC_ID and element[start:end] == b"S_K4A/IMU"


def test_a_child_overrunning_its_parent_is_an_error() -> None:
    element = ebml.text_element(ebml.CODEC_ID, "V_MS/VFW/FOURCC")
    with pytest.raises(ebml.EbmlError, match="overruns"):
        list(ebml.children(element, 0, len(element) - 1))


@pytest.mark.parametrize("slot", [2, 40, 41, 42, 128, 129, 140, 256, 1024])
def test_slots_fill_exactly_whatever_the_remainder(slot: int) -> None:
    body = b"x" * 30
    if slot < 32:
        with pytest.raises(ValueError):
            ebml.fill_slot(ebml.TITLE, body, slot)
        return
    filled = ebml.fill_slot(ebml.TITLE, body, slot)
    assert len(filled) == slot
    parts = list(ebml.children(filled, 0, slot))
    assert parts[0][0] == ebml.TITLE and filled[parts[0][1] : parts[0][2]] == body
    assert all(part[0] == ebml.VOID for part in parts[1:])


def test_crc_detects_a_changed_byte() -> None:
    content = ebml.uint_element(ebml.CLUSTER_TIMESTAMP, 5) + b"\xa3\x84\x81\x00\x00\x80"
    body = bytearray(ebml.crc_element(content) + content)
    assert ebml.verify_crc(body, 0, len(body)) is True
    body[-1] ^= 1
    assert ebml.verify_crc(body, 0, len(body)) is False
    assert ebml.verify_crc(content, 0, len(content)) is None


def frames(data: bytes, lacing: int) -> list[bytes]:
    return [data[s:e] for s, e in unlace(data, 0, len(data), lacing)]


def test_xiph_ebml_and_fixed_lacing_split_the_frames() -> None:
    a, b, c = b"A" * 300, b"B" * 5, b"C" * 7
    xiph = bytes([2]) + bytes([255, 45]) + bytes([5]) + a + b + c
    assert frames(xiph, 1) == [a, b, c]
    # EBML lacing: the first size, then the difference as a signed vint (bias 2^(7n-1) - 1).
    ebml_laced = bytes([2]) + ebml.encode_size(300) + ebml.encode_size(-295 + 8191, 2) + a + b + c
    assert frames(ebml_laced, 3) == [a, b, c]
    assert frames(bytes([2]) + b"x" * 9, 2) == [b"xxx"] * 3
    with pytest.raises(ebml.EbmlError, match="equal frames"):
        frames(bytes([2]) + b"x" * 10, 2)
    with pytest.raises(ebml.EbmlError, match="run past"):
        frames(bytes([1]) + bytes([200]) + b"x" * 10, 1)


def test_bitmap_info_header_is_the_sdks_40_bytes() -> None:
    depth = BitmapInfoHeader.for_depth(640, 576).pack()
    assert len(depth) == 40 and depth[16:20] == b"b16g"
    assert depth.hex() == ("28000000800200004002000001001000623136670040" "0b00" + "00" * 16)
    mjpg = BitmapInfoHeader.for_color(ColorFormat.MJPG, 1280, 720)
    assert BitmapInfoHeader.unpack(mjpg.pack()) == mjpg and mjpg.image_size == 0
    with pytest.raises(ValueError):
        BitmapInfoHeader.unpack(b"\x28" * 39)
