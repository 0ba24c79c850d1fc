"""Bundles: built and signed, read back whole, and every kind of tampering refused."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from update_fakes import TAMPERED, Keys, make_keys, make_source, member, tampered

from edge.errors import BundleRejected, UpdateError
from edge.update.bundle import build_bundle, read_bundle
from edge.update.manifest import Manifest, check_member_path
from edge.update.signing import load_private_key, sign
from edge.update.versions import allowed_from, is_newer, sort_key


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return make_keys(tmp_path / "keys")


@pytest.fixture
def bundle(tmp_path: Path, keys: Keys) -> Path:
    source = make_source(tmp_path / "src", "0.2.0")
    out = tmp_path / "gma-edge-0.2.0.bundle"
    build_bundle(source, load_private_key(keys.private), "0.2.0", out, from_versions=["0.1.*"])
    return out


def test_a_built_bundle_verifies_and_unpacks_byte_for_byte(
        tmp_path: Path, keys: Keys, bundle: Path) -> None:
    into = tmp_path / "unpacked"
    into.mkdir()
    verified = read_bundle(bundle, [keys.key], into=into)
    manifest = verified.manifest
    assert verified.signer.id == keys.key.id
    assert manifest.software_version == "0.2.0"
    assert manifest.from_versions == ("0.1.*",)
    assert manifest.models == {"fm-test": "1.2.0"}
    assert set(manifest.files) == {
        "release/gma_edge-0.2.0-py3-none-any.whl", "release/constraints.txt",
        "models/fm-test/model.json", "models/fm-test/fm-test.onnx",
        "config/behaviour.json", "config/check.sh", "firmware/movesense-dfu-2.3.1.zip"}
    for name in manifest.files:
        assert (into / name).read_bytes() == (tmp_path / "src" / name).read_bytes()
    assert os.access(into / "config" / "check.sh", os.X_OK)
    assert not os.access(into / "models" / "fm-test" / "model.json", os.X_OK)
    assert Manifest.from_bytes((into / "manifest.json").read_bytes()) == manifest


def test_the_private_key_is_readable_by_its_owner_only(keys: Keys) -> None:
    assert keys.private.stat().st_mode & 0o777 == 0o600
    with pytest.raises(UpdateError, match="exists"):
        make_keys(keys.private.parent)


@pytest.mark.parametrize("kind", TAMPERED)
def test_a_tampered_bundle_is_refused(kind: str, tmp_path: Path, keys: Keys,
                                      bundle: Path) -> None:
    bad = tampered(kind, bundle, tmp_path)
    with pytest.raises(BundleRejected) as refused:
        read_bundle(bad, [keys.key])
    print(refused.value)  # the message a technician reads, shown with -s
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(BundleRejected):
        read_bundle(bad, [keys.key], into=into)
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(("kind", "says"), [
    ("flipped byte", "SHA-256 mismatch"), ("wrong key", "matches no pinned key"),
    ("missing file", "missing from the bundle"), ("extra file", "not in its manifest"),
    ("dot-dot path", "escapes"), ("symlink", "symbolic link"),
    ("truncated mid-file", "truncated"), ("truncated end marker", "cut short")])
def test_the_refusal_says_what_is_wrong(kind: str, says: str, tmp_path: Path, keys: Keys,
                                        bundle: Path) -> None:
    with pytest.raises(BundleRejected, match=says):
        read_bundle(tampered(kind, bundle, tmp_path), [keys.key])


def test_without_a_pinned_key_nothing_verifies(bundle: Path) -> None:
    with pytest.raises(BundleRejected, match="no public key is pinned"):
        read_bundle(bundle, [])


def test_a_signed_manifest_with_an_escaping_path_is_refused(tmp_path: Path, keys: Keys) -> None:
    manifest = {"format": 1, "software_version": "0.2.0", "created_utc": "2026-01-01T00:00:00",
                "from_versions": ["*"], "models": {},
                "files": {"release/../../x": {"sha256": "0" * 64, "size": 4}}}
    data = json.dumps(manifest).encode()
    signature = sign(load_private_key(keys.private), data)
    out = tmp_path / "evil.bundle"
    with tarfile.open(out, "w:") as tar:
        for info, blob in (member("manifest.json", data), member("manifest.sig", signature)):
            tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(BundleRejected, match="malformed"):
        read_bundle(out, [keys.key])


@pytest.mark.parametrize("name", ["../x", "/etc/x", "release", "release/./x", "release//x",
                                  "other/x", "release/.hidden", "release/a\\b", "release/x "])
def test_member_paths_outside_the_payload_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_member_path(name)


def test_building_refuses_what_it_cannot_bundle_faithfully(tmp_path: Path, keys: Keys) -> None:
    key = load_private_key(keys.private)
    source = make_source(tmp_path / "src", "0.2.0")
    with pytest.raises(UpdateError, match=r"not version 0\.3\.0"):
        build_bundle(source, key, "0.3.0", tmp_path / "b")
    with pytest.raises(UpdateError, match="not a version"):
        build_bundle(source, key, "latest", tmp_path / "b")
    (source / "release" / "link").symlink_to(source / "release" / "constraints.txt")
    with pytest.raises(UpdateError, match="symbolic link"):
        build_bundle(source, key, "0.2.0", tmp_path / "b")
    (source / "release" / "link").unlink()
    (source / "notes").mkdir()
    with pytest.raises(UpdateError, match="not one of the folders"):
        build_bundle(source, key, "0.2.0", tmp_path / "b")
    (source / "notes").rmdir()
    (source / "models" / "fm-test" / "model.json").write_text("{}")
    with pytest.raises(UpdateError, match="--model-version fm-test"):
        build_bundle(source, key, "0.2.0", tmp_path / "b")
    manifest = build_bundle(source, key, "0.2.0", tmp_path / "b",
                            model_versions={"fm-test": "1.3.0"})
    assert manifest.models == {"fm-test": "1.3.0"}
    assert not list(tmp_path.glob(".b.*"))


def test_versions_order_as_pep440_says() -> None:
    ordered = ["0.1.0.dev1", "0.1.0a1", "0.1.0b2", "0.1.0rc1", "0.1.0", "0.1.0+cart1",
               "0.1.0.post1", "0.1.1", "0.2", "0.10.0", "1.0.0"]
    assert sorted(reversed(ordered), key=sort_key) == ordered
    assert sort_key("0.2") == sort_key("0.2.0")
    assert is_newer("0.10.0", "0.9.0")
    assert allowed_from("0.1.3", ["0.1.*"]) and not allowed_from("0.2.0", ["0.1.*", "0.0.9"])
    with pytest.raises(ValueError):
        sort_key("1.0/../x")
