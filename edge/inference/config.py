"""The config of a model's runtime (for example `pose.runtime`): one backend's Config, by `type`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.plugins import BackendConfig, config_union

if TYPE_CHECKING:
    RuntimeConfig = BackendConfig
else:
    RuntimeConfig = config_union("edge.inference.backends")
