"""`gma-edge sim dataset OUT`: a labelled dataset of simulated infants."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from edge.errors import RecordingError
from edge.recording import IndexEntry
from edge.sim import SubjectOptions
from edge.sim.camera import CameraOptions
from edge.sim.dataset import DatasetOptions, generate
from edge.sim.mounting import MountingOptions

# What the nuisance in [0, 1] moves, by 2 * nuisance - 1 times these: big enough for a model
# to pick up, within what clinics do.
NUISANCES: dict[str, dict[str, Any]] = {
    "camera-height": {"camera": CameraOptions(color=False, height_nuisance_mm=100.0)},
    "clothing": {"camera": CameraOptions(color=False, clothing_nuisance_mm=3.0)},
    "mounting": {"placement": MountingOptions(nuisance_shift_mm=15.0, nuisance_roll_deg=20.0)},
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("sim", help="the simulator: datasets of simulated infants")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    dataset = actions.add_parser(
        "dataset",
        help="write a labelled dataset (pose ground truth and IMU) in the recording format",
    )
    dataset.add_argument("out", type=Path, help="a new (or empty) folder")
    dataset.add_argument("--subjects", type=int, default=20, help="infants (default 20)")
    dataset.add_argument("--minutes", type=float, default=3.0,
                         help="length of each recording (default 3)")
    dataset.add_argument("--seed", type=int, default=0, help="the cohort (default 0)")
    dataset.add_argument("--imu-rate", type=float, default=104.0, metavar="HZ",
                         help="Movesense IMU rate: 52, 104 or 208 (default 104)")
    dataset.add_argument("--images-every", type=int, default=None, metavar="N",
                         help="also store the depth image of every N-th frame")
    dataset.add_argument("--p-present", type=float, default=0.5,
                         help="share of infants with fidgety movements (default 0.5)")
    dataset.add_argument("--nuisance-rho", type=float, default=0.0,
                         help="correlation of a per-infant nuisance with the label, for "
                         "shortcut-learning studies (default 0: none)")
    dataset.add_argument("--nuisance", choices=sorted(NUISANCES), default="camera-height",
                         help="what the nuisance moves (default camera-height)")
    dataset.add_argument("--overlap", type=float, default=0.0, metavar="X",
                         help="0 to 1: make FM present and absent overlap as in clinics "
                         "(small movements without FM, faint FM, varied activity, rater "
                         "error); stored in the provenance (default 0: classes apart)")
    dataset.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                         help="processes (default: one per CPU)")
    dataset.set_defaults(handler=handle_dataset)


def handle_dataset(args: argparse.Namespace) -> int:
    try:
        options = DatasetOptions(
            seed=args.seed,
            minutes=args.minutes,
            imu_rate_hz=args.imu_rate,
            images_every=args.images_every,
            subject=SubjectOptions(p_present=args.p_present, nuisance_rho=args.nuisance_rho,
                                   overlap=args.overlap),
            **(NUISANCES[args.nuisance] if args.nuisance_rho else {}),
        )
    except ValueError as exc:
        print(f"gma-edge sim dataset: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    present = 0
    with tqdm(total=args.subjects, unit="infant", desc=str(args.out)) as bar:

        def advance(entry: IndexEntry) -> None:
            nonlocal present
            present += entry.label == "present"
            bar.update()

        try:
            generate(args.out, args.subjects, options, jobs=args.jobs, progress=advance)
        except (RecordingError, ValueError) as exc:
            print(f"gma-edge sim dataset: {exc}", file=sys.stderr)
            return 1
    print(f"{args.out}: {args.subjects} simulated infants ({present} with fidgety movements), "
          f"{args.minutes:g} min each, in {time.monotonic() - started:.0f} s")
    return 0
