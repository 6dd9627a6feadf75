"""H: reservation — ReserveNow (H01), CancelReservation (H02), use of a reserved EVSE (H03),
expiry (H04), removal when the EVSE becomes unusable (H01.FR.16/17)."""

from __future__ import annotations

from typing import Any

from tests.conformance.conftest import Bench, token


def _reserve(
    bench: Bench, rid: int, owner: str, evse: int | None = None, seconds: float = 600
) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": rid, "expiryDateTime": bench.in_future(seconds), "idToken": token(owner)}
    if evse is not None:
        payload["evseId"] = evse
    return payload


async def _reserve_status(
    bench: Bench, rid: int, owner: str, evse: int | None = None, seconds: float = 600
) -> str:
    answer = await bench.call("ReserveNow", _reserve(bench, rid, owner, evse, seconds))
    status: str = answer["status"]
    return status


async def test_H01_H03_reserved_evse_serves_only_its_token(bench: Bench) -> None:
    station = await bench.station()
    assert await _reserve_status(bench, 7, "OWNER", 1) == "Accepted"  # H01.FR.03
    await bench.until(lambda: bench.last_state(1) == "Reserved")  # H01.FR.23
    await station.plug(1)  # somebody else's car
    await bench.settle(0.5)
    assert bench.last_state(1) == "Reserved"  # G01.FR.09: no matching token, status unchanged
    assert await station.tap("STRANGER", 1) == "Reserved"
    await bench.settle(0.5)
    assert bench.tx_events() == []
    assert await station.tap("OWNER", 1) == "Accepted"  # H03.FR.01
    await bench.until(lambda: bench.tx_events())
    started = bench.tx_events()[0]
    assert started["reservationId"] == 7  # H01.FR.15 / E01.FR.13
    await bench.until(lambda: bench.last_state(1) == "Occupied")  # H03.FR.10
    await bench.until(lambda: len(bench.tx_events()) >= 1 and station.queued_events == 0)
    # The reservation is used up: it cannot be cancelled any more, and no later event repeats it.
    assert (await bench.call("CancelReservation", {"reservationId": 7}))["status"] == "Rejected"
    await station.tap("OWNER", 1)
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
    assert [e for e in bench.tx_events() if "reservationId" in e] == [started]


async def test_H03_FR_10_E03_FR_03_card_first_reservation_id_in_the_started_event(bench: Bench) -> None:
    station = await bench.station()
    assert await _reserve_status(bench, 9, "OWNER", 1) == "Accepted"
    await bench.until(lambda: bench.last_state(1) == "Reserved")
    assert await station.tap("OWNER", 1) == "Accepted"  # no EV yet: no transaction (PowerPathClosed)
    await bench.until(lambda: bench.last_state(1) == "Available")  # H03.FR.10: consumed, nothing plugged
    await station.plug(1)
    await bench.until(lambda: bench.tx_events())
    assert bench.tx_events()[0]["reservationId"] == 9


async def test_H03_FR_09_remote_start_with_the_reserved_token_consumes_the_reservation(bench: Bench) -> None:
    station = await bench.station()
    assert await _reserve_status(bench, 8, "APP-OWNER", 1) == "Accepted"
    await station.plug(1)
    start = await bench.call(
        "RequestStartTransaction", {"idToken": token("APP-OWNER"), "remoteStartId": 3, "evseId": 1}
    )
    assert start["status"] == "Accepted"
    await bench.until(lambda: bench.tx_events())
    started = bench.tx_events()[0]
    assert started["reservationId"] == 8 and started["transactionInfo"]["remoteStartId"] == 3


