"""The standardized IMU-placement check (`check`) against the protocol in calibration/."""

from pathlib import Path

# In a source checkout; an installed wheel does not carry calibration/.
SHIPPED_PROTOCOL = Path(__file__).resolve().parents[2] / "calibration" / \
    "placement-protocol.toml"
