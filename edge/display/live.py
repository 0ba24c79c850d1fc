"""What the page shows, as the display service last heard it; page connections wait on it.

The bus loop writes, each page connection (a thread of the web server) reads: a condition
variable wakes the readers when something changed, and version numbers tell each reader
what it has not sent yet.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import numpy as np


class LiveState:
    """The latest `state` and `pose` documents, each with a version that grows on change."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._documents: dict[str, tuple[int, str]] = {}

    def put(self, name: str, document: dict[str, Any]) -> None:
        text = json.dumps(document, separators=(",", ":"))
        with self._changed:
            version, previous = self._documents.get(name, (0, ""))
            if text != previous:
                self._documents[name] = (version + 1, text)
                self._changed.notify_all()

    def wait(self, seen: dict[str, int], timeout_s: float) -> dict[str, str]:
        """Documents newer than `seen` (updated in place), waiting up to `timeout_s` for one."""
        with self._changed:
            self._changed.wait_for(lambda: self._newer(seen), timeout_s)
            fresh = {}
            for name in self._newer(seen):
                version, text = self._documents[name]
                seen[name] = version
                fresh[name] = text
            return fresh

    def _newer(self, seen: dict[str, int]) -> list[str]:
        return [name for name, (version, _) in self._documents.items()
                if version > seen.get(name, 0)]


def depth_picture(depth: np.ndarray, scale: int, near_mm: int, far_mm: int
                  ) -> dict[str, Any]:
    """The depth image shrunk by `scale` as grey bytes: near white, far black, none 0."""
    small = depth[::scale, ::scale].astype(np.float32)
    grey = np.clip((far_mm - small) / max(far_mm - near_mm, 1), 0.0, 1.0) * 254 + 1
    grey[small == 0] = 0
    picture = grey.astype(np.uint8)
    return {"width": int(picture.shape[1]), "height": int(picture.shape[0]),
            "depth": base64.b64encode(picture.tobytes()).decode("ascii")}


def joints_on_picture(joints_2d: np.ndarray, confidence: np.ndarray, scale: int
                      ) -> list[list[float] | None]:
    """COCO-17 joints in the shrunk picture's pixels; None where not found."""
    out: list[list[float] | None] = []
    for (x, y), c in zip(joints_2d, confidence, strict=True):
        found = c > 0 and np.isfinite(x) and np.isfinite(y)
        out.append([round(float(x) / scale, 1), round(float(y) / scale, 1)] if found else None)
    return out
