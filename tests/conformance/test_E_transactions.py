"""E: transactions — start and stop points (E01-E10), refused ids (E05), offline queue and
retries (E11-E13), GetTransactionStatus (E14), charging states, resumption after power loss (E17).

What a CSMS sees of a transaction is its TransactionEvents: eventType, triggerReason, seqNo,
chargingState, idToken, evse, stoppedReason, offline. Those are asserted here.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from app.station.ev import EVModel
from app.station.station import Station
from tests.conformance.conftest import Bench, token


def _gap_free(events: list[dict[str, Any]]) -> bool:
    """One transaction's seqNo values form 0..n (E01.FR.07 and "Sequence numbers" in E)."""
    return [e["seqNo"] for e in events] == list(range(len(events)))


def _power(station: Station, evse: int = 1) -> float:
    reading = station.evses[evse].reading
    return 0.0 if reading is None else reading.power_w


async def _list_and_preauthorize(bench: Bench, card: str) -> None:
    """A card the station accepts by itself (local list + LocalPreAuthorize): the CSMS's first
    word on it is its TransactionEventResponse (E05)."""
    answer = await bench.call(
        "SendLocalList",
        {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [{"idToken": token(card), "idTokenInfo": {"status": "Accepted"}}],
        },
    )
    assert answer["status"] == "Accepted"


# ============================================================================ E01-E03: start points


@pytest.mark.parametrize("start_point", ["EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer"])
async def test_E01_E02_E03_each_tx_start_point(bench: Bench, start_point: str) -> None:
    station = await bench.station(overrides={"TxCtrlr.TxStartPoint": start_point})
    if start_point == "Authorized":  # E03: card first
        assert await station.tap("CARD-1", 1) == "Accepted"
        await bench.until(lambda: bench.tx_events())
        await station.plug(1)
    else:
        await station.plug(1)
        await bench.settle(0.5)
        if start_point == "EVConnected":
            await bench.until(lambda: bench.tx_events())  # E01.FR.02: the cable alone starts it
        else:
            assert bench.tx_events() == []  # nothing without authorization
        assert await station.tap("CARD-1", 1) == "Accepted"
    await bench.until(
        lambda: len(bench.tx_events()) >= 2 or (start_point != "EVConnected" and bench.tx_events())
    )
    await bench.until(lambda: _power(station) > 0)
    await bench.until(lambda: station.queued_events == 0)
    events = bench.tx_events()
    started = events[0]
    expected_trigger = {
        "EVConnected": "CablePluggedIn",  # E01.FR.02
        "Authorized": "Authorized",  # E01.FR.03
        "PowerPathClosed": "Authorized",  # E01.FR.05: the last condition to become true
        "EnergyTransfer": "ChargingStateChanged",  # E01.FR.06
    }[start_point]
    assert started["eventType"] == "Started" and started["triggerReason"] == expected_trigger
    assert started["seqNo"] == 0
    assert "chargingState" in started["transactionInfo"]  # E01.FR.18: always in Started
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"  # E01.FR.09
    # E01.FR.10 / E02.FR.01: the idToken goes in the first event after authorization.
    with_token = [e for e in events if "idToken" in e]
    assert len(with_token) == 1 and with_token[0]["idToken"] == token("CARD-1")
    if start_point == "EVConnected":
        assert "idToken" not in started
        assert (with_token[0]["eventType"], with_token[0]["triggerReason"]) == ("Updated", "Authorized")
    # E01.FR.16: evse with connectorId once the EV is connected.
    assert any(e.get("evse") == {"id": 1, "connectorId": 1} for e in events)
    assert _gap_free(events)
    assert len({e["transactionInfo"]["transactionId"] for e in events}) == 1
    assert bench.csms.received("TransactionEvent") == events


