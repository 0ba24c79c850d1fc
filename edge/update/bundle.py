"""Update bundles: built from a folder, read back with every check, unpacked only if whole.

A bundle is one uncompressed tar: `manifest.json` first, `manifest.sig` second, then every
file the manifest lists, each once, as a plain file. The reader never lets tarfile extract
anything: it checks each member itself (kind, path, size, hash) and writes the bytes. The
signature is checked before any other member is read, and nothing counts as verified until
the archive's end marker was read, so a copy cut short is refused, not half used.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from edge.durable import sync_folder
from edge.errors import BundleRejected, UpdateError
from edge.update.manifest import (
    FORMAT,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    PAYLOAD_FOLDERS,
    SIGNATURE_NAME,
    FileEntry,
    Manifest,
    check_member_path,
)
from edge.update.signing import SIGNATURE_BYTES, PublicKey, check_signature, sign
from edge.update.versions import check_pattern, check_version

_CHUNK = 1 << 20
_BLOCK = tarfile.BLOCKSIZE
_KINDS = {tarfile.SYMTYPE: "a symbolic link", tarfile.LNKTYPE: "a hard link",
          tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device",
          tarfile.FIFOTYPE: "a FIFO", tarfile.DIRTYPE: "a folder"}


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose signature, members and hashes were all checked."""

    manifest: Manifest
    signer: PublicKey


def build_bundle(source: Path, key: Ed25519PrivateKey, version: str, out: Path,
                 from_versions: Sequence[str] = ("*",),
                 model_versions: Mapping[str, str] | None = None,
                 now: datetime | None = None) -> Manifest:
    """Sign `source` (folders release/, models/, config/, firmware/) into the bundle `out`."""
    try:
        check_version(version)
        patterns = tuple(check_pattern(pattern) for pattern in from_versions)
    except ValueError as exc:
        raise UpdateError(str(exc)) from exc
    files = _source_files(source)
    _check_release(files, version)
    created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    try:
        manifest = Manifest(
            format=FORMAT, software_version=version,
            created_utc=created.isoformat(timespec="seconds"), from_versions=patterns,
            models=_model_versions(source, files, model_versions or {}),
            files={name: _describe(source / name) for name in files})
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]).removeprefix("Value error, ")
                             for error in exc.errors())
        raise UpdateError(f"{source} cannot be bundled: {problems}") from exc
    data = manifest.to_bytes()
    _write_tar(out, source, manifest, data, sign(key, data), int(created.timestamp()))
    return manifest


def read_bundle(path: Path, keys: Sequence[PublicKey], into: Path | None = None,
                ) -> VerifiedBundle:
    """Check the bundle at `path` whole; with `into` (an empty folder) also unpack it there.

    BundleRejected says what is wrong. What was written into `into` before a problem showed is
    the caller's to remove: the folder is only ever a temporary one.
    """
    try:
        with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r:") as tar:
            manifest_bytes, end = _leading(tar, MANIFEST_NAME, MAX_MANIFEST_BYTES)
            signature, end = _leading(tar, SIGNATURE_NAME, SIGNATURE_BYTES)
            signer = check_signature(manifest_bytes, signature, keys)
            manifest = Manifest.from_bytes(manifest_bytes)
            if into is not None:
                _write_file(into / MANIFEST_NAME, iter((manifest_bytes,)), False)
                _write_file(into / SIGNATURE_NAME, iter((signature,)), False)
            seen: set[str] = set()
            while (member := tar.next()) is not None:
                entry = _expected(member, manifest, seen)
                source = tar.extractfile(member)
                assert source is not None  # a regular file, checked by _expected
                digest = hashlib.sha256()
                chunks = _hashing(source, digest.update)
                if into is None:
                    for _ in chunks:
                        pass
                else:
                    _write_file(into / member.name, chunks, entry.executable)
                if digest.hexdigest() != entry.sha256:
                    raise BundleRejected(f"{member.name} differs from what was signed (SHA-256 "
                                         "mismatch): the bundle is damaged or was altered")
                seen.add(member.name)
                end = member.offset_data + _padded(member.size)
            missing = sorted(manifest.files.keys() - seen)
            if missing:
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                raise BundleRejected(f"{', '.join(missing[:3])}{more} missing from the bundle: "
                                     "it was cut short or altered; copy it to the stick again")
            _check_end(raw, end)
    except tarfile.TarError as exc:
        raise BundleRejected(f"{path} is damaged or truncated ({exc}): copy it to the stick "
                             "again") from exc
    except OSError as exc:
        raise BundleRejected(f"cannot read {path}: {exc.strerror or exc}") from exc
    if into is not None:
        for folder in sorted({p for p in into.rglob("*") if p.is_dir()} | {into},
                             key=lambda p: len(p.parts), reverse=True):
            sync_folder(folder)
    return VerifiedBundle(manifest, signer)


