"""The Azure Kinect recording format: track names, codecs, FOURCCs, tags and capture settings.

As libk4arecord writes and reads it (Azure-Kinect-Sensor-SDK src/record/sdk/record.cpp,
src/record/internal/matroska_write.cpp and matroska_read.cpp): Matroska with a timestamp scale
of 1 us; video tracks COLOR, DEPTH and IR with codec V_MS/VFW/FOURCC and a 40-byte
BITMAPINFOHEADER as codec private data; the IMU as a subtitle track S_K4A/IMU; the factory
calibration as the attachment calibration.json; the capture settings as K4A_* tags.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum

from edge.geometry.modes import COLOR_WINDOWS, DEPTH_WINDOWS, ColorResolution, DepthMode

TIMESTAMP_SCALE_NS = 1000
CODEC_VIDEO = "V_MS/VFW/FOURCC"
CODEC_IMU = "S_K4A/IMU"
FOURCC_DEPTH = "b16g"  # 16-bit grey, big-endian: both depth and IR
CALIBRATION_FILE = "calibration.json"
# libk4arecord: clusters span at most 32 ms; a cue point at most once a second.
CLUSTER_SPAN_NS = 32_000_000
CUE_GAP_NS = 1_000_000_000


class TrackName(str, Enum):
    """The built-in tracks, by their Matroska track names."""

    COLOR = "COLOR"
    DEPTH = "DEPTH"
    IR = "IR"
    IMU = "IMU"


LEGACY_IR_TRACK = "DEPTH_IR"  # early SDK recordings named the IR track so

# Tags that name a built-in track by its UID (and target it).
TRACK_TAGS = {
    TrackName.COLOR: "K4A_COLOR_TRACK",
    TrackName.DEPTH: "K4A_DEPTH_TRACK",
    TrackName.IR: "K4A_IR_TRACK",
    TrackName.IMU: "K4A_IMU_TRACK",
}
TAG_COLOR_MODE = "K4A_COLOR_MODE"
TAG_DEPTH_MODE = "K4A_DEPTH_MODE"
TAG_IR_MODE = "K4A_IR_MODE"
TAG_IMU_MODE = "K4A_IMU_MODE"
TAG_DEPTH_DELAY_NS = "K4A_DEPTH_DELAY_NS"
TAG_WIRED_SYNC_MODE = "K4A_WIRED_SYNC_MODE"
TAG_SUBORDINATE_DELAY_NS = "K4A_SUBORDINATE_DELAY_NS"
TAG_COLOR_FIRMWARE = "K4A_COLOR_FIRMWARE_VERSION"
TAG_DEPTH_FIRMWARE = "K4A_DEPTH_FIRMWARE_VERSION"
TAG_DEVICE_SERIAL = "K4A_DEVICE_SERIAL_NUMBER"
TAG_CALIBRATION_FILE = "K4A_CALIBRATION_FILE"
TAG_START_OFFSET_NS = "K4A_START_OFFSET_NS"
BUILT_IN_TAGS = frozenset({
    *TRACK_TAGS.values(), TAG_COLOR_MODE, TAG_DEPTH_MODE, TAG_IR_MODE, TAG_IMU_MODE,
    TAG_DEPTH_DELAY_NS, TAG_WIRED_SYNC_MODE, TAG_SUBORDINATE_DELAY_NS, TAG_COLOR_FIRMWARE,
    TAG_DEPTH_FIRMWARE, TAG_DEVICE_SERIAL, TAG_CALIBRATION_FILE, TAG_START_OFFSET_NS,
})


class ColorFormat(str, Enum):
    """Colour formats a recording can hold, named as the K4A_COLOR_MODE tag's prefix."""

    MJPG = "MJPG"
    NV12 = "NV12"
    YUY2 = "YUY2"
    BGRA = "BGRA"

    @property
    def fourcc(self) -> str:
        return self.value

    @property
    def bits_per_pixel(self) -> int:
        return _BITS_PER_PIXEL[self]

    def image_size(self, width: int, height: int) -> int:
        """Bytes of one image (0: variable, for JPEG), as biSizeImage states it."""
        return 0 if self is ColorFormat.MJPG else width * height * self.bits_per_pixel // 8


_BITS_PER_PIXEL = {ColorFormat.MJPG: 24, ColorFormat.NV12: 12, ColorFormat.YUY2: 16,
                   ColorFormat.BGRA: 32}


