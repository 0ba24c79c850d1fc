"""The jtop source against a fake `jtop` module shaped like jetson-stats 7.x, and the auto source.

The fake mirrors what jetson-stats' own source says: `jtop.jtop` is a client that `start()`s a
connection to the jtop service, `ok(spin)` re-raises what its reader thread caught, `cpu`,
`temperature` and `power` are dicts, `memory` and `gpu` are dict-like `GenericInterface`s, RAM
is in kB, power in mW, temperatures in °C with -256 for what could not be read.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from edge.errors import MissingDependencyError
from edge.telemetry.sources import auto, jtop
from edge.telemetry.sources._base import SourceUnavailable


class FakeJtopException(Exception):
    """jtop.core.exceptions.JtopException: a message, shown as is."""

    def __init__(self, message: str, errors: str = "") -> None:
        super().__init__(message, errors)
        self.message = message

    def __str__(self) -> str:
        return self.message


class GenericInterface:
    """jtop.core.common.GenericInterface: read-only and dict-like, but not a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def items(self) -> Any:
        return self._data.items()

    def keys(self) -> Any:
        return self._data.keys()

    def values(self) -> Any:
        return self._data.values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def orin_stats() -> dict[str, Any]:
    """One sample of a Jetson Orin Nano as the jtop service sends it."""
    core = {"governor": "schedutil", "freq": {"min": 115200, "max": 1510400, "cur": 729600}}
    return {
        "cpu": {
            # jtop's own total, off by its reference bug: the source must not use it.
            "total": {"user": 80.0, "nice": 0.0, "system": 15.0, "idle": 5.0},
            "cpu": [
                {"online": True, **core, "user": 20.0, "nice": 0.0, "system": 5.0, "idle": 75.0},
                {"online": True, **core, "user": 60.0, "nice": 0.0, "system": 15.0, "idle": 25.0},
                {"online": False, "governor": "schedutil", "freq": {}},
            ],
        },
        "mem": {
            "RAM": {
                "tot": 7_999_488,
                "used": 2_048_000,
                "free": 3_000_000,
                "buffers": 60_000,
                "cached": 2_500_000,
                "shared": 150_000,
                "lfb": 400,
            },
            "SWAP": {"tot": 3_999_744, "used": 0, "cached": 0, "table": {}},
        },
        "gpu": {
            "gpu": {
                "type": "integrated",
                "status": {
                    "railgate": False,
                    "tpc_pg_mask": False,
                    "3d_scaling": True,
                    "load": 37.5,
                },
                "freq": {"governor": "nvhost_podgov", "cur": 306000, "max": 624750, "min": 0},
            }
        },
        "temperature": {
            "cpu": {"online": True, "temp": 48.5},
            "cv0": {"online": False, "temp": -256},
            "gpu": {"online": True, "temp": 46.0},
            "tj": {"online": True, "temp": 49.0},
            # hwmon sensors: jtop sets max and crit for each, -256 where the file is missing.
            "iwlwifi_1 temp1": {"online": True, "temp": 41.0, "max": -256, "crit": -256},
            "nvme Composite": {"online": True, "temp": 44.85, "max": 81.85, "crit": 84.85},
        },
        "power": {
            "rail": {
                "VDD_CPU_GPU_CV": {
                    "online": True,
                    "type": "INA3221",
                    "status": "ok",
                    "volt": 4984,
                    "curr": 400,
                    "power": 1993,
                    "avg": 1990,
                },
                "VDD_SOC": {
                    "online": True,
                    "type": "INA3221",
                    "status": "ok",
                    "volt": 4984,
                    "curr": 300,
                    "power": 1495,
                    "avg": 1490,
                },
            },
            "tot": {
                "online": True,
                "type": "INA3221",
                "status": "ok",
                "volt": 4992,
                "curr": 1462,
                "power": 7300,
                "avg": 7100,
                "name": "VDD_IN",
            },
        },
    }


