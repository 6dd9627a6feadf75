"""A real Modbus conversation drives an emulated station's meter values.

pymodbus's own server serves a meter's register map on loopback (TCP) or over a pair of
pseudo-terminals (RTU); the station polls it with the code that polls real meters, and the
TransactionEvents on the wire must carry exactly the served values (E02: meter values in
TransactionEvent, J02 sampled values). Values are chosen exactly representable in the meters'
register types, so "exactly" means equal, not close.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.clock import AcceleratedClock
from app.hardware.meter_maps import load_map
from app.hardware.meter_sim import PtyLink, SimulatedMeter
from app.hardware.modbus_meter import MeterConfig, MeterStatus
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until

MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,Frequency"
OVERRIDES = {
    "SampledDataCtrlr.TxUpdatedInterval": "5",  # 0.5 s of real time at 10x
    "SampledDataCtrlr.TxStartedMeasurands": MEASURANDS,
    "SampledDataCtrlr.TxUpdatedMeasurands": MEASURANDS,
    "AlignedDataCtrlr.Interval": "0",  # no clock-aligned events at random times of day
}
SDM630_VALUES = {
    "voltage.L1": 230.5,
    "voltage.L2": 231.0,
    "voltage.L3": 229.5,
    "current.L1": 16.25,
    "current.L2": 16.5,
    "current.L3": 15.75,
    "power": 11250.0,
    "frequency": 50.0,
    "energy.import": 12_345_500.0,  # 12 345.5 kWh on the meter
    "energy.export": 0.0,
}


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


async def start_station(session: Session) -> Station:
    csms = await session.start_csms()
    config = StationConfig(station_id="CB-HW", csms_url=csms.url, overrides=dict(OVERRIDES), call_timeout=5)
    station = session.add_station(config)
    await wait_until(lambda: station.online, 10)
    return station


def tx_events(session: Session) -> list[dict[str, Any]]:
    return [
        r.payload
        for r in session.store
        if r.observer == "station" and r.action == "TransactionEvent" and r.message_type == 2
    ]


def sampled(event: dict[str, Any]) -> dict[tuple[str, str | None], float]:
    """(measurand, phase) -> value of the event's (single) meter value."""
    [meter_value] = event["meterValue"]
    return {(v["measurand"], v.get("phase")): v["value"] for v in meter_value["sampledValue"]}


def expected(values: dict[str, float]) -> dict[tuple[str, str | None], float]:
    out: dict[tuple[str, str | None], float] = {
        ("Energy.Active.Import.Register", None): values["energy.import"],
        ("Power.Active.Import", None): values["power"],
        ("Frequency", None): values["frequency"],
    }
    for n, phase in enumerate(("L1", "L2", "L3"), start=1):
        if f"voltage.L{n}" in values:
            out[("Voltage", f"{phase}-N")] = values[f"voltage.L{n}"]
        if f"current.L{n}" in values:
            out[("Current.Import", phase)] = values[f"current.L{n}"]
    return out