@pytest.mark.parametrize(
    ("stop_point", "ends_with"),
    [
        ("EVConnected", "unplug"),  # E06.FR.02: the card only stops the energy
        ("Authorized", "card"),  # E06.FR.03: unplugging alone does not end it
        ("PowerPathClosed", "unplug"),  # E06.FR.06
    ],
)
async def test_E06_each_tx_stop_point(bench: Bench, stop_point: str, ends_with: str) -> None:
    station = await bench.station(overrides={"TxCtrlr.TxStopPoint": stop_point})
    await bench.charging(station)
    if ends_with == "unplug":
        if stop_point == "EVConnected":
            await station.tap("CARD-1")  # deauthorized: energy off, transaction goes on
            await bench.until(lambda: len(bench.tx_events()) == 2)
            update = bench.tx_events()[1]
            assert (update["eventType"], update["triggerReason"]) == ("Updated", "StopAuthorized")
            assert update["transactionInfo"]["chargingState"] == "EVConnected"
            await bench.until(lambda: _power(station) == 0)
        await station.unplug(1)
        await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
        ended = bench.tx_events()[-1]
        assert ended["triggerReason"] == "EVCommunicationLost"
        assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"  # E06.FR.08
    else:
        await station.unplug(1)
        await bench.until(lambda: len(bench.tx_events()) == 2)
        update = bench.tx_events()[1]
        assert (update["eventType"], update["triggerReason"]) == ("Updated", "EVCommunicationLost")
        await bench.settle(1.0)
        assert station.evses[1].transaction is not None
        await station.tap("CARD-1")
        await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
        ended = bench.tx_events()[-1]
        assert ended["triggerReason"] == "StopAuthorized"
    assert ended["meterValue"][-1]["sampledValue"][0]["context"] == "Transaction.End"  # E06.FR.11
    assert _gap_free(bench.tx_events())


async def test_E06_FR_07_energy_transfer_stop_point_ends_when_the_ev_is_full(bench: Bench) -> None:
    station = await bench.station(overrides={"TxCtrlr.TxStopPoint": "EnergyTransfer"})
    await station.plug(
        1, ev=EVModel(capacity_wh=1000, soc_percent=99.0, target_soc_percent=100.0, taper_start_soc=100)
    )
    await station.tap("CARD-1")
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"], 5)
    ended = bench.tx_events()[-1]
    assert ended["triggerReason"] == "ChargingStateChanged"
    assert ended["transactionInfo"]["stoppedReason"] == "StoppedByEV"


async def test_E01_FR_19_charging_state_suspended_ev_when_the_ev_is_full(bench: Bench) -> None:
    station = await bench.station()
    await station.plug(
        1, ev=EVModel(capacity_wh=1000, soc_percent=99.0, target_soc_percent=100.0, taper_start_soc=100)
    )
    await station.tap("CARD-1")
    await bench.until(lambda: any(e["triggerReason"] == "ChargingStateChanged" for e in bench.tx_events()), 5)
    states = [e["transactionInfo"].get("chargingState") for e in bench.tx_events()]
    assert states[0] == "Charging"
    change = next(e for e in bench.tx_events() if e["triggerReason"] == "ChargingStateChanged")
    assert change["eventType"] == "Updated"
    assert change["transactionInfo"]["chargingState"] == "SuspendedEV"  # E01.FR.19
    assert station.evses[1].transaction is not None  # stop points EVConnected,Authorized still hold


async def test_E03_FR_05_authorized_start_without_ev_times_out(bench: Bench) -> None:
    station = await bench.station(
        overrides={"TxCtrlr.TxStartPoint": "Authorized", "TxCtrlr.EVConnectionTimeOut": "3"}
    )
    await station.tap("NO-CAR")
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"], 5)
    started, ended = bench.tx_events()
    assert started["triggerReason"] == "Authorized"
    assert ended["triggerReason"] == "EVConnectTimeout"
    assert ended["transactionInfo"]["stoppedReason"] == "Timeout"
    seconds = (
        bench.wire("TransactionEvent", sender="station")[-1].time
        - bench.wire("TransactionEvent", sender="station")[0].time
    ).total_seconds()
    assert seconds >= 2.7  # not before EVConnectionTimeOut


async def test_C01_FR_26_authorization_without_ev_expires_no_transaction(bench: Bench) -> None:
    station = await bench.station(overrides={"TxCtrlr.EVConnectionTimeOut": "2"})
    await station.tap("NO-CAR")  # PowerPathClosed: no transaction yet
    await bench.until(lambda: station.evses[1].authorized is None, 3)
    await station.plug(1)
    await bench.settle(1.0)
    assert bench.tx_events() == []


# ============================================================================ E09/E10: EV-side disconnect


