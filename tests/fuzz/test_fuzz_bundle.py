"""A damaged or altered update bundle is refused with BundleRejected (or another UpdateError),
never applied and never answered with a raw exception."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fuzzing import fuzz, mutated, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import UpdateError
from edge.update.bundle import build_bundle, read_bundle
from edge.update.manifest import MANIFEST_NAME, SIGNATURE_NAME
from edge.update.signing import PublicKey, load_private_key, load_public_key, sign, write_keypair

VERSION = "0.2.0"


def small_source(folder: Path) -> Path:
    """A wheel, a model with its card and a config: every kind of member, few bytes each."""
    (folder / "release").mkdir(parents=True)
    (folder / "release" / f"gma_edge-{VERSION}-py3-none-any.whl").write_bytes(b"PK" * 300)
    model = folder / "models" / "fm-test"
    model.mkdir(parents=True)
    (model / "model.json").write_text(json.dumps({"name": "fm-test", "version": "1.2.0"}))
    (model / "fm-test.onnx").write_bytes(bytes(range(256)) * 3)
    (folder / "config").mkdir()
    tool = folder / "config" / "check.sh"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    return folder


class Signed:
    """A valid bundle, the key that verifies it, and the means to sign a changed manifest."""

    def __init__(self, folder: Path) -> None:
        private, public = write_keypair(folder / "keys")
        self.private = load_private_key(private)
        self.key: PublicKey = load_public_key(public)
        self.source = small_source(folder / "src")
        path = folder / "bundle.tar"
        build_bundle(self.source, self.private, VERSION, path, from_versions=["0.1.*"])
        self.data = path.read_bytes()
        with tarfile.open(path, mode="r:") as tar:
            manifest = tar.extractfile(MANIFEST_NAME)
            assert manifest is not None
            self.manifest: Any = json.loads(manifest.read())

    def resigned(self, manifest: bytes) -> bytes:
        """A bundle with `manifest` signed by the pinned key, followed by the source files."""
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            signature = sign(self.private, manifest)
            for name, body in [(MANIFEST_NAME, manifest), (SIGNATURE_NAME, signature)]:
                info = tarfile.TarInfo(name)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
            for path in sorted(p for p in self.source.rglob("*") if p.is_file()):
                tar.add(path, path.relative_to(self.source).as_posix())
        return out.getvalue()


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return Signed(tmp_path_factory.mktemp("bundle"))


def verify(signed: Signed, data: bytes, unpack: bool) -> bool:
    """Whether the bytes verify as a bundle; any refusal must be an UpdateError."""
    with tempfile.TemporaryDirectory(prefix="gma-fuzz-") as folder:
        path = Path(folder) / "bundle.tar"
        path.write_bytes(data)
        into = Path(folder) / "unpacked"
        into.mkdir()
        try:
            read_bundle(path, [signed.key], into=into if unpack else None)
        except UpdateError:
            return False
        return True


def test_the_templates_verify(signed: Signed) -> None:
    assert verify(signed, signed.data, unpack=True)
    assert verify(signed, signed.resigned(json.dumps(signed.manifest).encode()), unpack=True)


@fuzz(300)
@given(data=st.data(), unpack=st.booleans())
def test_damaged_bundles_raise_only_update_errors(
    signed: Signed, data: st.DataObject, unpack: bool
) -> None:
    damaged = data.draw(mutated(signed.data, hot=2048))
    if verify(signed, damaged, unpack):
        # Only bytes nobody signed may change: a tar header's mtime, owner or checksum padding.
        with tarfile.open(fileobj=io.BytesIO(damaged), mode="r:") as tar:
            names = [member.name for member in tar.getmembers()]
        assert names[:2] == [MANIFEST_NAME, SIGNATURE_NAME]
        assert set(names[2:]) == set(signed.manifest["files"])


@fuzz(300)
@given(data=st.data(), unpack=st.booleans())
def test_signed_but_malformed_manifests_raise_only_update_errors(
    signed: Signed, data: st.DataObject, unpack: bool
) -> None:
    manifest = data.draw(
        mutated_json(signed.manifest).map(lambda value: json.dumps(value).encode())
        | mutated(json.dumps(signed.manifest).encode())
    )
    verify(signed, signed.resigned(manifest), unpack)


@fuzz(200)
@given(data=st.binary(max_size=3000))
def test_any_bytes_raise_only_update_errors(signed: Signed, data: bytes) -> None:
    assert not verify(signed, data, unpack=False)