async def test_tcp_meter_values_reach_the_transaction_events_exactly(session: Session) -> None:
    meter_server = SimulatedMeter(load_map("sdm630"), SDM630_VALUES)
    port = await meter_server.start_tcp()
    try:
        station = await start_station(session)
        meter = session.hardware.add_meter(
            MeterConfig("bench", map="sdm630", port=port, station_id="CB-HW", evse_id=1, interval_s=0.2)
        )
        session.hardware.start()
        await wait_until(lambda: meter.status == MeterStatus.OK, 5)

        await station.plug(1)
        assert await station.tap("04A224B2", 1) == "Accepted"
        started = await wait_until(lambda: [e for e in tx_events(session) if e["eventType"] == "Started"])
        assert sampled(started[0]) == expected(SDM630_VALUES)
        periodic = await wait_until(
            lambda: [e for e in tx_events(session) if e["triggerReason"] == "MeterValuePeriodic"]
        )
        assert sampled(periodic[0]) == expected(SDM630_VALUES)
        assert periodic[0]["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic"

        # The meter counts on: the next events follow the real register, not the simulation.
        later = {**SDM630_VALUES, "power": 7360.0, "energy.import": 12_346_000.0}
        await meter_server.set_values(later)
        await wait_until(
            lambda: any(sampled(e) == expected(later) for e in tx_events(session)[len(periodic) :]), 10
        )
        assert station.evses[1].electrics.meter.register_wh == 12_346_000.0
    finally:
        await meter_server.stop()


async def test_lost_meter_keeps_last_values_flagged_stale_and_resumes(session: Session) -> None:
    meter_server = SimulatedMeter(load_map("sdm630"), SDM630_VALUES)
    port = await meter_server.start_tcp()
    try:
        station = await start_station(session)
        meter = session.hardware.add_meter(
            MeterConfig("bench", port=port, station_id="CB-HW", interval_s=0.1, timeout_s=0.3)
        )
        session.hardware.start()
        evse = station.evses[1]
        await wait_until(lambda: evse.reading is not None and evse.reading.external, 5)
        await station.plug(1)
        await station.tap("04A224B2", 1)

        await meter_server.stop()
        await wait_until(lambda: meter.status == MeterStatus.STALE, 5)
        assert "values from" in meter.detail
        await wait_until(lambda: evse.reading is not None and evse.reading.stale, 5)
        # The station runs on: periodic events keep coming, with the last good values.
        seen = len(tx_events(session))
        await wait_until(lambda: len(tx_events(session)) > seen + 1, 10)
        assert station.online
        assert sampled(tx_events(session)[-1]) == expected(SDM630_VALUES)

        fresh = {**SDM630_VALUES, "power": 9000.0}
        meter_server.values.update(fresh)
        await meter_server.start_tcp(port=port)
        await wait_until(lambda: meter.status == MeterStatus.OK, 10)
        await wait_until(lambda: evse.reading is not None and not evse.reading.stale, 5)
        await wait_until(lambda: sampled(tx_events(session)[-1]) == expected(fresh), 10)
    finally:
        await meter_server.stop()


async def test_rtu_meter_over_a_pseudo_terminal_pair_drives_the_transaction(session: Session) -> None:
    """EM340: integers with the low word first, holding registers, over Modbus RTU."""
    values = {
        "voltage.L1": 230.4,
        "voltage.L2": 0.0,
        "voltage.L3": 0.0,
        "current.L1": 31.875,
        "power": 7344.0,
        "frequency": 49.9,
        "energy.import": 4_321_000.0,
    }
    try:
        link = PtyLink()
    except OSError as exc:  # a sandbox without /dev/pts
        pytest.skip(f"no pseudo-terminal pair available for RTU: {exc}")
    meter_server = SimulatedMeter(load_map("em340"), values)
    try:
        await meter_server.start_rtu(link.ports[0])
        station = await start_station(session)
        meter = session.hardware.add_meter(
            MeterConfig("em340", map="em340", transport="rtu", serial_port=link.ports[1], station_id="CB-HW")
        )
        session.hardware.start()
        await wait_until(lambda: meter.status == MeterStatus.OK, 5)
        await station.plug(1)
        await station.tap("04A224B2", 1)
        started = await wait_until(lambda: [e for e in tx_events(session) if e["eventType"] == "Started"])
        got = sampled(started[0])
        assert got[("Energy.Active.Import.Register", None)] == 4_321_000.0
        assert got[("Power.Active.Import", None)] == 7344
        assert got[("Voltage", "L1-N")] == 230.4
        assert got[("Current.Import", "L1")] == 31.88  # the station reports centiamperes
        assert got[("Frequency", None)] == 49.9
        assert started[0]["numberOfPhasesUsed"] == 1  # current flows on L1 only
    finally:
        await meter_server.stop()
        link.close()


async def test_a_meter_that_never_answered_says_why_and_drives_nothing(session: Session) -> None:
    station = await start_station(session)
    meter = session.hardware.add_meter(
        MeterConfig("rs485", transport="rtu", serial_port="/dev/ttyUSB-missing", station_id="CB-HW")
    )
    assert not await meter.poll()
    assert meter.status == MeterStatus.UNREACHABLE
    assert meter.detail == "no serial port /dev/ttyUSB-missing: is the USB-RS485 adapter plugged in?"
    assert station.evses[1].electrics.external is None  # the simulation goes on
