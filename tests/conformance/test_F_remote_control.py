"""F: remote control — remote start (F01/F02), remote stop (F03), unlock (F05), TriggerMessage (F06)."""

from __future__ import annotations

from typing import Any

import pytest

from app.protocol.errors import NotSupported
from tests.conformance.conftest import Bench, token

APP = {"idToken": "APP-USER", "type": "Central"}


def _start(remote_id: int, evse: int | None = None, id_token: dict[str, str] = APP) -> dict[str, Any]:
    payload: dict[str, Any] = {"idToken": id_token, "remoteStartId": remote_id}
    if evse is not None:
        payload["evseId"] = evse
    return payload


# ============================================================================ F01/F02: remote start


async def test_F01_FR_13_FR_25_remote_start_joins_the_transaction_the_cable_started(bench: Bench) -> None:
    station = await bench.station(overrides={"TxCtrlr.TxStartPoint": "EVConnected"})
    await station.plug(1)
    await bench.until(lambda: bench.tx_events())
    tx_id = bench.tx_events()[0]["transactionInfo"]["transactionId"]
    answer = await bench.call("RequestStartTransaction", _start(11, evse=1))
    assert answer == {"status": "Accepted", "transactionId": tx_id}  # F01.FR.13
    await bench.until(lambda: len(bench.tx_events()) == 2)
    update = bench.tx_events()[1]
    assert (update["eventType"], update["triggerReason"]) == ("Updated", "RemoteStart")  # F01.FR.19
    assert update["transactionInfo"]["remoteStartId"] == 11  # F01.FR.25
    assert update["idToken"] == APP  # F01.FR.04
    await bench.until(lambda: station.evses[1].reading is not None and station.evses[1].reading.power_w > 0)


@pytest.mark.parametrize("cable_first", [True, False], ids=["cable-first", "remote-first"])
async def test_F01_F02_FR_01_FR_21_remote_start_without_authorize(bench: Bench, cable_first: bool) -> None:
    station = await bench.station()  # TxStartPoint PowerPathClosed, AuthorizeRemoteStart false
    if cable_first:
        await station.plug(1)
    answer = await bench.call("RequestStartTransaction", _start(12))  # no evseId: the station picks
    assert answer == {"status": "Accepted"}  # no transaction yet: no transactionId
    if not cable_first:
        await bench.settle(1.0)
        assert bench.tx_events() == []  # waiting for the EV (F02)
        await station.plug(1)
    await bench.until(lambda: bench.tx_events())
    started = bench.tx_events()[0]
    assert (started["eventType"], started["triggerReason"]) == ("Started", "RemoteStart")  # F02.FR.21
    assert started["transactionInfo"]["remoteStartId"] == 12  # F02.FR.01
    assert started["idToken"] == APP
    assert bench.csms.received("Authorize") == []  # F01.FR.02: not checked first
    await bench.until(lambda: station.evses[1].reading is not None and station.evses[1].reading.power_w > 0)


async def test_F01_FR_20_station_picks_an_evse_not_reserved_for_someone_else(bench: Bench) -> None:
    station = await bench.station(evses=2)
    reserved = await bench.call(
        "ReserveNow",
        {"id": 1, "expiryDateTime": bench.in_future(600), "idToken": token("OWNER"), "evseId": 1},
    )
    assert reserved["status"] == "Accepted"
    answer = await bench.call("RequestStartTransaction", _start(41))  # no evseId
    assert answer["status"] == "Accepted"
    await station.plug(2)
    await bench.until(lambda: bench.tx_events())
    assert bench.tx_events()[0]["evse"]["id"] == 2
    assert station.evses[1].reservation is not None  # the reservation is untouched


async def test_F01_FR_01_authorize_remote_start_checks_the_token_first(bench: Bench) -> None:
    station = await bench.station(evses=2, overrides={"AuthCtrlr.AuthorizeRemoteStart": "true"})
    bench.csms.token_status = {"STOLEN": "Blocked"}
    await station.plug(1)
    await station.plug(2)
    assert (await bench.call("RequestStartTransaction", _start(21, 1, token("GOOD"))))["status"] == "Accepted"
    await bench.until(lambda: bench.tx_events())
    calls = bench.calls()
    assert calls.index("Authorize") < calls.index("TransactionEvent")
    assert bench.csms.received("Authorize")[0]["idToken"] == token("GOOD")
    # A refused token: the request itself was accepted, but nothing starts.
    assert (await bench.call("RequestStartTransaction", _start(22, 2, token("STOLEN"))))[
        "status"
    ] == "Accepted"
    await bench.until(lambda: len(bench.csms.received("Authorize")) == 2)
    await bench.settle(1.0)
    assert len(bench.tx_events()) == 1 and station.evses[2].transaction is None
    assert station.evses[2].auth_status == "Blocked"


