"""G: availability — connector status reporting (G01), ChangeAvailability for EVSE, connector
and station (G03/G04), faults.

On 2.1 a connector's state goes to the CSMS as NotifyEvent(Connector.AvailabilityState,
trigger Delta); on 2.0.1 as StatusNotification. `bench.connector_states()` reads both.
"""

from __future__ import annotations

import pytest

from app.protocol.schemas import OcppVersion
from tests.conformance.conftest import Bench, token


async def _change(bench: Bench, status: str, evse: int | None = None, connector: int | None = None) -> str:
    payload: dict[str, object] = {"operationalStatus": status}
    if evse is not None:
        payload["evse"] = {"id": evse} if connector is None else {"id": evse, "connectorId": connector}
    answer = await bench.call("ChangeAvailability", payload)
    result: str = answer["status"]
    return result


async def test_G03_G04_change_availability_of_evse_connector_and_station(bench: Bench) -> None:
    await bench.station(connectors=[["cType2"], ["cType2", "cCCS2"]])
    await bench.until(lambda: len(bench.connector_states()) == 3)
    # G03.FR.04/06: an inoperative EVSE reports its connectors Unavailable.
    assert await _change(bench, "Inoperative", 1) == "Accepted"
    await bench.until(lambda: bench.last_state(1) == "Unavailable")
    reports = len(bench.connector_states())
    assert await _change(bench, "Inoperative", 1) == "Accepted"  # G03.FR.03: already so
    # One connector of a two-connector EVSE.
    assert await _change(bench, "Inoperative", 2, 2) == "Accepted"
    await bench.until(lambda: bench.last_state(2, 2) == "Unavailable")
    assert bench.connector_states()[reports:] == [(2, 2, "Unavailable")]  # nothing for the already-set EVSE 1
    assert bench.last_state(2, 1) == "Available"
    # G04.FR.07: the whole station.
    assert await _change(bench, "Inoperative") == "Accepted"
    await bench.until(lambda: bench.last_state(2, 1) == "Unavailable")
    # G04.FR.08: back to Operative, every part returns to its own setting.
    assert await _change(bench, "Operative") == "Accepted"
    await bench.until(lambda: bench.last_state(2, 1) == "Available")
    await bench.settle(0.5)
    assert bench.last_state(1) == "Unavailable" and bench.last_state(2, 2) == "Unavailable"
    assert await _change(bench, "Operative", 1) == "Accepted"
    await bench.until(lambda: bench.last_state(1) == "Available")
    assert await _change(bench, "Inoperative", 9) == "Rejected"  # no such EVSE


async def test_G03_FR_05_G01_FR_05_evse_change_scheduled_until_the_transaction_ends(bench: Bench) -> None:
    station = await bench.station()
    await bench.charging(station)
    assert await _change(bench, "Inoperative", 1) == "Scheduled"  # G03.FR.05
    await bench.settle(1.0)
    assert station.evses[1].reading is not None and station.evses[1].reading.power_w > 0  # charges on
    assert bench.last_state(1) == "Occupied"
    await station.tap("CARD-1")
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
    await station.unplug(1)
    await bench.until(lambda: bench.last_state(1) == "Unavailable")  # G01.FR.05: not Available
    start = await bench.call(
        "RequestStartTransaction", {"idToken": {"idToken": "A", "type": "Central"}, "remoteStartId": 1}
    )
    assert start["status"] == "Rejected"


async def test_G04_FR_06_station_change_scheduled_idle_evses_follow_at_once(bench: Bench) -> None:
    station = await bench.station(evses=2)
    await bench.charging(station, "CARD-1", 1)
    assert await _change(bench, "Inoperative") == "Scheduled"  # G04.FR.06
    await bench.until(lambda: bench.last_state(2) == "Unavailable")
    assert bench.last_state(1) == "Occupied" and station.evses[1].transaction is not None
    await station.tap("CARD-1")
    await station.unplug(1)
    await bench.until(lambda: bench.last_state(1) == "Unavailable")


