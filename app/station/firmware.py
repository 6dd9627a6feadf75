"""Firmware update as an emulated station performs it (L01, secure firmware update).

The download is simulated: it takes DOWNLOAD_S simulated seconds and fails for a location on
a host that can never resolve (the reserved `.invalid` top-level domain, RFC 6761) or that is
not an http(s)/ftp(s) URL, so a tester can try the retry and failure paths without a server.
Everything else follows the spec: the status sequence (L01.FR.01), DownloadScheduled and
InstallScheduled for future times (L01.FR.13/16), retries at retryInterval before
DownloadFailed (L01.FR.30), signature check (L01.FR.03/04), waiting for transactions to end
while idle EVSEs turn Unavailable unless AllowNewSessionsPendingFirmwareUpdate
(L01.FR.06/07/34), InstallRebooting before the reboot (L01.FR.15) and Installed from the new
firmware after it (L01.FR.32 option a), with the FirmwareUpdated security event (L01.FR.31).
A new request while one runs cancels it (L01.FR.24).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from app.station.evse import Evse
    from app.station.station import Station

DOWNLOAD_S = 10.0  # simulated seconds one download attempt takes
INSTALL_S = 5.0  # simulated seconds the installation takes before the reboot
WAIT_STEP_S = 1.0  # how often a pending installation looks whether transactions ended
DEFAULT_RETRY_INTERVAL_S = 30
_SCHEMES = ("http", "https", "ftp", "ftps", "sftp")
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----")
_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)*)")


class FirmwareUpdater:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.last_status = "Idle"
        self.request_id: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._blocked: list[Evse] = []  # EVSEs this update made Unavailable (L01.FR.07)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Answer UpdateFirmware and start the update after the answer is on the wire."""
        firmware = payload["firmware"]
        certificate = firmware.get("signingCertificate")
        if certificate is not None and not _looks_like_certificate(certificate):
            self.station.security.report("InvalidFirmwareSigningCertificate", "not a PEM X.509 certificate")
            return {"status": "InvalidCertificate"}  # L01.FR.21/22
        canceled = self.busy
        if self._task is not None and canceled:
            self._task.cancel()
        self.request_id = payload["requestId"]
        self._task = self.station.spawn(self._run(payload), "firmware-update")
        return {"status": "AcceptedCanceled" if canceled else "Accepted"}

    def trigger_payload(self) -> dict[str, Any]:
        """What TriggerMessage(FirmwareStatusNotification) sends: Idle after Installed or when
        nothing ran, else the last status sent (L01.FR.25/26)."""
        if self.last_status in ("Idle", "Installed") or self.request_id is None:
            return {"status": "Idle"}
        return {"status": self.last_status, "requestId": self.request_id}

    # ------------------------------------------------------------------ the update

    async def _run(self, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)  # the UpdateFirmware answer goes first
        try:
            await self._update(payload)
        finally:
            await self._unblock()

    async def _update(self, payload: dict[str, Any]) -> None:
        station = self.station
        firmware = payload["firmware"]
        retrieve_at = _time(firmware["retrieveDateTime"])
        install_at = _time(firmware.get("installDateTime"))
        if retrieve_at is not None and retrieve_at > station.now():
            self._send("DownloadScheduled")  # L01.FR.13
            await self._sleep_until(retrieve_at)
        if not await self._download(firmware["location"], payload):
            self._send("DownloadFailed")  # L01.FR.30
            return
        self._send("Downloaded")
        if "signature" in firmware:
            if not _is_base64(firmware["signature"]):
                self._send("InvalidSignature")
                station.security.report("InvalidFirmwareSignature", firmware["location"])  # L01.FR.03
                return
            self._send("SignatureVerified")  # L01.FR.04
        if install_at is not None and install_at > station.now():
            self._send("InstallScheduled")  # L01.FR.16
            await self._sleep_until(install_at)
        await self._wait_for_transactions(announce=install_at is None)
        self._send("Installing")
        await station.clock.sleep(INSTALL_S)
        self._send("InstallRebooting")  # L01.FR.15
        await self._drain_queue()
        version = _version(firmware["location"]) or f"{station.config.firmware_version}+{self.request_id}"
        station.config.firmware_version = version  # what the next BootNotification reports
        station.dm.set_actual("ChargingStation", "FirmwareVersion", version, validate=False)
        await station.reboot("FirmwareUpdate")
        while not station.online:  # the new firmware reports itself once its boot is accepted
            await asyncio.sleep(0.05)
        self._send("Installed")  # L01.FR.28, L01.FR.32 (a)
        station.security.report("FirmwareUpdated", f"firmware {version}")  # L01.FR.31

    async def _download(self, location: str, payload: dict[str, Any]) -> bool:
        """Attempt 1 + retries downloads, retryInterval apart; True when one succeeded."""
        attempts = 1 + int(payload.get("retries", 0))
        interval = int(payload.get("retryInterval", DEFAULT_RETRY_INTERVAL_S))
        for attempt in range(attempts):
            if attempt:
                await self.station.clock.sleep(interval)
            self._send("Downloading")  # again on every retry (L01.FR.30 note)
            await self.station.clock.sleep(DOWNLOAD_S)
            if _reachable(location):
                return True
        return False

    async def _wait_for_transactions(self, *, announce: bool) -> None:
        """L01.FR.06: install only when no transaction runs; meanwhile no new sessions unless
        AllowNewSessionsPendingFirmwareUpdate (L01.FR.07)."""
        station = self.station
        if not self._transactions():
            return
        if announce:
            self._send("InstallScheduled")  # L01.FR.34
        allow_new = station.dm.get_bool(
            "ChargingStation", "AllowNewSessionsPendingFirmwareUpdate", default=False
        )
        while self._transactions():
            if not allow_new:
                await self._block_idle_evses()
            await station.clock.sleep(WAIT_STEP_S)

    def _transactions(self) -> list[Evse]:
        return [evse for evse in self.station.evses.values() if evse.transaction is not None]

    async def _block_idle_evses(self) -> None:
        for evse in self.station.evses.values():
            if evse.transaction is None and evse.operative and evse not in self._blocked:
                evse.operative = False  # not persisted: the update, not the CSMS, closed it
                self._blocked.append(evse)
                await self.station.report_status(evse)

    async def _unblock(self) -> None:
        blocked, self._blocked = self._blocked, []
        for evse in blocked:
            evse.operative = True
            await self.station.report_status(evse)

    async def _drain_queue(self) -> None:
        """InstallRebooting must reach the CSMS before the reboot cuts the connection."""
        station = self.station
        for _ in range(200):
            if station.queued_events == 0 or not station.online:
                return
            await asyncio.sleep(0.02)

    async def _sleep_until(self, moment: datetime) -> None:
        await self.station.clock.sleep((moment - self.station.now()).total_seconds())

    def _send(self, status: str) -> None:
        """Queued, so a status reached while offline is delivered later, in order (L01.FR.01)."""
        self.last_status = status
        self.station.enqueue("FirmwareStatusNotification", {"status": status, "requestId": self.request_id})


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _reachable(location: str) -> bool:
    parts = urlsplit(location)
    host = (parts.hostname or "").rstrip(".")
    return parts.scheme in _SCHEMES and bool(host) and not host.endswith(".invalid") and host != "invalid"


def _looks_like_certificate(text: str) -> bool:
    found = _PEM.search(text)
    return found is not None and _is_base64("".join(found[1].split()))


def _is_base64(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) > 0
    except (binascii.Error, ValueError):
        return False


def _version(location: str) -> str | None:
    """`.../cb-fw-2.4.1.bin` -> 2.4.1: the version the file name promises."""
    name = urlsplit(location).path.rsplit("/", 1)[-1]
    found = _VERSION.search(name)
    return found[1] if found else None
