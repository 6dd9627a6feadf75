"""Smart charging end to end: a CSMS caps a running transaction and the meter values obey.

Real websockets, the built-in CSMS, the emulated station's physics: what a CSMS developer
checks first when testing a smart-charging algorithm against a charger (K01, K08, K10).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.clock import AcceleratedClock
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from tests.test_station_e2e import tx_events, wait_until


@pytest.fixture
async def charging() -> AsyncIterator[tuple[Session, Station, str]]:
    session = Session(clock=AcceleratedClock(10.0))
    await session.start_csms()
    assert session.csms is not None
    station = session.add_station(
        StationConfig(
            station_id="SC-1",
            csms_url=session.csms.url,
            overrides={"SampledDataCtrlr.TxUpdatedInterval": "2"},
        )
    )
    await wait_until(lambda: station.online)
    await station.plug(1)
    await station.tap("SC-CARD")
    await wait_until(lambda: _periodic_power(session) and _periodic_power(session)[-1] > 10_000, 5)
    tx_id = tx_events(session)[0]["transactionInfo"]["transactionId"]
    yield session, station, tx_id
    await session.stop()


def _periodic_power(session: Session) -> list[float]:
    return [
        sv["value"]
        for e in tx_events(session)
        if e["triggerReason"] == "MeterValuePeriodic"
        for mv in e["meterValue"]
        for sv in mv["sampledValue"]
        if sv.get("measurand") == "Power.Active.Import"
    ]


def _periodic_currents(session: Session) -> list[float]:
    last = [e for e in tx_events(session) if e["triggerReason"] == "MeterValuePeriodic"][-1]
    return [
        sv["value"] for sv in last["meterValue"][0]["sampledValue"] if sv.get("measurand") == "Current.Import"
    ]


def tx_profile(tx_id: str, limit: float, unit: str = "A", profile_id: int = 7) -> dict[str, Any]:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": profile_id,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "transactionId": tx_id,
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": unit,
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
                }
            ],
        },
    }


async def test_K01_K08_K10_cap_at_6A_shows_in_the_next_meter_values_and_clearing_restores(
    charging: tuple[Session, Station, str],
) -> None:
    session, _station, tx_id = charging
    assert session.csms is not None
    answer = await session.csms.call("SC-1", "SetChargingProfile", tx_profile(tx_id, 6.0))
    assert answer["status"] == "Accepted"
    before = len(_periodic_power(session))
    # The ramp (5 kW/s) brings 11 kW down to the cap well within one TxUpdatedInterval (2 s).
    await wait_until(lambda: len(_periodic_power(session)) >= before + 2, 5)
    capped = _periodic_power(session)[before + 1]
    assert 3_900 <= capped <= 4_200, capped  # 6 A x 3 phases x ~230 V
    assert all(5.9 <= a <= 6.01 for a in _periodic_currents(session)), _periodic_currents(session)

    composite = await session.csms.call(
        "SC-1", "GetCompositeSchedule", {"evseId": 1, "duration": 600, "chargingRateUnit": "A"}
    )
    assert composite["status"] == "Accepted"
    periods = composite["schedule"]["chargingSchedulePeriod"]
    assert periods[0]["startPeriod"] == 0 and periods[0]["limit"] == 6.0, periods

    cleared = await session.csms.call("SC-1", "ClearChargingProfile", {"chargingProfileId": 7})
    assert cleared["status"] == "Accepted"
    before = len(_periodic_power(session))
    await wait_until(lambda: len(_periodic_power(session)) >= before + 3, 6)
    assert _periodic_power(session)[-1] > 10_000  # full power again
    unknown = await session.csms.call("SC-1", "ClearChargingProfile", {"chargingProfileId": 7})
    assert unknown["status"] == "Unknown"  # K10.FR.01
    assert not [r for r in session.store if r.problems]


async def test_K01_tx_profile_for_an_unknown_transaction_is_rejected(
    charging: tuple[Session, Station, str],
) -> None:
    session, _, _ = charging
    assert session.csms is not None
    answer = await session.csms.call("SC-1", "SetChargingProfile", tx_profile("not-a-tx", 6.0))
    assert answer["status"] == "Rejected"
    assert answer["statusInfo"]["reasonCode"]


async def test_K02_tx_profile_leaves_with_its_transaction_and_reports_K09(
    charging: tuple[Session, Station, str],
) -> None:
    session, station, tx_id = charging
    assert session.csms is not None
    assert (await session.csms.call("SC-1", "SetChargingProfile", tx_profile(tx_id, 10.0)))[
        "status"
    ] == "Accepted"
    got = await session.csms.call("SC-1", "GetChargingProfiles", {"requestId": 5, "chargingProfile": {}})
    assert got["status"] == "Accepted"
    await wait_until(
        lambda: [r for r in session.store if r.action == "ReportChargingProfiles" and r.sender == "station"],
        3,
    )
    await station.tap("SC-CARD")  # stop
    await wait_until(lambda: tx_events(session)[-1]["eventType"] == "Ended")
    none_left = await session.csms.call(
        "SC-1", "GetChargingProfiles", {"requestId": 6, "chargingProfile": {}}
    )
    assert none_left["status"] == "NoProfiles"


async def test_K12_K13_external_limit_from_the_window_is_notified_and_obeyed(
    charging: tuple[Session, Station, str],
) -> None:
    session, station, _ = charging
    await station.smart.set_external_limit(1, 5_000.0)
    notified = [
        r.payload for r in session.store if r.action == "NotifyChargingLimit" and r.sender == "station"
    ]
    assert notified and notified[0]["chargingLimit"]["chargingLimitSource"] == "EMS"
    await wait_until(lambda: any(e["triggerReason"] == "ChargingRateChanged" for e in tx_events(session)), 3)
    await wait_until(
        lambda: station.evses[1].reading is not None and station.evses[1].reading.power_w <= 5_000, 3
    )
    await station.smart.set_external_limit(1, None)
    assert [r for r in session.store if r.action == "ClearedChargingLimit" and r.sender == "station"]
    await wait_until(
        lambda: station.evses[1].reading is not None and station.evses[1].reading.power_w > 10_000, 5
    )