class WiredSyncMode(str, Enum):
    STANDALONE = "STANDALONE"
    MASTER = "MASTER"
    SUBORDINATE = "SUBORDINATE"


def depth_size(mode: DepthMode) -> tuple[int, int]:
    """(width, height) of the depth and IR images in `mode`."""
    return DEPTH_WINDOWS[mode].output


def color_size(resolution: ColorResolution) -> tuple[int, int]:
    """(width, height) of the colour image at `resolution`."""
    return COLOR_WINDOWS[resolution].output


def color_resolution_of(width: int, height: int) -> ColorResolution | None:
    """The colour resolution with this image size; None for a size the device does not make."""
    for resolution, window in COLOR_WINDOWS.items():
        if window.output == (width, height):
            return resolution
    return None


@dataclass(frozen=True)
class BitmapInfoHeader:
    """The codec private data of a V_MS/VFW/FOURCC track (Windows' BITMAPINFOHEADER)."""

    width: int
    height: int
    bit_count: int
    fourcc: str
    image_size: int

    LAYOUT = struct.Struct("<IIIHHIIIIII")

    def pack(self) -> bytes:
        compression = int.from_bytes(self.fourcc.encode("ascii"), "little")
        return self.LAYOUT.pack(self.LAYOUT.size, self.width, self.height, 1, self.bit_count,
                                compression, self.image_size, 0, 0, 0, 0)

    @classmethod
    def unpack(cls, data: bytes) -> BitmapInfoHeader:
        """Raises ValueError when `data` is not a 40-byte header."""
        if len(data) != cls.LAYOUT.size:
            raise ValueError(f"BITMAPINFOHEADER of {len(data)} bytes, expected {cls.LAYOUT.size}")
        _, width, height, _, bit_count, compression, image_size, *_ = cls.LAYOUT.unpack(data)
        fourcc = compression.to_bytes(4, "little").decode("latin-1")
        return cls(width, height, bit_count, fourcc, image_size)

    @classmethod
    def for_depth(cls, width: int, height: int) -> BitmapInfoHeader:
        return cls(width, height, 16, FOURCC_DEPTH, width * height * 2)

    @classmethod
    def for_color(cls, color_format: ColorFormat, width: int, height: int) -> BitmapInfoHeader:
        return cls(width, height, color_format.bits_per_pixel, color_format.fourcc,
                   color_format.image_size(width, height))


FPS_CHOICES = (5, 15, 30)


@dataclass(frozen=True)
class RecordingConfig:
    """What was recorded and how: the counterpart of the SDK's k4a_record_configuration_t.

    None switches a camera off. `ir` records the IR images beside depth (libk4arecord always
    does); in PASSIVE_IR mode there is no depth track, only IR.
    """

    fps: int = 30
    depth_mode: DepthMode | None = DepthMode.NFOV_UNBINNED
    color_format: ColorFormat | None = ColorFormat.MJPG
    color_resolution: ColorResolution | None = ColorResolution.RES_720P
    ir: bool = True
    imu: bool = True
    depth_delay_off_color_usec: int = 0
    wired_sync_mode: WiredSyncMode = WiredSyncMode.STANDALONE
    subordinate_delay_off_master_usec: int = 0
    start_timestamp_offset_usec: int = 0  # read from a recording; a writer sets it itself

    def __post_init__(self) -> None:
        if (self.color_format is None) != (self.color_resolution is None):
            raise ValueError("give both a colour format and a colour resolution, or neither")
        if self.depth_mode is DepthMode.PASSIVE_IR and not self.ir:
            raise ValueError("PASSIVE_IR records only IR: ir must be True")

    @property
    def has_color(self) -> bool:
        return self.color_format is not None

    @property
    def has_depth(self) -> bool:
        return self.depth_mode is not None and self.depth_mode is not DepthMode.PASSIVE_IR

    @property
    def has_ir(self) -> bool:
        return self.depth_mode is not None and self.ir

    @property
    def frame_period_ns(self) -> int:
        return 1_000_000_000 // self.fps

    @property
    def color_mode_tag(self) -> str:
        """The K4A_COLOR_MODE value, e.g. MJPG_720P, or OFF."""
        if self.color_format is None or self.color_resolution is None:
            return "OFF"
        return f"{self.color_format.value}_{self.color_resolution.value}"
