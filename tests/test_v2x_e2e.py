"""V2X and the 2.1 additions of block K end to end: real websockets, the built-in CSMS, the
emulated station's physics.

What a CSMS developer checks when testing bidirectional charging against a charger: a negative
CentralSetpoint discharges a bidirectional car and the meter values show it as export (Q03,
V2X.02/04, K01.FR.110), a unidirectional car under the same profile never exports, a plain AC
station refuses V2X profiles (K01.FR.115), NotifyAllowedEnergyTransfer (Q02.FR.05-07), the
pull of Dynamic profiles (K28.FR.10), NotifyPriorityCharging (K21.FR.05/08) and AFRRSignal
without a signal curve (Q08.FR.11).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.clock import AcceleratedClock
from app.session import Session
from app.station.config import StationConfig
from app.station.ev import EVModel
from app.station.profile import load_profile
from app.station.station import Station
from tests.test_station_e2e import assert_all_valid, tx_events, wait_until, wire

TEMPLATE = Path(__file__).resolve().parents[1] / "resources" / "templates" / "dc-bidirectional-11kw.yaml"


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    session = Session(clock=AcceleratedClock(10.0))
    await session.start_csms()
    yield session
    await session.stop()


async def v2x_station(session: Session, ev: EVModel) -> tuple[Station, str]:
    """The DC bidirectional template, charging `ev`, periodic values every 2 s."""
    assert session.csms is not None
    config = load_profile(TEMPLATE, station_id="V2X-1", csms_url=session.csms.url)
    config = dataclasses.replace(
        config, overrides={**config.overrides, "SampledDataCtrlr.TxUpdatedInterval": "2"}
    )
    station = session.add_station(config)
    await wait_until(lambda: station.online)
    await station.plug(1, ev=ev)
    await station.tap("V2X-CARD")
    await wait_until(lambda: _periodic(session, "Power.Active.Import"), 5)
    return station, tx_events(session)[0]["transactionInfo"]["transactionId"]


def _periodic(session: Session, measurand: str) -> list[float]:
    return [
        sv["value"]
        for e in tx_events(session)
        if e["triggerReason"] == "MeterValuePeriodic"
        for mv in e["meterValue"]
        for sv in mv["sampledValue"]
        if sv.get("measurand") == measurand
    ]


def sent(session: Session, action: str) -> list[dict[str, Any]]:
    """Requests the station sent, one copy each (as seen at the station end)."""
    return [r.payload for r in wire(session, action, sender="station") if r.message_type == 2]


def setpoint_profile(
    tx_id: str, setpoint: float, *, profile_id: int = 21, kind: str = "Relative", **extra: Any
) -> dict[str, Any]:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": profile_id,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": kind,
            "transactionId": tx_id,
            **extra,
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "setpoint": setpoint, "operationMode": "CentralSetpoint"}
                    ],
                }
            ],
        },
    }


def bidirectional_ev(**changes: Any) -> EVModel:
    return EVModel.typical_ac(bidirectional=True, soc_percent=60.0, **changes)


async def test_Q03_negative_setpoint_discharges_a_bidirectional_ev(session: Session) -> None:
    # A small battery, so the SoC visibly falls within a few 2 s intervals.
    station, tx_id = await v2x_station(session, bidirectional_ev(capacity_wh=1_000.0))
    assert session.csms is not None
    answer = await session.csms.call("V2X-1", "SetChargingProfile", setpoint_profile(tx_id, -5000))
    assert answer["status"] == "Accepted", answer

    # K01.FR.110: the mode change is reported with the new mode.
    changed = await wait_until(
        lambda: [e for e in tx_events(session) if e["triggerReason"] == "OperationModeChanged"], 5
    )
    assert changed[0]["transactionInfo"]["operationMode"] == "CentralSetpoint"

    before = len(_periodic(session, "Power.Active.Export"))
    await wait_until(lambda: len(_periodic(session, "Power.Active.Export")) >= before + 3, 8)
    export = _periodic(session, "Power.Active.Export")[before + 1 :]
    assert all(4_900 <= p <= 5_000 for p in export), export  # the 20 kW/s ramp is done within 1 s
    assert _periodic(session, "Power.Active.Import")[-1] == 0
    socs = _periodic(session, "SoC")[before:]
    assert socs[-1] < socs[0], socs
    registers = _periodic(session, "Energy.Active.Export.Register")
    assert registers[-1] > registers[before] > 0, registers
    currents = _periodic(session, "Current.Export")
    assert currents[-1] > 10  # 5 kW at a ~380 V pack
    reading = station.evses[1].reading
    assert reading is not None and reading.power_w < 0
    # P = U * I in the direction of the flow.
    assert abs(abs(reading.power_w) - reading.voltage_v[0] * reading.current_a[0]) < 1e-6
    # Discharging is energy transfer: the transaction stays Charging, not Suspended.
    states = [e["transactionInfo"].get("chargingState") for e in tx_events(session)]
    assert "SuspendedEVSE" not in states and "SuspendedEV" not in states, states
    assert_all_valid(session)


async def test_Q03_unidirectional_ev_never_discharges(session: Session) -> None:
    station, tx_id = await v2x_station(session, EVModel.typical_ac(soc_percent=60.0))
    assert session.csms is not None
    answer = await session.csms.call("V2X-1", "SetChargingProfile", setpoint_profile(tx_id, -5000))
    assert answer["status"] == "Accepted"
    before = len(_periodic(session, "Power.Active.Export"))
    await wait_until(lambda: len(_periodic(session, "Power.Active.Export")) >= before + 3, 8)
    assert set(_periodic(session, "Power.Active.Export")) == {0}
    assert _periodic(session, "Energy.Active.Export.Register")[-1] == 0
    assert _periodic(session, "Power.Active.Import")[-1] == 0  # nor does it charge instead
    reading = station.evses[1].reading
    assert reading is not None and reading.power_w == 0
    assert_all_valid(session)


async def test_K01_plain_ac_station_refuses_v2x_profiles(session: Session) -> None:
    assert session.csms is not None
    station = session.add_station(StationConfig(station_id="AC-1", csms_url=session.csms.url))
    await wait_until(lambda: station.online)
    await station.plug(1, ev=bidirectional_ev())
    await station.tap("AC-CARD")
    tx_id = (await wait_until(lambda: tx_events(session), 5))[0]["transactionInfo"]["transactionId"]
    answer = await session.csms.call("AC-1", "SetChargingProfile", setpoint_profile(tx_id, -5000))
    assert answer["status"] == "Rejected"
    assert answer["statusInfo"]["reasonCode"] == "InvalidOperationMode"  # K01.FR.115
    # Q02: an AC station without BPT cannot offer the car a bidirectional transfer.
    refused = await session.csms.call(
        "AC-1", "NotifyAllowedEnergyTransfer", {"transactionId": tx_id, "allowedEnergyTransfer": ["AC_BPT"]}
    )
    assert refused["status"] == "Rejected"
    assert_all_valid(session)


async def test_Q02_notify_allowed_energy_transfer(session: Session) -> None:
    station, tx_id = await v2x_station(session, bidirectional_ev())
    assert session.csms is not None
    unknown = await session.csms.call(
        "V2X-1", "NotifyAllowedEnergyTransfer", {"transactionId": "nope", "allowedEnergyTransfer": ["DC"]}
    )
    assert unknown == {"status": "Rejected", "statusInfo": {"reasonCode": "TxNotFound"}}

    # Charging only: a V2X profile may not make the car export.
    only_dc = await session.csms.call(
        "V2X-1", "NotifyAllowedEnergyTransfer", {"transactionId": tx_id, "allowedEnergyTransfer": ["DC"]}
    )
    assert only_dc["status"] == "Accepted"
    await session.csms.call("V2X-1", "SetChargingProfile", setpoint_profile(tx_id, -5000))
    before = len(_periodic(session, "Power.Active.Export"))
    await wait_until(lambda: len(_periodic(session, "Power.Active.Export")) >= before + 2, 6)
    assert _periodic(session, "Power.Active.Export")[-1] == 0

    # Q02.FR.05-07: bidirectional allowed -> accepted, renegotiated needs, and export starts.
    upgraded = await session.csms.call(
        "V2X-1",
        "NotifyAllowedEnergyTransfer",
        {"transactionId": tx_id, "allowedEnergyTransfer": ["DC", "DC_BPT"]},
    )
    assert upgraded["status"] == "Accepted"
    needs = await wait_until(
        lambda: len(sent(session, "NotifyEVChargingNeeds")) >= 2 and sent(session, "NotifyEVChargingNeeds"), 3
    )
    assert needs[0]["chargingNeeds"]["requestedEnergyTransfer"] == "DC"
    assert needs[1]["chargingNeeds"]["requestedEnergyTransfer"] == "DC_BPT"
    await wait_until(
        lambda: station.evses[1].reading is not None and station.evses[1].reading.power_w < -4_000, 5
    )
    assert_all_valid(session)


async def test_K28_dynamic_profile_is_pulled_on_its_interval_and_the_answer_applied(
    session: Session,
) -> None:
    station, tx_id = await v2x_station(session, bidirectional_ev())
    assert session.csms is not None
    pulls: list[dict[str, Any]] = []

    def answer_pull(link: Any, payload: dict[str, Any], response: dict[str, Any]) -> None:
        pulls.append(payload)
        response["scheduleUpdate"] = {"setpoint": -3000.0}  # K28.FR.07

    session.csms._on_PullDynamicScheduleUpdate = answer_pull  # type: ignore[attr-defined]
    request = setpoint_profile(tx_id, -1000, profile_id=31, kind="Dynamic", dynUpdateInterval=3)
    assert (await session.csms.call("V2X-1", "SetChargingProfile", request))["status"] == "Accepted"
    await wait_until(lambda: station.evses[1].reading and station.evses[1].reading.power_w < -900, 5)
    reading = station.evses[1].reading
    assert reading is not None and reading.power_w > -1_100  # the first value, before any pull
    await wait_until(lambda: pulls, 6)  # 3 s of station time after it was set
    assert pulls[0]["chargingProfileId"] == 31
    await wait_until(lambda: station.evses[1].reading and station.evses[1].reading.power_w < -2_900, 5)
    stored = station.smart.store.get(31)
    assert stored is not None and stored.profile.dyn_update_time is not None  # K28.FR.09
    count = len(pulls)
    await wait_until(lambda: len(pulls) > count, 6)  # and again one interval after the update
    assert_all_valid(session)


async def test_K21_priority_charging_is_notified_and_stops_discharge(session: Session) -> None:
    station, tx_id = await v2x_station(session, bidirectional_ev())
    assert session.csms is not None
    await session.csms.call("V2X-1", "SetChargingProfile", setpoint_profile(tx_id, -5000))
    await wait_until(lambda: station.evses[1].reading and station.evses[1].reading.power_w < -4_000, 5)
    no_profile = await session.csms.call(
        "V2X-1", "UsePriorityCharging", {"transactionId": tx_id, "activate": True}
    )
    assert no_profile["status"] == "NoProfile"  # K21.FR.01
    priority = {
        "evseId": 0,
        "chargingProfile": {
            "id": 41,
            "stackLevel": 0,
            "chargingProfilePurpose": "PriorityCharging",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11_000}],
                }
            ],
        },
    }
    assert (await session.csms.call("V2X-1", "SetChargingProfile", priority))["status"] == "Accepted"
    on = await session.csms.call("V2X-1", "UsePriorityCharging", {"transactionId": tx_id, "activate": True})
    assert on["status"] == "Accepted"

    def notified() -> list[dict[str, Any]]:
        return sent(session, "NotifyPriorityCharging")

    await wait_until(notified, 3)
    assert notified()[0] == {"transactionId": tx_id, "activated": True}  # K21.FR.05
    # Priority charging avoids discharging: back to charging at full power.
    await wait_until(lambda: station.evses[1].reading and station.evses[1].reading.power_w > 10_000, 5)

    off = await session.csms.call("V2X-1", "UsePriorityCharging", {"transactionId": tx_id, "activate": False})
    assert off["status"] == "Accepted"
    await wait_until(lambda: len(notified()) >= 2, 3)
    assert notified()[1] == {"transactionId": tx_id, "activated": False}  # K21.FR.08
    await wait_until(lambda: station.evses[1].reading and station.evses[1].reading.power_w < -4_000, 5)
    assert_all_valid(session)


async def test_Q08_afrr_signal_without_a_signal_curve_is_rejected(session: Session) -> None:
    _station, tx_id = await v2x_station(session, bidirectional_ev())
    assert session.csms is not None
    await session.csms.call("V2X-1", "SetChargingProfile", setpoint_profile(tx_id, -2000))
    answer = await session.csms.call(
        "V2X-1", "AFRRSignal", {"timestamp": "2030-01-01T00:00:00Z", "signal": 50}
    )
    assert answer == {"status": "Rejected", "statusInfo": {"reasonCode": "NoSignalWattCurve"}}
    assert_all_valid(session)