@pytest.mark.parametrize("stop_points", ["EVConnected,Authorized", "Authorized"])
async def test_E09_FR_01_ev_side_disconnect_ends_when_stop_tx_on_ev_side_disconnect(
    bench: Bench, stop_points: str
) -> None:
    # "Authorized" is the configuration E09 is written for: the deauthorization ends it.
    station = await bench.station(overrides={"TxCtrlr.TxStopPoint": stop_points})
    await bench.charging(station)
    await station.unplug(1, ev_side_only=True)
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
    ended = bench.tx_events()[-1]
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert len(bench.tx_events()) == 2
    await bench.until(lambda: _power(station) == 0)
    # The cable is still in the station's socket: Occupied until the driver takes it out.
    await bench.settle(0.5)
    assert bench.last_state(1) == "Occupied"
    await station.unplug(1)
    await bench.until(lambda: bench.last_state(1) == "Available")


async def test_E10_ev_side_disconnect_suspends_when_not_stop_tx_on_ev_side_disconnect(bench: Bench) -> None:
    # TxStopPoint as in E10's own description (without ParkingBayOccupancy, which this
    # station has no detector for); with EVConnected among the stop points it would end.
    station = await bench.station(
        overrides={"TxCtrlr.StopTxOnEVSideDisconnect": "false", "TxCtrlr.TxStopPoint": "Authorized"}
    )
    await bench.charging(station)
    await station.unplug(1, ev_side_only=True)
    await bench.until(lambda: len(bench.tx_events()) == 2)
    suspended = bench.tx_events()[1]
    assert (suspended["eventType"], suspended["triggerReason"]) == ("Updated", "EVCommunicationLost")
    assert suspended["transactionInfo"]["chargingState"] == "Idle"
    await bench.until(lambda: _power(station) == 0)
    assert station.evses[1].transaction is not None
    await station.plug(1)  # the cable goes back into the car: the same transaction charges on
    await bench.until(lambda: len(bench.tx_events()) == 3)
    back = bench.tx_events()[2]
    assert back["triggerReason"] == "CablePluggedIn"
    assert back["transactionInfo"]["chargingState"] == "Charging"
    await bench.until(lambda: _power(station) > 0)
    assert _gap_free(bench.tx_events())


# ============================================================================ E05: id not accepted


async def test_E05_FR_10_invalid_id_in_transaction_response_ends_the_transaction(bench: Bench) -> None:
    station = await bench.station(overrides={"AuthCtrlr.LocalPreAuthorize": "true"})
    await _list_and_preauthorize(bench, "STALE")
    bench.csms.token_status = {"STALE": "Invalid"}  # the CSMS knows better than the list
    await station.plug(1)
    assert await station.tap("STALE") == "Accepted"
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
    started, ended = bench.tx_events()
    assert started["idToken"]["idToken"] == "STALE"
    assert ended["triggerReason"] == "Deauthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    assert bench.csms.received("Authorize") == []
    await bench.until(lambda: _power(station) == 0)


async def test_E05_FR_09_invalid_id_only_stops_energy_when_stop_point_is_ev_connected(bench: Bench) -> None:
    station = await bench.station(
        overrides={"AuthCtrlr.LocalPreAuthorize": "true", "TxCtrlr.TxStopPoint": "EVConnected"}
    )
    await _list_and_preauthorize(bench, "STALE")
    bench.csms.token_status = {"STALE": "Invalid"}
    await station.plug(1)
    await station.tap("STALE")
    await bench.until(lambda: len(bench.tx_events()) == 2)
    update = bench.tx_events()[1]
    assert (update["eventType"], update["triggerReason"]) == ("Updated", "Deauthorized")
    assert update["transactionInfo"]["chargingState"] == "EVConnected"
    await bench.until(lambda: _power(station) == 0)
    assert station.evses[1].transaction is not None


@pytest.mark.parametrize("max_energy_wh", [0, 20])
async def test_E05_FR_02_FR_03_not_stopping_on_invalid_id_allows_max_energy_then_suspends(
    bench: Bench, max_energy_wh: int
) -> None:
    station = await bench.station(
        overrides={
            "AuthCtrlr.LocalPreAuthorize": "true",
            "TxCtrlr.StopTxOnInvalidId": "false",
            "TxCtrlr.MaxEnergyOnInvalidId": str(max_energy_wh),
        }
    )
    await _list_and_preauthorize(bench, "STALE")
    bench.csms.token_status = {"STALE": "Invalid"}
    await station.plug(1)
    await station.tap("STALE")
    await bench.until(lambda: any(e["triggerReason"] == "ChargingStateChanged" for e in bench.tx_events()), 5)
    suspended = next(e for e in bench.tx_events() if e["triggerReason"] == "ChargingStateChanged")
    assert suspended["eventType"] == "Updated"  # E05.FR.02: not deauthorized, not ended
    assert suspended["transactionInfo"]["chargingState"] == "SuspendedEVSE"
    await bench.until(lambda: _power(station) == 0)
    tx = station.evses[1].transaction
    assert tx is not None
    delivered = station.evses[1].electrics.meter.register_wh - tx.meter_start_wh
    assert max_energy_wh <= delivered <= max_energy_wh + 40  # E05.FR.03: up to MaxEnergyOnInvalidId


