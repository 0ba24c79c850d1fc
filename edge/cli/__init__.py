"""The `gma-edge` command: one sub-command module per concern."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from edge import __version__
from edge.cli import (
    analyse_cmd,
    camera_cmd,
    config_cmd,
    dataset_cmd,
    demo,
    evaluate_cmd,
    export_cmd,
    install_cmd,
    run,
    sensors_cmd,
    service,
    sim_cmd,
    update_cmd,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gma-edge",
        description="Offline screening of infants' fidgety movements: services, tools, demo.",
    )
    parser.add_argument("--version", action="version", version=f"gma-edge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (demo, run, service, config_cmd, sim_cmd, dataset_cmd, evaluate_cmd, analyse_cmd,
                   export_cmd, sensors_cmd, camera_cmd, install_cmd, update_cmd):
        module.register(commands)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code
