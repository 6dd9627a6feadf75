"""Composite-schedule cost: GetCompositeSchedule over 24 h and limit_at per physics tick.

Run: .venv/bin/python bench/bench_composite.py [--seconds 0.5]

"typical" is a station max, a recurring day/night TxDefaultProfile and a two-period TxProfile.
The other rows are stacks of 10 profiles (ChargingStationMaxProfile, ExternalConstraints,
TxDefaultProfile x4 on EVSE 0 and 1, TxProfile x3 for the running transaction, LocalGeneration),
each with N periods spread over 24 h, N from 24 to 1024 (the schema maximum). Printed per N:

  composite_ms   composite_schedule(evse 1, 24 h window, unit W), milliseconds per call
  periods_out    how many periods that composite has
  evse0_ms       the same for evseId 0 (sum over 2 EVSEs, capped by station profiles)
  limit_at_us    limit_at() per call, ticking 1 s apart through the day (cache hits and the
                 hourly rebuilds included), microseconds
  limit_at_cold  limit_at() right after a store change (full rebuild of the hour), microseconds

Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.smartcharging import EvseInfo, ProfileStore, StationContext, composite_schedule, limit_at

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
DAY = 86_400


def profile(
    pid: int, purpose: str, stack: int, n: int, unit: str, base: float, **extra: Any
) -> dict[str, Any]:
    step = DAY // n
    periods = [{"startPeriod": i * step, "limit": base + (i * 7 + pid * 3) % 13} for i in range(n)]
    kind = extra.pop("kind", "Absolute")
    sched: dict[str, Any] = {"id": 1, "chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    if kind != "Relative":
        sched["startSchedule"] = (START - timedelta(seconds=pid * 37)).isoformat()
    return {
        "id": pid,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [sched],
        **extra,
    }


def build(n: int) -> tuple[ProfileStore, StationContext]:
    ctx = StationContext(
        evses=(
            EvseInfo(1, max_current_a=32, transaction_id="T1", tx_start=START),
            EvseInfo(2, max_current_a=32),
        ),
        supported_additional_purposes=frozenset({"LocalGeneration"}),
    )
    store = ProfileStore()
    store.install(profile(1, "ChargingStationMaxProfile", 0, n, "W", 20_000), 0)
    store.install(profile(2, "ChargingStationExternalConstraints", 0, n, "A", 25), 0, source="EMS")
    for k in range(4):
        store.install(profile(10 + k, "TxDefaultProfile", k, n, "A", 10 + k), k % 2)
    for k in range(3):
        store.install(
            profile(20 + k, "TxProfile", k, n, "W", 7000 + k * 500, transactionId="T1", kind="Relative"), 1
        )
    store.install(profile(30, "LocalGeneration", 0, n, "W", 1000), 0, source="EMS")
    return store, ctx


def build_typical() -> tuple[ProfileStore, StationContext]:
    """What a station usually holds: a station max, a day/night TxDefault, one TxProfile."""
    ctx = StationContext(evses=(EvseInfo(1, max_current_a=32, transaction_id="T1", tx_start=START),))
    store = ProfileStore()
    day_night = [
        {"startPeriod": 0, "limit": 32},
        {"startPeriod": 25200, "limit": 16},
        {"startPeriod": 79200, "limit": 32},
    ]
    store.install(profile(1, "ChargingStationMaxProfile", 0, 1, "W", 22_000), 0)
    typical = profile(2, "TxDefaultProfile", 0, 1, "A", 0, kind="Recurring", recurrencyKind="Daily")
    typical["chargingSchedule"][0]["chargingSchedulePeriod"] = day_night
    store.install(typical, 0)
    store.install(profile(3, "TxProfile", 0, 2, "A", 10, transactionId="T1", kind="Relative"), 1)
    return store, ctx


def per_call(fn: Any, seconds: float) -> float:
    calls = 0
    t0 = time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return elapsed / calls


def run(n: int, seconds: float) -> str:
    store, ctx = build(n) if n else build_typical()
    comp = composite_schedule(store, 1, START, DAY, "W", ctx)
    c_ms = per_call(lambda: composite_schedule(store, 1, START, DAY, "W", ctx), seconds) * 1e3
    e_ms = per_call(lambda: composite_schedule(store, 0, START, DAY, "W", ctx), seconds) * 1e3

    ticks = [START + timedelta(seconds=s) for s in range(0, DAY, 1)]
    t0 = time.perf_counter()
    for t in ticks:
        limit_at(store, 1, t, ctx)
    tick_us = (time.perf_counter() - t0) / len(ticks) * 1e6

    def cold() -> None:
        store._limit_cache.clear()
        limit_at(store, 1, START, ctx)

    cold_us = per_call(cold, seconds) * 1e6
    n_out = len(comp["chargingSchedulePeriod"])
    label = n or "typical"
    return f"{label:>8} {c_ms:>13.2f} {n_out:>12} {e_ms:>9.2f} {tick_us:>12.2f} {cold_us:>14.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    heads = ("periods", "composite_ms", "periods_out", "evse0_ms", "limit_at_us", "limit_at_cold")
    widths = (8, 13, 12, 9, 12, 14)
    print(" ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for n in (0, 24, 96, 288, 1024):
        print(run(n, args.seconds))


if __name__ == "__main__":
    main()
