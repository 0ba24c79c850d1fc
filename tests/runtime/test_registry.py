"""The services by name: each resolves to its Service class, imported only when asked for."""

from __future__ import annotations

import pytest

from edge.bus.broker import BrokerService
from edge.runtime.registry import SERVICES, service_class
from edge.runtime.service import Service


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_registered_service_resolves_to_its_class(name: str) -> None:
    cls = service_class(name)
    assert issubclass(cls, Service)
    assert cls.name == name


def test_the_bus_is_the_broker() -> None:
    assert service_class("bus") is BrokerService


def test_an_unknown_service_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown service 'toaster'; known: .*'bus'"):
        service_class("toaster")
