"""`gma-edge sensors`: scanning the simulated cart, assigning, and no Bluetooth at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main
from edge.imu import assignment


def write_config(folder: Path, extra: str = "") -> Path:
    config = folder / "config.toml"
    config.write_text(f'[paths]\ndata_dir = "{folder / "data"}"\n{extra}')
    return config


def test_scan_lists_the_simulated_sensors_with_their_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["sensors", "scan", "--seconds", "0.5", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "4 Movesense sensor(s) heard" in out
    for position in ("left_wrist", "right_wrist", "left_ankle", "right_ankle"):
        assert position in out


def test_assign_writes_the_file_and_moves_a_serial_from_its_old_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    args = ["--config", str(config)]
    assert main(["sensors", "assign", "left_wrist", "231800000001", *args]) == 0
    assert main(["sensors", "assign", "right_ankle", "231800000001", *args]) == 0
    stored = assignment.load_assignment(tmp_path / "data" / "sensors.toml")
    assert stored == {"right_ankle": "231800000001"}
    assert main(["sensors", "assign", "left_wrist", "1234", *args]) == 2
    assert "12 digits" in capsys.readouterr().err


def test_scan_without_bluetooth_says_so_once_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge.sim.ble import SimulatedBleakScanner

    async def no_dbus(self: SimulatedBleakScanner) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(SimulatedBleakScanner, "start", no_dbus)
    config = write_config(tmp_path)
    assert main(["sensors", "scan", "--seconds", "0.2", "--config", str(config)]) == 1
    assert "Bluetooth is not available" in capsys.readouterr().err


@pytest.mark.slow
def test_identify_names_the_tapped_simulated_sensor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["sensors", "identify", "--seconds", "9", "--simulate-tap", "right_wrist",
                 "--config", str(config)]) == 0
    out = capsys.readouterr().out
    taps = [line for line in out.splitlines() if line.startswith("Tapped:")]
    assert len(taps) == 1 and "(right_wrist)" in taps[0]
