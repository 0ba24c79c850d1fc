"""gma-edge: offline fidgety-movement screening on a cart (Kinect, 4 Movesense IMUs, Jetson)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gma-edge")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
