"""`gma-edge export FOLDER... --to DIR`: sessions or recordings as a verified Motion-BIDS set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.errors import EdgeError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "export", help="sessions or recordings to a folder or USB stick as Motion-BIDS",
        description="Writes a BIDS dataset (Motion-BIDS, the recordings in the project's "
        "format under sourcedata/, reports under derivatives/) with a SHA-256 manifest, reads "
        "every file back to verify it, and only then gives it its final name.")
    parser.add_argument("folders", type=Path, nargs="+", metavar="FOLDER",
                        help="a session folder (<data>/sessions/<id>) or a recording folder")
    parser.add_argument("--to", type=Path, required=True, metavar="DIR",
                        help="where the export folder is made (a mounted USB stick)")
    parser.add_argument("--name", default=None,
                        help="the export folder's name (default: gma-edge-export-<UTC time>)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from edge import __version__
    from edge.export.job import ExportProgress, export

    bar = tqdm(total=1000, unit="", bar_format="{desc} {bar} {percentage:3.0f}%",
               file=sys.stderr, disable=None)

    def show(progress: ExportProgress) -> None:
        bar.set_description_str(f"{progress.phase:>9}")
        bar.update(int(1000 * progress.fraction) - bar.n)

    try:
        outcome = export(args.folders, args.to, __version__, name=args.name, progress=show)
    except EdgeError as exc:
        bar.close()
        print(f"gma-edge export: {exc}", file=sys.stderr)
        return 1
    bar.close()
    print(f"{outcome.path}: {len(outcome.recordings)} recording(s), {outcome.files} files, "
          f"{outcome.bytes / 2**20:.1f} MB, verified")
    return 0
