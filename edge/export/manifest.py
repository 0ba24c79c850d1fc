"""Writing an export's files durably while hashing them, and checking them against the manifest.

`MANIFEST.sha256` has one `<sha256>  <path>` line per file, the format `sha256sum -c` reads, so
a technician can check a stick on any computer. Verification reads every file back from the
target after asking the kernel to drop its cached pages, so what is compared is, as far as an
unprivileged process can tell, what the stick holds.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from edge.durable import sync_folder
from edge.errors import ExportError, ExportSpaceError, ExportVerifyError

MANIFEST = "MANIFEST.sha256"
_CHUNK = 1 << 20
_LINE = re.compile(r"^([0-9a-f]{64})  (\S(?:.*\S)?)$")

Progress = Callable[[int], None]  # bytes just written or read


class HashingWriter:
    """Writes files under `root`, each fsynced and hashed; `finish` writes the manifest."""

    def __init__(self, root: Path, progress: Progress | None = None) -> None:
        self.root = root
        self.sums: dict[str, str] = {}
        self.bytes = 0
        self._progress = progress or (lambda _: None)

    def write(self, relative: str, chunks: Iterable[bytes]) -> None:
        """A new file from its chunks; an existing path is a bug in the caller."""
        if relative in self.sums or PurePosixPath(relative).is_absolute() or \
                ".." in PurePosixPath(relative).parts:
            raise ValueError(f"{relative!r}: not a new relative path in the export")
        path = self.root / relative
        digest = hashlib.sha256()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as file:
                for chunk in chunks:
                    file.write(chunk)
                    digest.update(chunk)
                    self.bytes += len(chunk)
                    self._progress(len(chunk))
                file.flush()
                os.fsync(file.fileno())
        except OSError as exc:
            raise write_error(path, exc) from exc
        self.sums[relative] = digest.hexdigest()

    def write_bytes(self, relative: str, data: bytes) -> None:
        self.write(relative, (data,))

    def copy(self, source: Path, relative: str) -> None:
        try:
            with open(source, "rb") as file:
                self.write(relative, iter(lambda: file.read(_CHUNK), b""))
        except ExportError:
            raise
        except OSError as exc:
            raise ExportError(f"{source} cannot be read: {exc.strerror or exc}") from exc

    def finish(self) -> None:
        """Write the manifest and make every folder's entries durable."""
        lines = "".join(f"{digest}  {name}\n" for name, digest in sorted(self.sums.items()))
        path = self.root / MANIFEST
        try:
            with open(path, "xb") as file:
                file.write(lines.encode())
                file.flush()
                os.fsync(file.fileno())
            for folder in sorted({(self.root / name).parent for name in self.sums} | {self.root},
                                 key=lambda p: len(p.parts), reverse=True):
                sync_folder(folder)
        except OSError as exc:
            raise write_error(path, exc) from exc


def read_manifest(root: Path) -> dict[str, str]:
    """The manifest's sums by relative path; a malformed line is an ExportVerifyError."""
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportVerifyError(f"{path} cannot be read: {exc}") from exc
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.fullmatch(line)
        if match is None:
            raise ExportVerifyError(f"{path}, line {number}: not '<sha256>  <path>'")
        sums[match.group(2)] = match.group(1)
    return sums


def verify(root: Path, expected: dict[str, str], progress: Progress | None = None) -> None:
    """Read every file back and compare with `expected`; extra or missing files fail too."""
    report = progress or (lambda _: None)
    found = {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}
    found.discard(MANIFEST)
    problems = [f"missing: {name}" for name in sorted(expected.keys() - found)]
    problems += [f"not in the manifest: {name}" for name in sorted(found - expected.keys())]
    for name in sorted(expected.keys() & found):
        if sha256_uncached(root / name, report) != expected[name]:
            problems.append(f"differs: {name}")
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ExportVerifyError(f"the export in {root} did not verify: "
                                f"{'; '.join(problems[:5])}{more}")


def sha256_uncached(path: Path, progress: Progress) -> str:
    """The file's SHA-256, read after dropping its pages from the cache where the OS allows."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            for chunk in iter(lambda: file.read(_CHUNK), b""):
                digest.update(chunk)
                progress(len(chunk))
    except OSError as exc:
        raise ExportVerifyError(f"{path} cannot be read back: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def write_error(path: Path, exc: OSError) -> ExportError:
    """The OSError of a write as what the user can do about it."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return ExportSpaceError(f"the target is full: {path} could not be written")
    if exc.errno == errno.EROFS:
        return ExportError(f"the target is read-only (write-protected?): {path}")
    return ExportError(f"{path} cannot be written: {exc.strerror or exc}")
