"""Composition root: one capture store, the built-in CSMS, the emulated stations.

The window, the CLI and the tests all build a Session and drive it; none of them wires
stations, CSMS and capture together on its own.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from pathlib import Path

from app.clock import Clock
from app.csms.ca import TestPki
from app.csms.csms import Csms, CsmsConfig
from app.hardware.hub import Hardware
from app.inspector.jsonl import JsonlWriter
from app.inspector.lints import Linter
from app.inspector.records import CaptureRecord
from app.inspector.store import CaptureStore
from app.proxy import OcppProxy
from app.signals import Signal
from app.station.config import StationConfig
from app.station.station import Station
from app.transport.intercept import Interceptor

log = logging.getLogger(__name__)


class Session:
    def __init__(self, *, clock: Clock | None = None, capture_path: str | Path | None = None) -> None:
        self.clock = clock or Clock()
        self.store = CaptureStore()
        self.linter = Linter()
        self.csms: Csms | None = None
        self.stations: dict[str, Station] = {}
        self.station_added: Signal[[Station]] = Signal()
        self.station_removed: Signal[[Station]] = Signal()
        self._writer = JsonlWriter(capture_path) if capture_path else None
        self._registered: set[str] = set()  # accepted stations, kept across CSMS restarts
        self.proxies: list[OcppProxy] = []
        # Real RFID readers and meters, by station id; started by whoever configures some.
        self.hardware = Hardware(lambda: self.stations)
        # Fault injection: holds frames of the emulated stations and the built-in CSMS on request.
        self.interceptor = Interceptor()

    def capture(self, record: CaptureRecord) -> None:
        # Protocol mistakes the schema cannot see, judged live (app/inspector/lints.py): they show
        # as notes on the frame, "[rule] message (requirement)".
        for finding in self.linter.check(record):
            record.notes.append(f"[{finding.rule}] {finding.message} ({finding.requirement})")
        self.store.append(record)
        if self._writer is not None:
            self._writer.write(record)
        record.release_payload()  # everyone live has seen it; the store keeps the text

    async def start_csms(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: CsmsConfig | None = None,
        *,
        pki: TestPki | None = None,
        security_profile: int = 1,
    ) -> Csms:
        """Start the built-in CSMS (port 0 picks a free port); with a PKI it signs station
        certificates, and profile 2 or 3 serve wss (3: mutual TLS)."""
        csms = Csms(
            config,
            clock=self.clock,
            capture=self.capture,
            mirror_stations=set(self.stations),
            registered=self._registered,
            pki=pki,
            security_profile=security_profile,
        )
        csms.interceptor = self.interceptor
        await csms.start(host, port)
        self.csms = csms
        return csms

    async def start_proxy(
        self,
        listen_host: str,
        listen_port: int,
        upstream_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        upstream_ca_file: str | None = None,
        upstream_verify: bool = True,
    ) -> OcppProxy:
        """Record stations talking to another CSMS: listen here, connect each one through to
        `<upstream_url>/<station-id>` (port 0 picks a free port). Both legs go to the capture."""
        proxy = OcppProxy(
            upstream_url,
            capture=self.capture,
            clock=self.clock,
            listen_host=listen_host,
            listen_port=listen_port,
            ssl_context=ssl_context,
            upstream_ca_file=upstream_ca_file,
            upstream_verify=upstream_verify,
            interceptor=self.interceptor,
        )
        await proxy.start()
        self.proxies.append(proxy)
        return proxy

    def add_station(self, config: StationConfig, *, start: bool = True) -> Station:
        if config.station_id in self.stations:
            raise ValueError(f"a station named {config.station_id} already exists")
        station = Station(config, clock=self.clock, capture=self.capture)
        station.interceptor = self.interceptor
        self.stations[config.station_id] = station
        if self.csms is not None:
            self.csms.mirror_stations.add(config.station_id)
        if start:
            station.start()
        self.station_added.emit(station)
        return station

    async def remove_station(self, station_id: str) -> None:
        station = self.stations.pop(station_id)
        await station.stop()
        station.close()
        if self.csms is not None:
            self.csms.mirror_stations.discard(station_id)
        self.station_removed.emit(station)

    async def stop(self) -> None:
        await self.hardware.stop()
        for station in list(self.stations.values()):
            with contextlib.suppress(Exception):
                await station.stop()
            station.close()
        if self.csms is not None:
            await self.csms.stop()
        for proxy in self.proxies:
            with contextlib.suppress(Exception):
                await proxy.stop()
        self.proxies.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
