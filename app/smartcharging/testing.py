"""Factories for charging-profile payloads, for tests, scenarios and benchmarks.

They live in the package (not in tests/) so scenario files and the station's own tests build
profiles the same way; every dict they return is a schema-valid OCPP 2.1 ChargingProfileType
unless the arguments ask for something invalid on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PeriodSpec = tuple[int, float] | Mapping[str, Any]


def periods(*specs: PeriodSpec) -> list[dict[str, Any]]:
    """(startPeriod, limit) pairs or full period dicts, in order."""
    out: list[dict[str, Any]] = []
    for spec in specs:
        if isinstance(spec, tuple):
            out.append({"startPeriod": spec[0], "limit": spec[1]})
        else:
            out.append(dict(spec))
    return out


def make_profile(
    pid: int,
    purpose: str = "TxDefaultProfile",
    plan: Iterable[PeriodSpec] = ((0, 16),),
    *,
    stack: int = 0,
    kind: str = "Absolute",
    unit: str = "A",
    start: str | None = "2025-01-01T00:00:00Z",
    duration: int | None = None,
    recurrency: str | None = None,
    transaction_id: str | None = None,
    valid_from: str | None = None,
    valid_to: str | None = None,
    schedule: Mapping[str, Any] | None = None,
    **profile_fields: Any,
) -> dict[str, Any]:
    """One ChargingProfileType; `start` is dropped for Relative and Dynamic kinds."""
    sched: dict[str, Any] = {"id": 1, "chargingRateUnit": unit, "chargingSchedulePeriod": periods(*plan)}
    if start is not None and kind in ("Absolute", "Recurring"):
        sched["startSchedule"] = start
    if duration is not None:
        sched["duration"] = duration
    if schedule:
        sched.update(schedule)
    prof: dict[str, Any] = {
        "id": pid,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [sched],
    }
    if kind == "Recurring":
        prof["recurrencyKind"] = recurrency or "Daily"
    for key, value in (("transactionId", transaction_id), ("validFrom", valid_from), ("validTo", valid_to)):
        if value is not None:
            prof[key] = value
    prof.update(profile_fields)
    return prof