@dataclass
class Board:
    """What the fake jtop service serves, and the clients that connected to it."""

    root: Path
    stats: dict[str, Any] = field(default_factory=orin_stats)
    start_error: BaseException | None = None
    reader_error: BaseException | None = None
    clients: list[FakeJtop] = field(default_factory=list)


class FakeJtop:
    """jtop.jtop: the attributes and methods that the source uses, as jetson-stats has them."""

    board: ClassVar[Board]

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.spins: list[bool] = []
        self._running = False
        self.board.clients.append(self)

    def start(self) -> None:
        if self.board.start_error is not None:
            raise self.board.start_error
        self._running = True

    def ok(self, spin: bool = False) -> bool:
        self.spins.append(spin)
        if self.board.reader_error is not None:
            raise self.board.reader_error
        return self._running

    def close(self) -> None:
        self._running = False

    @property
    def cpu(self) -> dict[str, Any]:
        return self.board.stats["cpu"]  # type: ignore[no-any-return]

    @property
    def memory(self) -> GenericInterface:
        return GenericInterface(self.board.stats["mem"])

    @property
    def gpu(self) -> GenericInterface:
        return GenericInterface(self.board.stats["gpu"])

    @property
    def temperature(self) -> dict[str, Any]:
        return self.board.stats["temperature"]  # type: ignore[no-any-return]

    @property
    def power(self) -> dict[str, Any]:
        return self.board.stats["power"]  # type: ignore[no-any-return]


@pytest.fixture
def board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Board:
    """jetson-stats installed and its service running, under tmp_path as root."""
    module = types.ModuleType("jtop")
    module.jtop = FakeJtop  # type: ignore[attr-defined]
    module.JtopException = FakeJtopException  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jtop", module)
    fake = Board(root=tmp_path)
    monkeypatch.setattr(FakeJtop, "board", fake, raising=False)
    (tmp_path / "run").mkdir()
    (tmp_path / jtop.SOCKET).touch()
    return fake


def opened(board: Board) -> jtop.JtopSource:
    source = jtop.JtopSource(jtop.Config(root=board.root))
    source.open()
    return source


# The jtop source


def test_reading_converts_jtops_units(board: Board) -> None:
    reading = opened(board).read()
    assert reading.cpu_percent == pytest.approx(50.0)  # cores at 25 % and 75 %, not the total
    assert reading.memory_used_mb == pytest.approx(2000.0)
    assert reading.memory_total_mb == pytest.approx(7812.0)
    assert reading.temperatures_c == {
        "cpu": 48.5,
        "gpu": 46.0,
        "tj": 49.0,
        "iwlwifi_1 temp1": 41.0,
        "nvme Composite": 44.85,
    }
    assert reading.gpu_percent == pytest.approx(37.5)
    assert reading.power_w == pytest.approx(7.3)  # VDD_IN, not VDD_IN + its parts
    assert reading.throttling is False  # iwlwifi's max of -256 is no limit


def test_reading_does_not_block_on_jtops_next_sample(board: Board) -> None:
    source = opened(board)
    source.read()
    source.read()
    assert board.clients[0].spins == [True, True]


def test_throttling_at_a_sensors_own_limit(board: Board) -> None:
    source = opened(board)
    board.stats["temperature"]["nvme Composite"]["temp"] = 81.85
    assert source.read().throttling is True


def test_throttling_at_a_thermal_zones_passive_trip(board: Board) -> None:
    zone = board.root / "sys/class/thermal/thermal_zone1"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("96500\n")
    (zone / "trip_point_0_type").write_text("passive\n")
    (zone / "trip_point_0_temp").write_text("97000\n")
    source = opened(board)
    assert source.read().throttling is False
    (zone / "temp").write_text("97000\n")
    assert source.read().throttling is True


def test_power_summed_by_jtop_without_an_input_rail(board: Board) -> None:
    board.stats["power"] = {
        "rail": {
            "VDD_GPU_SOC": {"online": True, "power": 5000, "avg": 5000},
            "VDD_CPU_CV": {"online": True, "power": 1000, "avg": 1000},
        },
        "tot": {"power": 6000, "avg": 6000},
    }
    assert opened(board).read().power_w == pytest.approx(6.0)


