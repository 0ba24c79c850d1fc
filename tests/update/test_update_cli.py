"""`gma-edge update ...` as a technician types it: exit codes and what it prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from update_fakes import (
    OLD,
    FakeInstaller,
    FakeSelfTest,
    FakeServices,
    gma_edge_update,
    make_installation,
    make_keys,
    make_source,
    tampered,
)

from edge.update.apply import Host
from edge.update.release import ReleaseTree
from edge.update.selftest import self_test


def test_keygen_build_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gma_edge_update("keygen", "--out", tmp_path / "keys") == 0
    printed = capsys.readouterr().out
    key = (tmp_path / "keys" / "update-signing.pub").read_text().strip()
    assert f'public_keys = ["{key}"]' in printed
    assert (tmp_path / "keys" / "update-signing.key").stat().st_mode & 0o777 == 0o600
    assert gma_edge_update("keygen", "--out", tmp_path / "keys") == 1
    assert "exists" in capsys.readouterr().err

    source = make_source(tmp_path / "src", "0.2.0")
    bundle = tmp_path / "gma-edge-0.2.0.bundle"
    assert gma_edge_update("build", source, "--key", tmp_path / "keys" / "update-signing.key",
                           "--version", "0.2.0", "--out", bundle,
                           "--from-versions", "0.1.*", "0.1.9") == 0
    assert "7 files" in capsys.readouterr().out
    pub = tmp_path / "keys" / "update-signing.pub"
    assert gma_edge_update("verify", bundle, "--pubkey", pub) == 0
    assert "OK, signed by key" in capsys.readouterr().out

    bad = tampered("flipped byte", bundle, tmp_path)
    assert gma_edge_update("verify", bad, "--pubkey", pub) == 1
    assert "SHA-256 mismatch" in capsys.readouterr().err
    # Without --pubkey the installed config's keys judge; none pinned: refused.
    assert gma_edge_update("verify", bundle, "--root", tmp_path / "empty-root") == 1
    assert "no public key is pinned" in capsys.readouterr().err


def test_apply_status_rollback_on_a_cart(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    keys = make_keys(tmp_path / "keys")
    cart = make_installation(tmp_path / "root", keys)

    def fake_host(layout: ReleaseTree, config: object) -> Host:
        return Host(FakeInstaller(), FakeServices(layout), FakeSelfTest(layout))

    monkeypatch.setattr("edge.update.system.system_host", fake_host)
    bundle = tmp_path / "b.bundle"
    assert gma_edge_update("build", make_source(tmp_path / "src", "0.2.0"), "--key",
                           keys.private, "--version", "0.2.0", "--out", bundle) == 0
    assert gma_edge_update("verify", bundle, "--root", cart.root) == 0
    assert gma_edge_update("apply", bundle, "--root", cart.root) == 0
    out = capsys.readouterr().out
    assert "switch: current -> 0.2.0" in out and "gma-edge 0.2.0 is running" in out

    assert gma_edge_update("status", "--root", cart.root) == 0
    out = capsys.readouterr().out
    assert "current:   0.2.0 (models: fm-test 1.2.0)" in out
    assert f"previous:  {OLD}" in out
    assert gma_edge_update("status", "--root", cart.root, "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["current"] == "0.2.0" and status["last"]["result"] == "applied"

    assert gma_edge_update("apply", bundle, "--root", cart.root) == 1
    assert "running release already" in capsys.readouterr().err
    assert gma_edge_update("rollback", "--root", cart.root) == 0
    assert f"{OLD} is running" in capsys.readouterr().out
    assert gma_edge_update("recover", "--root", cart.root) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_the_self_test_wants_a_valid_config_and_a_pinned_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[update]\npublic_keys = ["' + "A" * 43 + '="]\n')
    assert self_test(config) == []
    config.write_text("[update]\n")
    assert any("pins no [update] public_keys" in problem for problem in self_test(config))
    config.write_text("[log]\nlevel = 'LOUD'\n[update]\n")
    assert any("does not validate" in problem for problem in self_test(config))
