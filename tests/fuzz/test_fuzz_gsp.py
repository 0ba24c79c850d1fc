"""Whatever bytes come from the radio, the GSP decoder raises GspError and nothing else."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
from fuzzing import fuzz, mutated
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import GspError
from edge.imu import gsp

PATHS = [gsp.StreamPath(kind, rate) for kind in gsp.StreamKind for rate in (13, 104, 1666)]


def only_gsp_errors(call: Callable[..., object], *args: object) -> object:
    with contextlib.suppress(GspError):
        return call(*args)
    return None


def valid_notifications(path: gsp.StreamPath, count: int, reference: int) -> list[bytes]:
    arrays = {name: np.full((count, 3), 1.5, dtype=np.float32) for name in path.kind.sensors}
    return gsp.encode_data(reference, gsp.encode_samples(path.kind, 123_456, **arrays))


def feed_all(notifications: list[bytes], path: gsp.StreamPath) -> None:
    """Feed the notifications in order and decode every packet they complete."""
    reassembler = gsp.Reassembler()
    for data in notifications:
        reply = only_gsp_errors(reassembler.feed, data)
        if isinstance(reply, gsp.DataPacket):
            only_gsp_errors(gsp.decode_samples, reply.payload, path)
            only_gsp_errors(gsp.decode_log_chunk, reply.payload)
    reassembler.reset()


@fuzz(500)
@given(data=st.binary(max_size=2 * gsp.MAX_NOTIFICATION), path=st.sampled_from(PATHS))
def test_any_bytes_raise_only_gsp_errors(data: bytes, path: gsp.StreamPath) -> None:
    only_gsp_errors(gsp.decode_notification, data)
    only_gsp_errors(gsp.decode_command, bytearray(data))
    only_gsp_errors(gsp.decode_samples, data, path)
    only_gsp_errors(gsp.decode_log_chunk, data)
    only_gsp_errors(gsp.StreamPath.parse, data.decode("latin-1"))


@fuzz(300)
@given(
    notifications=st.lists(st.binary(min_size=2, max_size=gsp.MAX_NOTIFICATION), max_size=8),
    path=st.sampled_from(PATHS),
)
def test_any_sequence_of_notifications_raises_only_gsp_errors(
    notifications: list[bytes], path: gsp.StreamPath
) -> None:
    feed_all(notifications, path)


@st.composite
def damaged_packets(draw: st.DrawFn) -> tuple[list[bytes], gsp.StreamPath]:
    path = draw(st.sampled_from(PATHS))
    most = (gsp.MAX_PAYLOAD - gsp.TIMESTAMP_BYTES) // path.kind.bytes_per_sample
    notifications = valid_notifications(path, draw(st.integers(1, most)), draw(st.integers(1, 255)))
    index = draw(st.integers(0, len(notifications) - 1))
    notifications[index] = draw(mutated(notifications[index]))
    order = draw(st.permutations(notifications) | st.just(notifications))
    return list(order), path


@fuzz(500)
@given(packet=damaged_packets())
def test_mutated_valid_packets_raise_only_gsp_errors(
    packet: tuple[list[bytes], gsp.StreamPath],
) -> None:
    notifications, path = packet
    feed_all(notifications, path)


@st.composite
def damaged_commands(draw: st.DrawFn) -> bytes:
    reference = draw(st.integers(1, 255))
    command = draw(
        st.sampled_from(
            [
                gsp.encode_hello(reference),
                gsp.encode_subscribe(reference, draw(st.sampled_from(PATHS))),
                gsp.encode_unsubscribe(reference),
                gsp.encode_fetch_log(reference, draw(st.integers(0, 2**32 - 1))),
            ]
        )
    )
    return draw(mutated(command))


@fuzz(300)
@given(command=damaged_commands())
def test_mutated_valid_commands_raise_only_gsp_errors(command: bytes) -> None:
    message = only_gsp_errors(gsp.decode_command, command)
    if isinstance(message, gsp.SubscribeCommand):
        only_gsp_errors(gsp.StreamPath.parse, message.path)
