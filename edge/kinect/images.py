"""Image payloads of a recording's video tracks <-> numpy arrays, the colour codec through PyAV.

Depth and IR are stored as `b16g`: 16-bit grey, big-endian (libk4arecord swaps the bytes of
the device's little-endian images on write and back on playback). Colour is stored as the
device delivers it: MJPG (JPEG), NV12, YUY2 or BGRA. Functions raise ValueError for a payload
that does not fit its track; the reader adds where in the file it was.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import av
import numpy as np
from av.video.codeccontext import VideoCodecContext

from edge.kinect.spec import ColorFormat

_BIG_ENDIAN_16 = np.dtype(">u2")
_PYAV_FORMAT = {ColorFormat.NV12: "nv12", ColorFormat.YUY2: "yuyv422", ColorFormat.BGRA: "bgra"}


def decode_gray16(payload: bytes | memoryview, width: int, height: int) -> np.ndarray:
    """A depth (mm) or IR image, (height, width) native uint16, from its big-endian payload."""
    if len(payload) != width * height * 2:
        raise ValueError(f"{len(payload)} bytes for a {width}x{height} 16-bit image "
                         f"(expected {width * height * 2})")
    return np.frombuffer(payload, dtype=_BIG_ENDIAN_16).reshape(height, width).astype(np.uint16)


def encode_gray16(image: np.ndarray) -> bytes:
    """The big-endian payload of a (height, width) uint16 image."""
    return np.asarray(image, dtype=np.uint16).astype(_BIG_ENDIAN_16).tobytes()


def raw_color(payload: bytes | memoryview, color_format: ColorFormat, width: int,
              height: int) -> np.ndarray:
    """The colour payload as pyk4a hands it out, without decoding.

    MJPG: the JPEG as a 1-D uint8 array; NV12: (height * 3 / 2, width); YUY2: (height, width, 2);
    BGRA: (height, width, 4).
    """
    data = np.frombuffer(payload, dtype=np.uint8)
    if color_format is ColorFormat.MJPG:
        return data
    expected = color_format.image_size(width, height)
    if len(data) != expected:
        raise ValueError(f"{len(data)} bytes for a {width}x{height} {color_format.value} image "
                         f"(expected {expected})")
    if color_format is ColorFormat.NV12:
        return data.reshape(height * 3 // 2, width)
    if color_format is ColorFormat.YUY2:
        return data.reshape(height, width, 2)
    return data.reshape(height, width, 4)


class ColorDecoder:
    """Colour payloads of one track -> (height, width, 4) uint8 BGRA images."""

    def __init__(self, color_format: ColorFormat, width: int, height: int) -> None:
        self.color_format = color_format
        self.width = width
        self.height = height
        self._jpeg: VideoCodecContext | None = None
        if color_format is ColorFormat.MJPG:
            self._jpeg = _mjpeg("r")

    def decode(self, payload: bytes | memoryview) -> np.ndarray:
        if self._jpeg is None:
            raw = raw_color(payload, self.color_format, self.width, self.height)
            if self.color_format is ColorFormat.BGRA:
                return raw.copy()
            frame = av.VideoFrame.from_ndarray(raw, format=_PYAV_FORMAT[self.color_format])
            return frame.to_ndarray(format="bgra")
        try:
            frames = self._jpeg.decode(av.Packet(bytes(payload)))
        except av.FFmpegError as exc:
            raise ValueError(f"the JPEG does not decode: {exc}") from exc
        if len(frames) != 1:
            raise ValueError(f"the JPEG decoded to {len(frames)} images, expected 1")
        frame = frames[0]
        if (frame.width, frame.height) != (self.width, self.height):
            raise ValueError(f"the JPEG is {frame.width}x{frame.height}, the track "
                             f"{self.width}x{self.height}")
        image: np.ndarray = frame.to_ndarray(format="bgra")
        return image


class JpegEncoder:
    """BGRA or BGR images -> JPEG payloads for an MJPG colour track (4:2:2, as the device's)."""

    def __init__(self, width: int, height: int, quality: int = 90) -> None:
        if not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality is 1..100, not {quality}")
        self.width = width
        self.height = height
        self._codec = _mjpeg("w")
        self._codec.width = width
        self._codec.height = height
        self._codec.pix_fmt = "yuvj422p"
        self._codec.time_base = Fraction(1, 30)
        # ffmpeg's quantiser scale runs from 2 (best) to 31: quality 100 -> 2, 1 -> 31.
        self._codec.qmin = self._codec.qmax = round(2 + (100 - quality) * 29 / 99)
        self._pts = 0

    def encode(self, image: np.ndarray) -> bytes:
        if image.dtype != np.uint8 or image.shape not in (
            (self.height, self.width, 4), (self.height, self.width, 3)
        ):
            raise ValueError(f"colour image of shape {image.shape} and dtype {image.dtype}: "
                             f"need ({self.height}, {self.width}, 4 or 3) uint8 BGRA or BGR")
        layout = "bgra" if image.shape[2] == 4 else "bgr24"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=layout)
        frame = frame.reformat(format="yuvj422p")
        frame.pts = self._pts
        self._pts += 1
        packets = self._codec.encode(frame)
        if len(packets) != 1:
            raise ValueError(f"the JPEG encoder gave {len(packets)} packets for one image")
        return bytes(packets[0])


def _mjpeg(mode: Literal["r", "w"]) -> VideoCodecContext:
    context = av.CodecContext.create("mjpeg", mode)
    assert isinstance(context, VideoCodecContext)  # PyAV's stubs do not list mjpeg
    return context
