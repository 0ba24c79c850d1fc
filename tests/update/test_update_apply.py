"""Applying bundles to a cart under a temporary root, with fakes of pip, systemd and the
self-test: the old release keeps running unless the new one comes up whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from update_fakes import (
    OLD,
    TAMPERED,
    FakeInstaller,
    FakeServices,
    Keys,
    fake_updater,
    make_installation,
    make_keys,
    make_source,
    session_codes,
    snapshot,
    tampered,
)

from edge.errors import BundleRejected, UpdateError, UpdateFailed
from edge.session.store import SessionStore
from edge.update.apply import read_status
from edge.update.bundle import build_bundle
from edge.update.database import aside_path, backup_path
from edge.update.release import ReleaseTree
from edge.update.signing import load_private_key
from edge.update.state import load_state


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return make_keys(tmp_path / "keys")


@pytest.fixture
def cart(tmp_path: Path, keys: Keys) -> ReleaseTree:
    return make_installation(tmp_path / "root", keys)


def bundle_of(tmp_path: Path, keys: Keys, version: str, behaviour: dict[str, object] | None = None,
              from_versions: tuple[str, ...] = ("*",)) -> Path:
    out = tmp_path / f"gma-edge-{version}.bundle"
    source = make_source(tmp_path / f"src-{version}", version, behaviour)
    build_bundle(source, load_private_key(keys.private), version, out, from_versions)
    return out


def test_a_good_bundle_is_applied_and_rolled_back(tmp_path: Path, keys: Keys,
                                                  cart: ReleaseTree) -> None:
    steps: list[str] = []
    updater = fake_updater(cart.root, progress=lambda step, text: steps.append(step))
    outcome = updater.apply(bundle_of(tmp_path, keys, "0.2.0"))

    assert outcome.result == "applied"
    assert steps == ["verify", "unpack", "install", "stop", "backup", "switch", "start", "check"]
    assert cart.current_version() == "0.2.0"
    assert FakeServices(cart).running == "0.2.0"
    release = cart.release("0.2.0")
    assert (release / "models" / "fm-test" / "fm-test.onnx").is_file()
    assert (release / "firmware" / "movesense-dfu-2.3.1.zip").is_file()
    assert (release / "venv").is_dir()
    assert backup_path(cart.database, "0.2.0").is_file()
    status = read_status(cart)
    assert (status.current, status.previous, status.installed) == ("0.2.0", OLD, [OLD, "0.2.0"])
    assert status.models == {"fm-test": "1.2.0"}
    assert status.pending is None and not status.busy

    outcome = fake_updater(cart.root).rollback()
    assert outcome.result == "rolled back"
    assert cart.current_version() == OLD
    assert FakeServices(cart).running == OLD
    assert cart.installed() == [OLD]
    assert read_status(cart).previous is None
    with pytest.raises(UpdateError, match="no previous release"):
        fake_updater(cart.root).rollback()


def test_rollback_restores_the_database_and_keeps_what_the_new_release_wrote(
        tmp_path: Path, keys: Keys, cart: ReleaseTree) -> None:
    updater = fake_updater(cart.root)
    updater.apply(bundle_of(tmp_path, keys, "0.2.0", {"migrate": True}))
    assert session_codes(cart) == ["CHANGED"]

    updater.rollback()
    assert session_codes(cart) == ["INF-7"]
    store = SessionStore(cart.database, OLD, {})  # the old release opens it: schema as it was
    assert store.schema_version == 2
    store.close()
    kept = sqlite3.connect(aside_path(cart.database, "0.2.0"))
    assert [row[0] for row in kept.execute("SELECT code FROM sessions")] == ["CHANGED"]
    kept.close()


@pytest.mark.parametrize("behaviour", [{"ready": False}, {"self_test": False}])
def test_a_release_that_does_not_come_up_is_rolled_back_by_itself(
        behaviour: dict[str, object], tmp_path: Path, keys: Keys, cart: ReleaseTree) -> None:
    updater = fake_updater(cart.root)
    with pytest.raises(UpdateFailed, match=f"0.2.0 was not kept: .*; {OLD} is running") as failed:
        updater.apply(bundle_of(tmp_path, keys, "0.2.0", behaviour | {"migrate": True}))
    print(failed.value)
    assert cart.current_version() == OLD
    assert FakeServices(cart).running == OLD
    assert session_codes(cart) == ["INF-7"]
    assert cart.installed() == [OLD]
    state = load_state(cart)
    assert state.pending is None
    assert state.last is not None and state.last.result == "rolled back"
    assert state.last.reason is not None and "0.2.0" not in (state.previous or "")
    assert ("not ready" if "ready" in behaviour else "self-test") in state.last.reason


def test_a_failed_install_leaves_nothing_behind(tmp_path: Path, keys: Keys,
                                                 cart: ReleaseTree) -> None:
    before = snapshot(cart.root)
    updater = fake_updater(cart.root, installer=FakeInstaller(fail=True))
    with pytest.raises(UpdateFailed, match="pip install"):
        updater.apply(bundle_of(tmp_path, keys, "0.2.0"))
    after = snapshot(cart.root)
    assert {k: v for k, v in after.items() if k != "opt/gma-edge/update-state.json"} == \
        {k: v for k, v in before.items() if k != "opt/gma-edge/update-state.json"} | \
        {"opt/gma-edge/releases": "folder"}
    last = load_state(cart).last
    assert last is not None and last.result == "failed"


@pytest.mark.parametrize("kind", TAMPERED)
def test_apply_refuses_a_tampered_bundle_and_touches_nothing(
        kind: str, tmp_path: Path, keys: Keys, cart: ReleaseTree) -> None:
    good = bundle_of(tmp_path, keys, "0.2.0")
    before = snapshot(cart.root)
    installer = FakeInstaller()
    with pytest.raises(BundleRejected):
        fake_updater(cart.root, installer=installer).apply(tampered(kind, good, tmp_path))
    assert snapshot(cart.root) == before
    assert installer.installed == []


def test_downgrade_needs_the_flag_and_from_versions_are_enforced(
        tmp_path: Path, keys: Keys, cart: ReleaseTree) -> None:
    updater = fake_updater(cart.root)
    updater.apply(bundle_of(tmp_path, keys, "0.3.0"))
    older = bundle_of(tmp_path, keys, "0.2.0")
    before = snapshot(cart.root)
    with pytest.raises(BundleRejected, match="--allow-downgrade"):
        updater.apply(older)
    with pytest.raises(BundleRejected, match="running release already"):
        updater.apply(tmp_path / "gma-edge-0.3.0.bundle")
    picky = bundle_of(tmp_path / "picky", keys, "0.4.0", from_versions=("0.2.*",))
    with pytest.raises(BundleRejected, match=r"over 0\.2\.\* only, and this cart runs 0\.3\.0"):
        updater.apply(picky)
    assert snapshot(cart.root) == before
    assert updater.apply(older, allow_downgrade=True).result == "applied"
    assert cart.current_version() == "0.2.0"


def test_old_releases_are_pruned_and_stale_database_copies_removed(
        tmp_path: Path, keys: Keys, cart: ReleaseTree) -> None:
    updater = fake_updater(cart.root)
    for version in ("0.2.0", "0.3.0", "0.4.0"):
        updater.apply(bundle_of(tmp_path, keys, version))
    assert cart.installed() == ["0.3.0", "0.4.0"]
    copies = sorted(p.name for p in cart.database.parent.glob("*.backup"))
    assert copies == [backup_path(cart.database, "0.4.0").name]
    assert updater.rollback().result == "rolled back"
    assert cart.current_version() == "0.3.0"


def test_a_cart_without_keys_or_release_refuses(tmp_path: Path, keys: Keys) -> None:
    layout = make_installation(tmp_path / "root", keys)
    layout.config_file.write_text("[update]\n")
    with pytest.raises(BundleRejected, match="no public key is pinned"):
        fake_updater(layout.root).apply(bundle_of(tmp_path, keys, "0.2.0"))
    bare = ReleaseTree(tmp_path / "bare")
    bare.config_file.parent.mkdir(parents=True)
    bare.config_file.write_text(f'[update]\npublic_keys = ["{keys.key.text()}"]\n')
    with pytest.raises(UpdateError, match="gma-edge install"):
        fake_updater(bare.root).apply(tmp_path / "gma-edge-0.2.0.bundle")


class Boom(Exception):
    pass


@pytest.mark.parametrize("step", ["unpack", "install", "stop", "backup", "switch", "start"])
def test_an_error_at_any_step_leaves_the_old_release_running(
        step: str, tmp_path: Path, keys: Keys, cart: ReleaseTree) -> None:
    def fail(done: str, text: str) -> None:
        if done == step:
            raise Boom(f"injected after {step}")

    with pytest.raises(UpdateFailed, match=f"injected after {step}"):
        fake_updater(cart.root, progress=fail).apply(
            bundle_of(tmp_path, keys, "0.2.0", {"migrate": True}))
    assert cart.current_version() == OLD
    assert FakeServices(cart).running == OLD
    assert session_codes(cart) == ["INF-7"]
    assert cart.installed() == [OLD]
    assert load_state(cart).pending is None
    assert not list(cart.releases.glob(".*"))
