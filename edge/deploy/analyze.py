"""`systemd-analyze` on the shipped unit files, offline: verify them, score their exposure.

Both run against a scratch root (`--root`) that holds the units where systemd looks for them,
the host's own units (the targets and slices that a service's default dependencies name) and
an executable at each path that ExecStart= names, so the files are checked byte for byte as
they ship, without installing anything. `verify` exits 0 on a misspelt directive (it only
warns "Unknown key ... ignoring"), so every line it prints counts as a problem.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.deploy.layout import SERVICE_UNITS, SYSTEM_UNITS
from edge.errors import DeployError

SYSTEMD_ANALYZE = "systemd-analyze"
# Where distributions keep systemd's own units (merged /usr first).
HOST_UNITS = (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
# A program that must exist: '-' before it makes a missing one no error.
_EXEC = re.compile(r"^Exec(?:Start|StartPre|StartPost|Stop|StopPost|Reload)=[@:+!]*(/\S+)",
                   re.MULTILINE)
_OVERALL = re.compile(r"Overall exposure level for (\S+): ([0-9.]+) (\S+)")


@dataclass(frozen=True)
class Exposure:
    """systemd-analyze security's verdict on one unit: 0 (locked down) to 10 (exposed)."""

    unit: str
    score: float
    verdict: str


def analyzer() -> str | None:
    """The systemd-analyze program, if this machine has one."""
    return shutil.which(SYSTEMD_ANALYZE)


def stage(units_dir: Path, root: Path, units: Sequence[str] = SYSTEM_UNITS) -> list[Path]:
    """Put `units` from `units_dir` under `root` as systemd would find them installed; their
    paths there."""
    host = next((folder for folder in HOST_UNITS if (folder / "sysinit.target").is_file()), None)
    if host is None:
        raise DeployError(f"no systemd units on this machine (looked in "
                          f"{', '.join(map(str, HOST_UNITS))}): cannot verify offline")
    shutil.copytree(host, root / "usr" / "lib" / "systemd" / "system", symlinks=True,
                    dirs_exist_ok=True)
    installed = root / "etc" / "systemd" / "system"
    installed.mkdir(parents=True, exist_ok=True)
    staged = []
    for unit in units:
        for program in programs(units_dir / unit):
            _stand_in(root / program.relative_to("/"))
        shutil.copyfile(units_dir / unit, installed / unit)
        staged.append(installed / unit)
    return staged


def verify(root: Path, units: Sequence[Path]) -> list[str]:
    """Every problem `systemd-analyze verify` reports on `units` (staged under `root`)."""
    done = _analyze(["verify", f"--root={root}", "--man=no", *map(str, units)])
    problems = [line.strip() for line in (done.stdout + done.stderr).splitlines()
                if line.strip()]
    if done.returncode != 0 and not problems:
        problems.append(f"systemd-analyze verify exited with {done.returncode}")
    return problems


def verify_user(units: Sequence[Path], runtime_dir: Path) -> list[str]:
    """Every problem `systemd-analyze --user verify` reports on user `units`. systemd 252 takes
    no --root for user units, so what they run must exist on this machine; the user manager it
    imitates needs a runtime folder."""
    done = _analyze(["--user", "verify", "--man=no", *map(str, units)],
                    environment={"XDG_RUNTIME_DIR": str(runtime_dir)})
    problems = [line.strip() for line in (done.stdout + done.stderr).splitlines()
                if line.strip()]
    if done.returncode != 0 and not problems:
        problems.append(f"systemd-analyze --user verify exited with {done.returncode}")
    return problems


def programs(unit: Path) -> list[Path]:
    """The programs a unit file must be able to run (ExecStart= and its kin, but not those
    marked '-', which may be missing)."""
    return [Path(program) for program in _EXEC.findall(unit.read_text(encoding="utf-8"))]


def exposure(root: Path, units: Sequence[str] = SERVICE_UNITS) -> dict[str, Exposure]:
    """Each unit's overall exposure by `systemd-analyze security --offline` (staged units)."""
    done = _analyze(["security", "--offline=yes", f"--root={root}", "--no-pager", *units])
    found = {match[0]: Exposure(match[0], float(match[1]), match[2])
             for match in _OVERALL.findall(done.stdout)}
    missing = [unit for unit in units if unit not in found]
    if done.returncode != 0 or missing:
        raise DeployError(f"systemd-analyze security found no score for {missing or units}: "
                          f"{(done.stdout + done.stderr).strip()[-2000:]}")
    return found


def _stand_in(program: Path) -> None:
    """An executable at `program`, for verify's check that ExecStart= can run."""
    if program.exists():
        return
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)


def _analyze(arguments: Sequence[str], environment: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    program = analyzer()
    if program is None:
        raise DeployError(f"{SYSTEMD_ANALYZE} is not installed")
    return subprocess.run([program, *arguments], capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, **(environment or {})})
