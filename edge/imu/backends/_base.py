"""The façade every IMU backend implements."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner


class Radio:
    """bleak's backend classes for scanning and connecting; None is bleak's own for the OS."""

    name = ""
    scanner_backend: type[BaseBleakScanner] | None = None
    client_backend: type[BaseBleakClient] | None = None
    adapter: str | None = None

    def default_assignment(self) -> dict[str, str]:
        """Position -> serial when nothing is configured: none, but for simulated sensors."""
        return {}

    def active(self) -> AbstractContextManager[object]:
        """A context in which the backend classes can be used."""
        return nullcontext()
