"""PowerSeries from hand-made frames: a real charger's traffic as the built-in CSMS captures it.

No Qt, no sockets: the records are what the inspector store would hold (observer "csms",
not mirrors), so this is exactly the path of a real charger behind the built-in CSMS.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from app.clock import ManualClock, utc_timestamp
from app.inspector.power_series import PowerSeries, SampleRing
from app.inspector.records import CaptureRecord
from app.inspector.store import CaptureStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STATION = "REAL-1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ts(seconds: float) -> str:
    return utc_timestamp(at(seconds))


class Wire:
    """Builds the records one observation point (the built-in CSMS) captures."""

    def __init__(self, station: str = STATION, version: str = "2.1") -> None:
        self.station = station
        self.version = version
        self.records: list[CaptureRecord] = []
        self._ids = 0

    def _record(self, t: float, sender: str, mtype: int, action: str | None, mid: str, payload: Any) -> None:
        self.records.append(
            CaptureRecord(
                time=at(t),
                connection=f"{self.station}@csms",
                station=self.station,
                sender=sender,  # type: ignore[arg-type]
                observer="csms",
                version=self.version,
                raw="[]",
                message_type=mtype,
                action=action,
                message_id=mid,
                payload=payload,
            )
        )

    def call(self, t: float, sender: str, action: str, payload: dict[str, Any]) -> str:
        self._ids += 1
        mid = f"m{self._ids}"
        self._record(t, sender, 2, action, mid, payload)
        return mid

    def result(self, t: float, sender: str, mid: str, payload: dict[str, Any]) -> None:
        self._record(t, sender, 3, None, mid, payload)

    def error(self, t: float, sender: str, mid: str) -> None:
        self._record(t, sender, 4, None, mid, {"errorCode": "NotSupported"})

    # station -> CSMS
    def station_call(self, t: float, action: str, payload: dict[str, Any]) -> None:
        mid = self.call(t, "station", action, payload)
        self.result(t + 0.05, "csms", mid, {})

    # CSMS -> station, answered
    def csms_call(self, t: float, action: str, payload: dict[str, Any], answer: dict[str, Any] | None) -> str:
        mid = self.call(t, "csms", action, payload)
        if answer is None:
            self.error(t + 0.2, "station", mid)
        else:
            self.result(t + 0.2, "station", mid, answer)
        return mid


def sv(measurand: str, value: Any, unit: str, **extra: Any) -> dict[str, Any]:
    return {"value": value, "measurand": measurand, "unitOfMeasure": {"unit": unit}, **extra}


def tx_event(wire: Wire, t: float, event: str, *, evse: int | None = 1, values: list[dict[str, Any]]) -> None:
    payload: dict[str, Any] = {
        "eventType": event,
        "timestamp": ts(t),
        "triggerReason": "MeterValuePeriodic",
        "seqNo": len(wire.records),
        "transactionInfo": {"transactionId": "TX-1"},
    }
    if evse is not None:
        payload["evse"] = {"id": evse, "connectorId": 1}
    if values:
        payload["meterValue"] = [{"timestamp": ts(t), "sampledValue": values}]
    wire.station_call(t, "TransactionEvent", payload)


def profile(
    pid: int, purpose: str, stack: int, periods: list[dict[str, Any]], *, unit: str = "W", **extra: Any
) -> dict[str, Any]:
    schedule: dict[str, Any] = {"id": pid, "chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    schedule.update(extra.pop("schedule", {}))
    return {
        "id": pid,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": extra.pop("kind", "Absolute"),
        "chargingSchedule": [schedule],
        **extra,
    }


def real_charger_session() -> Wire:
    """A charge with a TxDefault, a TxProfile in amps, a station maximum, and refused attempts."""
    w = Wire()
    tx_event(w, 0, "Started", values=[sv("Energy.Active.Import.Register", 0, "Wh"), sv("SoC", 20, "Percent")])
    # TxDefault for every EVSE, Relative: from the transaction start, 22 kW.
    w.csms_call(
        5,
        "SetChargingProfile",
        {
            "evseId": 0,
            "chargingProfile": profile(
                1, "TxDefaultProfile", 0, [{"startPeriod": 0, "limit": 22000}], kind="Relative"
            ),
        },
        {"status": "Accepted"},
    )
    # TxProfile in amps: 16 A x 3 phases, then 10 A on one phase after 600 s; lasts 1200 s.
    w.csms_call(
        10,
        "SetChargingProfile",
        {
            "evseId": 1,
            "chargingProfile": profile(
                7,
                "TxProfile",
                1,
                [{"startPeriod": 0, "limit": 16}, {"startPeriod": 600, "limit": 10, "numberPhases": 1}],
                unit="A",
                transactionId="TX-1",
                schedule={"startSchedule": ts(10), "duration": 1200},
            ),
        },
        {"status": "Accepted"},
    )
    # Refused and unsupported attempts must leave no trace.
    w.csms_call(
        12,
        "SetChargingProfile",
        {
            "evseId": 1,
            "chargingProfile": profile(
                8, "TxProfile", 2, [{"startPeriod": 0, "limit": 1000}], transactionId="TX-1"
            ),
        },
        {"status": "Rejected", "statusInfo": {"reasonCode": "DuplicateProfile"}},
    )
    w.csms_call(
        13,
        "SetChargingProfile",
        {
            "evseId": 1,
            "chargingProfile": profile(
                9, "TxProfile", 3, [{"startPeriod": 0, "limit": 500}], transactionId="TX-1"
            ),
        },
        None,
    )
    # Meter values: kW, W, per phase only, W with a multiplier; later events omit `evse`.
    tx_event(
        w,
        20,
        "Updated",
        values=[
            sv("Power.Active.Import", 11.0, "kW"),
            sv("SoC", 40, "Percent"),
            sv("Energy.Active.Import.Register", 0.05, "kWh"),
        ],
    )
    tx_event(
        w,
        30,
        "Updated",
        evse=None,
        values=[
            sv("Power.Active.Import", 3600, "W", phase="L1"),
            sv("Power.Active.Import", 3650, "W", phase="L2"),
            sv("Power.Active.Import", 3700, "W", phase="L3"),
            sv("SoC", 41, "Percent", location="EV"),
        ],
    )
    tx_event(
        w,
        40,
        "Updated",
        evse=None,
        values=[
            {
                "value": 10.9,
                "measurand": "Power.Active.Import",
                "unitOfMeasure": {"unit": "W", "multiplier": 3},
            },
            sv("Power.Active.Import", 99999, "W", location="Inlet"),  # not the outlet: ignored
        ],
    )
    tx_event(
        w, 700, "Updated", evse=None, values=[sv("Power.Active.Import", 2290, "W"), sv("SoC", 55, "Percent")]
    )
    # Station maximum 5 kW on EVSE 0, from t = 900.
    w.csms_call(
        900,
        "SetChargingProfile",
        {
            "evseId": 0,
            "chargingProfile": profile(
                3,
                "ChargingStationMaxProfile",
                0,
                [{"startPeriod": 0, "limit": 5000}],
                schedule={"startSchedule": ts(900)},
            ),
        },
        {"status": "Accepted"},
    )
    return w


def series_at(wire: Wire, now: float, **kwargs: Any) -> PowerSeries:
    ps = PowerSeries(ManualClock(at(now)), **kwargs)
    ps.clock.advance(0)  # type: ignore[attr-defined]
    ps.feed(wire.records)
    return ps


def steps(ps: PowerSeries, evse: int = 1, station: str = STATION) -> list[tuple[float, float]]:
    data = ps.series(station, evse)
    t0 = T0.timestamp()
    return [(round(t - t0, 1), w) for t, w in zip(data.setpoint_t, data.setpoint_w, strict=True)]


def test_delivered_power_and_soc_from_kw_w_phases_and_multipliers() -> None:
    ps = series_at(real_charger_session(), 1000)
    assert ps.keys() == [(STATION, 0), (STATION, 1)]  # EVSE 0: the station-wide profiles
    data = ps.series(STATION, 1)
    rel = list(np.round(data.t - T0.timestamp(), 1))
    assert rel == [0.0, 20.0, 30.0, 40.0, 700.0]
    power = list(data.power_w)
    assert math.isnan(power[0])  # the Started event had energy only, and nothing before it
    assert power[1:] == [11000.0, 3600 + 3650 + 3700, 10900.0, 2290.0]
    assert list(data.soc[[0, 1, 2, 4]]) == [20.0, 40.0, 41.0, 55.0]
    assert math.isnan(data.soc[3])
    assert data.energy_wh[1] == pytest.approx(50.0)
    assert not data.power_from_energy


def test_setpoint_steps_follow_accepted_profiles_only() -> None:
    ps = series_at(real_charger_session(), 1000)
    got = steps(ps)
    # 0..5 no profile; TxDefault 22 kW from 5; TxProfile 16 A x 3 x 230 V from 10.2 (its answer);
    # 10 A x 1 phase after 600 s of its schedule; station max 5 kW from 900.2 does not bite
    # (2.3 kW < 5 kW); schedule ends at 10 + 1200: TxDefault again, capped at 5 kW.
    assert math.isnan(got[0][1]) and got[0][0] == 0.0
    assert got[1:] == [
        (5.2, 22000.0),
        (10.2, 16 * 3 * 230.0),
        (610.0, 10 * 1 * 230.0),
        (1210.0, 5000.0),
        (1000.0 + 6 * 3600, 5000.0),  # closes the line at now + horizon
    ]
    data = ps.series(STATION, 1)
    assert data.setpoint_at(T0.timestamp() + 300) == 11040.0
    assert data.setpoint_at(T0.timestamp() + 2000) == 5000.0  # the future part
    kinds = [(round(e.t - T0.timestamp(), 1), e.kind, e.text) for e in data.events]
    assert kinds == [
        (5.2, "set", "set TxDefault #1"),
        (10.2, "set", "set Tx #7"),
        (610.0, "period", "→ 2.3 kW"),
        (900.2, "set", "set StationMax #3"),
        (1210.0, "period", "→ 5.0 kW"),
    ]
    # Neither the Rejected (#8) nor the NotSupported (#9) profile shows anywhere.
    assert not any("#8" in e.text or "#9" in e.text for e in data.events)
    assert "TxProfile id 7 stackLevel 1 on EVSE 1, first period 16 A" in data.events[1].detail


def test_clear_and_transaction_end_remove_profiles() -> None:
    w = real_charger_session()
    w.csms_call(1500, "ClearChargingProfile", {"chargingProfileId": 3}, {"status": "Accepted"})
    w.csms_call(1600, "ClearChargingProfile", {"chargingProfileId": 1}, {"status": "Unknown"})  # no effect
    tx_event(w, 1800, "Ended", evse=None, values=[sv("Energy.Active.Import.Register", 4100, "Wh")])
    ps = series_at(w, 2000)
    got = steps(ps)
    assert got[-3:] == [(1210.0, 5000.0), (1500.2, 22000.0), (2000.0 + 6 * 3600, 22000.0)]
    cleared = [e for e in ps.series(STATION, 1).events if e.kind == "cleared"]
    assert [(round(e.t - T0.timestamp(), 1), e.text) for e in cleared] == [(1500.2, "cleared #3")]
    assert "StationMax #3" in cleared[0].detail
    # EVSE 0 is the grid connection: the composite of all EVSEs under the station-wide limits.
    # (5 kW over 3 phases is 7.25 A per phase; EVSE 1 draws on one phase: 7.25 A x 230 V.)
    assert steps(ps, evse=0)[:5] == [
        (5.2, 22000.0),
        (10.2, 11040.0),
        (610.0, 2300.0),
        (900.2, pytest.approx(5000 / 3)),
        (1210.0, 5000.0),
    ]


def test_composite_schedule_result_overrides_the_future() -> None:
    w = real_charger_session()
    w.csms_call(
        1000,
        "GetCompositeSchedule",
        {"duration": 3600, "evseId": 1, "chargingRateUnit": "W"},
        {
            "status": "Accepted",
            "schedule": {
                "evseId": 1,
                "duration": 3600,
                "scheduleStart": ts(1000),
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 2300},
                    {"startPeriod": 1800, "limit": 4000},
                ],
            },
        },
    )
    ps = series_at(w, 1100)
    got = steps(ps)
    # From the answer on, the station's own schedule; after its hour, the derived rule again.
    assert got[3:] == [(610.0, 2300.0), (2800.0, 4000.0), (4600.0, 5000.0), (1100.0 + 6 * 3600, 5000.0)]


def test_ocpp16_traffic_start_transaction_meter_values_and_charge_point_max() -> None:
    w = Wire("OLD-16", version="1.6")
    mid = w.call(
        0,
        "station",
        "StartTransaction",
        {"connectorId": 2, "idTag": "ABC", "meterStart": 0, "timestamp": ts(0)},
    )
    w.result(0.1, "csms", mid, {"transactionId": 42, "idTagInfo": {"status": "Accepted"}})
    w.csms_call(
        1,
        "SetChargingProfile",
        {
            "connectorId": 0,
            "csChargingProfiles": {
                "chargingProfileId": 5,
                "stackLevel": 0,
                "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32}],
                },
            },
        },
        {"status": "Accepted"},
    )
    w.station_call(
        10,
        "MeterValues",
        {
            "connectorId": 2,
            "transactionId": 42,
            "meterValue": [
                {
                    "timestamp": ts(10),
                    "sampledValue": [
                        {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                        {"value": "1234", "unit": "Wh"},  # measurand absent: the energy register
                    ],
                },
            ],
        },
    )
    w.station_call(
        20,
        "StopTransaction",
        {
            "transactionId": 42,
            "meterStop": 2000,
            "timestamp": ts(20),
            "transactionData": [{"timestamp": ts(20), "sampledValue": [{"value": "2000", "unit": "Wh"}]}],
        },
    )
    ps = series_at(w, 30)
    data = ps.series("OLD-16", 2)
    assert list(data.power_w[:1]) == [7200.0]
    assert list(data.energy_wh) == [1234.0, 2000.0]
    assert steps(ps, evse=2, station="OLD-16")[0] == (1.2, 32 * 3 * 230.0)


def test_external_limits_are_events_and_caps() -> None:
    w = Wire()
    tx_event(w, 0, "Started", values=[sv("Power.Active.Import", 7000, "W")])
    w.station_call(
        100,
        "NotifyChargingLimit",
        {
            "evseId": 1,
            "chargingLimit": {"chargingLimitSource": "EMS"},
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "W",
                    "startSchedule": ts(100),
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000}],
                }
            ],
        },
    )
    w.station_call(200, "ClearedChargingLimit", {"chargingLimitSource": "EMS", "evseId": 1})
    ps = series_at(w, 300)
    got = steps(ps)
    assert got[1:3] == [(100.0, 3000.0), (200.0, got[2][1])] and math.isnan(got[2][1])
    events = [(e.kind, e.text) for e in ps.series(STATION, 1).events]
    assert ("limit", "limit EMS") in events and ("limit cleared", "EMS cleared") in events


def test_power_from_the_energy_register_when_no_power_is_reported() -> None:
    w = Wire()
    for i in range(4):
        tx_event(w, i * 60, "Updated", values=[sv("Energy.Active.Import.Register", i * 100, "Wh")])
    ps = series_at(w, 300)
    data = ps.series(STATION, 1)
    assert data.power_from_energy
    assert math.isnan(data.power_w[0])
    assert list(data.power_w[1:]) == pytest.approx([6000.0, 6000.0, 6000.0])


def test_mirrors_are_ignored_and_changed_fires_once_per_batch() -> None:
    w = real_charger_session()
    mirrors = []
    for r in w.records:
        copy = r.replace(seq=0)
        copy.mirror = True
        copy.payload = {
            "eventType": "Updated",
            "transactionInfo": {"transactionId": "TX-1"},
            "evse": {"id": 1},
            "meterValue": [{"timestamp": ts(5), "sampledValue": [sv("Power.Active.Import", 1, "W")]}],
        }
        mirrors.append(copy)
    ps = PowerSeries(ManualClock(at(1000)))
    fired: list[int] = []
    ps.changed.connect(lambda: fired.append(1))
    ps.feed(mirrors)
    assert fired == [] and ps.keys() == []
    ps.feed(w.records)
    assert fired == [1]

    async def live() -> list[int]:
        store = CaptureStore()
        live_series = PowerSeries(ManualClock(at(1000)))
        counts: list[int] = []
        live_series.changed.connect(lambda: counts.append(len(live_series.series(STATION, 1).t)))
        live_series.attach(store)
        for record in w.records:  # one burst: one loop turn
            store.append(record)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        tx_event(w, 1100, "Updated", evse=None, values=[sv("Power.Active.Import", 1000, "W")])
        store.append(w.records[-2])
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return counts

    assert asyncio.run(live()) == [5, 6]


def test_csv_has_samples_setpoints_and_events() -> None:
    ps = series_at(real_charger_session(), 1000)
    text = ps.to_csv(STATION, 1)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "time_utc,epoch_s,kind,power_w,energy_wh,soc_percent,setpoint_w,note"
    samples = [r for r in rows if r["kind"] == "sample"]
    assert [r["power_w"] for r in samples] == ["", "11000", "10950", "10900", "2290"]
    assert samples[1]["time_utc"] == "2026-03-02T08:00:20.000Z"
    assert samples[1]["soc_percent"] == "40" and samples[1]["energy_wh"] == "50"
    assert samples[1]["setpoint_w"] == "11040"  # the setpoint in force at that sample
    assert samples[4]["setpoint_w"] == "2300"
    setpoints = [(r["setpoint_w"], r["note"]) for r in rows if r["kind"] == "setpoint"]
    assert setpoints == [("", ""), ("22000", ""), ("11040", ""), ("2300", ""), ("5000", "scheduled")]
    sets = [r for r in rows if r["kind"] == "set"]
    assert len(sets) == 3 and "TxProfile id 7" in sets[1]["note"]
    assert [r["epoch_s"] for r in rows] == sorted(r["epoch_s"] for r in rows)


def test_unknown_station_gives_an_empty_series() -> None:
    ps = PowerSeries(ManualClock(at(0)))
    data = ps.series("nobody", 1)
    assert data.empty
    assert ps.to_csv("nobody", 1).count("\n") == 1


def test_sample_ring_keeps_one_sample_per_second_and_downsamples_old_data() -> None:
    ring = SampleRing(1, span=100, bucket=10, archive_span=1000)
    ring.append(0.0, [1.0])
    ring.append(0.4, [2.0])  # within a second: replaces the value, keeps the time
    ring.append(1.0, [3.0])
    t, v = ring.arrays()
    assert list(t) == [0.0, 1.0] and list(v[:, 0]) == [2.0, 3.0]
    ring.append(0.3, [9.0])  # late, out of order: merged into the nearer neighbour
    ring.append(0.5 - 2, [7.0])  # earlier than all: inserted first
    t, v = ring.arrays()
    assert list(t) == [-1.5, 0.0, 1.0] and list(v[:, 0]) == [7.0, 9.0, 3.0]

    ring = SampleRing(1, span=100, bucket=10, archive_span=1000)
    for i in range(2000):
        ring.append(float(i), [float(i)])
    t, v = ring.arrays()
    assert t[-1] == 1999.0
    recent = t[t >= 1999 - 100]
    assert np.all(np.diff(recent) == 1.0)  # full resolution for the last `span`
    old = t[t < 1999 - 110]
    assert len(old) and np.all(np.diff(old) == 10.0)  # averaged into buckets
    assert v[0, 0] == pytest.approx(t[0])  # the mean of a linear ramp sits at the bucket's mean time
    assert t[0] >= 1999 - 100 - 1000 - 110  # the archive is bounded too
    assert len(ring) < 1999 - 100