def _source_files(source: Path) -> list[str]:
    """Every file under `source` by relative path; links and odd files are refused."""
    if not source.is_dir():
        raise UpdateError(f"{source} is not a folder: give the folder with release/ (and "
                          f"optionally models/, config/, firmware/)")
    names: list[str] = []
    for top in sorted(source.iterdir()):
        if top.name not in PAYLOAD_FOLDERS or not top.is_dir() or top.is_symlink():
            raise UpdateError(f"{top} is not one of the folders a bundle holds "
                              f"({', '.join(PAYLOAD_FOLDERS)}): move it out of {source}")
        for folder, subfolders, filenames in os.walk(top):
            for name in sorted(subfolders + filenames):
                path = Path(folder) / name
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode):
                    raise UpdateError(f"{path} is a symbolic link: a bundle holds plain files "
                                      "only; copy the file it points to in its place")
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise UpdateError(f"{path} is not a plain file: remove it")
                if stat.S_ISREG(mode):
                    names.append(path.relative_to(source).as_posix())
    return sorted(names)


def _check_release(files: Sequence[str], version: str) -> None:
    wheels = [name for name in files
              if name.startswith("release/") and name.count("/") == 1
              and name.split("/")[1].startswith("gma_edge-") and name.endswith(".whl")]
    if len(wheels) > 1:
        raise UpdateError(f"release/ holds several gma-edge wheels ({', '.join(wheels)}): "
                          "keep the one of this version")
    if wheels and wheels[0].split("/")[1].split("-")[1] != version:
        raise UpdateError(f"{wheels[0]} is not version {version}: build with --version "
                          "matching the wheel, or put the wheel of that version in release/")


def _model_versions(source: Path, files: Sequence[str],
                    overrides: Mapping[str, str]) -> dict[str, str]:
    """Each model folder's version: given on the command line, else its model.json's."""
    folders = sorted({name.split("/")[1] for name in files
                      if name.startswith("models/") and name.count("/") >= 2})
    unknown = sorted(set(overrides) - set(folders))
    if unknown:
        raise UpdateError(f"--model-version names {', '.join(unknown)}, which is not a folder "
                          f"in {source / 'models'}")
    versions: dict[str, str] = {}
    for name in folders:
        if name in overrides:
            versions[name] = overrides[name]
            continue
        card = source / "models" / name / "model.json"
        try:
            version = json.loads(card.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError, AttributeError):
            version = None
        if not isinstance(version, str) or not version:
            raise UpdateError(f"models/{name} has no version in model.json: pass "
                              f"--model-version {name}=VERSION")
        versions[name] = version
    return versions