# ============================================================================ E11-E13: queue and retries


async def test_E11_E12_events_while_offline_are_queued_and_sent_with_offline_flag(bench: Bench) -> None:
    station = await bench.station(overrides={"SampledDataCtrlr.TxUpdatedInterval": "2"})
    tx_id = await bench.charging(station)
    online_before = len(bench.csms.received("TransactionEvent"))
    await station.set_network(False)
    await bench.until(lambda: not station.online)
    await bench.settle(5.0)  # periodic values keep coming, into the queue (E12.FR.01)
    await station.tap("CARD-1")
    assert station.queued_events >= 3
    await station.set_network(True)
    await bench.until(lambda: station.online and station.queued_events == 0, 5)
    received = bench.csms.received("TransactionEvent")
    late = received[online_before:]
    assert all(e.get("offline") is True for e in late)  # E12.FR.02
    assert [e["triggerReason"] for e in late][-1] == "StopAuthorized"
    assert "MeterValuePeriodic" in {e["triggerReason"] for e in late}
    assert all("offline" not in e for e in received[:online_before])
    assert _gap_free(received) and {e["transactionInfo"]["transactionId"] for e in received} == {tx_id}
    assert len(bench.sent("BootNotification")) == 1  # a reconnect, not a reboot


@pytest.mark.speed(20)
async def test_E11_FR_07_event_still_queued_when_the_connection_goes_is_sent_offline(
    lib_bench: Bench,
) -> None:
    # ocpp-lib only: the event must still wait for its answer when the connection goes.
    csms = lib_bench.csms
    station = await lib_bench.station(
        overrides={"TxCtrlr.TxStartPoint": "EVConnected"},
        call_timeout=1.0,
    )
    csms.silent["TransactionEvent"] = 1  # type: ignore[attr-defined]
    await station.plug(1)
    await lib_bench.until(lambda: len(csms.received("TransactionEvent")) == 1)
    await station.set_network(False)
    await lib_bench.until(lambda: not station.online)
    await station.set_network(True)
    await lib_bench.until(lambda: len(csms.received("TransactionEvent")) == 2 and station.queued_events == 0)
    first, again = csms.received("TransactionEvent")
    assert first["seqNo"] == again["seqNo"] == 0
    assert "offline" not in first and again["offline"] is True


@pytest.mark.speed(20)
async def test_E13_FR_02_FR_03_unanswered_event_is_retried_with_growing_interval(lib_bench: Bench) -> None:
    # ocpp-lib only: the built-in CSMS cannot leave a request unanswered.
    csms = lib_bench.csms
    station = await lib_bench.station(
        overrides={
            "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": "3",
            "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": "4",
            "TxCtrlr.TxStartPoint": "EVConnected",  # no Authorize needed (it would share the short timeout)
        },
        call_timeout=0.3,
    )
    csms.silent["TransactionEvent"] = 2  # type: ignore[attr-defined]
    await station.plug(1)
    await lib_bench.until(lambda: len(csms.received("TransactionEvent")) >= 1)
    tx = station.evses[1].transaction
    assert tx is not None
    # E14.FR.02/04: while the retry waits, the CSMS can see the event is still queued.
    status = await lib_bench.call("GetTransactionStatus", {"transactionId": tx.transaction_id})
    assert status == {"ongoingIndicator": True, "messagesInQueue": True}
    await lib_bench.until(
        lambda: len(csms.received("TransactionEvent")) == 3 and station.queued_events == 0, 5
    )
    sends = [r for r in lib_bench.wire("TransactionEvent", sender="station") if r.message_type == 2]
    assert [r.payload["seqNo"] for r in sends] == [0, 0, 0]  # the same message, three times
    gaps = [(b.time - a.time).total_seconds() for a, b in itertools.pairwise(sends)]
    # E13.FR.03: interval x preceding transmissions (4 s, then 8 s), after the 0.3 s timeout.
    assert gaps[0] >= 4 and gaps[1] >= 8, gaps
    status = await lib_bench.call("GetTransactionStatus", {"transactionId": tx.transaction_id})
    assert status == {"ongoingIndicator": True, "messagesInQueue": False}  # E14.FR.05