async def test_F01_FR_21_FR_23_FR_24_remote_start_rejections(bench: Bench) -> None:
    station = await bench.station(evses=3)
    await bench.charging(station, "CARD-1", 1)
    busy = await bench.call("RequestStartTransaction", _start(31, 1))
    assert busy["status"] == "Rejected"  # F01.FR.24: an authorized transaction runs there
    await bench.call("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 2}})
    unavailable = await bench.call("RequestStartTransaction", _start(32, 2))
    assert unavailable["status"] == "Rejected"  # F01.FR.23
    reserved = await bench.call(
        "ReserveNow",
        {"id": 5, "expiryDateTime": bench.in_future(600), "idToken": token("OWNER"), "evseId": 3},
    )
    assert reserved["status"] == "Accepted"
    other = await bench.call("RequestStartTransaction", _start(33, 3))
    assert other["status"] == "Rejected"  # F01.FR.21: reserved for another idToken
    unknown = await bench.call("RequestStartTransaction", _start(34, 9))
    assert unknown["status"] == "Rejected"
    await bench.settle(0.5)
    assert len(bench.tx_events()) == 1


# ============================================================================ F03: remote stop


async def test_F03_FR_03_FR_07_FR_08_remote_stop_ends_the_transaction(bench: Bench) -> None:
    station = await bench.station()
    tx_id = await bench.charging(station)
    unknown = await bench.call("RequestStopTransaction", {"transactionId": "not-a-transaction"})
    assert unknown["status"] == "Rejected"  # F03.FR.08
    answer = await bench.call("RequestStopTransaction", {"transactionId": tx_id})
    assert answer["status"] == "Accepted"  # F03.FR.07
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
    ended = bench.tx_events()[-1]
    assert ended["triggerReason"] == "RemoteStop"  # F03.FR.03
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert ended["meterValue"][-1]["sampledValue"][0]["context"] == "Transaction.End"  # F03.FR.04


async def test_F03_FR_02_remote_stop_only_stops_energy_when_stop_point_is_ev_connected(bench: Bench) -> None:
    station = await bench.station(overrides={"TxCtrlr.TxStopPoint": "EVConnected"})
    tx_id = await bench.charging(station)
    assert (await bench.call("RequestStopTransaction", {"transactionId": tx_id}))["status"] == "Accepted"
    await bench.until(lambda: len(bench.tx_events()) == 2)
    update = bench.tx_events()[1]
    assert (update["eventType"], update["triggerReason"]) == ("Updated", "RemoteStop")
    await bench.until(lambda: station.evses[1].reading is not None and station.evses[1].reading.power_w == 0)
    assert station.evses[1].transaction is not None
    await station.unplug(1)
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])


# ============================================================================ F05: unlock connector


async def _unlock(bench: Bench, evse: int, connector: int = 1) -> str:
    answer = await bench.call("UnlockConnector", {"evseId": evse, "connectorId": connector})
    status: str = answer["status"]
    return status


async def test_F05_unlock_connector_statuses(bench: Bench) -> None:
    station = await bench.station(connectors=[["sType2"], ["sType2"], ["sType2"]])
    assert await _unlock(bench, 1) == "Unlocked"  # F05.FR.04/06: nothing plugged, still tried
    assert await _unlock(bench, 1, 5) == "UnknownConnector"  # F05.FR.03
    assert await _unlock(bench, 9) == "UnknownConnector"
    await bench.charging(station, "CARD-1", 1)
    assert await _unlock(bench, 1) == "OngoingAuthorizedTransaction"  # F05.FR.02
    await bench.settle(0.5)
    assert station.evses[1].transaction is not None
    await station.set_fault(2, True)
    assert await _unlock(bench, 2) == "UnlockFailed"  # F05.FR.05
    # A plugged cable without an authorized transaction is released: the EVSE is free again.
    await station.plug(3)
    await bench.until(lambda: bench.last_state(3) == "Occupied")
    assert await _unlock(bench, 3) == "Unlocked"
    await bench.until(lambda: bench.last_state(3) == "Available")


async def test_F05_fixed_cable_has_no_lock_not_supported(bench: Bench) -> None:
    await bench.station(connectors=[["cType2"]])
    # A tethered cable has no retention lock to unlock: CALLERROR NotSupported.
    with pytest.raises(NotSupported):
        await bench.call("UnlockConnector", {"evseId": 1, "connectorId": 1})


