"""An emulated station against the built-in CSMS over real websockets on loopback.

Everything here goes through the real stack: Station -> OcppConnection -> websockets ->
Csms. Assertions are on the frames captured on the wire, as a tester would read them in the
inspector. Requirement ids refer to OCPP 2.1 Part 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.clock import AcceleratedClock
from app.csms.csms import CsmsConfig
from app.inspector.records import CaptureRecord
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until

FAST = {
    "SampledDataCtrlr.TxUpdatedInterval": "5",
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": "1",
    "OCPPCommCtrlr.RetryBackOffRandomRange": "0",
    "AlignedDataCtrlr.Interval": "0",  # no clock-aligned events at random times of day
}


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


async def start(
    session: Session,
    *,
    csms: CsmsConfig | None = None,
    overrides: dict[str, str] | None = None,
    versions: tuple[OcppVersion, ...] | None = None,
    evses: int = 1,
    station_id: str = "CB-TEST",
) -> Station:
    if session.csms is None:
        await session.start_csms(config=csms)
    assert session.csms is not None
    config = StationConfig(
        station_id=station_id,
        csms_url=session.csms.url,
        evse_count=evses,
        overrides={**FAST, **(overrides or {})},
        call_timeout=5,
    )
    if versions:
        config.versions = versions
    station = session.add_station(config)
    await wait_until(lambda: station.online, 10)
    return station


def wire(session: Session, action: str | None = None, *, sender: str | None = None) -> list[CaptureRecord]:
    """Frames as seen at the station end (one copy per frame)."""
    return [
        r
        for r in session.store
        if r.observer == "station"
        and (action is None or r.action == action)
        and (sender is None or r.sender == sender)
    ]


def tx_events(session: Session) -> list[dict[str, Any]]:
    return [r.payload for r in wire(session, "TransactionEvent", sender="station") if r.message_type == 2]


def assert_all_valid(session: Session) -> None:
    bad = [(r.action, r.problems) for r in session.store if r.problems]
    assert bad == [], bad


async def test_boot_accepted_reports_connectors_and_adopts_interval(session: Session) -> None:
    station = await start(session, csms=CsmsConfig(heartbeat_interval=42), evses=2)
    boot = wire(session, "BootNotification", sender="station")[0].payload
    assert boot["reason"] == "PowerUp"
    # B01.FR.05 / G01: on 2.1 every connector's AvailabilityState goes out as NotifyEvent.
    await wait_until(lambda: len(wire(session, "NotifyEvent", sender="station")) >= 2)
    reported = {
        (e["component"]["evse"]["id"], e["actualValue"])
        for r in wire(session, "NotifyEvent", sender="station")
        for e in r.payload["eventData"]
    }
    assert reported == {(1, "Available"), (2, "Available")}
    assert station.version is OcppVersion.V21
    assert station.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 42
    assert_all_valid(session)


async def test_plug_tap_charge_and_stop(session: Session) -> None:
    station = await start(session)
    await station.plug(1)
    assert await station.tap("CARD-1") == "Accepted"
    # E01 (PowerPathClosed): Authorize, then Started with evse, idToken and Transaction.Begin values.
    await wait_until(lambda: tx_events(session))
    started = tx_events(session)[0]
    assert started["eventType"] == "Started"
    assert started["seqNo"] == 0
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert started["idToken"] == {"idToken": "CARD-1", "type": "ISO14443"}
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
    assert [r.action for r in wire(session, sender="station") if r.message_type == 2].index("Authorize") < [
        r.action for r in wire(session, sender="station") if r.message_type == 2
    ].index("TransactionEvent")

    # Charging: power flows and periodic values arrive every TxUpdatedInterval (5 s simulated).
    await wait_until(lambda: any(e["triggerReason"] == "MeterValuePeriodic" for e in tx_events(session)), 5)
    periodic = next(e for e in tx_events(session) if e["triggerReason"] == "MeterValuePeriodic")
    values = {sv["measurand"]: sv for sv in periodic["meterValue"][0]["sampledValue"] if "phase" not in sv}
    assert values["Power.Active.Import"]["value"] > 10_000  # 3 x 16 A typical EV near 11 kW
    assert values["Energy.Active.Import.Register"]["value"] > 0
    assert station.evses[1].charging_state().value == "Charging"

    # Second tap with the same card stops it (E07, TxStopPoint Authorized): Ended, Local.
    await station.tap("card-1")  # idTokens compare case-insensitively
    await wait_until(lambda: tx_events(session)[-1]["eventType"] == "Ended")
    events = tx_events(session)
    ended = events[-1]
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.End"
    assert [e["seqNo"] for e in events] == list(range(len(events)))  # gap-free (E §1.3)
    assert len({e["transactionInfo"]["transactionId"] for e in events}) == 1
    energy = [
        sv["value"]
        for e in events
        for mv in e.get("meterValue", [])
        for sv in mv["sampledValue"]
        if sv.get("measurand") == "Energy.Active.Import.Register"
    ]
    assert energy == sorted(energy) and energy[-1] > energy[0]
    # The CSMS saw the same transaction with its final energy.
    link = session.csms.stations["CB-TEST"]  # type: ignore[union-attr]
    view = link.transactions[ended["transactionInfo"]["transactionId"]]
    await wait_until(lambda: view.ended is not None, 2)  # the station sent it; the CSMS is handling it
    assert view.ended is not None and view.stopped_reason == "Local" and view.energy_wh == energy[-1]
    assert_all_valid(session)


async def test_refused_card_starts_nothing(session: Session) -> None:
    station = await start(session, csms=CsmsConfig(token_status={"STOLEN": "Blocked"}))
    await station.plug(1)
    assert await station.tap("stolen") == "Blocked"
    await asyncio.sleep(0.3)
    assert tx_events(session) == []
    assert station.evses[1].auth_status == "Blocked"
    assert "blocked" in station.evses[1].message.lower()
    assert station.evses[1].reading is None or station.evses[1].reading.power_w == 0


async def test_unplug_ends_transaction_with_ev_disconnected(session: Session) -> None:
    station = await start(session)
    await station.plug(1)
    await station.tap("CARD-2")
    await wait_until(lambda: tx_events(session))
    await station.unplug(1)
    await wait_until(lambda: tx_events(session)[-1]["eventType"] == "Ended")
    ended = tx_events(session)[-1]
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    # The connector goes back to Available and the CSMS is told.
    await wait_until(lambda: session.csms.stations["CB-TEST"].connector_status.get((1, 1)) == "Available")  # type: ignore[union-attr]


async def test_remote_start_and_stop(session: Session) -> None:
    station = await start(session)
    await station.plug(1)
    assert session.csms is not None
    answer = await session.csms.call(
        "CB-TEST",
        "RequestStartTransaction",
        {"idToken": {"idToken": "APP-7", "type": "Central"}, "remoteStartId": 77},
    )
    assert answer["status"] == "Accepted"
    await wait_until(lambda: tx_events(session))
    started = tx_events(session)[0]
    assert started["triggerReason"] == "RemoteStart"
    assert started["transactionInfo"]["remoteStartId"] == 77  # F02.FR.01, F02.FR.21
    tx_id = started["transactionInfo"]["transactionId"]
    answer = await session.csms.call("CB-TEST", "RequestStopTransaction", {"transactionId": tx_id})
    assert answer["status"] == "Accepted"
    await wait_until(lambda: tx_events(session)[-1]["eventType"] == "Ended")
    ended = tx_events(session)[-1]
    assert ended["triggerReason"] == "RemoteStop"
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    unknown = await session.csms.call("CB-TEST", "RequestStopTransaction", {"transactionId": "nope"})
    assert unknown["status"] == "Rejected"
    assert station.evses[1].transaction is None
    assert_all_valid(session)


async def test_set_heartbeat_interval_drives_heartbeats(session: Session) -> None:
    await start(session)
    assert session.csms is not None
    result = await session.csms.call(
        "CB-TEST",
        "SetVariables",
        {
            "setVariableData": [
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                    "attributeValue": "2",
                }
            ]
        },
    )
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
    got = await session.csms.call(
        "CB-TEST",
        "GetVariables",
        {
            "getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
            ]
        },
    )
    assert got["getVariableResult"][0]["attributeValue"] == "2"
    # 2 s simulated = 0.2 s real: several heartbeats within a second of wall time (G02).
    before = len(wire(session, "Heartbeat", sender="station"))
    await asyncio.sleep(1.0)
    assert len(wire(session, "Heartbeat", sender="station")) - before >= 3


async def test_boot_pending_then_accepted(session: Session) -> None:
    await session.start_csms(config=CsmsConfig(boot_status="Pending", boot_retry_interval=2))
    assert session.csms is not None
    station = session.add_station(
        StationConfig(station_id="CB-PEND", csms_url=session.csms.url, overrides=FAST)
    )
    await wait_until(lambda: len(wire(session, "BootNotification", sender="station")) >= 2)
    assert station.boot_status == "Pending" and not station.online
    # B02.FR.05: a remote start while Pending is rejected.
    answer = await session.csms.call(
        "CB-PEND",
        "RequestStartTransaction",
        {"idToken": {"idToken": "X", "type": "Central"}, "remoteStartId": 1},
    )
    assert answer["status"] == "Rejected"
    session.csms.config.boot_status = "Accepted"
    await wait_until(lambda: station.online)
    # Nothing but BootNotification went out before acceptance (B02.FR.02 / B01.FR.08).
    calls = [r.action for r in wire(session, sender="station") if r.message_type == 2]
    first_other = next(i for i, a in enumerate(calls) if a != "BootNotification")
    assert all(a == "BootNotification" for a in calls[:first_other])
    assert station.boot_status == "Accepted"


async def test_csms_vanishes_mid_transaction_events_queued_and_replayed(session: Session) -> None:
    station = await start(session)
    assert session.csms is not None
    port = session.csms.port
    await station.plug(1)
    await station.tap("CARD-3")
    await wait_until(lambda: tx_events(session))
    await session.csms.stop()
    await wait_until(lambda: not station.online)
    await station.tap("CARD-3")  # stop while offline: the Ended event waits in the queue
    await wait_until(lambda: station.queued_events >= 1)
    await session.start_csms(port=port)
    await wait_until(lambda: station.online and station.queued_events == 0, 15)
    ended = tx_events(session)[-1]
    assert ended["eventType"] == "Ended"
    assert ended["offline"] is True  # E12: queued while offline
    # A reconnect is not a reboot: no second BootNotification (Part 4 §5.4).
    assert len(wire(session, "BootNotification", sender="station")) == 1
    events = tx_events(session)
    assert [e["seqNo"] for e in events] == list(range(len(events)))


async def test_ocpp201_station_uses_status_notification(session: Session) -> None:
    station = await start(session, versions=(OcppVersion.V201,))
    assert station.version is OcppVersion.V201
    await wait_until(lambda: wire(session, "StatusNotification", sender="station"))
    status = wire(session, "StatusNotification", sender="station")[0].payload
    assert status["connectorStatus"] == "Available"
    assert_all_valid(session)


async def test_unknown_action_from_csms_answered_not_supported(session: Session) -> None:
    await start(session)
    assert session.csms is not None
    from app.protocol.errors import NotSupported

    with pytest.raises(NotSupported):
        await session.csms.call("CB-TEST", "GetDisplayMessages", {"requestId": 1})


async def test_get_base_report_arrives_as_notify_report_parts(session: Session) -> None:
    station = await start(session, overrides={"DeviceDataCtrlr.ItemsPerMessage[GetReport]": "10"})
    assert session.csms is not None
    answer = await session.csms.call(
        "CB-TEST", "GetBaseReport", {"requestId": 9, "reportBase": "FullInventory"}
    )
    assert answer["status"] == "Accepted"
    await wait_until(
        lambda: any(not r.payload.get("tbc") for r in wire(session, "NotifyReport", sender="station"))
    )
    parts = [r.payload for r in wire(session, "NotifyReport", sender="station")]
    # B07: same requestId, seqNo 0.., tbc on all but the last, at most ItemsPerMessage entries each.
    assert {p["requestId"] for p in parts} == {9}
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert [p["tbc"] for p in parts] == [True] * (len(parts) - 1) + [False]
    assert all(len(p["reportData"]) <= 10 for p in parts)
    names = {e["variable"]["name"] for p in parts for e in p["reportData"]}
    assert {"HeartbeatInterval", "TxStartPoint", "AvailabilityState"} <= names
    secrets = [
        a
        for p in parts
        for e in p["reportData"]
        if e["variable"]["name"] == "BasicAuthPassword"
        for a in e["variableAttribute"]
    ]
    assert all("value" not in a for a in secrets)  # WriteOnly values are never reported
    assert station.online
    assert_all_valid(session)


async def test_tx_start_point_ev_connected_starts_on_plug_in(session: Session) -> None:
    # E01/E02 with TxStartPoint=EVConnected: the cable starts the transaction, the card joins it.
    station = await start(session, overrides={"TxCtrlr.TxStartPoint": "EVConnected"})
    await station.plug(1)
    await wait_until(lambda: tx_events(session))
    started = tx_events(session)[0]
    assert started["triggerReason"] == "CablePluggedIn"
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
    assert "idToken" not in started
    assert station.evses[1].reading is None or station.evses[1].reading.power_w == 0
    await station.tap("LATE-CARD")
    await wait_until(lambda: len(tx_events(session)) >= 2)
    authorized = tx_events(session)[1]
    assert authorized["eventType"] == "Updated" and authorized["triggerReason"] == "Authorized"
    assert authorized["idToken"]["idToken"] == "LATE-CARD"
    assert "evse" not in authorized  # evse goes only in the first event after the EV connected
    await wait_until(
        lambda: station.evses[1].reading is not None and station.evses[1].reading.power_w > 1000, 5
    )
    assert_all_valid(session)


async def test_tx_start_point_authorized_times_out_without_ev(session: Session) -> None:
    # TxStartPoint=Authorized: the card starts it; no cable within EVConnectionTimeOut ends it (E03).
    station = await start(
        session, overrides={"TxCtrlr.TxStartPoint": "Authorized", "TxCtrlr.EVConnectionTimeOut": "3"}
    )
    await station.tap("NO-CAR")
    await wait_until(lambda: tx_events(session))
    assert tx_events(session)[0]["triggerReason"] == "Authorized"
    await wait_until(lambda: tx_events(session)[-1]["eventType"] == "Ended", 5)
    ended = tx_events(session)[-1]
    assert ended["triggerReason"] == "EVConnectTimeout"
    assert ended["transactionInfo"]["stoppedReason"] == "Timeout"
    assert station.evses[1].authorized is None
    assert_all_valid(session)


async def test_B06_FR_16_17_items_and_bytes_per_message_limits(session: Session) -> None:
    from app.protocol.errors import FormatViolation, OccurrenceConstraintViolation

    await start(
        session,
        overrides={
            "DeviceDataCtrlr.ItemsPerMessage[GetVariables]": "2",
            "DeviceDataCtrlr.BytesPerMessage[SetVariables]": "200",
        },
    )
    assert session.csms is not None
    item = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    with pytest.raises(OccurrenceConstraintViolation):
        await session.csms.call("CB-TEST", "GetVariables", {"getVariableData": [item, item, item]})
    big = [{**item, "attributeValue": "60"}] * 4
    with pytest.raises(FormatViolation):
        await session.csms.call("CB-TEST", "SetVariables", {"setVariableData": big})
    ok = await session.csms.call("CB-TEST", "GetVariables", {"getVariableData": [item]})
    assert ok["getVariableResult"][0]["attributeStatus"] == "Accepted"


async def test_dc_station_charges_at_the_ev_dc_limit(session: Session) -> None:
    from app.station.profile import config_from_template

    await session.start_csms()
    assert session.csms is not None
    config = config_from_template("dc-150kw-ccs-chademo", station_id="DC-1", csms_url=session.csms.url)
    config.overrides["SampledDataCtrlr.TxUpdatedInterval"] = "5"
    station = session.add_station(config)
    await wait_until(lambda: station.online)
    await station.plug(1)  # a typical EV: 100 kW DC, below the EVSE's 150 kW
    await station.tap("DC-CARD")
    await wait_until(lambda: any(e["triggerReason"] == "MeterValuePeriodic" for e in tx_events(session)), 5)
    periodic = next(e for e in tx_events(session) if e["triggerReason"] == "MeterValuePeriodic")
    values = {sv["measurand"]: sv for sv in periodic["meterValue"][0]["sampledValue"]}
    assert values["Power.Active.Import"]["value"] == 100_000
    assert "phase" not in values["Current.Import"] and "phase" not in values["Voltage"]  # DC has none
    # P = U * I on the DC side, within rounding.
    assert abs(values["Voltage"]["value"] * values["Current.Import"]["value"] - 100_000) < 300
    assert_all_valid(session)