@pytest.mark.speed(20)
async def test_E13_FR_04_event_dropped_after_the_last_attempt_then_the_next_one_goes(
    lib_bench: Bench,
) -> None:
    csms = lib_bench.csms
    station = await lib_bench.station(
        overrides={
            "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": "2",
            "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": "1",
            "TxCtrlr.TxStartPoint": "EVConnected",
        },
        call_timeout=0.3,
    )
    csms.silent["TransactionEvent"] = 2  # type: ignore[attr-defined]
    await station.plug(1)
    await station.unplug(1)  # the Ended event waits behind the Started one
    await lib_bench.until(
        lambda: len(csms.received("TransactionEvent")) == 3 and station.queued_events == 0, 5
    )
    assert [e["eventType"] for e in csms.received("TransactionEvent")] == ["Started", "Started", "Ended"]


@pytest.mark.speed(20)
async def test_E13_FR_02_event_refused_with_callerror_is_retried(lib_bench: Bench) -> None:
    # The CSMS "does not accept" the message (E13 description): a CALLERROR is a failure to
    # process it, like no answer. ocpp-lib only: the built-in CSMS never refuses one.
    csms = lib_bench.csms
    station = await lib_bench.station(
        overrides={"OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": "1"}
    )
    csms.refuse["TransactionEvent"] = 1  # type: ignore[attr-defined]
    await station.plug(1)
    await station.tap("CARD-1")
    await lib_bench.until(
        lambda: len(csms.received("TransactionEvent")) == 2 and station.queued_events == 0, 1.5
    )
    first, second = csms.received("TransactionEvent")
    assert first == second and first["eventType"] == "Started"


# ============================================================================ E14: transaction status


async def test_E14_get_transaction_status(bench: Bench) -> None:
    station = await bench.station()
    tx_id = await bench.charging(station)
    assert await bench.call("GetTransactionStatus", {"transactionId": tx_id}) == {
        "ongoingIndicator": True,  # E14.FR.02
        "messagesInQueue": False,  # E14.FR.05
    }
    assert await bench.call("GetTransactionStatus", {"transactionId": "never-seen"}) == {
        "ongoingIndicator": False,  # E14.FR.01
        "messagesInQueue": False,
    }
    without_id = await bench.call("GetTransactionStatus", {})
    assert without_id == {"messagesInQueue": False}  # E14.FR.06/08: no ongoingIndicator
    await station.tap("CARD-1")
    await bench.until(lambda: bench.event_types(at_csms=True)[-1:] == ["Ended"])
    ended = await bench.call("GetTransactionStatus", {"transactionId": tx_id})
    assert ended == {"ongoingIndicator": False, "messagesInQueue": False}  # E14.FR.03


# ============================================================================ E17: power loss


@pytest.mark.parametrize(
    ("timeout", "reason", "expected"),
    [
        ("0", "PowerUp", ("Ended", "AbnormalCondition", "PowerLoss")),  # E17.FR.21
        ("0", "Watchdog", ("Ended", "AbnormalCondition", "Reboot")),  # E17.FR.22
        ("300", "PowerUp", ("Updated", "TxResumed", None)),  # E17.FR.10/14
    ],
    ids=["power-loss", "watchdog", "resumed"],
)
async def test_E17_transaction_after_a_power_cycle(
    bench: Bench, timeout: str, reason: str, expected: tuple[str, str, str | None]
) -> None:
    station = await bench.station(overrides={"TxCtrlr.ResumptionTimeout": timeout})
    tx_id = await bench.charging(station)
    await station.reboot(reason)
    await bench.until(lambda: len(bench.sent("BootNotification")) == 2 and station.online, 5)
    await bench.until(lambda: len(bench.tx_events()) == 2 and station.queued_events == 0)
    after = bench.tx_events()[1]
    assert after["transactionInfo"]["transactionId"] == tx_id and after["seqNo"] == 1
    assert (
        after["eventType"],
        after["triggerReason"],
        after["transactionInfo"].get("stoppedReason"),
    ) == expected
    assert "chargingState" in after["transactionInfo"]
    assert bench.sent("BootNotification")[1]["reason"] == reason
