"""`[update]`: the keys an update must be signed with, and the bounds of applying one.

The installed config (/etc/gma-edge/config.toml) is the trust anchor: a bundle never changes
it, so an update cannot replace the keys that judge the next one.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.update.pin import check_pin_hash

PUBLIC_KEY_BYTES = 32


def decode_public_key(text: str) -> bytes:
    """The raw Ed25519 public key from its base64 text; ValueError says what is wrong."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{text!r} is not base64: copy the line of update-signing.pub") from exc
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError(f"{text!r} is {len(raw)} bytes, an Ed25519 public key is "
                         f"{PUBLIC_KEY_BYTES}: copy the line of update-signing.pub")
    return raw


class UpdateConfig(BaseModel):
    """Signed field updates from a USB stick: who may sign them, how long a release may take
    to come up before it is rolled back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    public_keys: tuple[str, ...] = Field(
        default=(),
        description="Ed25519 public keys, base64 as `gma-edge update keygen` writes them in "
        "update-signing.pub, whose signatures are accepted. Empty: no update can be applied.")
    ready_timeout_s: float = Field(
        default=120.0, gt=0, le=1800,
        description="After the switch, every service must report ready within this, else the "
        "update is rolled back.")
    self_test_timeout_s: float = Field(
        default=120.0, gt=0, le=1800,
        description="The new release's self-test must pass within this, else the update is "
        "rolled back.")
    keep_releases: int = Field(
        default=2, ge=2, le=10,
        description="Releases kept on disk after an update, the running one and the one to "
        "roll back to included; older ones are removed.")
    install_extras: tuple[str, ...] = Field(
        default=(),
        description="Extras of the gma-edge wheel installed into a new release's environment "
        "(on the cart: device, and jetson on a Jetson), from the wheels in the bundle only.")
    technician_pin: str | None = Field(
        default=None,
        description="The hash of the PIN that opens the display's technician screen (updates "
        "from a USB stick), as `gma-edge update pin` prints it: "
        "pbkdf2_sha256$<iterations>$<salt>$<hash>. None: the screen stays closed.")

    @field_validator("public_keys")
    @classmethod
    def _keys_decode(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for key in keys:
            decode_public_key(key)
        return tuple(dict.fromkeys(key.strip() for key in keys))

    @field_validator("technician_pin")
    @classmethod
    def _pin_is_a_hash(cls, stored: str | None) -> str | None:
        return None if stored is None else check_pin_hash(stored.strip())
