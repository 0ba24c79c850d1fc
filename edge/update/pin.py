"""The technician's PIN as the config stores it: a salted PBKDF2 hash, never the PIN itself.

A PIN has few digits, so the hash is slow on purpose (PBKDF2-SHA256, many iterations) and the
display refuses guesses after a few wrong ones (`edge/display/technician.py`); the config file
alone then does not give the PIN away.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000
MIN_DIGITS, MAX_DIGITS = 4, 12
_SALT_BYTES = 16


def check_pin_text(pin: str) -> str:
    """`pin` if it may be a PIN (digits only, 4 to 12 of them); ValueError otherwise."""
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        raise ValueError(f"a PIN is {MIN_DIGITS} to {MAX_DIGITS} digits")
    return pin


def hash_pin(pin: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>` of `pin`, with a fresh salt."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", check_pin_text(pin).encode(), salt, iterations)
    return "$".join((SCHEME, str(iterations), _b64(salt), _b64(digest)))


def check_pin_hash(stored: str) -> str:
    """`stored` if it has the form `hash_pin` writes; ValueError saying what is wrong."""
    _parse(stored)
    return stored


def pin_matches(pin: str, stored: str) -> bool:
    """Whether `pin` is the PIN `stored` was made from (in constant time)."""
    iterations, salt, expected = _parse(stored)
    try:
        check_pin_text(pin)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def _parse(stored: str) -> tuple[int, bytes, bytes]:
    hint = "make it with `gma-edge update pin`"
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        raise ValueError(f"a PIN hash is {SCHEME}$<iterations>$<salt>$<hash>: {hint}")
    try:
        iterations = int(parts[1])
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"the PIN hash does not decode ({exc}): {hint}") from exc
    if not 1 <= iterations <= 10_000_000 or len(salt) < 8 or len(digest) != 32:
        raise ValueError(f"the PIN hash has a bad iteration count, salt or length: {hint}")
    return iterations, salt, digest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
