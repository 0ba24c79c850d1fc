"""`gma-edge config check FILE` and `gma-edge config show`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.cli.common import add_config_option, config_from_args
from edge.config import load_config, render_config
from edge.errors import ConfigError
from edge.runtime.service import EXIT_CONFIG


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("config", help="check or show the configuration")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate a config file; report every error by line")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=handle_check)
    show = actions.add_parser("show", help="print the effective config as TOML")
    add_config_option(show)
    show.set_defaults(handler=handle_show)


def handle_check(args: argparse.Namespace) -> int:
    try:
        load_config(args.file)
    except ConfigError as exc:
        for issue in exc.issues:
            where = f"{args.file}:{issue.line}" if issue.line is not None else str(args.file)
            key = f" {issue.path}:" if issue.path else ""
            hint = f" (hint: {issue.hint})" if issue.hint else ""
            print(f"{where}:{key} {issue.message}{hint}", file=sys.stderr)
        print(f"{args.file}: {len(exc.issues)} problem(s)", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{args.file}: OK")
    return 0


def handle_show(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if config is None:
        return EXIT_CONFIG
    sys.stdout.write(render_config(config))
    return 0
