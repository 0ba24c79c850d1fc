"""systemd's notification protocol: READY, STATUS, WATCHDOG, STOPPING.

With systemd-python installed, its `systemd.daemon.notify` sends them; without it the same
datagram goes to $NOTIFY_SOCKET directly (the protocol is one AF_UNIX datagram of
newline-separated assignments). Without $NOTIFY_SOCKET nothing is sent. The supervisor of
`gma-edge run` sets $NOTIFY_SOCKET for its children, so the same code serves both.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

Send = Callable[[str], None]


class Notifier:
    """Sends state changes to whoever started this process, if anyone listens."""

    def __init__(self, send: Send | None) -> None:
        self._send = send

    @classmethod
    def from_environment(cls) -> Notifier:
        address = os.environ.get("NOTIFY_SOCKET")
        if not address:
            return cls(None)
        try:
            daemon = importlib.import_module("systemd.daemon")
        except ImportError:
            return cls(_DatagramSender(address))

        def send(state: str) -> None:
            daemon.notify(state)

        return cls(send)

    @property
    def active(self) -> bool:
        return self._send is not None

    def notify(self, state: str) -> None:
        if self._send is None:
            return
        try:
            self._send(state)
        except OSError as exc:  # the manager went away; the service keeps running
            log.warning("notification %r not delivered: %s", state.split("=", maxsplit=1)[0], exc)

    def ready(self, status: str = "") -> None:
        self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")


class _DatagramSender:
    """$NOTIFY_SOCKET without libsystemd: a path, or '@name' for the abstract namespace."""

    def __init__(self, address: str) -> None:
        self._address = "\0" + address[1:] if address.startswith("@") else address

    def __call__(self, state: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), self._address)


def watchdog_interval_s() -> float | None:
    """Half the watchdog period that the manager asked for, or None when it asked for none."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2e6
    except ValueError:
        return None
