"""`gma-edge install`: a release into /opt/gma-edge with its units, user and udev rule."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.errors import EdgeError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "install", help="install a release on this machine (or under --root) with its units",
        description="Builds /opt/gma-edge/releases/VERSION with its own venv, installs the "
        "systemd units, sysusers, tmpfiles and udev files, writes /etc/gma-edge/config.toml "
        "if there is none (an existing one is kept), makes systemd and udev take them up, and "
        "points /opt/gma-edge/current at the release last: if a step fails, the release that "
        "was running stays. Running it again changes nothing.")
    parser.add_argument("--release", type=Path, required=True, metavar="PATH_OR_WHEEL",
                        help="a source folder of gma-edge, or its wheel in a folder that also "
                        "holds constraints.txt, systemd/, models/, firmware_config/ and "
                        "calibration/")
    parser.add_argument("--version", required=True, dest="release_version", metavar="V",
                        help="the release's version, its folder's name (e.g. 0.1.0)")
    parser.add_argument("--root", type=Path, default=Path("/"), metavar="DIR",
                        help="install under this folder instead of / (an image, a test); "
                        "the system's commands then do not run")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="the config for a first install (default: the release's "
                        "systemd/config.toml, the cart's hardware)")
    parser.add_argument("--extras", default="", metavar="LIST",
                        help="extras to install, comma-separated (the cart: device,jetson)")
    parser.add_argument("--find-links", type=Path, default=None, metavar="DIR",
                        help="install from this folder of wheels only, without the network")
    parser.add_argument("--no-systemctl", action="store_true",
                        help="do not run systemd-sysusers, systemd-tmpfiles, udevadm and "
                        "systemctl")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from edge.deploy.install import Installer, InstallRequest
    from edge.deploy.layout import Layout
    from edge.deploy.source import ReleaseSource

    extras = [extra.strip() for extra in args.extras.split(",") if extra.strip()]
    try:
        request = InstallRequest(
            source=ReleaseSource.find(args.release, extras),
            version=args.release_version,
            config=args.config,
            find_links=args.find_links,
            activate=not args.no_systemctl,
        )
        installer = Installer(Layout(args.root.resolve()), report=print)
        release = installer.install(request)
    except EdgeError as exc:
        print(f"gma-edge install: {exc}", file=sys.stderr)
        return 1
    print(f"installed {release.name}: {installer.layout.current} -> {release}")
    return 0
