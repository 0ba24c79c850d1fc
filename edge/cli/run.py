"""`gma-edge run`: supervise the configured services until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from edge.cli.common import add_config_option, config_from_args
from edge.runtime.logs import setup_logging
from edge.runtime.service import EXIT_CONFIG
from edge.supervisor import Supervisor


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("run", help="start the configured services and supervise them")
    add_config_option(parser)
    parser.set_defaults(handler=handle)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so a loop can end cleanly."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def handle(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if config is None:
        return EXIT_CONFIG
    setup_logging("gma-edge-supervisor", config.log.level)
    stop = stop_on_signals()
    supervisor = Supervisor(config)
    supervisor.start()
    try:
        while not stop.is_set():
            supervisor.poll(0.2)
        failed = supervisor.any_failed()
    finally:
        supervisor.stop()
    return 1 if failed else 0
