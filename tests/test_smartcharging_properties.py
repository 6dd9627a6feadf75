"""Property: for random profile stacks, the composite limit never exceeds any applicable limit.

The oracle is written separately and naively (datetimes, a linear scan of periods, the purpose
rules spelled out): at an instant it picks, per purpose, the highest stackLevel with an active
period (K01.FR.17), lets TxProfile replace TxDefaultProfile (K02.FR.04/08), and takes the lowest
of station max, external constraints and that transaction level, plus the rated current (SC.01,
K08.FR.04), all in W with the lowest numberPhases (K01.FR.50/51/140). Both `limit_at` and
`composite_schedule` must agree with it and stay at or below every applicable bound.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.smartcharging import EvseInfo, ProfileStore, StationContext, composite_schedule, limit_at
from app.smartcharging.profiles import parse_time

T0 = datetime(2025, 1, 6, tzinfo=UTC)
WINDOW = 4 * 3600
VOLTS = 230.0
RATED_A = 32.0
PURPOSES = (
    "ChargingStationMaxProfile",
    "ChargingStationExternalConstraints",
    "TxDefaultProfile",
    "TxProfile",
)


@st.composite
def stacks(draw: st.DrawFn) -> tuple[list[tuple[int, dict[str, Any]]], datetime | None]:
    tx_start = draw(st.one_of(st.none(), st.integers(-3600, 7200).map(lambda s: T0 + timedelta(seconds=s))))
    count = draw(st.integers(1, 7))
    used_levels: dict[str, set[int]] = {p: set() for p in PURPOSES}
    out: list[tuple[int, dict[str, Any]]] = []
    for pid in range(1, count + 1):
        purposes = [p for p in PURPOSES if p != "TxProfile" or tx_start is not None]
        purpose = draw(st.sampled_from(purposes))
        stack = draw(st.integers(0, 6).filter(lambda s, p=purpose: s not in used_levels[p]))
        used_levels[purpose].add(stack)
        evse_id = (
            0
            if purpose == "ChargingStationMaxProfile"
            else 1
            if purpose == "TxProfile"
            else draw(st.sampled_from((0, 1)))
        )
        kinds = ["Absolute", "Recurring"]
        if purpose != "ChargingStationMaxProfile" and tx_start is not None:
            kinds.append("Relative")
        kind = draw(st.sampled_from(kinds))
        unit = draw(st.sampled_from(("A", "W")))
        starts = sorted(draw(st.sets(st.integers(1, 180), max_size=3)))
        periods = []
        for start in [0, *(s * 60 for s in starts)]:
            limit = draw(st.integers(0, 40)) if unit == "A" else draw(st.integers(0, 30000))
            period: dict[str, Any] = {"startPeriod": start, "limit": limit}
            phases = draw(st.sampled_from((None, 1, 2, 3)))
            if phases is not None:
                period["numberPhases"] = phases
            periods.append(period)
        schedule: dict[str, Any] = {"id": 1, "chargingRateUnit": unit, "chargingSchedulePeriod": periods}
        if kind != "Relative":
            offset = draw(st.integers(-180, 180)) * 60
            if kind == "Recurring":
                offset -= 86400 * draw(st.integers(0, 3))
            schedule["startSchedule"] = (T0 + timedelta(seconds=offset)).isoformat()
        if draw(st.booleans()):
            schedule["duration"] = draw(st.integers(1, 300)) * 60
        prof: dict[str, Any] = {
            "id": pid,
            "stackLevel": stack,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind,
            "chargingSchedule": [schedule],
        }
        if kind == "Recurring":
            prof["recurrencyKind"] = "Daily"
        if purpose == "TxProfile":
            prof["transactionId"] = "T1"
        if draw(st.booleans()):
            lo = draw(st.integers(-60, 240)) * 60
            prof["validFrom"] = (T0 + timedelta(seconds=lo)).isoformat()
            if draw(st.booleans()):
                prof["validTo"] = (T0 + timedelta(seconds=lo + draw(st.integers(1, 240)) * 60)).isoformat()
        out.append((evse_id, prof))
    return out, tx_start


def naive_period(prof: dict[str, Any], t: datetime, tx_start: datetime | None) -> dict[str, Any] | None:
    if "validFrom" in prof and t < parse_time(prof["validFrom"]):
        return None
    if "validTo" in prof and t >= parse_time(prof["validTo"]):
        return None
    sched = prof["chargingSchedule"][0]
    if prof["chargingProfileKind"] == "Relative":
        assert tx_start is not None
        begin = tx_start
    else:
        begin = parse_time(sched["startSchedule"])
    if t < begin:
        return None
    offset = (t - begin).total_seconds()
    if prof["chargingProfileKind"] == "Recurring":
        offset = offset % 86400
    if "duration" in sched and offset >= sched["duration"]:
        return None
    active = None
    for period in sched["chargingSchedulePeriod"]:
        if period["startPeriod"] <= offset:
            active = period
    return active


def oracle(
    items: list[tuple[int, dict[str, Any]]], t: datetime, tx_start: datetime | None
) -> tuple[float, list[float], float | None]:
    """(expected W, the W bound of every applicable leader, the station-max bound in W)."""
    leaders: dict[str, tuple[int, dict[str, Any], str]] = {}
    for evse_id, prof in items:
        if evse_id not in (0, 1):
            continue
        period = naive_period(prof, t, tx_start)
        purpose = prof["chargingProfilePurpose"]
        if period is None:
            continue
        best = leaders.get(purpose)
        if best is None or prof["stackLevel"] > best[0]:
            leaders[purpose] = (prof["stackLevel"], period, prof["chargingSchedule"][0]["chargingRateUnit"])
    tx_level = leaders.get("TxProfile") or leaders.get("TxDefaultProfile")
    applicable = [
        x
        for x in (
            leaders.get("ChargingStationMaxProfile"),
            leaders.get("ChargingStationExternalConstraints"),
            tx_level,
        )
        if x
    ]
    phases = 3
    for _, period, _ in applicable:
        if period.get("numberPhases"):
            phases = min(phases, period["numberPhases"])

    def in_w(period: dict[str, Any], unit: str) -> float:
        return period["limit"] if unit == "W" else period["limit"] * VOLTS * phases

    bounds = [in_w(p, u) for _, p, u in applicable]
    station = leaders.get("ChargingStationMaxProfile")
    station_w = in_w(station[1], station[2]) if station else None
    return min([RATED_A * VOLTS * phases, *bounds]), bounds, station_w


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(), st.lists(st.integers(0, WINDOW - 1), min_size=5, max_size=20))
def test_composite_never_exceeds_an_applicable_limit_or_the_station_max(
    drawn: tuple[list[tuple[int, dict[str, Any]]], datetime | None], random_offsets: list[int]
) -> None:
    items, tx_start = drawn
    evse = EvseInfo(1, max_current_a=RATED_A, transaction_id="T1" if tx_start else None, tx_start=tx_start)
    ctx = StationContext(evses=(evse,))
    store = ProfileStore()
    for evse_id, prof in items:
        if prof["chargingProfilePurpose"] == "ChargingStationExternalConstraints":
            assert store.install_external(prof, evse_id) is None
        else:
            store.install(prof, evse_id)
    schedule = composite_schedule(store, 1, T0, WINDOW, "W", ctx)
    periods = schedule["chargingSchedulePeriod"]
    starts = [p["startPeriod"] for p in periods]

    # Every period boundary of every profile (and a second either side), plus random instants.
    offsets = set(random_offsets)
    for s in starts:
        offsets.update((s - 1, s, s + 1))
    offsets = {o for o in offsets if 0 <= o < WINDOW}
    for offset in sorted(offsets):
        t = T0 + timedelta(seconds=offset)
        expected, bounds, station_w = oracle(items, t, tx_start)
        got = limit_at(store, 1, t, ctx).watts
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-6), (offset, got, expected)
        assert all(got <= b + 1e-6 for b in bounds), (offset, got, bounds)
        if station_w is not None:
            assert got <= station_w + 1e-6
        index = max(i for i, s in enumerate(starts) if s <= offset)
        assert abs(periods[index]["limit"] - expected) <= 1e-3, (offset, periods[index], expected)
