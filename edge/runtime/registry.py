"""The services of the appliance by name, imported only when one is started."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.runtime.service import Service

# name -> "module:class". Start order is the supervisor's config, not this table.
SERVICES: dict[str, str] = {
    "bus": "edge.bus.broker:BrokerService",
    "telemetry": "edge.telemetry.service:TelemetryService",
    "imu": "edge.imu.service:ImuService",
    "camera": "edge.camera.service:CameraService",
    "pose": "edge.pose.service:PoseService",
    "session": "edge.session.service:SessionService",
    "display": "edge.display.service:DisplayService",
}


def service_class(name: str) -> type[Service]:
    """The Service subclass registered under `name`."""
    try:
        target = SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}; known: {sorted(SERVICES)}") from None
    module_name, class_name = target.split(":")
    cls: type[Service] = getattr(importlib.import_module(module_name), class_name)
    return cls
