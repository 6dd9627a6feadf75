"""Certificates against an independent CSMS: the `ocpp` library (mobilityhouse) parses and
validates our SignCertificate / SecurityEventNotification with its own 2.1 schemas, and its
CertificateSigned (with requestId) installs at our station.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v21 import call as lib_call
from ocpp.v21 import call_result
from websockets.asyncio.server import ServerConnection, serve

from app.clock import AcceleratedClock
from app.csms.ca import TestPki
from app.session import Session
from app.station.config import StationConfig
from tests.support import wait_until
from tests.test_interop_ocpp_lib import LibCsms


class CertificateCsms(LibCsms):
    @on("SignCertificate")
    def on_sign_certificate(self, csr: str, **kw: Any) -> Any:
        self.received.append(("SignCertificate", {"csr": csr, **kw}))
        return call_result.SignCertificate(status="Accepted")

    @on("SecurityEventNotification")
    def on_security_event(self, type: str, timestamp: str, **kw: Any) -> Any:
        self.received.append(("SecurityEventNotification", {"type": type, **kw}))
        return call_result.SecurityEventNotification()


@pytest.fixture
async def lib_csms() -> AsyncIterator[tuple[str, dict[str, CertificateCsms]]]:
    peers: dict[str, CertificateCsms] = {}

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        station_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        peers[station_id] = cp = CertificateCsms(station_id, ws)
        try:
            await cp.start()
        except Exception:  # the socket closed: the library ends its loop with an exception
            return

    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.1"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp", peers


async def test_ocpp_library_csms_signs_our_csr_with_the_request_id(
    lib_csms: tuple[str, dict[str, CertificateCsms]], tmp_path: Path
) -> None:
    url, peers = lib_csms
    pki = TestPki(tmp_path / "pki")
    session = Session(clock=AcceleratedClock(10.0))
    try:
        station = session.add_station(StationConfig(station_id="INTEROP-CERT", csms_url=url))
        await wait_until(lambda: station.online)
        csms = peers["INTEROP-CERT"]
        await wait_until(lambda: any(a == "SecurityEventNotification" for a, _ in csms.received))
        startup = {"type": "StartupOfTheDevice", "tech_info": "PowerUp"}
        assert ("SecurityEventNotification", startup) in csms.received

        installed = await csms.call(
            lib_call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=pki.root_pem)
        )
        assert installed.status == "Accepted"
        listed = await csms.call(
            lib_call.GetInstalledCertificateIds(certificate_type=["CSMSRootCertificate"])
        )
        assert listed.status == "Accepted" and len(listed.certificate_hash_data_chain) == 1
        trigger = await csms.call(
            lib_call.TriggerMessage(requested_message="SignChargingStationCertificate")
        )
        assert trigger.status == "Accepted"
        await wait_until(lambda: any(a == "SignCertificate" for a, _ in csms.received))
        request = next(p for a, p in csms.received if a == "SignCertificate")
        assert isinstance(request["request_id"], int)  # A02.FR.24, as the library reads it

        signed = await csms.call(
            lib_call.CertificateSigned(
                certificate_chain=pki.sign_csr(request["csr"]),
                certificate_type="ChargingStationCertificate",
                request_id=request["request_id"],
            )
        )
        assert signed.status == "Accepted"
        assert station.certificates.leaf_chain() is not None
    finally:
        await session.stop()
