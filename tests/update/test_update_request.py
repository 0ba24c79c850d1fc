"""The technician's PIN hash, and `run-request`: root applying what the display asked for."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from update_fakes import (
    OLD,
    fake_updater,
    gma_edge_update,
    make_installation,
    make_keys,
    make_source,
)

from edge.errors import UpdateError
from edge.export.config import ExportConfig
from edge.update.bundle import build_bundle
from edge.update.config import UpdateConfig
from edge.update.pin import check_pin_hash, hash_pin, pin_matches
from edge.update.request import (
    REQUEST_NAME,
    RESULT_NAME,
    UpdateRequest,
    allowed_bundle,
    read_result,
    run_request,
    write_request,
)
from edge.update.signing import load_private_key

FAST = 1000  # iterations: the format is what is tested, not the cost


def test_a_pin_matches_its_hash_only() -> None:
    stored = hash_pin("4711", iterations=FAST)
    assert stored.startswith("pbkdf2_sha256$1000$")
    assert pin_matches("4711", stored)
    assert not pin_matches("4712", stored)
    assert not pin_matches("", stored) and not pin_matches("47a1", stored)
    assert hash_pin("4711", iterations=FAST) != stored  # a fresh salt each time


@pytest.mark.parametrize("stored", ["4711", "pbkdf2_sha256$x$AAAA$AAAA", "md5$1$a$b",
                                    "pbkdf2_sha256$1000$!!$AAAA",
                                    "pbkdf2_sha256$1000$AAAAAAAAAAA=$AAAA"])
def test_a_malformed_hash_is_refused_by_the_config(stored: str) -> None:
    with pytest.raises(ValueError):
        check_pin_hash(stored)
    with pytest.raises(ValueError, match="gma-edge update pin"):
        UpdateConfig(technician_pin=stored)


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12 34", "abcd"])
def test_a_pin_is_four_to_twelve_digits(pin: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        hash_pin(pin, iterations=FAST)


def test_the_pin_command_prints_a_hash_the_config_takes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("246810\n"))
    assert gma_edge_update("pin", "--pin-stdin") == 0
    line = capsys.readouterr().out.splitlines()[-1]
    stored = line.removeprefix('technician_pin = "').removesuffix('"')
    assert pin_matches("246810", UpdateConfig(technician_pin=stored).technician_pin or "")
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert gma_edge_update("pin", "--pin-stdin") == 1
    answers = iter(["1234", "4321"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert gma_edge_update("pin") == 1
    assert "differ" in capsys.readouterr().err


@pytest.fixture
def cart(tmp_path: Path) -> tuple[Path, Path]:
    """A cart with a stick mounted below /media (here: <tmp>/media) holding a good bundle."""
    keys = make_keys(tmp_path / "keys")
    root = tmp_path / "root"
    make_installation(root, keys)
    stick = tmp_path / "media" / "kiosk" / "STICK"
    stick.mkdir(parents=True)
    bundle = stick / "gma-edge-0.2.0.bundle"
    build_bundle(make_source(tmp_path / "src", "0.2.0"), load_private_key(keys.private),
                 "0.2.0", bundle)
    return root, bundle


def places(tmp_path: Path) -> ExportConfig:
    return ExportConfig(mount_roots=(tmp_path / "media",), folders=(tmp_path / "folder",))


def request(state_dir: Path, bundle: Path | str) -> None:
    write_request(state_dir, UpdateRequest(bundle=str(bundle), requested_utc="2025-01-01"))


def test_a_good_request_is_applied_and_its_result_written(
        tmp_path: Path, cart: tuple[Path, Path]) -> None:
    root, bundle = cart
    updater = fake_updater(root)
    state = updater.layout.state_dir
    request(state, bundle)
    result = run_request(updater, state, places(tmp_path))
    assert result is not None and result.result == "applied", result
    assert (result.version_before, result.version_after) == (OLD, "0.2.0")
    assert not (state / REQUEST_NAME).exists()
    assert read_result(state) == result
    assert (state / RESULT_NAME).stat().st_mode & 0o777 == 0o644
    assert run_request(updater, state, places(tmp_path)) is None  # nothing asked: nothing done


@pytest.mark.parametrize("where", ["outside", "link out", "relative", "not a bundle",
                                   "directly in the mount root"])
def test_a_bundle_outside_the_allowed_places_is_refused_and_deleted(
        tmp_path: Path, cart: tuple[Path, Path], where: str) -> None:
    root, bundle = cart
    elsewhere = tmp_path / "elsewhere" / "x.bundle"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(bundle.read_bytes())
    if where == "outside":
        asked: Path | str = elsewhere
    elif where == "link out":  # a link on the stick to a file elsewhere
        asked = bundle.parent / "link.bundle"
        asked.symlink_to(elsewhere)
    elif where == "relative":
        asked = "STICK/gma-edge-0.2.0.bundle"
    elif where == "not a bundle":
        asked = bundle.with_suffix(".tar")
        bundle.rename(asked)
    else:
        asked = tmp_path / "media" / "x.bundle"
        asked.write_bytes(bundle.read_bytes())
    updater = fake_updater(root)
    state = updater.layout.state_dir
    request(state, asked)
    result = run_request(updater, state, places(tmp_path))
    assert result is not None and result.result == "refused"
    assert result.version_after == OLD and updater.layout.current_version() == OLD
    assert not (state / REQUEST_NAME).exists()


def test_a_configured_folder_is_allowed(tmp_path: Path, cart: tuple[Path, Path]) -> None:
    _, bundle = cart
    folder = tmp_path / "folder"
    folder.mkdir()
    copy = folder / "b.bundle"
    copy.write_bytes(bundle.read_bytes())
    assert allowed_bundle(str(copy), (), (folder,)) == copy.resolve()
    with pytest.raises(UpdateError, match="refused"):
        allowed_bundle(str(copy), (tmp_path / "media",), ())


@pytest.mark.parametrize("content", ["link", "garbage", "huge"])
def test_a_request_file_that_is_no_request_is_refused_without_repeating_it(
        tmp_path: Path, cart: tuple[Path, Path], content: str) -> None:
    root, _ = cart
    updater = fake_updater(root)
    state = updater.layout.state_dir
    secret = tmp_path / "secret"
    secret.write_text('{"password": "hunter2"}')
    if content == "link":  # gma-edge owns the folder: root must not read through a link
        (state / REQUEST_NAME).symlink_to(secret)
    elif content == "garbage":
        (state / REQUEST_NAME).write_text('{"password": "hunter2"}')
    else:
        (state / REQUEST_NAME).write_text(json.dumps({"bundle": "x" * 10_000}))
    result = run_request(updater, state, places(tmp_path))
    assert result is not None and result.result == "refused"
    assert "hunter2" not in (state / RESULT_NAME).read_text()
    assert not os.path.lexists(state / REQUEST_NAME) and secret.exists()


def test_run_request_on_the_command_line(tmp_path: Path, cart: tuple[Path, Path],
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    root, bundle = cart
    config = root / "etc" / "gma-edge" / "config.toml"
    config.write_text(config.read_text() + f'\n[export]\nmount_roots = ["{tmp_path / "media"}"]\n')
    monkeypatch.setattr("edge.cli.update_cmd._updater", lambda args: fake_updater(args.root))
    assert gma_edge_update("run-request", "--root", root) == 0
    assert "no update request" in capsys.readouterr().out
    state = root / "var" / "lib" / "gma-edge"
    request(state, bundle)
    assert gma_edge_update("run-request", "--root", root) == 0
    assert "applied; 0.2.0 is running" in capsys.readouterr().out
