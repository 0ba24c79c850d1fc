"""An update process killed after each step (os._exit: no handler, no cleanup runs) leaves
the old release running, or a state file from which the next run gets back to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from update_fakes import (
    OLD,
    FakeServices,
    Keys,
    fake_updater,
    make_installation,
    make_keys,
    make_source,
    session_codes,
)

from edge.update.apply import read_status
from edge.update.bundle import build_bundle
from edge.update.database import aside_path
from edge.update.release import ReleaseTree
from edge.update.signing import load_private_key
from edge.update.state import load_state

KILLED = 9
# Runs an update and dies right after the step named in argv[3] finished.
SCRIPT = """
import os, sys
from pathlib import Path
from update_fakes import fake_updater

def die_after(step, text):
    if step == sys.argv[3]:
        os._exit(9)

updater = fake_updater(Path(sys.argv[1]), progress=die_after)
if sys.argv[2] == "rollback":
    updater.rollback()
else:
    updater.apply(Path(sys.argv[2]))
"""


def killed_run(root: Path, what: str, step: str) -> None:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(root), what, step], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == KILLED, done.stderr


def installed_with_bundle(tmp_path: Path, behaviour: dict[str, object]
                          ) -> tuple[ReleaseTree, Keys, Path]:
    """The old release installed, and a signed bundle of 0.2.0 that behaves as told."""
    keys = make_keys(tmp_path / "keys")
    layout = make_installation(tmp_path / "root", keys)
    bundle = tmp_path / "b.bundle"
    build_bundle(make_source(tmp_path / "src", "0.2.0", behaviour),
                 load_private_key(keys.private), "0.2.0", bundle)
    return layout, keys, bundle


def assert_old_release_runs(root: Path) -> None:
    layout = fake_updater(root).layout
    assert layout.current_version() == OLD
    assert FakeServices(layout).running == OLD
    assert session_codes(layout) == ["INF-7"]
    assert layout.installed() == [OLD]
    assert not list(layout.releases.glob(".*")), "temporary folders left"
    assert load_state(layout).pending is None


@pytest.mark.slow
@pytest.mark.parametrize("step", ["unpack", "install", "stop", "backup", "switch", "start",
                                  "check"])
def test_an_apply_killed_after_any_step_gets_back_to_the_old_release(
        step: str, tmp_path: Path) -> None:
    layout, _, bundle = installed_with_bundle(tmp_path, {"migrate": True})

    killed_run(layout.root, str(bundle), step)

    status = read_status(layout)
    assert status.pending is not None and status.pending.step == step
    assert not status.busy, "a dead process holds no lock"
    if layout.current_version() == OLD:
        assert step in ("unpack", "install", "stop", "backup")
    outcome = fake_updater(layout.root).recover()
    assert outcome is not None and outcome.version == "0.2.0"
    assert_old_release_runs(layout.root)
    # Once recovered, the same bundle applies as if nothing had happened.
    assert fake_updater(layout.root).apply(bundle).result == "applied"
    assert layout.current_version() == "0.2.0"


@pytest.mark.slow
@pytest.mark.parametrize("step", ["rollback-stop", "rollback-switch", "rollback-restore",
                                  "rollback-start"])
def test_a_rollback_killed_after_any_step_is_finished_by_the_next_run(
        step: str, tmp_path: Path) -> None:
    layout, keys, bundle = installed_with_bundle(tmp_path, {"migrate": True})
    fake_updater(layout.root).apply(bundle)

    killed_run(layout.root, "rollback", step)

    bundle_again = tmp_path / "c.bundle"
    build_bundle(make_source(tmp_path / "src2", "0.3.0"), load_private_key(keys.private),
                 "0.3.0", bundle_again)
    # The next apply finishes the rollback first, then applies over the old release.
    assert fake_updater(layout.root).apply(bundle_again).result == "applied"
    state = load_state(layout)
    assert state.previous is not None and state.previous.version == OLD
    assert session_codes(layout) == ["INF-7"]
    assert aside_path(layout.database, "0.2.0").is_file()


@pytest.mark.slow
def test_an_automatic_rollback_killed_midway_is_finished_by_recover(tmp_path: Path) -> None:
    layout, _, bundle = installed_with_bundle(tmp_path, {"migrate": True, "ready": False})

    killed_run(layout.root, str(bundle), "rollback-switch")

    assert layout.current_version() == OLD
    assert FakeServices(layout).running is None, "killed while the services were stopped"
    pending = load_state(layout).pending
    assert pending is not None and pending.action == "rollback"
    fake_updater(layout.root).recover()
    assert_old_release_runs(layout.root)