async def test_F05_unlock_ends_an_unauthorized_transaction(bench: Bench) -> None:
    station = await bench.station(connectors=[["sType2"]], overrides={"TxCtrlr.TxStartPoint": "EVConnected"})
    await station.plug(1)
    await bench.until(lambda: bench.tx_events())
    assert await _unlock(bench, 1) == "Unlocked"
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
    assert bench.tx_events()[-1]["triggerReason"] == "UnlockCommand"
    await bench.until(lambda: bench.last_state(1) == "Available")


# ============================================================================ F06: trigger message

# requestedMessage -> (expected status, message the station then sends or None, needs evse+connector)
TRIGGERS: dict[str, tuple[str, str | None]] = {
    "BootNotification": ("Rejected", None),  # F06.FR.17: already Accepted
    "LogStatusNotification": ("Accepted", "LogStatusNotification"),  # F06.FR.15
    "FirmwareStatusNotification": ("Accepted", "FirmwareStatusNotification"),  # F06.FR.16
    "Heartbeat": ("Accepted", "Heartbeat"),
    "MeterValues": ("Accepted", "MeterValues"),  # F06.FR.06
    "SignChargingStationCertificate": ("Accepted", "SignCertificate"),  # A02.FR.02
    "SignV2GCertificate": ("Accepted", "SignCertificate"),  # A02.FR.22
    "SignV2G20Certificate": ("Accepted", "SignCertificate"),  # A02.FR.23
    "SignCombinedCertificate": ("Accepted", "SignCertificate"),
    "StatusNotification": ("Accepted", "StatusNotification"),
    "TransactionEvent": ("Accepted", "TransactionEvent"),  # F06.FR.07
    "PublishFirmwareStatusNotification": ("Rejected", None),  # a station is no Local Controller
    "CustomTrigger": ("NotImplemented", None),  # F06.FR.19: unknown custom trigger
}


@pytest.mark.parametrize("requested", list(TRIGGERS))
async def test_F06_trigger_message_each_value(bench: Bench, requested: str) -> None:
    station = await bench.station()
    if requested == "TransactionEvent":
        await bench.charging(station)
    status, follow_up = TRIGGERS[requested]
    payload: dict[str, Any] = {"requestedMessage": requested}
    if requested == "StatusNotification":
        payload["evse"] = {"id": 1, "connectorId": 1}  # F06.FR.13
    if requested == "CustomTrigger":
        payload["customTrigger"] = "com.example.NoSuchTrigger"
    before = len(bench.csms.received(follow_up)) if follow_up else 0
    calls_before = len(bench.calls())
    answer = await bench.call("TriggerMessage", payload)
    assert answer["status"] == status
    if follow_up is None:
        await bench.settle(0.5)
        assert bench.calls()[calls_before:] == []  # nothing is sent for a refused trigger
        return
    await bench.until(lambda: len(bench.csms.received(follow_up)) > before)
    message = bench.csms.received(follow_up)[-1]
    # F06.FR.04: the response goes out before the requested message.
    frames = bench.wire(sender="station")
    answered = next(i for i, r in enumerate(frames) if r.action == "TriggerMessage" and r.message_type == 3)
    sent = max(i for i, r in enumerate(frames) if r.action == follow_up and r.message_type == 2)
    assert answered < sent
    if requested in ("LogStatusNotification", "FirmwareStatusNotification"):
        assert message["status"] == "Idle"  # nothing is uploading or updating
    elif requested == "MeterValues":
        sampled = message["meterValue"][0]["sampledValue"]
        assert {sv.get("measurand", "Energy.Active.Import.Register") for sv in sampled} == {
            "Energy.Active.Import.Register"  # AlignedDataCtrlr.Measurands
        }
        assert {sv.get("context") for sv in sampled} == {"Trigger"}
    elif follow_up == "SignCertificate":
        assert "BEGIN CERTIFICATE REQUEST" in message["csr"] and isinstance(message["requestId"], int)
    elif requested == "StatusNotification":
        assert (message["evseId"], message["connectorId"], message["connectorStatus"]) == (1, 1, "Available")
    elif requested == "TransactionEvent":
        assert (message["eventType"], message["triggerReason"]) == ("Updated", "Trigger")
        assert message["transactionInfo"]["chargingState"] == "Charging"  # F06.FR.07
        assert message["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


async def test_F06_FR_12_trigger_refusals_without_their_subject(bench: Bench) -> None:
    await bench.station()
    no_connector = await bench.call(
        "TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 1}}
    )
    assert no_connector["status"] == "Rejected"  # F06.FR.12
    no_transaction = await bench.call("TriggerMessage", {"requestedMessage": "TransactionEvent"})
    assert no_transaction["status"] == "Rejected"
    await bench.settle(0.5)
    assert bench.sent("StatusNotification") == [] and bench.tx_events() == []
