"""Turn a meter `Reading` into OCPP 2.1 MeterValueType dicts.

The measurand list comes straight from the device model (e.g.
`SampledDataCtrlr.TxUpdatedMeasurands` = "Energy.Active.Import.Register,Power.Active.Import"),
so this module also tells the device-model layer which names it cannot produce: a station
must reject a SetVariables with a measurand it does not support rather than silently
send nothing for it.

Conventions (units from the Part 2 appendix "Standardized Units of Measurements"):

* every sampled value carries `context`, `measurand`, `location` and `unitOfMeasure.unit`,
  even where they equal the schema defaults, so captures read the same in any tool;
* energy and power are totals (no `phase`), as with `RegisterValuesWithoutPhases`;
* Current.Import is per phase (`L1`..`L3`) and Voltage per phase to neutral (`L1-N`..),
  for the phases the EV draws on; without an EV, Voltage covers the EVSE's supply phases and
  Current.Import is a single 0 A total, so the measurand is never silently absent;
* SoC is measured by the EV (`location` "EV") and only sent when an EV reports one;
* V2X: import and export are separate measurands that are never negative (Power.Active.Import
  is 0 while discharging, Power.Active.Export carries the export), and the current of the
  flow's direction is reported under Current.Import or Current.Export, the other one as 0, so
  each reading keeps |P| = sum(U * I).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from app.clock import utc_timestamp
from app.station.meter import Reading

#: OCPP 2.1 ReadingContextEnumType values accepted by the builders.
READING_CONTEXTS = frozenset(
    {
        "Interruption.Begin",
        "Interruption.End",
        "Other",
        "Sample.Clock",
        "Sample.Periodic",
        "Transaction.Begin",
        "Transaction.End",
        "Trigger",
    }
)

_PHASE_NAMES = ("L1", "L2", "L3")
_VOLTAGE_PHASE_NAMES = ("L1-N", "L2-N", "L3-N")

SampledValue = dict[str, Any]


def _value(
    measurand: str,
    value: float,
    unit: str,
    context: str,
    *,
    location: str = "Outlet",
    phase: str | None = None,
) -> SampledValue:
    sampled: SampledValue = {
        "value": value,
        "context": context,
        "measurand": measurand,
    }
    if phase is not None:
        sampled["phase"] = phase
    sampled["location"] = location
    sampled["unitOfMeasure"] = {"unit": unit}
    return sampled


def _whole(value: float) -> int:
    """Whole units as a JSON integer: `11040`, not `11040.0`, reads like a real meter."""
    return round(value)


def _energy_import(r: Reading, context: str) -> list[SampledValue]:
    return [_value("Energy.Active.Import.Register", round(r.energy_wh, 1), "Wh", context)]


def _energy_export(r: Reading, context: str) -> list[SampledValue]:
    return [_value("Energy.Active.Export.Register", round(r.export_energy_wh, 1), "Wh", context)]


def _power_import(r: Reading, context: str) -> list[SampledValue]:
    return [_value("Power.Active.Import", _whole(r.import_w), "W", context)]


def _power_export(r: Reading, context: str) -> list[SampledValue]:
    return [_value("Power.Active.Export", _whole(r.export_w), "W", context)]


def _power_setpoint(r: Reading, context: str) -> list[SampledValue]:
    """Only while a setpoint applies: an absent setpoint is not a 0 W setpoint."""
    if r.setpoint_w is None:
        return []
    return [_value("Power.Active.Setpoint", _whole(r.setpoint_w), "W", context)]


def _power_offered(r: Reading, context: str) -> list[SampledValue]:
    return [_value("Power.Offered", _whole(r.offered_w), "W", context)]


def _currents(r: Reading, context: str, measurand: str, flowing: bool) -> list[SampledValue]:
    def amps(i: int) -> float:
        return round(r.current_a[i], 2) if flowing else 0.0

    if r.evse_phases == 0:  # DC: one current, no phase
        return [_value(measurand, amps(0), "A", context)]
    if r.phases_in_use == 0:
        return [_value(measurand, 0.0, "A", context)]
    return [_value(measurand, amps(i), "A", context, phase=_PHASE_NAMES[i]) for i in range(r.phases_in_use)]


def _current_import(r: Reading, context: str) -> list[SampledValue]:
    return _currents(r, context, "Current.Import", r.power_w >= 0)


def _current_export(r: Reading, context: str) -> list[SampledValue]:
    return _currents(r, context, "Current.Export", r.power_w < 0)


def _current_offered(r: Reading, context: str) -> list[SampledValue]:
    return [_value("Current.Offered", round(r.offered_current_a, 2), "A", context)]


def _voltage(r: Reading, context: str) -> list[SampledValue]:
    if r.evse_phases == 0:  # DC: the battery-side voltage, no phase
        return [_value("Voltage", round(r.voltage_v[0], 1), "V", context)]
    phases = r.phases_in_use or r.evse_phases
    return [
        _value("Voltage", round(r.voltage_v[i], 1), "V", context, phase=_VOLTAGE_PHASE_NAMES[i])
        for i in range(phases)
    ]


def _frequency(r: Reading, context: str) -> list[SampledValue]:
    return [_value("Frequency", round(r.frequency_hz, 2), "Hz", context)]


def _soc(r: Reading, context: str) -> list[SampledValue]:
    if r.soc_percent is None:
        return []
    return [_value("SoC", round(r.soc_percent, 1), "Percent", context, location="EV")]


_BUILDERS: dict[str, Callable[[Reading, str], list[SampledValue]]] = {
    "Energy.Active.Import.Register": _energy_import,
    "Energy.Active.Export.Register": _energy_export,
    "Power.Active.Import": _power_import,
    "Power.Active.Export": _power_export,
    "Power.Active.Setpoint": _power_setpoint,
    "Power.Offered": _power_offered,
    "Current.Import": _current_import,
    "Current.Export": _current_export,
    "Current.Offered": _current_offered,
    "Voltage": _voltage,
    "Frequency": _frequency,
    "SoC": _soc,
}

#: Measurands this station can sample; what a device model may advertise as valuesList.
SUPPORTED_MEASURANDS: tuple[str, ...] = tuple(_BUILDERS)


def parse_measurands(value: str | Iterable[str]) -> list[str]:
    """Split a device-model measurand list ("a,b, c") into names, dropping blanks and repeats."""
    items = value.split(",") if isinstance(value, str) else value
    seen: list[str] = []
    for item in items:
        name = item.strip()
        if name and name not in seen:
            seen.append(name)
    return seen


def unsupported_measurands(measurands: str | Iterable[str]) -> list[str]:
    """Names this station cannot sample, in the order given: the reason to reject a SetVariables."""
    return [m for m in parse_measurands(measurands) if m not in _BUILDERS]


def build_sampled_values(
    reading: Reading, measurands: str | Iterable[str], context: str
) -> tuple[list[SampledValue], list[str]]:
    """SampledValueType dicts for the supported measurands, plus the names that were skipped."""
    if context not in READING_CONTEXTS:
        raise ValueError(f"unknown reading context {context!r}")
    values: list[SampledValue] = []
    unsupported: list[str] = []
    for name in parse_measurands(measurands):
        builder = _BUILDERS.get(name)
        if builder is None:
            unsupported.append(name)
        else:
            values.extend(builder(reading, context))
    return values, unsupported


def build_meter_value(
    reading: Reading,
    measurands: str | Iterable[str],
    context: str,
    timestamp: str | datetime,
) -> dict[str, Any] | None:
    """One MeterValueType dict, or None when nothing could be sampled.

    None rather than an empty list because the schema requires at least one sampled value:
    the caller then leaves `meterValue` out of the message instead of sending an invalid one.
    Unsupported names are skipped here; use `unsupported_measurands` to reject them earlier.
    """
    values, _ = build_sampled_values(reading, measurands, context)
    if not values:
        return None
    stamp = timestamp if isinstance(timestamp, str) else utc_timestamp(timestamp)
    return {"timestamp": stamp, "sampledValue": values}
