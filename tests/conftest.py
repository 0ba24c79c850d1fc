"""Shared fixtures, and the --hardware option that opts into tests on real devices."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_thread import service_thread

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.config.model import AppConfig

# `pytester` runs pytest inside a test: the --hardware option is tested that way.
pytest_plugins = ["pytester"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hardware",
        default="",
        help="comma-separated kinds of real hardware to test against: kinect, ble, jetson",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {kind.strip() for kind in config.getoption("--hardware").split(",") if kind.strip()}
    for item in items:
        for marker in item.iter_markers("hardware"):
            kind = marker.args[0] if marker.args else "?"
            if kind not in wanted:
                item.add_marker(pytest.mark.skip(reason=f"needs --hardware {kind}"))


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A fresh folder with a short path: ipc socket paths must stay under 108 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="ge-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app_config(short_dir: Path) -> AppConfig:
    """The embedded default, with its sockets and data in a short fresh folder."""
    return AppConfig.model_validate(
        {"paths": {"runtime_dir": str(short_dir / "run"), "data_dir": str(short_dir / "data")}}
    )


@pytest.fixture
def bus(app_config: AppConfig) -> Bus:
    return Bus.from_config(app_config)


@pytest.fixture
def broker(app_config: AppConfig, bus: Bus) -> Iterator[BrokerService]:
    """The real broker, driven in a thread for the test's duration."""
    with service_thread(BrokerService(app_config, bus)) as service:
        yield service
