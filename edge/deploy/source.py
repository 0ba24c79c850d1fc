"""What a release is installed from: a source folder or a wheel, and the files beside it.

A source folder (a checkout: pyproject.toml at its top) is pip-installed as it is. A wheel
brings nothing but the package, so its folder must hold what a checkout has at its top:
constraints.txt, systemd/ and the shipped data (models/, firmware_config/, calibration/).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.deploy.layout import CONFIG_TEMPLATE, SHIPPED_DATA, SYSTEMD_FILES
from edge.errors import DeployError


@dataclass(frozen=True)
class ReleaseSource:
    """The package to install and the folder of the files that come with it."""

    package: Path
    tree: Path
    extras: tuple[str, ...] = ()

    @classmethod
    def find(cls, path: Path, extras: Sequence[str] = ()) -> ReleaseSource:
        """The release at `path`; DeployError naming everything that is missing."""
        path = path.resolve()
        if path.is_dir():
            if not (path / "pyproject.toml").is_file():
                raise DeployError(f"{path} is no source folder of gma-edge (no pyproject.toml)")
            source = cls(package=path, tree=path, extras=tuple(extras))
        elif path.is_file() and path.suffix == ".whl":
            source = cls(package=path, tree=path.parent, extras=tuple(extras))
        else:
            raise DeployError(f"{path}: give a source folder or a gma-edge wheel (.whl)")
        missing = [str(item) for item in source.needed() if not item.exists()]
        if missing:
            raise DeployError(f"the release at {path} lacks: {', '.join(missing)}")
        return source

    @property
    def constraints(self) -> Path:
        return self.tree / "constraints.txt"

    @property
    def systemd(self) -> Path:
        return self.tree / "systemd"

    @property
    def config_template(self) -> Path:
        return self.systemd / CONFIG_TEMPLATE

    @property
    def requirement(self) -> str:
        """What pip is asked to install: the package, with the extras asked for."""
        suffix = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.package}{suffix}"

    def needed(self) -> list[Path]:
        return [self.constraints, self.config_template,
                *(self.systemd / name for name in SYSTEMD_FILES),
                *(self.tree / name for name in SHIPPED_DATA)]
