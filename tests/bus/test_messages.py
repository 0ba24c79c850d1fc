"""Message families: which fields travel as buffers, stream names, and checked rebuilding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from bus_samples import ARRAY_FIELDS, Sample, sample

from edge.bus.envelope import Envelope
from edge.bus.messages import Message
from edge.errors import MessageError


@dataclass(frozen=True, slots=True)
class Imu(Message):
    FAMILY = "imu"

    acc: np.ndarray
    rate_hz: float


def test_array_fields_travel_as_buffers_and_the_rest_in_the_body() -> None:
    body, arrays = sample().split()
    assert set(arrays) == set(ARRAY_FIELDS)
    assert set(body) == {"index", "label", "gain", "flags", "extra"}


def test_split_passes_the_arrays_themselves() -> None:
    message = sample()
    _, arrays = message.split()
    assert all(arrays[name] is getattr(message, name) for name in ARRAY_FIELDS)


def test_stream_names_of_a_family() -> None:
    assert Imu.stream_name() == "imu"
    assert Imu.stream_name("left_wrist") == "imu.left_wrist"
    assert Imu.accepts("imu")
    assert Imu.accepts("imu.left_wrist")
    assert not Imu.accepts("imux")  # a prefix of the topic is not the family
    assert not Imu.accepts("sample")


def test_join_rebuilds_and_accepts_an_int_for_a_float() -> None:
    acc = np.ones((4, 3), np.float32)
    message = Imu.join(Envelope("imu.left_wrist", 0, 0, {"rate_hz": 52}, {"acc": acc}))
    assert message.rate_hz == 52
    assert message.acc is acc


def test_join_checks_fields_and_their_types() -> None:
    body, arrays = sample().split()
    wrong = [
        ({**body, "surprise": 1}, arrays, "do not match"),
        ({k: v for k, v in body.items() if k != "label"}, arrays, "do not match"),
        (body, {k: v for k, v in arrays.items() if k != "mask"}, "do not match"),
        (body, {**arrays, "more": np.zeros(1)}, "do not match"),
        ({**body, "index": "seven"}, arrays, "is not"),
        ({**body, "index": True}, arrays, "is not"),  # JSON true is no count
        ({**body, "index": 1.5}, arrays, "is not"),
        ({**body, "gain": False}, arrays, "is not"),
        ({**body, "label": 3}, arrays, "is not"),
    ]
    for wrong_body, wrong_arrays, problem in wrong:
        with pytest.raises(MessageError, match=problem):
            Sample.join(Envelope("sample", 0, 0, wrong_body, wrong_arrays))
