"""A release's own Python environment: made with venv, filled by pip, offline if asked.

Both steps are plain functions so that tests replace them at this boundary: they never run
pip. pip sees the release's constraints.txt, so the environment holds the versions the
release was tested with; with `find_links` it installs from that folder of wheels only (the
clinic has no network).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.deploy.process import run


@dataclass(frozen=True)
class PipRequest:
    """One `pip install` into a release's environment."""

    python: Path
    requirement: str
    constraints: Path
    find_links: Path | None = None

    def command(self) -> list[str]:
        command = [str(self.python), "-m", "pip", "install", "--no-input",
                   "--disable-pip-version-check", "--no-cache-dir",
                   "--constraint", str(self.constraints)]
        if self.find_links is not None:
            command += ["--no-index", "--find-links", str(self.find_links)]
        return [*command, self.requirement]


CreateVenv = Callable[[Path], Path]
PipInstall = Callable[[PipRequest], None]


def create_venv(venv: Path) -> Path:
    """A new environment at `venv` (with pip, for the install that follows); its python."""
    run([sys.executable, "-m", "venv", str(venv)], "creating the release's venv")
    return venv / "bin" / "python"


def pip_install(request: PipRequest) -> None:
    run(request.command(), f"pip install {request.requirement}")


def site_packages(python: Path) -> Path:
    """Where `python` imports installed packages from (the shipped data goes beside them)."""
    out = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
              "asking the release's python for its site-packages")
    return Path(out.strip())
