"""Security events (A04): every event goes into the station's security log (A04.FR.04); the
critical ones of the appendix list are also pushed to the CSMS with SecurityEventNotification,
kept until delivered, across disconnects and restarts (A04.FR.01/02).

They have their own small outbox rather than the transaction queue: a CSMS that does not
implement SecurityEventNotification must not hold up transaction events behind it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from app.clock import utc_timestamp
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError

if TYPE_CHECKING:
    from app.station.station import Station

log = logging.getLogger(__name__)

# Appendix 1 (Security Events): name -> critical.
SECURITY_EVENTS: dict[str, bool] = {
    "FirmwareUpdated": True,
    "FailedToAuthenticationAtCsms": False,
    "CsmsFailedToAuthentication": False,
    "SettingSystemTime": True,
    "StartupOfTheDevice": True,
    "ResetOrReboot": True,
    "SecurityLogWasCleared": True,
    "ReconfigurationOfSecurityParameters": False,
    "MemoryExhaustion": True,
    "InvalidMessages": False,
    "AttemptedReplayAttacks": False,
    "TamperDetectionActivated": True,
    "InvalidFirmwareSignature": True,
    "InvalidFirmwareSigningCertificate": True,
    "InvalidCsmsCertificate": True,
    "InvalidChargingStationCertificate": True,
    "DiscardedRenewedClientCertificate": True,
    "InvalidTLSVersion": True,
    "InvalidTLSCipherSuite": True,
    "MaintenanceLoginAccepted": True,
    "MaintenanceLoginFailed": True,
}
LOG_SIZE = 200  # entries kept in the rolling security log
_LOG_KEY = "security.log"
_OUTBOX_KEY = "security.outbox"


class SecurityEvents:
    def __init__(self, station: Station) -> None:
        self.station = station
        self._wake = asyncio.Event()
        self._last_connect_event: str | None = None

    @property
    def log(self) -> list[dict[str, Any]]:
        """The security log, oldest first."""
        return list(json.loads(self.station.store.get(_LOG_KEY) or "[]"))

    @property
    def outbox(self) -> list[dict[str, Any]]:
        """Critical events not yet confirmed by the CSMS."""
        return list(json.loads(self.station.store.get(_OUTBOX_KEY) or "[]"))

    def report(self, kind: str, tech_info: str = "") -> None:
        """Log a security event; queue it for the CSMS when the appendix marks it critical."""
        event: dict[str, Any] = {"type": kind, "timestamp": utc_timestamp(self.station.now())}
        if tech_info:
            event["techInfo"] = tech_info[:255]
        store = self.station.store
        store.put(_LOG_KEY, json.dumps([*self.log, event][-LOG_SIZE:]))
        log.info("%s: security event %s %s", self.station.station_id, kind, tech_info)
        if SECURITY_EVENTS.get(kind, False):
            store.put(_OUTBOX_KEY, json.dumps([*self.outbox, event][-LOG_SIZE:]))  # bounded while offline
            self._wake.set()

    def connect_failed(self, kind: str | None, reason: str) -> None:
        """A TLS failure worth an event (A00.FR.310/316): reported once for a run of the same
        failure, not once per attempt, so the outbox cannot overflow."""
        if kind is not None and kind != self._last_connect_event:
            self.report(kind, reason)
        self._last_connect_event = kind

    def connect_succeeded(self) -> None:
        self._last_connect_event = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Deliver the outbox in order whenever the station is online."""
        station = self.station
        while True:
            pending = self.outbox
            conn = station.connection
            if not pending or conn is None or conn.closed or not station.online:
                self._wake.clear()
                await self._wake.wait()
                continue
            event = pending[0]
            try:
                await conn.call("SecurityEventNotification", event)
            except (ConnectionLost, CallTimeout):
                self._wake.clear()
                await self.station.clock.wait(self._wake, 5.0)
                continue
            except OcppError as exc:  # the CSMS refused it: retrying would not help
                log.warning("%s: SecurityEventNotification %s dropped: %s", station.station_id, event, exc)
            remaining = self.outbox
            if remaining and remaining[0] == event:
                self.station.store.put(_OUTBOX_KEY, json.dumps(remaining[1:]))
