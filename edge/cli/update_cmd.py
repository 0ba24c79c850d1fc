"""`gma-edge update ...`: make signing keys, build and verify bundles, apply and roll back,
the technician's PIN, and the update the display asks root for (`run-request`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge.errors import EdgeError, UpdateError

if TYPE_CHECKING:
    from edge.update.apply import Updater

_ROOT_HELP = "the installation's root folder (default: /)"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "update", help="signed field updates: keys, bundles, apply, rollback",
        description="Bundles are signed with Ed25519 on the signing computer and checked on "
        "the cart against [update] public_keys of the installed config. Apply verifies the "
        "whole bundle before it changes anything, and keeps the new release only if every "
        "service reports ready and its self-test passes.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    keygen = actions.add_parser("keygen", help="make a signing key pair")
    keygen.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for update-signing.key (owner-only) and update-signing.pub")

    build = actions.add_parser("build", help="sign a folder into a bundle")
    build.add_argument("source", type=Path, metavar="SRC",
                       help="folder with release/ (the gma-edge wheel and the wheels it needs, "
                       "constraints.txt) and optionally models/, config/, firmware/")
    build.add_argument("--key", type=Path, required=True, metavar="PRIVATE",
                       help="the private key (update-signing.key)")
    build.add_argument("--version", required=True, metavar="V",
                       help="the software version the bundle installs")
    build.add_argument("--out", type=Path, required=True, metavar="BUNDLE")
    build.add_argument("--from-versions", nargs="+", default=["*"], metavar="V",
                       help="versions or patterns (0.1.*) it may be applied over (default: *)")
    build.add_argument("--model-version", action="append", default=[], metavar="NAME=V",
                       help="a model folder's version where its model.json has none")

    verify = actions.add_parser("verify", help="check a bundle's signature and every file")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--pubkey", type=Path, default=None, metavar="PUB",
                        help="check against this public key (default: the installed config's)")
    verify.add_argument("--root", type=Path, default=Path("/"), metavar="DIR", help=_ROOT_HELP)

    apply = actions.add_parser("apply", help="install a bundle; roll back if it does not come up")
    apply.add_argument("bundle", type=Path)
    apply.add_argument("--root", type=Path, default=Path("/"), metavar="DIR", help=_ROOT_HELP)
    apply.add_argument("--allow-downgrade", action="store_true",
                       help="install a version older than the running one (it may refuse a "
                       "database a newer release migrated, and is then rolled back)")

    for name, text in (("rollback", "go back to the previous release and its database"),
                       ("recover", "finish or undo an update a crash or power cut interrupted"),
                       ("status", "the running, previous and installed releases (exit 1: an update "
                        "was interrupted)")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--root", type=Path, default=Path("/"), metavar="DIR",
                            help=_ROOT_HELP)
        if name == "status":
            action.add_argument("--json", action="store_true", help="print it as JSON")

    run_request = actions.add_parser(
        "run-request", help="apply the bundle the display asked for (run by "
        "gma-edge-update.service as root)",
        description="Takes /var/lib/gma-edge/update-request.json (reads and deletes it), "
        "applies its bundle if it lies on a USB stick or in an [export] folder, and writes "
        "how it ended to /var/lib/gma-edge/update-result.json.")
    run_request.add_argument("--root", type=Path, default=Path("/"), metavar="DIR",
                             help=_ROOT_HELP)

    pin = actions.add_parser("pin", help="make the hash of the display's technician PIN",
                             description="Prints the [update] technician_pin line for the "
                             "installed config; the PIN itself is stored nowhere.")
    pin.add_argument("--pin-stdin", action="store_true",
                     help="read the PIN from the first line of standard input, not a prompt")

    check = actions.add_parser(
        "self-test", help="check this release can run on this cart (run by apply)")
    check.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="the installed config (default: $GMA_EDGE_CONFIG, "
                       "/etc/gma-edge/config.toml)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    actions = {"keygen": _keygen, "build": _build, "verify": _verify, "apply": _apply,
               "rollback": _rollback, "recover": _recover, "status": _status,
               "self-test": _self_test, "run-request": _run_request, "pin": _pin}
    try:
        return actions[args.action](args)
    except EdgeError as exc:
        print(f"gma-edge update {args.action}: {exc}", file=sys.stderr)
        return 1


def _keygen(args: argparse.Namespace) -> int:
    from edge.update.signing import load_public_key, write_keypair

    private, public = write_keypair(args.out)
    key = load_public_key(public)
    print(f"private key: {private} (keep it off the carts, readable by you only)")
    print(f"public key:  {public} (id {key.id}); pin it in the cart's config:")
    print(f'[update]\npublic_keys = ["{key.text()}"]')
    return 0


def _build(args: argparse.Namespace) -> int:
    from edge.update.bundle import build_bundle
    from edge.update.signing import load_private_key

    overrides: dict[str, str] = {}
    for item in args.model_version:
        name, sep, version = item.partition("=")
        if not sep or not name or not version:
            raise UpdateError(f"--model-version {item!r}: write it as NAME=VERSION")
        overrides[name] = version
    manifest = build_bundle(args.source, load_private_key(args.key), args.version, args.out,
                            from_versions=args.from_versions, model_versions=overrides)
    models = ", ".join(f"{name} {version}" for name, version in manifest.models.items())
    print(f"{args.out}: gma-edge {manifest.software_version}, {len(manifest.files)} files, "
          f"{manifest.payload_bytes / 2**20:.1f} MB, over {' '.join(manifest.from_versions)}"
          + (f"; models {models}" if models else ""))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from edge.update.bundle import read_bundle
    from edge.update.installed import load_update_config
    from edge.update.release import ReleaseTree
    from edge.update.signing import load_public_key, public_keys

    if args.pubkey is not None:
        keys = [load_public_key(args.pubkey)]
    else:
        keys = public_keys(load_update_config(ReleaseTree(args.root).config_file).public_keys)
    verified = read_bundle(args.bundle, keys)
    manifest = verified.manifest
    print(f"{args.bundle}: OK, signed by key {verified.signer.id}; gma-edge "
          f"{manifest.software_version} (built {manifest.created_utc}), "
          f"{len(manifest.files)} files verified, applies over "
          f"{' '.join(manifest.from_versions)}")
    return 0


def _updater(args: argparse.Namespace) -> Updater:
    from edge.update.apply import Updater
    from edge.update.installed import load_update_config
    from edge.update.release import ReleaseTree
    from edge.update.signing import public_keys
    from edge.update.system import system_host

    layout = ReleaseTree(args.root)
    config = load_update_config(layout.config_file)
    return Updater(layout, config, system_host(layout, config), public_keys(config.public_keys),
                   progress=lambda step, text: print(f"  {step}: {text}", flush=True))


def _apply(args: argparse.Namespace) -> int:
    updater = _updater(args)
    outcome = updater.apply(args.bundle, allow_downgrade=args.allow_downgrade)
    print(f"gma-edge {outcome.version} is running")
    return 0


def _run_request(args: argparse.Namespace) -> int:
    from edge.update.installed import load_export_config
    from edge.update.request import run_request

    updater = _updater(args)
    places = load_export_config(updater.layout.config_file)
    result = run_request(updater, updater.layout.state_dir, places)
    if result is None:
        print("no update request: nothing to do")
        return 0
    print(f"{result.bundle or 'request'}: {result.result}"
          + (f" ({result.reason})" if result.reason else "")
          + f"; {result.version_after or 'nothing'} is running")
    return 0 if result.result == "applied" else 1


def _pin(args: argparse.Namespace) -> int:
    import getpass

    from edge.update.pin import check_pin_text, hash_pin

    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass("technician PIN (digits): ")
        if getpass.getpass("the same PIN again: ") != pin:
            raise UpdateError("the two PINs differ: nothing was made")
    try:
        check_pin_text(pin)
    except ValueError as exc:
        raise UpdateError(str(exc)) from None
    print("put this in /etc/gma-edge/config.toml (the display reads it at the next unlock):",
          file=sys.stderr)
    print(f'[update]\ntechnician_pin = "{hash_pin(pin)}"')
    return 0


def _rollback(args: argparse.Namespace) -> int:
    updater = _updater(args)
    outcome = updater.rollback()
    print(f"rolled back from {outcome.version}; "
          f"{updater.layout.current_version()} is running")
    return 0


def _recover(args: argparse.Namespace) -> int:
    updater = _updater(args)
    outcome = updater.recover()
    if outcome is None:
        print("no interrupted update: nothing to do")
    else:
        print(f"the interrupted {outcome.action} of {outcome.version} was undone; "
              f"{updater.layout.current_version()} is running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from edge.update.apply import read_status
    from edge.update.release import ReleaseTree

    status = read_status(ReleaseTree(args.root))
    if args.json:
        print(json.dumps(dataclasses.asdict(status) | {
            "pending": status.pending.model_dump() if status.pending else None,
            "last": status.last.model_dump() if status.last else None}, indent=2))
        return 0
    models = ", ".join(f"{name} {version}" for name, version in status.models.items())
    print(f"current:   {status.current or 'none installed'}"
          + (f" (models: {models})" if models else ""))
    print(f"previous:  {status.previous or 'none'}"
          + (" (`gma-edge update rollback` returns to it)" if status.previous else ""))
    print(f"installed: {', '.join(status.installed) or 'none'}")
    if status.last is not None:
        last = status.last
        print(f"last:      {last.action} {last.version}: {last.result} at {last.utc}"
              + (f" ({last.reason})" if last.reason else ""))
    pending = status.pending
    if pending is not None and status.busy:
        print(f"now:       an {pending.action} to {pending.to_version} is running "
              f"(step {pending.step!r})")
    elif pending is not None:
        print(f"now:       an {pending.action} to {pending.to_version} was interrupted at "
              f"its step {pending.step!r}: run `gma-edge update recover` (apply does too) "
              f"to get back to {pending.from_version}")
        return 1
    return 0


def _self_test(args: argparse.Namespace) -> int:
    from edge.config import default_config_path
    from edge.update.selftest import self_test

    config = args.config if args.config is not None else default_config_path()
    problems = self_test(config)
    for problem in problems:
        print(f"self-test: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"self-test passed ({config or 'embedded default config'})")
    return 0
