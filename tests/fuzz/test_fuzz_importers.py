"""Damaged pose files (OpenPose JSON, Azure Kinect body tracking JSON, numpy arrays) raise
KeypointImportError, never a raw exception."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
from fuzzing import fuzz, json_values, mutated, mutated_json
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge.errors import KeypointImportError
from edge.fm.importers.arrays import SKELETONS, read_array
from edge.fm.importers.k4abt import read_k4abt
from edge.fm.importers.openpose import MAX_DURATION_S, read_openpose
from edge.skeleton import BODY25, K4ABT32

FPS = 30.0


def _person(x: float) -> dict[str, list[float]]:
    return {"pose_keypoints_2d": [v for j in range(len(BODY25)) for v in (x + j, 2.0 * j, 0.8)]}


OPENPOSE = {"version": 1.3, "people": [_person(100.0), _person(300.0)]}
K4ABT = {
    "k4abt_sdk_version": "1.1.2",
    "joint_names": list(K4ABT32.native),
    "frames": [
        {"timestamp_usec": 1000 + 33_333 * i, "frame_id": i, "num_bodies": 1,
         "bodies": [{"body_id": 1,
                     "joint_positions": [[j, -10.0 * j, 800.0] for j in range(len(K4ABT32))]}]}
        for i in range(2)
    ],
}


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gma-fuzz-") as name:
        yield Path(name)


def only_import_errors(call: Any, *args: Any) -> None:
    with suppress(KeypointImportError):
        call(*args)


def as_bytes(document: st.SearchStrategy[Any], valid: Any) -> st.SearchStrategy[bytes]:
    """JSON documents, valid bytes damaged, or any bytes at all."""
    text = json.dumps(valid).encode()
    return (
        document.map(lambda value: json.dumps(value).encode())
        | mutated(text)
        | st.binary(max_size=200)
    )


@fuzz(300)
@given(
    files=st.lists(as_bytes(mutated_json(OPENPOSE), OPENPOSE), min_size=1, max_size=3),
    numbers=st.lists(
        st.integers(0, 40) | st.integers(int(MAX_DURATION_S * FPS) + 1, 10**20),
        min_size=3, max_size=3, unique=True,
    ),
)
def test_damaged_openpose_frames_raise_only_import_errors(
    files: list[bytes], numbers: list[int]
) -> None:
    with folder() as src:
        (src / "clip_000000000000_keypoints.json").write_text(json.dumps(OPENPOSE))
        for number, data in zip(numbers, files, strict=False):
            (src / f"clip_{number:012d}_keypoints.json").write_bytes(data)
        only_import_errors(read_openpose, src, FPS)


@fuzz(300)
@given(data=as_bytes(mutated_json(K4ABT), K4ABT))
def test_damaged_body_tracking_raises_only_import_errors(data: bytes) -> None:
    with folder() as src:
        (src / "infant.json").write_bytes(data)
        only_import_errors(read_k4abt, src / "infant.json")


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


VALID_ARRAY = npy(np.tile(np.array([100.0, 200.0, 0.9]), (3, len(BODY25), 1)))
dtypes = (
    hnp.integer_dtypes() | hnp.unsigned_integer_dtypes() | hnp.floating_dtypes()
    | hnp.boolean_dtypes() | hnp.complex_number_dtypes() | hnp.byte_string_dtypes()
    | hnp.datetime64_dtypes()
)
arrays = hnp.arrays(
    dtypes,
    st.sampled_from([(2, len(BODY25), 3), (1, len(BODY25), 4), (0, len(BODY25), 3)])
    | hnp.array_shapes(min_dims=0, max_dims=4, max_side=4),
)


@fuzz(300)
@example(data=b"", skeleton="body25", units="mm")  # found: EOFError from np.load
@example(data=b"PK\x03\x04garbage", skeleton="body25", units="mm")  # zipfile.BadZipFile
@example(data=b"PK\x05\x06" + bytes(18), skeleton="body25", units="mm")  # an empty .npz
@example(  # found: tokenize.TokenError from numpy's version 1 header parser
    data=b"\x93NUMPY\x01\x00\x18\x00{'descr': '<f8', (      \n",
    skeleton="body25",
    units="mm",
)
@given(
    data=mutated(VALID_ARRAY, hot=128) | arrays.map(npy) | st.binary(max_size=300),
    skeleton=st.sampled_from(sorted(SKELETONS)),
    units=st.sampled_from(["mm", "m"]),
)
def test_damaged_arrays_raise_only_import_errors(data: bytes, skeleton: str, units: str) -> None:
    with folder() as src:
        (src / "infant.npy").write_bytes(data)
        only_import_errors(read_array, src / "infant.npy", SKELETONS[skeleton], FPS, units)


@fuzz(100)
@given(value=json_values)
def test_any_json_raises_only_import_errors(value: Any) -> None:
    with folder() as src:
        (src / "clip_000000000000_keypoints.json").write_text(json.dumps(value))
        only_import_errors(read_openpose, src, FPS)
        only_import_errors(read_k4abt, src / "clip_000000000000_keypoints.json")
