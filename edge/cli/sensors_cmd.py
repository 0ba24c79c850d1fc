"""`gma-edge sensors scan | identify | assign`: find the Movesense sensors and put them in place.

They use the configured radio, like the imu service: the real one on the cart, the simulated
cart elsewhere. Stop the imu service first on the cart: BlueZ connects a sensor to one client.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bleak.exc import BleakBluetoothNotAvailableError, BleakError
from pydantic import ValidationError

from edge.cli.common import add_config_option, config_from_args
from edge.config.model import AppConfig
from edge.errors import BluetoothUnavailable, ConfigError, SensorError
from edge.imu import assignment
from edge.imu.backends._base import Radio
from edge.imu.config import POSITIONS
from edge.imu.discovery import Discovery, Sighting
from edge.imu.identify import Tap, TapDetector
from edge.imu.link import NO_BLUETOOTH, SensorLink, settings_from
from edge.imu.messages import ImuMessage
from edge.plugins import discover
from edge.recording.schema import describe
from edge.runtime.service import EXIT_CONFIG

T = TypeVar("T")
SIMULATED_TAP_AFTER_S = 6.0  # time for the simulated sensors to be found and to stream


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("sensors", help="find, identify and assign Movesense sensors")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    scan = actions.add_parser("scan", help="list the sensors in range and where each is assigned")
    add_config_option(scan)
    scan.add_argument("--seconds", type=float, default=5.0, help="how long to listen")
    scan.set_defaults(handler=handle_scan)
    identify = actions.add_parser(
        "identify", help="stream every sensor in range and say which one is tapped")
    add_config_option(identify)
    identify.add_argument("--seconds", type=float, default=30.0, help="how long to listen")
    identify.add_argument(
        "--simulate-tap", choices=POSITIONS, default=None, metavar="POSITION",
        help="with the simulated radio: tap the sensor at POSITION a few seconds in")
    identify.set_defaults(handler=handle_identify)
    assign = actions.add_parser("assign", help="assign a sensor to a position")
    add_config_option(assign)
    assign.add_argument("position", choices=POSITIONS)
    assign.add_argument("serial", help="the 12-digit serial printed on the sensor")
    assign.set_defaults(handler=handle_assign)


def handle_scan(args: argparse.Namespace) -> int:
    return _radio_command(args, _scan_command)


def handle_identify(args: argparse.Namespace) -> int:
    return _radio_command(args, _identify_command)


RadioCommand = Callable[[argparse.Namespace, AppConfig, Radio, dict[str, str]], int]


def _radio_command(args: argparse.Namespace, command: RadioCommand) -> int:
    """Load the config, make its radio and find the assignment, run `command`; every failure
    a sentence and an exit status (78 for the config, 1 for the radio)."""
    config = config_from_args(args)
    if config is None:
        return EXIT_CONFIG
    try:
        radio = _radio(config)
        assigned = assignment.resolve(config.imu, config.paths.data_dir,
                                      radio.default_assignment())
        return command(args, config, radio, assigned)
    except ConfigError as exc:
        print(f"gma-edge sensors: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (BluetoothUnavailable, BleakError, SensorError) as exc:
        print(f"gma-edge sensors: {exc}", file=sys.stderr)
        return 1


def _scan_command(args: argparse.Namespace, config: AppConfig, radio: Radio,
                  assigned: dict[str, str]) -> int:
    heard = _run(radio, _scan(radio, args.seconds))
    positions = {serial: position for position, serial in assigned.items()}
    print(f"{len(heard)} Movesense sensor(s) heard in {args.seconds:g} s ({radio.name} radio):")
    for sighting in heard:
        where = positions.get(sighting.serial, "unknown: not assigned, ignored")
        print(f"  {sighting.serial}  {sighting.device.address}  {sighting.rssi_dbm:4d} dBm  "
              f"{where}")
    for position, serial in assigned.items():
        if serial not in {s.serial for s in heard}:
            print(f"  {serial}  not heard: the {position.replace('_', ' ')} sensor "
                  f"(charged? switched on? near the cart?)")
    return 0


def _identify_command(args: argparse.Namespace, config: AppConfig, radio: Radio,
                      assigned: dict[str, str]) -> int:
    if args.simulate_tap is not None:
        scene = getattr(radio, "scene", None)
        if scene is None:
            print("gma-edge sensors: --simulate-tap needs the simulated radio "
                  '(imu.radio.type = "sim")', file=sys.stderr)
            return 2
        scene.tap(args.simulate_tap, time.monotonic() + SIMULATED_TAP_AFTER_S)
    positions = {serial: position for position, serial in assigned.items()}
    print(f"Listening for {args.seconds:g} s: tap one sensor firmly with a fingertip.")
    taps = _run(radio, _identify(radio, config, args.seconds, positions))
    if not taps:
        print("No tap recognised: tap once, firmly, and keep the other sensors still.")
    return 0


def handle_assign(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if config is None:
        return EXIT_CONFIG
    path = assignment.assignment_path(config.imu, config.paths.data_dir)
    try:
        current = assignment.load_assignment(path)
        moved = {p: s for p, s in current.items() if s != args.serial and p != args.position}
        assignment.save_assignment(path, {**moved, args.position: args.serial})
    except ConfigError as exc:
        print(f"gma-edge sensors: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ValidationError as exc:
        print(f"gma-edge sensors: {describe(exc)}", file=sys.stderr)
        return 2
    print(f"{args.position}: {args.serial} (saved in {path})")
    return 0


def _radio(config: AppConfig) -> Radio:
    settings = config.imu
    radio: Radio = discover("edge.imu.backends")[settings.radio.type].create(
        settings.radio, config)
    return radio


def _run(radio: Radio, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` in the radio's context; no Bluetooth becomes one clear error."""

    async def main() -> T:
        with radio.active():
            return await work

    try:
        return asyncio.run(main())
    except (FileNotFoundError, BleakBluetoothNotAvailableError) as exc:
        raise BluetoothUnavailable(NO_BLUETOOTH) from exc


async def _identify(radio: Radio, config: AppConfig, seconds: float,
                    positions: dict[str, str]) -> list[Tap]:
    """Stream every sensor heard, feed the tap detector, print each tap as it is decided."""
    settings = config.imu
    discovery = Discovery(radio.scanner_backend, radio.adapter)
    heard = await discovery.scan(min(3.0, seconds))
    detector = TapDetector(settings.rate_hz)
    taps: list[Tap] = []

    def fed(message: ImuMessage) -> None:
        for tap in detector.feed(message.serial, message.t_ns, message.acc):
            taps.append(tap)
            where = positions.get(tap.serial, "not assigned")
            print(f"Tapped: {tap.serial} ({where}), {tap.peak_g:.1f} g", flush=True)

    link_settings = settings_from(settings)
    links = [SensorLink(positions.get(s.serial, "unassigned"), s.serial, radio, discovery,
                        link_settings, fed) for s in heard]
    tasks = [asyncio.create_task(link.run()) for link in links]
    try:
        await asyncio.sleep(seconds)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await discovery.close()
    return taps


async def _scan(radio: Radio, seconds: float) -> list[Sighting]:
    discovery = Discovery(radio.scanner_backend, radio.adapter)
    try:
        return await discovery.scan(seconds)
    finally:
        await discovery.close()