@pytest.mark.parametrize(
    "power",
    [
        {},  # no power sensor found
        {"rail": {}, "tot": {"power": 0, "avg": 0}},  # sensors found but none readable
    ],
)
def test_no_power_is_none_not_jtops_zero(board: Board, power: dict[str, Any]) -> None:
    board.stats["power"] = power
    assert opened(board).read().power_w is None


def test_no_gpu_load_is_none(board: Board) -> None:
    board.stats["gpu"] = {"gpu": {"type": "integrated", "status": {"railgate": True}}}
    assert opened(board).read().gpu_percent is None
    board.stats["gpu"] = {}
    assert opened(board).read().gpu_percent is None


def test_service_not_running_is_said_without_connecting(board: Board) -> None:
    (board.root / jtop.SOCKET).unlink()
    with pytest.raises(SourceUnavailable, match="sudo systemctl enable --now jtop"):
        opened(board)
    assert board.clients == []


def test_service_refusing_the_connection_is_said(board: Board) -> None:
    board.start_error = FakeJtopException(
        "The jtop.service is not active. Please run:\nsudo jtop --install-service"
    )
    with pytest.raises(SourceUnavailable) as caught:
        opened(board)
    assert "Please run: sudo jtop --install-service" in str(caught.value)
    assert "sudo systemctl enable --now jtop" in str(caught.value)


def test_jetson_stats_not_installed_says_what_to_install(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jtop", None)  # the import fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'gma-edge\[device\]'"):
        opened(board)


def test_a_lost_service_ends_the_readings(board: Board) -> None:
    source = opened(board)
    source.read()
    board.reader_error = FakeJtopException("Lost connection with jtop server")
    with pytest.raises(SourceUnavailable, match="Lost connection with jtop server"):
        source.read()


def test_close_closes_the_client(board: Board) -> None:
    source = opened(board)
    source.close()
    assert board.clients[0].ok(spin=True) is False
    with pytest.raises(SourceUnavailable):
        source.read()


# The auto source


def opened_auto(root: Path) -> auto.AutoSource:
    source = auto.AutoSource(auto.Config(root=root))
    source.open()
    return source


def test_auto_prefers_jtop_when_its_service_answers(
    board: Board, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        source = opened_auto(board.root)
    assert source.name == "jtop"
    assert source.read().power_w == pytest.approx(7.3)
    assert caplog.records == []


def test_auto_falls_back_to_sysfs_when_the_service_is_missing_and_says_so_once(
    board: Board, caplog: pytest.LogCaptureFixture
) -> None:
    (board.root / jtop.SOCKET).unlink()
    zone = board.root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("51000\n")
    with caplog.at_level(logging.DEBUG):
        source = opened_auto(board.root)
        readings = [source.read() for _ in range(3)]
        source.close()
    assert source.name == "sysfs"
    assert [r.temperatures_c for r in readings] == [{"cpu-thermal": 51.0}] * 3
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "sysfs" in warnings[0].getMessage()
    assert "sudo systemctl enable --now jtop" in warnings[0].getMessage()


def test_auto_falls_back_when_the_service_refuses(
    board: Board, caplog: pytest.LogCaptureFixture
) -> None:
    board.start_error = FakeJtopException("Authentication with jetson-stats server failed")
    with caplog.at_level(logging.WARNING):
        source = opened_auto(board.root)
    assert source.name == "sysfs"
    assert len(caplog.records) == 1
    assert "Authentication" in caplog.records[0].getMessage()


def test_auto_falls_back_without_jetson_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "jtop", None)
    with caplog.at_level(logging.WARNING):
        source = opened_auto(tmp_path)
    assert source.name == "sysfs"
    assert source.read().power_w is None
    assert len(caplog.records) == 1
    assert "gma-edge[device]" in caplog.records[0].getMessage()
