"""`gma-edge service NAME`: run one service in this process (what a systemd unit calls)."""

from __future__ import annotations

import argparse
import sys

from edge.bus.context import Bus
from edge.cli.common import add_config_option, config_from_args
from edge.errors import EdgeError
from edge.runtime.logs import setup_logging
from edge.runtime.registry import SERVICES, service_class
from edge.runtime.service import EXIT_CONFIG, ServiceRunner, start_failure_status


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("service", help="run one service (used by systemd units)")
    parser.add_argument("name", choices=sorted(SERVICES), help="the service to run")
    add_config_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if config is None:
        return EXIT_CONFIG
    setup_logging(f"gma-edge-{args.name}", config.log.level)
    try:
        service = service_class(args.name)(config, Bus.from_config(config))
    except EdgeError as exc:
        print(f"gma-edge service {args.name}: {exc}", file=sys.stderr)
        return start_failure_status(exc)
    return ServiceRunner(service).run()
