"""The real radio: bleak on BlueZ (the Jetson), talking to Movesense sensors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from edge.imu.backends._base import Radio
from edge.plugins import BackendConfig

if TYPE_CHECKING:
    from edge.config.model import AppConfig

KEY = "ble"


class Config(BackendConfig):
    type: Literal["ble"] = "ble"
    adapter: str | None = Field(
        default=None, pattern=r"^hci[0-9]{1,2}$",
        description='BlueZ adapter such as "hci0"; empty: the system default.',
    )


class BleRadio(Radio):
    name = "ble"

    def __init__(self, adapter: str | None) -> None:
        self.adapter = adapter


def create(config: Config, app: AppConfig) -> Radio:
    return BleRadio(config.adapter)