def _describe(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for _ in _hashing(file, digest.update):
            pass
    return FileEntry(sha256=digest.hexdigest(), size=path.stat().st_size,
                     executable=bool(path.stat().st_mode & stat.S_IXUSR))


def _write_tar(out: Path, source: Path, manifest: Manifest, data: bytes, signature: bytes,
               mtime: int) -> None:
    """The tar at a temporary name, fsynced, then renamed: `out` is whole or absent."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as tar:
                for name, blob in ((MANIFEST_NAME, data), (SIGNATURE_NAME, signature)):
                    tar.addfile(_info(name, len(blob), False, mtime), io.BytesIO(blob))
                for name, entry in manifest.files.items():
                    digest = hashlib.sha256()
                    with open(source / name, "rb") as file:
                        tar.addfile(_info(name, entry.size, entry.executable, mtime),
                                    _HashingReader(file, digest.update))
                    if digest.hexdigest() != entry.sha256:
                        raise UpdateError(f"{source / name} changed while the bundle was "
                                          "built: build it again")
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, out)
        sync_folder(out.parent)
    except OSError as exc:
        raise UpdateError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _info(name: str, size: int, executable: bool, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o755 if executable else 0o644
    info.mtime = mtime
    info.uname = info.gname = "root"
    return info


def _leading(tar: tarfile.TarFile, name: str, limit: int) -> tuple[bytes, int]:
    """One of the two members that must open the bundle, and where it ends."""
    member = tar.next()
    if member is None or member.name != name or not member.isreg() or member.size > limit:
        raise BundleRejected(f"not a gma-edge update bundle: it must begin with {MANIFEST_NAME} "
                             f"and {SIGNATURE_NAME} (build it with `gma-edge update build`)")
    source = tar.extractfile(member)
    assert source is not None
    return source.read(), member.offset_data + _padded(member.size)


def _expected(member: tarfile.TarInfo, manifest: Manifest, seen: set[str]) -> FileEntry:
    """The manifest's entry for `member`, after every check that needs no byte of its data."""
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
        kind = _KINDS.get(member.type, f"of tar type {member.type!r}")
        raise BundleRejected(f"member {member.name!r} is {kind}: a bundle holds plain files "
                             "only; it is not safe to apply")
    try:
        check_member_path(member.name)
    except ValueError as exc:
        raise BundleRejected(f"member path refused: {exc}; the bundle is not safe to "
                             "apply") from exc
    if member.name in seen:
        raise BundleRejected(f"{member.name} is twice in the bundle: it was altered")
    entry = manifest.files.get(member.name)
    if entry is None:
        raise BundleRejected(f"{member.name} is in the bundle but not in its manifest: it was "
                             "added after signing")
    if member.size != entry.size:
        raise BundleRejected(f"{member.name} is {member.size} bytes, the manifest says "
                             f"{entry.size}: the bundle is damaged or was altered")
    return entry


def _check_end(raw: IO[bytes], end: int) -> None:
    """After the last member: the end marker (two zero blocks) and nothing but zeros."""
    raw.seek(end)
    length = 0
    while chunk := raw.read(_CHUNK):
        if chunk.count(0) != len(chunk):
            raise BundleRejected("the bundle has data after its last member: it was altered "
                                 "or two files were joined")
        length += len(chunk)
    if length < 2 * _BLOCK:
        raise BundleRejected("the bundle ends without its end marker: it was cut short (a copy "
                             "interrupted?); copy it to the stick again")


def _padded(size: int) -> int:
    return -(-size // _BLOCK) * _BLOCK


def _hashing(source: IO[bytes], update: Callable[[bytes], object]) -> Iterator[bytes]:
    for chunk in iter(lambda: source.read(_CHUNK), b""):
        update(chunk)
        yield chunk


def _write_file(path: Path, chunks: Iterator[bytes], executable: bool) -> None:
    """A new file from `chunks`; reading them may fail (a damaged bundle), writing is ours."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o755 if executable else 0o644)
    except OSError as exc:
        raise _unpack_error(path, exc) from exc
    with os.fdopen(descriptor, "wb") as file:
        for chunk in chunks:
            try:
                file.write(chunk)
            except OSError as exc:
                raise _unpack_error(path, exc) from exc
        try:
            file.flush()
            os.fsync(file.fileno())
        except OSError as exc:
            raise _unpack_error(path, exc) from exc


def _unpack_error(path: Path, exc: OSError) -> UpdateError:
    full = " (the disk is full)" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return UpdateError(f"cannot unpack {path}{full}: {exc.strerror or exc}")


class _HashingReader:
    """A readable for tarfile.addfile that hashes what it hands on."""

    def __init__(self, source: IO[bytes], update: Callable[[bytes], object]) -> None:
        self._read: Callable[[int], bytes] = source.read
        self._update = update

    def read(self, size: int = -1) -> bytes:
        chunk = self._read(size)
        self._update(chunk)
        return chunk
