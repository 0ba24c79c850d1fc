"""`gma-edge analyse RECORDING`: the appliance's FM decision on one recording."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.errors import EdgeError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "analyse", help="the FM decision on a recording, as the appliance makes it",
        description="Quality gate, model, decision with its uncertainty band and reasons. The "
        "same recording always gives the same result.")
    parser.add_argument("recording", type=Path, help="a recording folder")
    parser.add_argument("--model", type=Path, default=None, metavar="DIR",
                        help="a model folder with model.json (default: models/fm-mbcnn)")
    parser.add_argument("--precision", choices=("fp32", "int8"), default="int8")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from edge.fm.analysis import Analyser
    from edge.fm.config import AnalysisConfig
    from edge.recording.reader import Recording

    settings: dict[str, object] = {"precision": args.precision}
    if args.model is not None:
        settings["model_dir"] = args.model
    try:
        analyser = Analyser(AnalysisConfig.model_validate(settings))
        try:
            result = analyser.analyse(Recording.open(args.recording))
        finally:
            analyser.close()
    except EdgeError as exc:
        print(f"gma-edge analyse: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    words = {"present": "FM present", "absent": "FM absent", "not_assessable": "not assessable"}
    line = f"{result.recording_id}: {words[result.decision]}"
    if result.probability is not None and result.band is not None:
        line += (f" (probability {result.probability:.2f}, band {result.band[0]:.2f} to "
                 f"{result.band[1]:.2f})")
    print(line)
    for reason in result.reasons:
        print(f"  because {reason}")
    for note in result.notes:
        print(f"  note: {note}")
    quality = result.quality
    print(f"  {quality['passed']} of {quality['windows']} windows assessable "
          f"({quality['assessable_s']} s); model {result.model['name']} "
          f"{result.model['precision']} on {result.model['provider']}")
    return 0
