"""Ed25519 keys and signatures of update bundles.

The private key is a PKCS#8 PEM file that only its owner can read; it stays on the signing
computer. The public key is one line of base64 (the 32 raw bytes), short enough to paste into
`[update] public_keys` of the installed config.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.errors import BundleRejected, UpdateError
from edge.update.config import decode_public_key

PRIVATE_KEY_FILE = "update-signing.key"
PUBLIC_KEY_FILE = "update-signing.pub"
SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class PublicKey:
    """A key that signatures are checked against, with the short id that names it in messages."""

    key: Ed25519PublicKey
    id: str

    @classmethod
    def of(cls, key: Ed25519PublicKey) -> PublicKey:
        return cls(key, hashlib.sha256(_raw(key)).hexdigest()[:16])

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        return cls.of(Ed25519PublicKey.from_public_bytes(decode_public_key(text)))

    def text(self) -> str:
        return base64.b64encode(_raw(self.key)).decode("ascii")


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_keys(texts: Sequence[str]) -> list[PublicKey]:
    """The keys of `[update] public_keys` (already validated by UpdateConfig)."""
    return [PublicKey.from_text(text) for text in texts]


def write_keypair(folder: Path) -> tuple[Path, Path]:
    """A new key pair in `folder`: the private key readable by its owner only, never overwritten."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = PublicKey.of(private.public_key())
    key_path, pub_path = folder / PRIVATE_KEY_FILE, folder / PUBLIC_KEY_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # O_EXCL with the mode at creation: the key is never readable by others, not even
        # for an instant, and an existing key is never replaced by accident.
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        with open(pub_path, "x", encoding="ascii") as file:
            file.write(public.text() + "\n")
    except FileExistsError as exc:
        raise UpdateError(f"{exc.filename} exists: keep the key you have, or choose another "
                          "folder (a lost private key cannot sign updates for carts that pin "
                          "its public key)") from exc
    except OSError as exc:
        raise UpdateError(f"cannot write the key pair in {folder}: {exc.strerror or exc}") from exc
    return key_path, pub_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise UpdateError(f"cannot read the private key {path}: {exc.strerror or exc}") from exc
    except (ValueError, TypeError) as exc:
        raise UpdateError(f"{path} is not an unencrypted PEM private key: make one with "
                          "`gma-edge update keygen`") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UpdateError(f"{path} is not an Ed25519 key: make one with `gma-edge update keygen`")
    return key


def load_public_key(path: Path) -> PublicKey:
    """A public key file as keygen writes it (one line of base64)."""
    try:
        return PublicKey.from_text(path.read_text(encoding="ascii"))
    except OSError as exc:
        raise UpdateError(f"cannot read the public key {path}: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UpdateError(f"{path}: {exc}") from exc


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def check_signature(data: bytes, signature: bytes, keys: Sequence[PublicKey]) -> PublicKey:
    """The pinned key that made `signature` over `data`; BundleRejected if none did."""
    if not keys:
        raise BundleRejected("no public key is pinned: add the signer's key to [update] "
                             "public_keys in the installed config (or pass --pubkey)")
    if len(signature) != SIGNATURE_BYTES:
        raise BundleRejected(f"manifest.sig is {len(signature)} bytes, not an Ed25519 "
                             "signature: the bundle is damaged, build it again")
    for key in keys:
        try:
            key.key.verify(signature, data)
        except InvalidSignature:
            continue
        return key
    ids = ", ".join(key.id for key in keys)
    raise BundleRejected(f"the manifest's signature matches no pinned key ({ids}): the bundle "
                         "was signed with another key or altered after signing")
