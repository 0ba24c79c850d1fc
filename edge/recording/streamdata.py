"""Stream data files: records in a stream's exact layout going in, memory maps coming out.

A data file is the records back to back, nothing else, so its size says how many records it
holds; bytes beyond the last whole record are what a crash cut short, reported and ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import StreamLayoutError


def to_records(dtype: np.dtype, records: np.ndarray | Mapping[str, Any], where: str) -> np.ndarray:
    """`records` (a structured array, or one column per field) as a contiguous array of `dtype`.

    Values are cast within their kind (float64 to float32 is fine, float to int is not); an
    integer that does not fit its field is an error rather than a silent wrap-around.
    """
    names = dtype.names or ()
    if isinstance(records, np.ndarray):
        if records.dtype == dtype:
            return np.ascontiguousarray(records).reshape(-1)
        if records.dtype.names is None or records.ndim != 1:
            raise StreamLayoutError(where, f"records must be a 1-D structured array of {dtype}")
        columns: Mapping[str, Any] = {name: records[name] for name in records.dtype.names}
    else:
        columns = records
    if set(columns) != set(names):
        raise StreamLayoutError(
            where, f"fields {sorted(columns)} given, the stream has {sorted(names)}"
        )
    arrays = {name: np.asarray(columns[name]) for name in names}
    if arrays[names[0]].ndim == 0:
        raise StreamLayoutError(where, "give each field as an array with one row per record")
    count = len(arrays[names[0]])
    out = np.empty(count, dtype)
    for name in names:
        _fill(out, name, arrays[name], count, where)
    return out


def _fill(out: np.ndarray, name: str, values: np.ndarray, count: int, where: str) -> None:
    target = out.dtype[name]
    want = (count, *target.shape)
    if values.shape != want:
        raise StreamLayoutError(where, f"field {name}: shape {values.shape}, expected {want}")
    integers = target.base.kind in "iu" and values.dtype.kind in "iu"
    if not (integers or np.can_cast(values.dtype, target.base, casting="same_kind")):
        raise StreamLayoutError(
            where, f"field {name}: cannot store {values.dtype} as {target.base}"
        )
    if integers and values.size:
        info = np.iinfo(target.base)
        if values.min() < info.min or values.max() > info.max:
            raise StreamLayoutError(
                where, f"field {name}: values outside the range of {target.base}"
            )
    out[name] = values


def data_size(path: Path) -> int:
    """Bytes in a data file; a missing one (a crash before its first record) holds none."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def map_records(path: Path, dtype: np.dtype, count: int) -> np.ndarray:
    """The first `count` records of a data file, memory-mapped read-only."""
    if count == 0:
        return np.empty(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(count,))


def time_span(path: Path, record_size: int, count: int) -> tuple[int, int] | None:
    """`t_ns` of the first and the last record, read without mapping the file."""
    if count == 0:
        return None
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        first = os.pread(fd, 8, 0)
        last = os.pread(fd, 8, (count - 1) * record_size)
    finally:
        os.close(fd)
    return int.from_bytes(first, "little", signed=True), int.from_bytes(last, "little", signed=True)
