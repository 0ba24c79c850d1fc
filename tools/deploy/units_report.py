"""The shipped units as systemd-analyze sees them, offline: verify's problems and each
service's exposure, as the Markdown table in systemd/README.md.

    .venv/bin/python tools/deploy/units_report.py [--units systemd] [--json]

Exits 1 when verify reports a problem or systemd-analyze is missing, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from edge.deploy import analyze
from edge.errors import DeployError

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=Path, default=REPO / "systemd",
                        help="the folder of unit files (default: the repository's systemd/)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead")
    args = parser.parse_args()
    if analyze.analyzer() is None:
        print(f"{analyze.SYSTEMD_ANALYZE} is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="gma-edge-units-") as scratch:
        root = Path(scratch)
        try:
            problems = analyze.verify(root, analyze.stage(args.units, root))
            scores = analyze.exposure(root)
        except DeployError as exc:
            print(exc, file=sys.stderr)
            return 1
    version = subprocess.run([analyze.SYSTEMD_ANALYZE, "--version"], capture_output=True,
                             text=True, check=False).stdout.split("\n", 1)[0]
    if args.json:
        print(json.dumps({"systemd": version, "problems": problems,
                          "exposure": {unit: found.score for unit, found in scores.items()}}))
    else:
        print(f"`systemd-analyze security --offline=yes` ({version}):\n")
        print("| unit | exposure | verdict |")
        print("|---|---|---|")
        for found in scores.values():
            print(f"| {found.unit} | {found.score:.1f} | {found.verdict} |")
        print("\nverify: " + ("no problems" if not problems else "\n  ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