@pytest.mark.parametrize("version", [OcppVersion.V21, OcppVersion.V201], ids=["2.1", "2.0.1"])
async def test_G01_FR_03_FR_04_plug_and_unplug_reported_per_version(
    bench: Bench, version: OcppVersion
) -> None:
    station = await bench.station(versions=(version,))
    await station.plug(1)
    await bench.until(lambda: bench.last_state(1) == "Occupied")  # G01.FR.03
    await station.unplug(1)
    await bench.until(lambda: bench.last_state(1) == "Available")  # G01.FR.04
    if version is OcppVersion.V21:
        # B01.FR.05 / G01: NotifyEvent, StatusNotification is deprecated in 2.1.
        assert bench.sent("StatusNotification") == []
        events = [e for p in bench.csms.received("NotifyEvent") for e in p["eventData"]]
        assert [e["actualValue"] for e in events] == ["Available", "Occupied", "Available"]
        assert {e["trigger"] for e in events} == {"Delta"}
        assert {(e["component"]["name"], e["variable"]["name"]) for e in events} == {
            ("Connector", "AvailabilityState")
        }
    else:
        assert bench.sent("NotifyEvent") == []
        statuses = [p["connectorStatus"] for p in bench.csms.received("StatusNotification")]
        assert statuses == ["Available", "Occupied", "Available"]


async def test_G01_FR_08_siblings_of_the_used_connector_are_not_reported(bench: Bench) -> None:
    station = await bench.station(connectors=[["cType2", "cCCS2"]])
    await bench.until(lambda: len(bench.connector_states()) == 2)
    await station.plug(1, connector_id=2)
    await bench.until(lambda: bench.last_state(1, 2) == "Occupied")
    await bench.settle(0.5)
    assert bench.connector_states()[2:] == [(1, 2, "Occupied")]


async def test_G03_FR_06_H01_FR_12_faulted_connector_reported_and_refuses_use(bench: Bench) -> None:
    station = await bench.station(evses=2)
    await station.set_fault(1, True)
    await bench.until(lambda: bench.last_state(1) == "Faulted")
    start = await bench.call(
        "RequestStartTransaction",
        {"idToken": {"idToken": "A", "type": "Central"}, "remoteStartId": 1, "evseId": 1},
    )
    assert start["status"] == "Rejected"  # F01.FR.23
    reserve = await bench.call(
        "ReserveNow", {"id": 1, "expiryDateTime": bench.in_future(600), "idToken": token("R"), "evseId": 1}
    )
    assert reserve["status"] == "Faulted"  # H01.FR.12
    # G03.FR.06: an inoperative EVSE makes its operative connectors Unavailable; a faulted one stays Faulted.
    assert await _change(bench, "Inoperative", 1) == "Accepted"
    await bench.settle(0.5)
    assert bench.last_state(1) == "Faulted"
    assert await _change(bench, "Operative", 1) == "Accepted"
    await station.set_fault(1, False)
    await bench.until(lambda: bench.last_state(1) == "Available")
    assert bench.last_state(2) == "Available"


async def _availability_states(bench: Bench) -> list[str | None]:
    answer = await bench.call(
        "GetVariables",
        {
            "getVariableData": [
                {"component": {"name": "ChargingStation"}, "variable": {"name": "AvailabilityState"}},
                {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "AvailabilityState"}},
                {
                    "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                    "variable": {"name": "AvailabilityState"},
                },
            ]
        },
    )
    return [r.get("attributeValue") for r in answer["getVariableResult"]]


async def test_G04_B07_FR_09_availability_state_variables_follow_change_availability(bench: Bench) -> None:
    station = await bench.station()
    assert await _availability_states(bench) == ["Available", "Available", "Available"]
    assert await _change(bench, "Inoperative") == "Accepted"
    await bench.until(lambda: bench.last_state(1) == "Unavailable")
    assert await _availability_states(bench) == ["Unavailable", "Unavailable", "Unavailable"]
    assert await _change(bench, "Operative") == "Accepted"
    await station.plug(1)
    await bench.until(lambda: bench.last_state(1) == "Occupied")
    assert await _availability_states(bench) == ["Available", "Occupied", "Occupied"]
