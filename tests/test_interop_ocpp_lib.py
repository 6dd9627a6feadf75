"""Interoperability: our emulated station against an independent CSMS.

The CSMS here is built on the `ocpp` library (mobilityhouse), which has its own parser, its
own schema validation and its own RPC rules. If our frames were malformed or our payloads
broke its schemas, its handlers would never run and its calls would raise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v21 import ChargePoint as LibChargePoint
from ocpp.v21 import call as lib_call
from ocpp.v21 import call_result
from websockets.asyncio.server import ServerConnection, serve

from app.clock import AcceleratedClock
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.station.config import StationConfig
from tests.support import wait_until


class LibCsms(LibChargePoint):
    """A minimal CSMS written the way the ocpp library's users write one."""

    def __init__(self, station_id: str, connection: Any) -> None:
        super().__init__(station_id, connection)
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on("BootNotification")
    def on_boot(self, charging_station: dict[str, Any], reason: str, **kw: Any) -> Any:
        self.received.append(("BootNotification", {"reason": reason, **charging_station}))
        return call_result.BootNotification(current_time=_now(), interval=60, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **kw: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on("NotifyEvent")
    def on_notify_event(
        self, generated_at: str, seq_no: int, event_data: list[dict[str, Any]], **kw: Any
    ) -> Any:
        self.received.append(("NotifyEvent", {"event_data": event_data}))
        return call_result.NotifyEvent()

    @on("StatusNotification")
    def on_status(self, **kw: Any) -> Any:
        self.received.append(("StatusNotification", kw))
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **kw: Any) -> Any:
        self.received.append(("Authorize", id_token))
        return call_result.Authorize(id_token_info={"status": "Accepted"})

    @on("TransactionEvent")
    def on_transaction_event(self, event_type: str, trigger_reason: str, seq_no: int, **kw: Any) -> Any:
        self.received.append(
            ("TransactionEvent", {"event_type": event_type, "trigger_reason": trigger_reason, **kw})
        )
        return call_result.TransactionEvent()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
async def lib_csms() -> AsyncIterator[tuple[str, dict[str, LibCsms]]]:
    peers: dict[str, LibCsms] = {}

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        station_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        cp = LibCsms(station_id, ws)
        peers[station_id] = cp
        try:
            await cp.start()
        except Exception:  # the socket closed: the library ends its loop with an exception
            return

    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.1", "ocpp2.0.1"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp", peers


async def test_station_charges_against_the_ocpp_library_csms(
    lib_csms: tuple[str, dict[str, LibCsms]],
) -> None:
    url, peers = lib_csms
    session = Session(clock=AcceleratedClock(10.0))
    try:
        station = session.add_station(
            StationConfig(
                station_id="INTEROP-1", csms_url=url, overrides={"SampledDataCtrlr.TxUpdatedInterval": "2"}
            )
        )
        await wait_until(lambda: station.online)
        assert station.version is OcppVersion.V21
        csms = peers["INTEROP-1"]
        await station.plug(1)
        assert await station.tap("LIB-CARD") == "Accepted"
        await wait_until(
            lambda: any(
                a == "TransactionEvent" and p["trigger_reason"] == "MeterValuePeriodic"
                for a, p in csms.received
            )
        )
        await station.tap("LIB-CARD")
        await wait_until(
            lambda: any(a == "TransactionEvent" and p["event_type"] == "Ended" for a, p in csms.received)
        )
        actions = [a for a, _ in csms.received]
        assert actions[0] == "BootNotification"
        assert "Authorize" in actions and "NotifyEvent" in actions
        events = [p for a, p in csms.received if a == "TransactionEvent"]
        assert events[0]["event_type"] == "Started" and events[-1]["event_type"] == "Ended"

        # The library as CSMS calls into our station; it validates our answers with its own schemas.
        result = await csms.call(
            lib_call.GetVariables(
                get_variable_data=[
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                    {"component": {"name": "NoSuchCtrlr"}, "variable": {"name": "X"}},
                ]
            )
        )
        statuses = [r["attribute_status"] for r in result.get_variable_result]
        assert statuses == ["Accepted", "UnknownComponent"]
        assert result.get_variable_result[0]["attribute_value"] == "60"  # adopted from the boot interval

        started = await csms.call(
            lib_call.RequestStartTransaction(
                id_token={"id_token": "REMOTE", "type": "Central"}, remote_start_id=5
            )
        )
        assert started.status == "Accepted"
        await wait_until(
            lambda: any(
                a == "TransactionEvent" and p["trigger_reason"] == "RemoteStart" for a, p in csms.received
            )
        )
        assert not [r for r in session.store if r.problems]
    finally:
        await session.stop()


async def test_ocpp201_only_library_csms_gets_a_201_station(lib_csms: tuple[str, dict[str, LibCsms]]) -> None:
    url, peers = lib_csms
    session = Session()
    try:
        station = session.add_station(
            StationConfig(station_id="INTEROP-2", csms_url=url, versions=(OcppVersion.V201,))
        )
        await wait_until(lambda: station.online)
        assert station.version is OcppVersion.V201
        await wait_until(lambda: any(a == "StatusNotification" for a, _ in peers["INTEROP-2"].received))
    finally:
        await session.stop()