async def test_H01_reserve_now_statuses(bench: Bench) -> None:
    station = await bench.station(evses=4)
    await station.plug(1)
    assert await _reserve_status(bench, 1, "X", 1) == "Occupied"  # H01.FR.11
    await station.set_fault(2, True)
    assert await _reserve_status(bench, 2, "X", 2) == "Faulted"  # H01.FR.12
    await bench.call("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 3}})
    assert await _reserve_status(bench, 3, "X", 3) == "Unavailable"  # H01.FR.14
    assert await _reserve_status(bench, 4, "X", 9) == "Rejected"  # no such EVSE
    # H01.FR.02: the same id again replaces the reservation (here: moves it).
    assert await _reserve_status(bench, 5, "X", 4) == "Accepted"
    await bench.until(lambda: bench.last_state(4) == "Reserved")
    assert await _reserve_status(bench, 5, "X", 4) == "Accepted"
    assert await _reserve_status(bench, 6, "Y", 4) == "Occupied"  # H01.FR.11: Reserved counts as taken
    # H01.FR.01: reservations switched off.
    await bench.call(
        "SetVariables",
        {
            "setVariableData": [
                {
                    "component": {"name": "ReservationCtrlr"},
                    "variable": {"name": "Enabled"},
                    "attributeValue": "false",
                }
            ]
        },
    )
    assert await _reserve_status(bench, 7, "X", 1) == "Rejected"


async def test_H02_cancel_reservation(bench: Bench) -> None:
    await bench.station()
    assert await _reserve_status(bench, 11, "X", 1) == "Accepted"
    await bench.until(lambda: bench.last_state(1) == "Reserved")
    assert (await bench.call("CancelReservation", {"reservationId": 11}))["status"] == "Accepted"  # H02.FR.02
    await bench.until(lambda: bench.last_state(1) == "Available")
    assert (await bench.call("CancelReservation", {"reservationId": 11}))["status"] == "Rejected"  # H02.FR.01
    assert bench.csms.received("ReservationStatusUpdate") == []  # a cancel is not announced


async def test_H04_expired_reservation_is_reported_and_the_evse_freed(bench: Bench) -> None:
    station = await bench.station()
    assert await _reserve_status(bench, 21, "LATE", 1, seconds=3) == "Accepted"
    await bench.until(lambda: bench.last_state(1) == "Reserved")
    await bench.until(lambda: bench.csms.received("ReservationStatusUpdate"), 3)
    assert bench.csms.received("ReservationStatusUpdate") == [
        {"reservationId": 21, "reservationUpdateStatus": "Expired"}  # H04.FR.01
    ]
    await bench.until(lambda: bench.last_state(1) == "Available")  # H04.FR.03
    assert await station.tap("ANYONE", 1) == "Accepted"  # H04.FR.02


async def test_H01_FR_16_FR_17_reservation_removed_when_the_evse_becomes_unusable(bench: Bench) -> None:
    station = await bench.station(evses=2)
    assert await _reserve_status(bench, 31, "A", 1) == "Accepted"
    assert await _reserve_status(bench, 32, "B", 2) == "Accepted"
    await station.set_fault(1, True)  # H01.FR.16
    await bench.call(
        "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 2}}
    )  # H01.FR.17
    await bench.until(lambda: len(bench.csms.received("ReservationStatusUpdate")) == 2)
    assert sorted(
        (u["reservationId"], u["reservationUpdateStatus"])
        for u in bench.csms.received("ReservationStatusUpdate")
    ) == [(31, "Removed"), (32, "Removed")]
    await bench.until(lambda: bench.last_state(1) == "Faulted" and bench.last_state(2) == "Unavailable")


async def test_H01_FR_04_FR_20_non_evse_specific_reservation(bench: Bench) -> None:
    station = await bench.station(evses=2)
    await bench.until(lambda: len(bench.connector_states()) == 2)
    assert await _reserve_status(bench, 41, "ANYWHERE") == "Accepted"  # H01.FR.04 / H01.FR.18
    await bench.settle(0.5)
    assert bench.connector_states()[2:] == []  # two free EVSEs, one reservation: nothing shown yet
    await station.plug(1)  # the other car takes EVSE 1: one free EVSE left for one reservation
    await bench.until(lambda: bench.last_state(2) == "Reserved")  # H01.FR.20
    assert await station.tap("STRANGER", 2) == "Reserved"
    assert await _reserve_status(bench, 42, "SECOND") == "Occupied"  # no EVSE left to promise
    assert await station.tap("ANYWHERE") == "Accepted"  # H03.FR.03
    await station.plug(2)
    await bench.until(lambda: bench.tx_events())
    started = bench.tx_events()[0]
    assert started["reservationId"] == 41 and started["evse"]["id"] == 2


async def test_H01_FR_19_non_evse_specific_refused_when_not_supported(bench: Bench) -> None:
    await bench.station(overrides={"ReservationCtrlr.NonEvseSpecific": "false"})
    assert await _reserve_status(bench, 51, "ANYWHERE") == "Rejected"
