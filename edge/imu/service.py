"""The `imu` service: four Movesense sensors streaming onto the bus, on the host's clock.

bleak is asyncio, the service lifecycle is threads: the links live in one event loop on a
thread of their own, and `step` only watches it. Each position publishes its samples on
`imu.<position>` as they come and its health on `sensor.<position>` every
`status_interval_s`. A position without a sensor assigned, or a radio that is missing, is a
state shown on the screen and retried, never a crash loop.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import suppress

from edge.bus.context import Bus
from edge.bus.pubsub import Publisher
from edge.config.model import AppConfig
from edge.imu import assignment
from edge.imu.backends._base import Radio
from edge.imu.config import POSITIONS
from edge.imu.discovery import Discovery
from edge.imu.link import LinkSettings, SensorLink, settings_from
from edge.imu.messages import ImuMessage, SensorStatus
from edge.plugins import discover
from edge.runtime.service import Service

READY_TIMEOUT_S = 5.0
UNASSIGNED = ("no sensor assigned to this position: assign one from the screen "
              "(or `gma-edge sensors identify`)")


class ImuService(Service):
    name = "imu"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self._settings = config.imu
        self._radio: Radio | None = None
        self._sensors: dict[str, str] = {}
        self._links: dict[str, SensorLink] = {}
        self._link_settings = LinkSettings(rate_hz=config.imu.rate_hz)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None

    def configure(self) -> None:
        settings = self._settings
        backend = discover("edge.imu.backends")[settings.radio.type]
        radio: Radio = backend.create(settings.radio, self.config)
        self._radio = radio
        self._sensors = assignment.resolve(settings, self.config.paths.data_dir,
                                           radio.default_assignment())
        self._link_settings = settings_from(settings)
        self._thread = threading.Thread(target=self._run_loop, name="imu-links", daemon=True)
        self._thread.start()

    def warm_up(self) -> None:
        if not self._started.wait(READY_TIMEOUT_S):
            raise RuntimeError("the sensor links did not start")
        self._raise_failure()

    def step(self, stop: threading.Event) -> None:
        stop.wait(0.5)
        self._raise_failure()

    def status(self) -> str:
        if not self._links:
            return "no sensors assigned" if self._started.is_set() else "starting"
        streaming = [p for p, link in self._links.items() if link.state.value == "streaming"]
        rates = ", ".join(f"{p} {self._links[p].achieved_rate():.0f} Hz" for p in streaming)
        return f"{len(streaming)}/{len(POSITIONS)} streaming" + (f": {rates}" if rates else "")

    def close(self) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None:
            with suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join(timeout=self.config.runtime.stop_timeout_s)
        self._thread = None

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f"the sensor links failed: {self._failure}") from self._failure

    def _run_loop(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to the service thread, which fails loudly
            self._failure = exc
            self._started.set()

    async def _main(self) -> None:
        radio = self._radio
        assert radio is not None
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        settings = self._link_settings
        data: dict[str, Publisher[ImuMessage]] = {
            p: Publisher(self.bus, ImuMessage, name=p) for p in POSITIONS
        }
        health: dict[str, Publisher[SensorStatus]] = {
            p: Publisher(self.bus, SensorStatus, name=p) for p in POSITIONS
        }
        with radio.active():
            discovery = Discovery(radio.scanner_backend, radio.adapter)
            self._links = {
                position: SensorLink(position, serial, radio, discovery, settings,
                                     data[position].publish)
                for position, serial in self._sensors.items()
            }
            for position in POSITIONS:
                if position not in self._links:
                    self.log.warning("%s: %s", position, UNASSIGNED)
            tasks = [asyncio.create_task(link.run(), name=f"link-{link.position}")
                     for link in self._links.values()]
            tasks.append(asyncio.create_task(self._report(health), name="status"))
            self._started.set()
            try:
                done = asyncio.create_task(self._stopping.wait())
                await asyncio.wait([done, *tasks], return_when=asyncio.FIRST_COMPLETED)
                for task in tasks:
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await discovery.close()
                for publisher in data.values():
                    publisher.close()
                for status in health.values():
                    status.close()

    async def _report(self, health: dict[str, Publisher[SensorStatus]]) -> None:
        while True:
            for position in POSITIONS:
                link = self._links.get(position)
                health[position].publish(link.status() if link is not None else SensorStatus(
                    position=position, serial="", state="unassigned", message=UNASSIGNED,
                    rate_hz=0.0, loss_percent=0.0, last_seen_ns=0, battery_percent=-1,
                    firmware="", reconnects=0, clock_drift_ppm=0.0, clock_uncertainty_us=0.0,
                ))
            await asyncio.sleep(self._settings.status_interval_s)
