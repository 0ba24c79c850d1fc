"""What several sub-commands share: the --config option and loading it with a clear error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.config import AppConfig, default_config_path, load_config
from edge.errors import ConfigError


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="config file (default: $GMA_EDGE_CONFIG, /etc/gma-edge/config.toml, "
        "else the embedded default: simulated hardware, CPU)",
    )


def config_from_args(args: argparse.Namespace) -> AppConfig | None:
    """The config named by --config or found by default; None (after saying why) if invalid."""
    path: Path | None = args.config if args.config is not None else default_config_path()
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"gma-edge: invalid config {exc}", file=sys.stderr)
        print(f"gma-edge: check it with: gma-edge config check {path}", file=sys.stderr)
        return None
