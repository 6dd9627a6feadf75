"""Variable monitoring of an emulated station (use cases N02–N08).

A monitor watches one device-model variable and raises a NotifyEvent when the value crosses a
threshold, moves by a delta, strays from its Target, or on a period. Three kinds exist, and a
real charger ships with the first two: hard-wired monitors (firmware, never changed or removed),
preconfigured monitors (factory settings the CSMS may override, clear or switch off with
SetMonitoringBase) and the custom monitors the CSMS sets. Custom monitors and the state of
tripped thresholds live in the station's StationStore, so both survive a reboot (N04 remark,
N07.FR.13/14).

Monitors are evaluated whenever the device model reports a change of the watched value (the
simulation, the window and the CSMS all write through it); periodic ones on the station tick.
Which events reach the CSMS is decided by MonitoringCtrlr variables: Enabled, the active
MonitoringLevel (N05.FR.03, N07.FR.15) and OfflineQueuingSeverity while offline (N07.FR.04,
N08.FR.03). Events above that severity are dropped while offline rather than queued.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from app.clock import utc_timestamp
from app.protocol.errors import (
    CallTimeout,
    ConnectionLost,
    FormatViolation,
    OccurrenceConstraintViolation,
    OcppError,
)
from app.protocol.schemas import OcppVersion
from app.station.device_model import (
    AttributeType,
    Component,
    DataType,
    Mutability,
    Variable,
    VariableDefinition,
)
from app.station.persistence import json_size

if TYPE_CHECKING:
    from app.station.station import Station

log = logging.getLogger(__name__)

MC: Final = "MonitoringCtrlr"
SEVERITIES: Final = range(10)  # 0 Danger .. 9 Debug
_STORE_KEY: Final = "monitoring"


class MonitorType(StrEnum):
    UPPER_THRESHOLD = "UpperThreshold"
    LOWER_THRESHOLD = "LowerThreshold"
    DELTA = "Delta"
    PERIODIC = "Periodic"
    PERIODIC_CLOCK_ALIGNED = "PeriodicClockAligned"
    TARGET_DELTA = "TargetDelta"  # 2.1
    TARGET_DELTA_RELATIVE = "TargetDeltaRelative"  # 2.1


class Origin(StrEnum):
    """EventNotificationEnumType of a monitor: who defined it."""

    HARD_WIRED = "HardWiredMonitor"
    PRECONFIGURED = "PreconfiguredMonitor"
    CUSTOM = "CustomMonitor"


class MonitoringBase(StrEnum):
    ALL = "All"
    FACTORY_DEFAULT = "FactoryDefault"
    HARD_WIRED_ONLY = "HardWiredOnly"


_THRESHOLDS: Final = frozenset({MonitorType.UPPER_THRESHOLD, MonitorType.LOWER_THRESHOLD})
_TARGETS: Final = frozenset({MonitorType.TARGET_DELTA, MonitorType.TARGET_DELTA_RELATIVE})
_PERIODIC: Final = frozenset({MonitorType.PERIODIC, MonitorType.PERIODIC_CLOCK_ALIGNED})
_NUMERIC: Final = frozenset({DataType.DECIMAL, DataType.INTEGER})
#: monitoringCriteria of GetMonitoringReport -> monitor types it selects (N02.FR.12-14, FR.23).
CRITERIA: Final[dict[str, frozenset[MonitorType]]] = {
    "ThresholdMonitoring": _THRESHOLDS,
    "DeltaMonitoring": frozenset({MonitorType.DELTA}),
    "PeriodicMonitoring": _PERIODIC,
    "TargetDeltaMonitoring": _TARGETS,
}


@dataclass(frozen=True, slots=True)
class FactoryMonitor:
    """A monitor the firmware brings along, installed on every EVSE that has the variable."""

    origin: Origin
    component: str
    variable: str
    type: MonitorType
    value: float
    severity: int


#: What this emulated charger ships with: an overheating alarm at 90 °C (hard-wired), a warning to the
#: operator at 70 °C and a report of every change of an EVSE's Problem flag (preconfigured).
FACTORY_MONITORS: Final = (
    FactoryMonitor(Origin.HARD_WIRED, "EVSE", "Temperature", MonitorType.UPPER_THRESHOLD, 90.0, 1),
    FactoryMonitor(Origin.PRECONFIGURED, "EVSE", "Temperature", MonitorType.UPPER_THRESHOLD, 70.0, 4),
    FactoryMonitor(Origin.PRECONFIGURED, "EVSE", "Problem", MonitorType.DELTA, 1.0, 4),
)


@dataclass(slots=True)
class Monitor:
    """One monitor: its setting and what evaluating it needs to remember."""

    id: int
    component: Component
    variable: Variable
    type: MonitorType
    value: float
    severity: int
    transaction: bool = False
    origin: Origin = Origin.CUSTOM
    tripped: bool = False  # a threshold / target monitor whose boundary is exceeded now
    reference: str | None = None  # Delta: the value at the last event (or when set)
    due: float | None = None  # Periodic: monotonic seconds; clock-aligned: epoch seconds

    @property
    def key(self) -> tuple[Any, Any]:
        return self.component.key, self.variable.key

    def setting(self, version: OcppVersion | None) -> dict[str, Any]:
        """VariableMonitoringType; eventNotificationType exists (and is required) on 2.1 only."""
        data: dict[str, Any] = {
            "id": self.id,
            "transaction": self.transaction,
            "value": _number(self.value),
            "type": self.type.value,
            "severity": self.severity,
        }
        if version is not OcppVersion.V201:
            data["eventNotificationType"] = self.origin.value  # N02.FR.22
        return data

    def to_stored(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": self.component.to_ocpp(),
            "variable": self.variable.to_ocpp(),
            "type": self.type.value,
            "value": self.value,
            "severity": self.severity,
            "transaction": self.transaction,
        }

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Monitor:
        return cls(
            int(data["id"]),
            Component.from_ocpp(data["component"]),
            Variable.from_ocpp(data["variable"]),
            MonitorType(data["type"]),
            float(data["value"]),
            int(data["severity"]),
            bool(data.get("transaction", False)),
        )


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _float(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _status(
    item: Mapping[str, Any], status: str, reason: str | None = None, info: str = ""
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "status": status,
        "type": item["type"],
        "severity": item["severity"],
        "component": item["component"],
        "variable": item["variable"],
    }
    if reason is not None:
        result["statusInfo"] = {"reasonCode": reason}
        if info:
            result["statusInfo"]["additionalInfo"] = info[:1024]
    return result


class StationMonitoring:
    """The monitors of one station, their evaluation and the messages they cause."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self.dm = station.dm
        self._factory = self._build_factory()
        self._custom: dict[int, Monitor] = {}
        self._cleared_factory: set[int] = set()  # preconfigured monitors cleared by the CSMS
        self._next_id = max((m.id for m in self._factory), default=0) + 1
        tripped = self._load()
        self._active: list[Monitor] = []
        self._by_key: dict[tuple[Any, Any], list[Monitor]] = {}
        self._reindex()
        for monitor in self._active:
            monitor.tripped = monitor.id in tripped
            self._reset(monitor)
        self.dm.on_change(self._on_change)

    # ------------------------------------------------------------------ state

    def _build_factory(self) -> list[Monitor]:
        monitors: list[Monitor] = []
        for evse_id in sorted(self.station.evses):
            for spec in FACTORY_MONITORS:
                component = Component(spec.component, None, evse_id)
                if self.dm.find(component, spec.variable) is None:
                    continue  # a template without this variable has no such monitor
                monitors.append(
                    Monitor(
                        len(monitors) + 1,
                        component,
                        Variable(spec.variable),
                        spec.type,
                        spec.value,
                        spec.severity,
                        origin=spec.origin,
                    )
                )
        return monitors

    def _load(self) -> set[int]:
        """Custom monitors and tripped ids from the store; returns the tripped ids."""
        raw = self.station.store.get(_STORE_KEY)
        if not raw:
            return set()
        try:
            data = json.loads(raw)
            for item in data.get("custom", []):
                monitor = Monitor.from_stored(item)
                if self.dm.find(monitor.component, monitor.variable) is None:
                    log.warning("monitor %d dropped: its variable no longer exists", monitor.id)
                    continue
                self._custom[monitor.id] = monitor
            self._cleared_factory = {int(i) for i in data.get("cleared", [])}
            self._next_id = max(self._next_id, int(data.get("next_id", 0)))
            return {int(i) for i in data.get("tripped", [])}
        except (ValueError, KeyError, TypeError) as exc:
            station_id = self.station.station_id
            log.warning("%s: stored monitors unreadable, starting without custom ones: %s", station_id, exc)
            return set()

    def _save(self) -> None:
        data = {
            "custom": [m.to_stored() for m in self._custom.values()],
            "cleared": sorted(self._cleared_factory),
            "next_id": self._next_id,
            "tripped": sorted(m.id for m in self._active if m.tripped),
        }
        self.station.store.put(_STORE_KEY, json.dumps(data, separators=(",", ":")))

    @property
    def base(self) -> MonitoringBase:
        text = self.dm.get_str(MC, "ActiveMonitoringBase", default=MonitoringBase.ALL.value)
        try:
            return MonitoringBase(text)
        except ValueError:
            return MonitoringBase.ALL

    def _reindex(self) -> None:
        """Recompute the active monitors; one that was off before starts afresh."""
        before = {id(m) for m in self._active}
        preconfigured_on = self.base is not MonitoringBase.HARD_WIRED_ONLY
        active = [
            m
            for m in self._factory
            if m.id not in self._custom
            and (
                m.origin is Origin.HARD_WIRED
                or (preconfigured_on and m.id not in self._cleared_factory)
            )
        ]
        active += self._custom.values()
        active.sort(key=lambda m: m.id)
        self._active = active
        self._by_key = {}
        for monitor in active:
            self._by_key.setdefault(monitor.key, []).append(monitor)
            if id(monitor) not in before and monitor.origin is not Origin.CUSTOM:
                monitor.tripped = False
                self._reset(monitor)

    def _reset(self, monitor: Monitor) -> None:
        """Start a monitor's clock and delta reference from now (N07.FR.18, N08.FR.06/07)."""
        monitor.reference = self._actual(monitor)
        monitor.due = None

    # ------------------------------------------------------------------ N04: SetVariableMonitoring

    def set_variable_monitoring(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        items = payload["setMonitoringData"]
        self._check_limits("SetVariableMonitoring", payload, len(items))
        results = [self._set_one(item) for item in items]  # N04.FR.01/02: one result per item
        self._save()
        return {"setMonitoringResult": results}

    def _set_one(self, item: Mapping[str, Any]) -> dict[str, Any]:
        try:
            component = Component.from_ocpp(item["component"])
        except ValueError:
            return _status(item, "UnknownComponent")
        variable = Variable.from_ocpp(item["variable"])
        if component.key not in {c.key for c in self.dm.components()}:
            return _status(item, "UnknownComponent")  # N04.FR.03
        definition = self.dm.find(component, variable)
        if definition is None:
            return _status(item, "UnknownVariable")  # N04.FR.04
        kind = MonitorType(item["type"])
        severity, value = int(item["severity"]), float(item["value"])
        problem = self._unsupported(definition, kind)
        if problem is not None:
            return _status(item, "UnsupportedMonitorType", "UnsupportedParam", problem)  # N04.FR.05
        problem = self._bad_value(definition, kind, value, severity)
        if problem is not None:
            return _status(item, "Rejected", "ValueOutOfRange", problem)  # N04.FR.06/14
        wanted_id = item.get("id")
        old: Monitor | None = None
        if wanted_id is not None:
            old = next((m for m in self._active if m.id == wanted_id), None)
            if old is None:
                missing = f"no monitor with id {wanted_id}"
                return _status(item, "Rejected", "NotFound", missing)  # N04.FR.13
            if old.key != (component.key, variable.key):
                moved = "a monitor cannot move to another variable"
                return _status(item, "Rejected", "InvalidValue", moved)  # N04.FR.16
            if old.origin is Origin.HARD_WIRED:
                fixed = "hard-wired monitors cannot be changed"
                return _status(item, "Rejected", "ReadOnly", fixed)  # N04.FR.18
        clash = next(
            (
                m
                for m in self._by_key.get((component.key, variable.key), [])
                if m.type is kind and m.severity == severity and m.id != wanted_id
            ),
            None,
        )
        if clash is not None:
            same = f"monitor {clash.id} has this type and severity"
            return _status(item, "Duplicate", "InvalidValue", same)  # N04.FR.10
        if wanted_id is None:
            monitor_id, self._next_id = self._next_id, self._next_id + 1  # N04.FR.11
        else:
            monitor_id = int(wanted_id)
        monitor = Monitor(
            monitor_id,
            definition.component,
            definition.variable,
            kind,
            value,
            severity,
            bool(item.get("transaction", False)),
            Origin.CUSTOM,  # N04.FR.15: a replaced preconfigured monitor becomes custom
        )
        self._reset(monitor)
        if old is not None and old.type is kind:
            monitor.tripped = old.tripped  # N07.FR.11 compares the new boundary with this state
        self._custom[monitor_id] = monitor
        self._reindex()
        result = _status(item, "Accepted")
        result["id"] = monitor_id
        return result

    def _unsupported(self, definition: VariableDefinition, kind: MonitorType) -> str | None:
        ch = definition.characteristics
        if not ch.supports_monitoring:
            return f"{definition.label} does not support monitoring"
        numeric = ch.data_type in _NUMERIC
        if kind in _THRESHOLDS and not numeric:
            return f"{kind} needs a numeric variable; {definition.label} is {ch.data_type.value}"
        if kind in _TARGETS and (not numeric or definition.attribute_index(AttributeType.TARGET) is None):
            return f"{kind} needs a numeric variable with a Target attribute"
        return None

    @staticmethod
    def _bad_value(
        definition: VariableDefinition, kind: MonitorType, value: float, severity: int
    ) -> str | None:
        if severity not in SEVERITIES:
            return f"severity {severity} is outside 0-9"
        ch = definition.characteristics
        if kind in _THRESHOLDS:
            if ch.min_limit is not None and value < ch.min_limit:
                return f"{value:g} is below the variable's minLimit {ch.min_limit:g}"
            if ch.max_limit is not None and value > ch.max_limit:
                return f"{value:g} is above the variable's maxLimit {ch.max_limit:g}"
        elif kind in _PERIODIC:
            if value < 1:
                return f"a period of {value:g} s is too short (at least 1 s)"
        elif value < 0:
            return f"{kind} value {value:g} is negative"
        return None

    def _check_limits(self, action: str, payload: Mapping[str, Any], count: int) -> None:
        """MonitoringCtrlr.ItemsPerMessage / BytesPerMessage[action] (N04.FR.09, N06.FR.06/07)."""
        items = self.dm.get_int(MC, "ItemsPerMessage", action, default=0)
        if items > 0 and count > items:
            raise OccurrenceConstraintViolation(
                f"{action}Request carries {count} items, more than {MC}.ItemsPerMessage[{action}] = {items}"
            )
        limit = self.dm.get_int(MC, "BytesPerMessage", action, default=0)
        size = json_size(payload)
        if limit > 0 and size > limit:
            raise FormatViolation(
                f"{action} payload is {size} bytes; {MC}.BytesPerMessage[{action}] is {limit}"
            )

    # ------------------------------------------------------------------ N06: ClearVariableMonitoring

    def clear_variable_monitoring(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        ids = payload["id"]
        self._check_limits("ClearVariableMonitoring", payload, len(ids))
        results = []
        for monitor_id in ids:  # N06.FR.05: one result per id
            active = next((m for m in self._active if m.id == monitor_id), None)
            if active is None:
                results.append({"id": monitor_id, "status": "NotFound"})  # N06.FR.02
            elif active.origin is Origin.HARD_WIRED:
                results.append(
                    {"id": monitor_id, "status": "Rejected", "statusInfo": {"reasonCode": "ReadOnly"}}
                )  # N06.FR.03
            else:
                self._custom.pop(monitor_id, None)
                if any(m.id == monitor_id for m in self._factory):  # back with SetMonitoringBase only
                    self._cleared_factory.add(monitor_id)
                results.append({"id": monitor_id, "status": "Accepted"})  # N06.FR.01
        self._reindex()
        self._save()
        return {"clearMonitoringResult": results}

    # ------------------------------------------------------------------ N03 / N05

    def set_monitoring_base(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """All keeps custom monitors (N03.FR.03); FactoryDefault (FR.04) and HardWiredOnly
        (FR.05) delete them; HardWiredOnly switches the preconfigured ones off as well."""
        base = MonitoringBase(payload["monitoringBase"])
        if base is not MonitoringBase.ALL:
            self._custom.clear()
        self._cleared_factory.clear()
        for name in ("MonitoringBase", "ActiveMonitoringBase"):
            if self.dm.find(MC, name) is not None:
                self.dm.set_actual(MC, name, base.value, validate=False)
        self._reindex()
        self._save()
        return {"status": "Accepted"}

    def set_monitoring_level(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        severity = payload["severity"]
        if severity not in SEVERITIES:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "ValueOutOfRange"}}  # N05.FR.02
        for name in ("MonitoringLevel", "ActiveMonitoringLevel"):
            if self.dm.find(MC, name) is not None:
                self.dm.set_actual(MC, name, str(severity), validate=False)
        return {"status": "Accepted"}  # N05.FR.01

    # ------------------------------------------------------------------ N02: GetMonitoringReport

    def report(self, payload: Mapping[str, Any], version: OcppVersion | None) -> list[dict[str, Any]] | None:
        """MonitoringData entries for a GetMonitoringReportRequest, or None for criteria this
        station does not support (N02.FR.02). An empty list means EmptyResultSet (N02.FR.10)."""
        criteria = payload.get("monitoringCriteria") or []
        if any(c not in CRITERIA for c in criteria):
            return None
        component_variables = payload.get("componentVariable") or []
        limit = self.dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", "GetReport", default=0)
        if limit > 0 and len(component_variables) > limit:  # N02.FR.07
            raise OccurrenceConstraintViolation(
                f"GetMonitoringReportRequest carries {len(component_variables)} componentVariables, "
                f"more than DeviceDataCtrlr.ItemsPerMessage[GetReport] = {limit}"
            )
        types: set[MonitorType] = set()
        for criterion in criteria:
            types |= CRITERIA[criterion]
        grouped: dict[tuple[Any, Any], dict[str, Any]] = {}
        for monitor in self._active:
            if types and monitor.type not in types:
                continue
            if component_variables and not any(_selects(cv, monitor) for cv in component_variables):
                continue
            entry = grouped.setdefault(
                monitor.key,
                {
                    "component": monitor.component.to_ocpp(),
                    "variable": monitor.variable.to_ocpp(),
                    "variableMonitoring": [],
                },
            )
            entry["variableMonitoring"].append(monitor.setting(version))
        return list(grouped.values())

    def report_requests(self, request_id: int, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """NotifyMonitoringReportRequest parts: one requestId (N02.FR.04), seqNo from 0
        (N02.FR.09), tbc on all but the last; sized by DeviceDataCtrlr.ItemsPerMessage[GetReport]."""
        size = self.dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", "GetReport", default=100) or 100
        parts = [list(entries[i : i + size]) for i in range(0, len(entries), size)]
        generated = utc_timestamp(self.station.now())
        return [
            {
                "requestId": request_id,
                "seqNo": seq_no,
                "generatedAt": generated,
                "tbc": seq_no < len(parts) - 1,
                "monitor": part,
            }
            for seq_no, part in enumerate(parts)
        ]

    # ------------------------------------------------------------------ N07 / N08: evaluation

    def _on_change(
        self, component: Component, variable: Variable, attribute: AttributeType, _text: str
    ) -> None:
        monitors = self._by_key.get((component.key, variable.key))
        if not monitors or attribute not in (AttributeType.ACTUAL, AttributeType.TARGET):
            return
        self._emit([e for m in monitors if (e := self._evaluate(m)) is not None])

    def check_all(self) -> None:
        """Evaluate every monitor against the current values: after a monitor was set or
        changed (N07.FR.11) and when the station comes online (N07.FR.14)."""
        self._emit([e for m in list(self._active) if (e := self._evaluate(m)) is not None])

    def tick(self) -> None:
        """Periodic monitors (N08.FR.06/07), on the station clock."""
        events: list[dict[str, Any]] = []
        monotonic, epoch = self.station.clock.monotonic(), self.station.now().timestamp()
        for monitor in self._active:
            if monitor.type not in _PERIODIC:
                continue
            aligned = monitor.type is MonitorType.PERIODIC_CLOCK_ALIGNED
            now = epoch if aligned else monotonic
            if monitor.due is None:
                period = monitor.value
                monitor.due = (math.floor(now / period) + 1) * period if aligned else now + period
                continue
            if now < monitor.due:
                continue
            monitor.due += monitor.value * max(1, math.floor((now - monitor.due) / monitor.value) + 1)
            if self._in_scope(monitor):
                events.append(self._event(monitor, "Periodic", self._actual(monitor) or ""))  # N08.FR.05
        self._emit(events)

    def _evaluate(self, monitor: Monitor) -> dict[str, Any] | None:
        if monitor.type in _PERIODIC or not self._in_scope(monitor):
            return None
        text = self._actual(monitor)
        if monitor.type is MonitorType.DELTA:
            return self._delta(monitor, text)
        actual = _float(text)
        if actual is None:
            return None
        if monitor.type is MonitorType.UPPER_THRESHOLD:
            exceeded = actual > monitor.value  # N07.FR.16: above, not on, the threshold
        elif monitor.type is MonitorType.LOWER_THRESHOLD:
            exceeded = actual < monitor.value  # N07.FR.17
        else:
            target_text = self.dm.value(monitor.component, monitor.variable, attribute=AttributeType.TARGET)
            target = _float(target_text)
            if target is None:
                return None
            relative = monitor.type is MonitorType.TARGET_DELTA_RELATIVE
            allowed = monitor.value * abs(target) if relative else monitor.value
            exceeded = abs(actual - target) > allowed  # N07.FR.22/23
        if exceeded == monitor.tripped:
            return None
        monitor.tripped = exceeded
        self._save()
        return self._event(monitor, "Alerting", text or "", cleared=not exceeded)  # N07.FR.02

    def _delta(self, monitor: Monitor, text: str | None) -> dict[str, Any] | None:
        definition = self.dm.find(monitor.component, monitor.variable)
        if text is None or definition is None:
            return None
        if definition.characteristics.data_type in _NUMERIC:  # N07.FR.18
            actual, reference = _float(text), _float(monitor.reference)
            if actual is None:
                return None
            if reference is not None and abs(actual - reference) <= monitor.value:
                return None
        elif text == monitor.reference:  # N07.FR.19: any change of a non-numeric value
            return None
        monitor.reference = text
        return self._event(monitor, "Delta", text)

    def _actual(self, monitor: Monitor) -> str | None:
        definition = self.dm.find(monitor.component, monitor.variable)
        if definition is None:
            return None
        index = definition.attribute_index(AttributeType.ACTUAL)
        if index is None:
            return None
        if definition.attributes[index].mutability is Mutability.WRITE_ONLY:
            return ""  # N07.FR.10
        return self.dm.value(monitor.component, monitor.variable)

    def _transaction_id(self, monitor: Monitor) -> str | None:
        evse = self.station.evses.get(monitor.component.evse_id or 0)
        if evse is not None and evse.transaction is not None:
            return evse.transaction.transaction_id
        return None

    def _in_scope(self, monitor: Monitor) -> bool:
        """A monitor with the transaction flag only watches while its EVSE (any EVSE, for a
        station-level component) has a transaction."""
        if not monitor.transaction:
            return True
        if monitor.component.evse_id is None:
            return any(e.transaction is not None for e in self.station.evses.values())
        return self._transaction_id(monitor) is not None

    def _event(self, monitor: Monitor, trigger: str, actual: str, *, cleared: bool = False) -> dict[str, Any]:
        event: dict[str, Any] = {
            "eventId": self.station._next_event_id(),
            "timestamp": utc_timestamp(self.station.now()),
            "trigger": trigger,
            "actualValue": actual[:2500],
            "eventNotificationType": monitor.origin.value,
            "component": monitor.component.to_ocpp(),
            "variable": monitor.variable.to_ocpp(),
            "variableMonitoringId": monitor.id,  # N07.FR.06
            "severity": monitor.severity,  # N07.FR.20 (2.1 only; dropped for 2.0.1 when sent)
        }
        if cleared:
            event["cleared"] = True
        tx_id = self._transaction_id(monitor)
        if tx_id is not None:
            event["transactionId"] = tx_id
        return event

    # ------------------------------------------------------------------ delivery

    def _emit(self, events: list[dict[str, Any]]) -> None:
        station = self.station
        if not events or not self.dm.get_bool(MC, "Enabled", default=True):
            return
        if station.version is OcppVersion.V16:
            return  # OCPP 1.6 has no NotifyEvent; its monitoring is out of scope
        level = self.dm.get_int(MC, "ActiveMonitoringLevel", default=9)
        wanted = [e for e in events if e["severity"] <= level]  # N05.FR.03, N07.FR.15
        if not wanted:
            return
        if station.online and station.connection is not None:
            for event in wanted:
                station.spawn(self._send(event), "notify-event")
            return
        queue_up_to = self.dm.get_int(MC, "OfflineQueuingSeverity", default=-1)
        for event in wanted:
            if event["severity"] <= queue_up_to:  # N07.FR.04, N08.FR.03
                station.enqueue("NotifyEvent", self._request(event))
            else:
                log.info(
                    "%s: offline, monitor %s event (severity %d) dropped",
                    station.station_id,
                    event["variableMonitoringId"],
                    event["severity"],
                )

    def _request(self, event: dict[str, Any]) -> dict[str, Any]:
        data = dict(event)
        if self.station.version is OcppVersion.V201:
            data.pop("severity", None)
        return {"generatedAt": data["timestamp"], "seqNo": 0, "eventData": [data]}  # N07.FR.07

    async def _send(self, event: dict[str, Any]) -> None:
        conn = self.station.connection
        if conn is None or conn.closed:
            return
        try:
            await conn.call("NotifyEvent", self._request(event))
        except (CallTimeout, OcppError, ConnectionLost) as exc:
            monitor_id = event["variableMonitoringId"]
            log.info("%s: NotifyEvent for monitor %s failed: %s", self.station.station_id, monitor_id, exc)


def _selects(component_variable: Mapping[str, Any], monitor: Monitor) -> bool:
    """Whether a GetMonitoringReport componentVariable selects a monitor; a missing variable,
    instance, evse or connector widens the match (N02.FR.16-21)."""
    wanted, have = component_variable["component"], monitor.component
    if wanted["name"].casefold() != have.name.casefold():
        return False
    instance = wanted.get("instance")
    if instance and instance.casefold() != (have.instance or "").casefold():
        return False
    evse = wanted.get("evse")
    if evse is not None:
        if (evse["id"] or None) != have.evse_id:
            return False
        connector = evse.get("connectorId") or None
        if connector is not None and connector != have.connector_id:
            return False
    variable = component_variable.get("variable")
    if variable is not None:
        if variable["name"].casefold() != monitor.variable.name.casefold():
            return False
        v_instance = variable.get("instance")
        if v_instance and v_instance.casefold() != (monitor.variable.instance or "").casefold():
            return False
    return True
