"""Device model of an emulated OCPP 2.1 charging station (use cases B05–B08).

The device model is the station's configuration and state as a CSMS sees it: components
(ChargingStation, EVSE, Connector, the controllers), their variables, and per variable up to
four attributes (Actual, Target, MinSet, MaxSet). The CSMS reads and writes it with
GetVariables/SetVariables and lists it with GetBaseReport/GetReport; the station reads its own
settings with the typed getters (`get_int`, `get_bool`, ...) and publishes its state with
`set_actual`. Observers registered with `on_change` hear about every change, whoever made it.

Key syntax
----------
Overrides, persisted values and error messages name a variable with one short key::

    Component[instance](evse,connector).Variable[instance]:suffix

for example ``OCPPCommCtrlr.HeartbeatInterval``, ``DeviceDataCtrlr.ItemsPerMessage[GetVariables]``,
``EVSE(1).Power:maxLimit``, ``Connector(1,2).ConnectorType`` or
``NetworkConfiguration[1].OcppCsmsUrl``. Only the two names are mandatory; names and suffixes
are case-insensitive. The suffix says what the value is for:

* ``Actual`` (the default), ``Target``, ``MinSet``, ``MaxSet``: that attribute's value;
* ``minLimit``, ``maxLimit``, ``maxElements``, ``valuesList``, ``unit``, ``supportsMonitoring``:
  that characteristic (overrides only; an empty string clears it);
* ``mutability``: ``ReadOnly``, ``ReadWrite`` or ``WriteOnly`` for the Actual attribute
  (overrides only), to emulate chargers that lock or open a setting.

Memory
------
Headless runs hold thousands of stations, so the part that is the same for every station of a
kind (names, characteristics, mutability: a `_Layout`) is built once and shared; a station owns
only a flat list of attribute values. Changing a station's layout (`add`, characteristic
overrides) gives that station a private copy.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final, NamedTuple, TypeVar

from app.clock import Clock, utc_timestamp
from app.station import standard_components as sc

log = logging.getLogger(__name__)

ComponentKey = tuple[str, str | None, int | None, int | None]
VariableKey = tuple[str, str | None]
OverrideValue = str | int | float | bool | Sequence[str] | None
T = TypeVar("T")


class Mutability(StrEnum):
    """MutabilityEnumType: who may read and who may write an attribute over OCPP."""

    READ_ONLY = "ReadOnly"
    WRITE_ONLY = "WriteOnly"
    READ_WRITE = "ReadWrite"


class AttributeType(StrEnum):
    """AttributeEnumType: which of a variable's values a request means (default Actual)."""

    ACTUAL = "Actual"
    TARGET = "Target"
    MIN_SET = "MinSet"
    MAX_SET = "MaxSet"


class DataType(StrEnum):
    """DataEnumType: how a variable's string value must be read and validated."""

    STRING = "string"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATE_TIME = "dateTime"
    BOOLEAN = "boolean"
    OPTION_LIST = "OptionList"
    SEQUENCE_LIST = "SequenceList"
    MEMBER_LIST = "MemberList"


_LIST_TYPES: Final = frozenset({DataType.OPTION_LIST, DataType.SEQUENCE_LIST, DataType.MEMBER_LIST})

#: Report bases of GetBaseReport this model can produce (B07.FR.12 asks for the first two).
REPORT_BASES: Final = ("ConfigurationInventory", "FullInventory", "SummaryInventory")
#: ComponentCriterionEnumType values understood by `custom_report` (B08.FR.07-10).
COMPONENT_CRITERIA: Final = ("Active", "Available", "Enabled", "Problem")
#: Variables whose true value marks a component as abnormal in a SummaryInventory (B07.FR.09).
_ABNORMAL_FLAGS: Final = frozenset({"problem", "tripped", "overload", "fallback"})


def _fold(text: str | None) -> str | None:
    """Identifiers compare case-insensitively; an empty instance means "no instance" (B06.FR.15)."""
    return text.casefold() if text else None


@dataclass(frozen=True, slots=True, eq=False)
class Component:
    """A component as addressed on the wire: name, instance, EVSE tier, connector tier.

    Equality and hashing ignore case, as OCPP names are case-insensitive identifiers, while
    the spelling given is kept for reports. EVSE id 0 means the station itself.
    """

    name: str
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None

    def __post_init__(self) -> None:
        if not self.instance:
            object.__setattr__(self, "instance", None)
        if self.connector_id == 0:
            object.__setattr__(self, "connector_id", None)
        if self.evse_id == 0 and self.connector_id is None:
            object.__setattr__(self, "evse_id", None)
        if self.connector_id is not None and self.evse_id is None:
            raise ValueError(f"component {self.name}: a connector id needs an EVSE id")

    @property
    def key(self) -> ComponentKey:
        return (self.name.casefold(), _fold(self.instance), self.evse_id, self.connector_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Component):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        text = self.name if self.instance is None else f"{self.name}[{self.instance}]"
        if self.evse_id is not None:
            tier = str(self.evse_id) if self.connector_id is None else f"{self.evse_id},{self.connector_id}"
            text += f"({tier})"
        return text

    def to_ocpp(self) -> dict[str, Any]:
        """ComponentType as on the wire."""
        data: dict[str, Any] = {"name": self.name}
        if self.instance is not None:
            data["instance"] = self.instance
        if self.evse_id is not None:
            evse: dict[str, Any] = {"id": self.evse_id}
            if self.connector_id is not None:
                evse["connectorId"] = self.connector_id
            data["evse"] = evse
        return data

    @classmethod
    def from_ocpp(cls, data: Mapping[str, Any]) -> Component:
        evse = data.get("evse") or {}
        return cls(data["name"], data.get("instance"), evse.get("id"), evse.get("connectorId"))


@dataclass(frozen=True, slots=True, eq=False)
class Variable:
    """A variable name with an optional instance (e.g. ItemsPerMessage[GetVariables]), case-insensitive."""

    name: str
    instance: str | None = None

    def __post_init__(self) -> None:
        if not self.instance:
            object.__setattr__(self, "instance", None)

    @property
    def key(self) -> VariableKey:
        return (self.name.casefold(), _fold(self.instance))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Variable):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.name if self.instance is None else f"{self.name}[{self.instance}]"

    def to_ocpp(self) -> dict[str, Any]:
        """VariableType as on the wire."""
        data: dict[str, Any] = {"name": self.name}
        if self.instance is not None:
            data["instance"] = self.instance
        return data

    @classmethod
    def from_ocpp(cls, data: Mapping[str, Any]) -> Variable:
        return cls(data["name"], data.get("instance"))


def _number(value: float) -> int | float:
    """Whole limits go out as JSON integers (22000, not 22000.0), which every CSMS parses."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True, slots=True)
class VariableCharacteristics:
    """VariableCharacteristicsType: fixed facts about a variable that drive validation.

    For string and list types `max_limit` is the maximum length of the (CSV) string.
    """

    data_type: DataType
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: tuple[str, ...] | None = None
    max_elements: int | None = None
    supports_monitoring: bool = False

    def to_ocpp(self) -> dict[str, Any]:
        data: dict[str, Any] = {"dataType": self.data_type.value}
        if self.unit is not None:
            data["unit"] = self.unit
        if self.min_limit is not None:
            data["minLimit"] = _number(self.min_limit)
        if self.max_limit is not None:
            data["maxLimit"] = _number(self.max_limit)
        if self.max_elements is not None:
            data["maxElements"] = self.max_elements
        if self.values_list is not None:
            data["valuesList"] = ",".join(self.values_list)
        data["supportsMonitoring"] = self.supports_monitoring
        return data


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """The fixed part of one attribute (no value): shared between stations of a kind."""

    type: AttributeType = AttributeType.ACTUAL
    mutability: Mutability = Mutability.READ_WRITE
    persistent: bool = False
    constant: bool = False


@dataclass(frozen=True, slots=True)
class VariableAttribute:
    """A snapshot of one attribute with its current value (None: never set)."""

    type: AttributeType
    value: str | None
    mutability: Mutability
    persistent: bool
    constant: bool


ValueCheck = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class VariableDefinition:
    """Everything about a variable except its values.

    `reboot_required`: a successful SetVariables answers RebootRequired (the value is stored,
    the station uses it after its next boot). `check`: a rule the characteristics cannot say
    (e.g. a password's minimum length), returning a message when the value breaks it.
    """

    component: Component
    variable: Variable
    characteristics: VariableCharacteristics
    attributes: tuple[AttributeSpec, ...] = (AttributeSpec(),)
    reboot_required: bool = False
    check: ValueCheck | None = None

    def __post_init__(self) -> None:
        types = [a.type for a in self.attributes]
        if not types or len(set(types)) != len(types):
            raise ValueError(f"{self.label}: needs one to four distinct attribute types, got {types}")

    @property
    def label(self) -> str:
        return format_key(self.component, self.variable)

    def attribute_index(self, attribute: AttributeType | str) -> int | None:
        for index, spec in enumerate(self.attributes):
            if spec.type == attribute:
                return index
        return None

    def writable(self) -> bool:
        """Whether the operator can set any attribute (what ConfigurationInventory lists, B07.FR.07)."""
        return any(a.mutability is not Mutability.READ_ONLY for a in self.attributes)


class Rejection(NamedTuple):
    """Why a value was refused: a StatusInfoType reasonCode (appendix list) and a readable text."""

    reason_code: str
    info: str

    def to_ocpp(self) -> dict[str, Any]:
        return {"reasonCode": self.reason_code[:20], "additionalInfo": self.info[:1024]}


class TooManyItems(Exception):
    """A request carries more items than DeviceDataCtrlr.ItemsPerMessage[<action>] allows.

    The RPC layer answers it with CALLERROR OccurrenceConstraintViolation (B06.FR.16, B08.FR.17).
    """

    def __init__(self, action: str, count: int, limit: int) -> None:
        super().__init__(
            f"{action}Request carries {count} items, more than "
            f"DeviceDataCtrlr.ItemsPerMessage[{action}] = {limit}"
        )
        self.action = action
        self.count = count
        self.limit = limit


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------

_KEY_RE: Final = re.compile(
    r"""
    (?P<cname>[A-Za-z0-9_\-]+)
    (?:\[(?P<cinst>[^\[\]]*)\])?
    (?:\(\s*(?P<evse>\d+)\s*(?:,\s*(?P<conn>\d+)\s*)?\))?
    \.
    (?P<vname>[A-Za-z0-9_\-]+)
    (?:\[(?P<vinst>[^\[\]]*)\])?
    (?::(?P<suffix>[A-Za-z]+))?
    """,
    re.VERBOSE,
)
_ATTRIBUTE_SUFFIXES: Final = {a.value.casefold(): a.value for a in AttributeType}
_CHARACTERISTIC_SUFFIXES: Final = {
    "minlimit": "minLimit",
    "maxlimit": "maxLimit",
    "maxelements": "maxElements",
    "valueslist": "valuesList",
    "unit": "unit",
    "supportsmonitoring": "supportsMonitoring",
}
_KEY_SHAPE: Final = "Component[instance](evse,connector).Variable[instance]:suffix"


class ParsedKey(NamedTuple):
    component: Component
    variable: Variable
    suffix: str  # "Actual", "Target", "MinSet", "MaxSet", a characteristic name or "mutability"


def parse_key(key: str) -> ParsedKey:
    """Split a key of the module's key syntax; ValueError with the expected shape otherwise."""
    match = _KEY_RE.fullmatch(key.strip())
    if match is None:
        raise ValueError(
            f"invalid device-model key {key!r}: expected {_KEY_SHAPE} "
            "(only the two names are required), e.g. 'OCPPCommCtrlr.HeartbeatInterval'"
        )
    raw_suffix = (match["suffix"] or "Actual").casefold()
    suffix = (
        _ATTRIBUTE_SUFFIXES.get(raw_suffix)
        or _CHARACTERISTIC_SUFFIXES.get(raw_suffix)
        or ("mutability" if raw_suffix == "mutability" else None)
    )
    if suffix is None:
        known = [*_ATTRIBUTE_SUFFIXES.values(), *_CHARACTERISTIC_SUFFIXES.values(), "mutability"]
        raise ValueError(
            f"invalid device-model key {key!r}: unknown suffix {match['suffix']!r}; use one of {known}"
        )
    evse = int(match["evse"]) if match["evse"] is not None else None
    connector = int(match["conn"]) if match["conn"] is not None else None
    component = Component(match["cname"], match["cinst"], evse, connector)
    return ParsedKey(component, Variable(match["vname"], match["vinst"]), suffix)


def format_key(component: Component, variable: Variable, suffix: str | None = None) -> str:
    """The key naming a variable (and attribute or characteristic); inverse of `parse_key`."""
    text = f"{component}.{variable}"
    return text if suffix in (None, AttributeType.ACTUAL) else f"{text}:{suffix}"


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

_INTEGER_RE: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL_RE: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")
_DATETIME_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})")
_INT32: Final = (-(2**31), 2**31 - 1)


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _format_decimal(value: float) -> str:
    """Full resolution as OCPP asks for reported decimals, but never exponent notation."""
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a decimal number")
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.6f}".rstrip("0")
        text += "0" if text.endswith(".") else ""
    return text


def to_text(value: OverrideValue) -> str:
    """A Python value as an OCPP attribute string: true/false, 60, 11.5, "a,b" for sequences."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_decimal(value)
    if isinstance(value, Iterable):
        return ",".join(to_text(item) for item in value)
    raise TypeError(f"cannot express {type(value).__name__} as a device-model value")


def _check_number(ch: VariableCharacteristics, value: str) -> Rejection | None:
    number: float
    if ch.data_type is DataType.INTEGER:
        # Part 2 data types: no leading zeros, no plus sign, 32 bit.
        if not _INTEGER_RE.fullmatch(value):
            return Rejection("InvalidValue", f"{_short(value)} is not an integer")
        number = int(value)
        if not _INT32[0] <= number <= _INT32[1]:
            return Rejection("ValueOutOfRange", f"{value} does not fit a 32-bit integer")
    else:
        match = _DECIMAL_RE.fullmatch(value)
        if match is None:
            return Rejection("InvalidValue", f"{_short(value)} is not a decimal number")
        if match[1] is not None and len(match[1]) > 6:
            return Rejection("InvalidValue", f"{value} has more than six decimal places")
        number = float(value)
    if ch.min_limit is not None and number < ch.min_limit:
        return Rejection("ValueTooLow", f"{value} is below minLimit {_number(ch.min_limit)}")
    if ch.max_limit is not None and number > ch.max_limit:
        return Rejection("ValueTooHigh", f"{value} is above maxLimit {_number(ch.max_limit)}")
    return None


def _check_list(ch: VariableCharacteristics, value: str) -> Rejection | None:
    items = [] if value == "" else [item.strip() for item in value.split(",")]
    allowed = ch.values_list
    expected = f"one of {','.join(allowed)}" if allowed is not None else "a value"
    if ch.data_type is DataType.OPTION_LIST and len(items) != 1:
        return Rejection("InvalidValue", f"an OptionList takes exactly one value, {expected}")
    if "" in items:
        return Rejection("InvalidValue", f"{_short(value)} has an empty member")
    if allowed is not None:
        for item in items:
            if item not in allowed:
                hint = next((a for a in allowed if a.casefold() == item.casefold()), None)
                did_you_mean = f" (did you mean {hint!r}?)" if hint else ""
                return Rejection(
                    "InvalidValue", f"{_short(item)} is not in valuesList {','.join(allowed)}{did_you_mean}"
                )
    if len(set(items)) != len(items):
        return Rejection("InvalidValue", f"{_short(value)} lists a value twice")
    if ch.max_elements is not None and len(items) > ch.max_elements:
        return Rejection("TooManyElements", f"{len(items)} values, more than maxElements {ch.max_elements}")
    return None


def validate_value(definition: VariableDefinition, value: str) -> Rejection | None:
    """Whether `value` fits the variable's data type, limits, valuesList and extra check.

    Mutability is not looked at: the station itself may set a ReadOnly value.
    """
    ch = definition.characteristics
    rejection: Rejection | None = None
    if ch.data_type in (DataType.INTEGER, DataType.DECIMAL):
        rejection = _check_number(ch, value)
    elif ch.data_type is DataType.BOOLEAN:
        if value not in ("true", "false"):
            rejection = Rejection("InvalidValue", f"expected true or false, got {_short(value)}")
    elif ch.data_type is DataType.DATE_TIME:
        try:
            if not _DATETIME_RE.fullmatch(value):
                raise ValueError(value)
            datetime.fromisoformat(value)
        except ValueError:
            rejection = Rejection("InvalidValue", f"{_short(value)} is not an RFC 3339 date-time")
    if rejection is None and ch.data_type not in (DataType.INTEGER, DataType.DECIMAL):
        if ch.max_limit is not None and len(value) > ch.max_limit:
            rejection = Rejection(
                "TooLargeElement", f"{len(value)} characters, more than maxLimit {_number(ch.max_limit)}"
            )
        elif ch.data_type in _LIST_TYPES:
            rejection = _check_list(ch, value)
    if rejection is None and definition.check is not None:
        message = definition.check(value)
        if message:
            rejection = Rejection("InvalidValue", message)
    return rejection


# ---------------------------------------------------------------------------------------------
# Layout: the shareable part of a device model
# ---------------------------------------------------------------------------------------------


class _Layout:
    """Definitions plus the indexes to find them; immutable, shared by equal stations."""

    __slots__ = ("components", "definitions", "index", "offsets", "size")

    def __init__(self, definitions: tuple[VariableDefinition, ...]) -> None:
        index: dict[tuple[ComponentKey, VariableKey], int] = {}
        components: dict[ComponentKey, Component] = {}
        offsets: list[int] = []
        size = 0
        for position, definition in enumerate(definitions):
            key = (definition.component.key, definition.variable.key)
            if key in index:
                raise ValueError(f"duplicate variable {definition.label}")
            index[key] = position
            components.setdefault(definition.component.key, definition.component)
            offsets.append(size)
            size += len(definition.attributes)
        self.definitions = definitions
        self.index = index
        self.components = components
        self.offsets = tuple(offsets)
        self.size = size


_LAYOUTS: dict[tuple[object, ...], _Layout] = {}
_LAYOUT_CACHE_SIZE: Final = 32


def _layout_for(definitions: tuple[VariableDefinition, ...]) -> _Layout:
    """The shared layout for these definitions (names compared with their exact spelling)."""
    cache_key = tuple(
        (d.component.name, d.component.instance, d.variable.name, d.variable.instance, d) for d in definitions
    )
    layout = _LAYOUTS.get(cache_key)
    if layout is None:
        layout = _Layout(definitions)
        if len(_LAYOUTS) >= _LAYOUT_CACHE_SIZE:
            del _LAYOUTS[next(iter(_LAYOUTS))]
        _LAYOUTS[cache_key] = layout
    return layout


@lru_cache(maxsize=4096)
def _definition_from_spec(spec: sc.VarSpec) -> VariableDefinition:
    """Turn a standard spec into a definition; cached so equal stations share the objects."""
    entry = sc.catalog_lookup(spec.component, spec.variable, spec.variable_instance)
    data_type = spec.data_type or (entry.data_type if entry is not None else None)
    if data_type is None:
        raise LookupError(f"{spec.component}.{spec.variable}: no data type given and none in the catalog")
    unit = spec.unit if spec.unit is not None else (entry.unit if entry is not None else None)
    mutability = Mutability(spec.mutability)
    persistent = spec.persistent if spec.persistent is not None else mutability is not Mutability.READ_ONLY
    values_list = None
    if spec.values_list is not None:
        values_list = tuple(item.strip() for item in spec.values_list.split(",") if item.strip())
    return VariableDefinition(
        Component(spec.component, spec.component_instance, spec.evse, spec.connector),
        Variable(spec.variable, spec.variable_instance),
        VariableCharacteristics(
            DataType(data_type),
            unit or None,
            spec.min_limit,
            spec.max_limit,
            values_list,
            spec.max_elements,
            spec.monitoring,
        ),
        (AttributeSpec(AttributeType.ACTUAL, mutability, persistent, spec.constant),),
        reboot_required=spec.reboot_required,
        check=spec.check,
    )


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

ChangeCallback = Callable[[Component, Variable, AttributeType, str], None]
SetGuard = Callable[["DeviceModel", VariableDefinition, AttributeType, str], Rejection | None]
ComponentArg = str | Component
VariableArg = str | Variable


class _Missing:
    """Marks "no default given" so None can be a legitimate default."""


_MISSING: Final = _Missing()


class DeviceModel:
    """One station's device model: definitions (shared), values (own), observers and guards."""

    __slots__ = ("_guards", "_layout", "_observers", "_providers", "_values")

    def __init__(self, definitions: Iterable[VariableDefinition] = ()) -> None:
        self._layout = _layout_for(tuple(definitions))
        self._values: list[str | None] = [None] * self._layout.size
        self._observers: list[ChangeCallback] = []
        self._guards: list[SetGuard] = []
        self._providers: dict[int, Callable[[], str]] | None = None

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def standard(
        cls,
        evse_connectors: Sequence[int],
        *,
        vendor: str,
        model: str,
        serial: str,
        firmware: str,
        supply_phases: int = 3,
        evse_max_power_w: float = 22000.0,
        connector_type: str = "cType2",
        security_profile: int = 1,
        identity: str | None = None,
        organization: str | None = None,
        csms_url: str = "",
        basic_auth_password: str | None = None,
        heartbeat_interval: int = 300,
        clock: Clock | None = None,
    ) -> DeviceModel:
        """What a real 2.1 AC station exposes: ChargingStation, EVSE(n), Connector(n,m), controllers.

        `evse_connectors[i]` is the number of connectors of EVSE i+1. `identity` defaults to
        the serial number, `organization` to the vendor. Bad parameters raise ValueError.
        """
        if not evse_connectors or any(count < 1 for count in evse_connectors):
            raise ValueError(f"evse_connectors needs EVSEs with >= 1 connector each, got {evse_connectors}")
        if supply_phases not in (0, 1, 2, 3):
            raise ValueError(f"supply_phases must be 0 (DC), 1, 2 or 3, got {supply_phases}")
        if not evse_max_power_w > 0:
            raise ValueError(f"evse_max_power_w must be positive, got {evse_max_power_w}")
        params = sc.StationParams(
            evse_connectors=tuple(evse_connectors),
            vendor=vendor,
            model=model,
            serial=serial,
            firmware=firmware,
            supply_phases=supply_phases,
            evse_max_power_w=float(evse_max_power_w),
            connector_type=connector_type,
            security_profile=security_profile,
            identity=identity or "",
            organization=organization or "",
            csms_url=csms_url,
            basic_auth_password=basic_auth_password,
            heartbeat_interval=heartbeat_interval,
        )
        specs = sc.standard_specs(params)
        # Values differ per station; definitions need not, so the cache sees specs without them.
        definitions = tuple(_definition_from_spec(replace(spec, value=None)) for spec in specs)
        dm = cls(definitions)
        problems: list[str] = []
        for position, spec in enumerate(specs):
            if spec.value is None:
                continue
            rejection = validate_value(definitions[position], spec.value)
            if rejection is not None:
                problems.append(f"{definitions[position].label}: {rejection.info}")
            dm._values[dm._layout.offsets[position]] = spec.value
        if problems:
            raise ValueError("invalid station parameters:\n  - " + "\n  - ".join(problems))
        dm.add_set_guard(network_configuration_guard)
        station_clock = clock or Clock()
        dm.bind("ClockCtrlr", "DateTime", lambda: utc_timestamp(station_clock.now()))
        return dm

    def add(
        self, definition: VariableDefinition, values: Mapping[AttributeType | str, str | None] | None = None
    ) -> None:
        """Add a (custom or optional standard) variable with initial values; ValueError if invalid."""
        initial = {AttributeType(k): v for k, v in (values or {}).items()}
        for attribute, text in initial.items():
            if definition.attribute_index(attribute) is None:
                raise ValueError(f"{definition.label} has no {attribute} attribute")
            rejection = None if text is None else validate_value(definition, text)
            if rejection is not None:
                key = format_key(definition.component, definition.variable, attribute)
                raise ValueError(f"{key}: {rejection.info}")
        self._layout = _layout_for((*self._layout.definitions, definition))
        self._values.extend(initial.get(spec.type) for spec in definition.attributes)

    def bind(
        self,
        component: ComponentArg,
        variable: VariableArg,
        provider: Callable[[], str],
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
    ) -> None:
        """Read an attribute from `provider` on every access (e.g. ClockCtrlr.DateTime from the clock)."""
        slot = self._slot(component, variable, instance, evse, connector, attribute)
        if self._providers is None:
            self._providers = {}
        self._providers[slot] = provider

    def add_set_guard(self, guard: SetGuard) -> None:
        """Let `guard` veto CSMS writes (SetVariables) that need more than one variable to judge."""
        self._guards.append(guard)

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call `callback(component, variable, attribute, new_value)` after every value change.

        Returns a function that unsubscribes. A failing observer is logged, never propagated:
        one broken listener must not break a SetVariables answer.
        """
        self._observers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._observers.remove(callback)

        return unsubscribe

    # -- lookup ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._layout.definitions)

    def definitions(self) -> tuple[VariableDefinition, ...]:
        """All variables in report order."""
        return self._layout.definitions

    def components(self) -> list[Component]:
        return list(self._layout.components.values())

    def find(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
    ) -> VariableDefinition | None:
        position = self._position(component, variable, instance, evse, connector)
        return None if position is None else self._layout.definitions[position]

    def attributes(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
    ) -> list[VariableAttribute]:
        """Snapshots of every attribute of a variable, values included (KeyError if unknown)."""
        position = self._require(component, variable, instance, evse, connector)
        definition = self._layout.definitions[position]
        base = self._layout.offsets[position]
        return [
            VariableAttribute(a.type, self._current(base + j), a.mutability, a.persistent, a.constant)
            for j, a in enumerate(definition.attributes)
        ]

    def value(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
    ) -> str | None:
        """The raw value (None when never set); KeyError for an unknown variable or attribute."""
        return self._current(self._slot(component, variable, instance, evse, connector, attribute))

    # -- typed reads for station logic -------------------------------------------------------

    def get_str(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
        default: str | _Missing = _MISSING,
    ) -> str:
        """The value as text; "" when unset. `default` answers for unknown variables too."""
        address = (component, variable, instance, evse, connector, attribute)
        return self._read(address, default, str, "string", empty_is_value=True)

    def get_int(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
        default: int | _Missing = _MISSING,
    ) -> int:
        """e.g. get_int("OCPPCommCtrlr", "HeartbeatInterval"); `default` for unknown or unset."""
        address = (component, variable, instance, evse, connector, attribute)
        return self._read(address, default, int, "integer")

    def get_float(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
        default: float | _Missing = _MISSING,
    ) -> float:
        address = (component, variable, instance, evse, connector, attribute)
        return self._read(address, default, float, "decimal")

    def get_bool(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
        default: bool | _Missing = _MISSING,
    ) -> bool:
        address = (component, variable, instance, evse, connector, attribute)
        return self._read(address, default, _parse_bool, "boolean")

    def get_list(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
        default: list[str] | _Missing = _MISSING,
    ) -> list[str]:
        """A comma list split into stripped members ("" gives [])."""
        address = (component, variable, instance, evse, connector, attribute)
        return self._read(address, default, _parse_list, "list", empty_is_value=True)

    # -- station-side writes -----------------------------------------------------------------

    def set_actual(
        self,
        component: ComponentArg,
        variable: VariableArg,
        value: OverrideValue,
        instance: str | None = None,
        *,
        evse: int | None = None,
        connector: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
        validate: bool = True,
    ) -> bool:
        """Set a value as the station itself (mutability ignored: the station owns its state).

        Returns whether the value changed. Data type, limits and valuesList still apply unless
        `validate` is false (ValueError otherwise), so a station bug shows up here rather than
        as an invalid report on the wire.
        """
        position, index = self._locate_attribute(component, variable, instance, evse, connector, attribute)
        definition = self._layout.definitions[position]
        text = to_text(value)
        if validate:
            rejection = validate_value(definition, text)
            if rejection is not None:
                key = format_key(definition.component, definition.variable, attribute)
                raise ValueError(f"{key}: {rejection.info}")
        return self._store(position, index, text)

    def apply_overrides(self, overrides: Mapping[str, OverrideValue]) -> None:
        """Apply profile settings given in the key syntax; all or nothing.

        Values ignore mutability (they configure the emulated station, they do not come from a
        CSMS) but must be valid. Characteristic and mutability suffixes change this station's
        layout only. Every problem is collected into one ValueError.
        """
        problems: list[str] = []
        staged: dict[int, VariableDefinition] = {}
        writes: list[tuple[int, AttributeType, str, str]] = []
        for key, raw in overrides.items():
            try:
                parsed = parse_key(key)
            except ValueError as error:
                problems.append(str(error))
                continue
            position = self._layout.index.get((parsed.component.key, parsed.variable.key))
            if position is None:
                problems.append(self._unknown_message(parsed.component, parsed.variable))
                continue
            if parsed.suffix in _ATTRIBUTE_SUFFIXES.values():
                try:
                    writes.append((position, AttributeType(parsed.suffix), to_text(raw), key))
                except (TypeError, ValueError) as error:
                    problems.append(f"{key}: {error}")
                continue
            current = staged.get(position, self._layout.definitions[position])
            try:
                staged[position] = _with_override(current, parsed.suffix, raw)
            except (TypeError, ValueError) as error:
                problems.append(f"{key}: {error}")
        written: set[tuple[int, AttributeType]] = set()
        for position, attribute, text, key in writes:
            definition = staged.get(position, self._layout.definitions[position])
            if definition.attribute_index(attribute) is None:
                problems.append(f"{key}: {definition.label} has no {attribute} attribute")
                continue
            rejection = validate_value(definition, text)
            if rejection is not None:
                problems.append(f"{key}: {rejection.info}")
            written.add((position, attribute))
        for position, definition in staged.items():  # values that new characteristics would break
            base = self._layout.offsets[position]
            for j, spec in enumerate(definition.attributes):
                old = self._values[base + j]
                if old is None or (position, spec.type) in written:
                    continue
                rejection = validate_value(definition, old)
                if rejection is not None:
                    problems.append(
                        f"{format_key(definition.component, definition.variable, spec.type)}: current value "
                        f"{_short(old)} no longer fits ({rejection.info}); override it as well"
                    )
        if problems:
            raise ValueError("invalid device-model overrides:\n  - " + "\n  - ".join(problems))
        if staged:
            definitions = list(self._layout.definitions)
            for position, definition in staged.items():
                definitions[position] = definition
            self._layout = _layout_for(tuple(definitions))
        for position, attribute, text, _key in writes:
            index = self._layout.definitions[position].attribute_index(attribute)
            assert index is not None  # checked above
            self._store(position, index, text)

    # -- OCPP: GetVariables / SetVariables (B05, B06) -----------------------------------------

    def get_variables(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """GetVariablesRequest payload -> GetVariablesResponse payload (B06).

        One result per item, in order, echoing component, variable and attributeType
        (B06.FR.01-03, FR.11); attributeValue only when Accepted (B06.FR.06-08); WriteOnly is
        Rejected (B06.FR.09); an unset supported attribute reads as "" (B06.FR.13).
        Raises TooManyItems above ItemsPerMessage[GetVariables] (B06.FR.16).
        """
        items = request["getVariableData"]
        self._check_items("GetVariables", len(items))
        size = self._optional_int("ReportingValueSize")
        return {"getVariableResult": [self._get_variable(item, size) for item in items]}

    def set_variables(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """SetVariablesRequest payload -> SetVariablesResponse payload (B05).

        Statuses: UnknownComponent/UnknownVariable/NotSupportedAttributeType (B05.FR.04-06),
        Rejected for malformed or out-of-range values and ReadOnly attributes (B05.FR.07-09),
        RebootRequired when the new value only takes effect after a reboot, else Accepted
        (B05.FR.10). Items are applied one by one, in order. Raises TooManyItems above
        ItemsPerMessage[SetVariables] (B05.FR.11 is the CSMS's duty; we enforce it).
        """
        items = request["setVariableData"]
        self._check_items("SetVariables", len(items))
        size = self._optional_int("ConfigurationValueSize")
        return {"setVariableResult": [self._set_variable(item, size) for item in items]}

    # -- OCPP: reports (B07, B08) ------------------------------------------------------------

    def report(self, base: str) -> list[dict[str, Any]]:
        """ReportData entries for a GetBaseReport `reportBase` (B07); ValueError if unsupported.

        ConfigurationInventory: variables with a writable attribute (B07.FR.07); FullInventory:
        everything (B07.FR.08); SummaryInventory: availability of station, EVSEs and connectors
        that differ from their EVSE, plus raised Problem/Tripped/Overload/Fallback flags
        (B07.FR.09). WriteOnly values are left out (B07.FR.03); unset attributes report ""
        (B07.FR.11).
        """
        definitions = self._layout.definitions
        if base == "FullInventory":
            positions: Iterable[int] = range(len(definitions))
        elif base == "ConfigurationInventory":
            positions = [p for p, d in enumerate(definitions) if d.writable()]
        elif base == "SummaryInventory":
            positions = self._summary_positions()
        else:
            raise ValueError(f"unsupported report base {base!r}; supported: {', '.join(REPORT_BASES)}")
        size = self._optional_int("ReportingValueSize")
        return [self._report_data(p, size) for p in positions]

    def custom_report(
        self,
        component_criteria: Sequence[str] = (),
        component_variables: Sequence[Mapping[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """ReportData entries for a GetReportRequest's componentCriteria/componentVariable (B08).

        Criteria are OR-ed (B08.FR.13) and combined with the componentVariable list, whose
        missing variable, instance, evse or connector widen the match (B08.FR.20-25). An empty
        result means the station answers EmptyResultSet (B08.FR.15). Raises TooManyItems
        above ItemsPerMessage[GetReport] (B08.FR.17).
        """
        unknown = [c for c in component_criteria if c not in COMPONENT_CRITERIA]
        if unknown:
            supported = ", ".join(COMPONENT_CRITERIA)
            raise ValueError(f"unsupported component criteria {unknown}; supported: {supported}")
        self._check_items("GetReport", len(component_variables))
        definitions = self._layout.definitions
        positions = [
            p
            for p, definition in enumerate(definitions)
            if not component_variables or any(_matches(cv, definition) for cv in component_variables)
        ]
        if component_criteria:
            verdicts: dict[ComponentKey, bool] = {}
            for p in positions:
                key = definitions[p].component.key
                if key not in verdicts:
                    verdicts[key] = self._meets_criteria(key, component_criteria)
            positions = [p for p in positions if verdicts[definitions[p].component.key]]
        size = self._optional_int("ReportingValueSize")
        return [self._report_data(p, size) for p in positions]

    # -- persistence -------------------------------------------------------------------------

    def to_persisted(self) -> dict[str, str]:
        """Persistent, non-constant values by key, for the station's store to keep across reboots."""
        persisted: dict[str, str] = {}
        for position, definition in enumerate(self._layout.definitions):
            base = self._layout.offsets[position]
            for j, spec in enumerate(definition.attributes):
                text = self._values[base + j]
                if spec.persistent and not spec.constant and text is not None:
                    persisted[format_key(definition.component, definition.variable, spec.type)] = text
        return persisted

    def load_persisted(self, data: Mapping[str, str]) -> list[str]:
        """Restore values saved by `to_persisted`; returns what was skipped, and why.

        Entries that no longer fit (unknown after a firmware change, not persistent, invalid
        under today's limits) are skipped rather than fatal: a station must boot regardless.
        """
        skipped: list[str] = []
        for key, text in data.items():
            try:
                parsed = parse_key(key)
            except ValueError as error:
                skipped.append(str(error))
                continue
            position = self._layout.index.get((parsed.component.key, parsed.variable.key))
            definition = None if position is None else self._layout.definitions[position]
            index = None if definition is None else definition.attribute_index(parsed.suffix)
            if position is None or definition is None or index is None:
                skipped.append(f"{key}: no such variable attribute")
                continue
            spec = definition.attributes[index]
            if not spec.persistent or spec.constant:
                skipped.append(f"{key}: not a persistent attribute")
                continue
            rejection = validate_value(definition, text)
            if rejection is not None:
                skipped.append(f"{key}: {rejection.info}")
                continue
            self._store(position, index, text)
        return skipped

    # -- internals ---------------------------------------------------------------------------

    def _position(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None,
        evse: int | None,
        connector: int | None,
    ) -> int | None:
        if isinstance(component, Component):
            if evse is not None or connector is not None:
                raise TypeError("give evse/connector inside the Component, not as keywords")
        else:
            component = Component(component, None, evse, connector)
        if not isinstance(variable, Variable):
            variable = Variable(variable, instance)
        elif instance is not None:
            raise TypeError("give the instance inside the Variable, not as an argument")
        return self._layout.index.get((component.key, variable.key))

    def _require(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None,
        evse: int | None,
        connector: int | None,
    ) -> int:
        position = self._position(component, variable, instance, evse, connector)
        if position is None:
            c = component if isinstance(component, Component) else Component(component, None, evse, connector)
            v = variable if isinstance(variable, Variable) else Variable(variable, instance)
            raise KeyError(self._unknown_message(c, v))
        return position

    def _locate_attribute(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None,
        evse: int | None,
        connector: int | None,
        attribute: AttributeType,
    ) -> tuple[int, int]:
        position = self._require(component, variable, instance, evse, connector)
        definition = self._layout.definitions[position]
        index = definition.attribute_index(attribute)
        if index is None:
            raise KeyError(f"{definition.label} has no {attribute} attribute")
        return position, index

    def _slot(
        self,
        component: ComponentArg,
        variable: VariableArg,
        instance: str | None,
        evse: int | None,
        connector: int | None,
        attribute: AttributeType,
    ) -> int:
        position, index = self._locate_attribute(component, variable, instance, evse, connector, attribute)
        return self._layout.offsets[position] + index

    def _unknown_message(self, component: Component, variable: Variable) -> str:
        wanted = format_key(component, variable)
        labels = {d.label.casefold(): d.label for d in self._layout.definitions}
        close = difflib.get_close_matches(wanted.casefold(), list(labels), n=1, cutoff=0.75)
        hint = f"; did you mean {labels[close[0]]!r}?" if close else ""
        if component.key not in self._layout.components:
            return f"unknown component {str(component)!r} (in {wanted!r}){hint}"
        return f"unknown variable {wanted!r}{hint}"

    def _current(self, slot: int) -> str | None:
        if self._providers is not None:
            provider = self._providers.get(slot)
            if provider is not None:
                return provider()
        return self._values[slot]

    def _read(
        self,
        address: tuple[ComponentArg, VariableArg, str | None, int | None, int | None, AttributeType],
        default: Any,
        convert: Callable[[str], T],
        type_name: str,
        empty_is_value: bool = False,
    ) -> T:
        component, variable = address[0], address[1]
        try:
            text = self._current(self._slot(*address))
        except KeyError:
            if default is _MISSING:
                raise
            return default  # type: ignore[no-any-return]
        if text is None or (text == "" and not empty_is_value):
            if default is not _MISSING:
                return default  # type: ignore[no-any-return]
            if not empty_is_value:
                raise ValueError(f"{component}.{variable}: no value set")
            text = ""
        try:
            return convert(text)
        except ValueError:
            raise ValueError(f"{component}.{variable} is {_short(text)}, not a {type_name}") from None

    def _store(self, position: int, index: int, text: str) -> bool:
        slot = self._layout.offsets[position] + index
        if self._values[slot] == text:
            return False
        self._values[slot] = text
        if self._observers:
            definition = self._layout.definitions[position]
            attribute = definition.attributes[index].type
            for callback in tuple(self._observers):
                try:
                    callback(definition.component, definition.variable, attribute, text)
                except Exception:
                    log.exception("device-model observer failed on %s", definition.label)
        return True

    def _optional_int(self, variable: str, instance: str | None = None) -> int | None:
        """A DeviceDataCtrlr limit, or None when the model does not declare it (no limit)."""
        try:
            return self.get_int("DeviceDataCtrlr", variable, instance)
        except (KeyError, ValueError):
            return None

    def _check_items(self, action: str, count: int) -> None:
        limit = self._optional_int("ItemsPerMessage", action)
        if limit is not None and count > limit:
            raise TooManyItems(action, count, limit)

    def _resolve_wire(self, item: Mapping[str, Any]) -> tuple[str | None, int | None]:
        """(error status, None) or (None, definition position) for a request item."""
        try:
            component = Component.from_ocpp(item["component"])
        except ValueError:
            return "UnknownComponent", None
        if component.key not in self._layout.components:
            return "UnknownComponent", None
        position = self._layout.index.get((component.key, Variable.from_ocpp(item["variable"]).key))
        if position is None:
            return "UnknownVariable", None
        return None, position

    def _unsupported_attribute(self, definition: VariableDefinition, attribute: str) -> Rejection:
        supported = ", ".join(a.type.value for a in definition.attributes)
        return Rejection(
            "UnsupportedParam", f"{definition.label} has no {attribute} attribute; it has {supported}"
        )

    def _get_variable(self, item: Mapping[str, Any], size: int | None) -> dict[str, Any]:
        attribute = item.get("attributeType", AttributeType.ACTUAL.value)
        status, position = self._resolve_wire(item)
        info: Rejection | None = None
        value: str | None = None
        if position is not None:
            definition = self._layout.definitions[position]
            index = definition.attribute_index(attribute)
            if index is None:
                status, info = "NotSupportedAttributeType", self._unsupported_attribute(definition, attribute)
            elif definition.attributes[index].mutability is Mutability.WRITE_ONLY:
                status, info = "Rejected", Rejection("WriteOnly", f"{definition.label} is write-only")
            else:
                status = "Accepted"
                value = self._current(self._layout.offsets[position] + index) or ""
                if size is not None:
                    value = value[:size]
        result: dict[str, Any] = {"attributeType": attribute, "attributeStatus": status}
        if info is not None:
            result["attributeStatusInfo"] = info.to_ocpp()
        if value is not None:
            result["attributeValue"] = value
        result["component"] = copy.deepcopy(item["component"])
        result["variable"] = copy.deepcopy(item["variable"])
        return result

    def _set_variable(self, item: Mapping[str, Any], size: int | None) -> dict[str, Any]:
        attribute = item.get("attributeType", AttributeType.ACTUAL.value)
        status, position = self._resolve_wire(item)
        info: Rejection | None = None
        if position is not None:
            status, info = self._try_set(position, attribute, item["attributeValue"], size)
        result: dict[str, Any] = {"attributeType": attribute, "attributeStatus": status}
        if info is not None:
            result["attributeStatusInfo"] = info.to_ocpp()
        result["component"] = copy.deepcopy(item["component"])
        result["variable"] = copy.deepcopy(item["variable"])
        return result

    def _try_set(
        self, position: int, attribute: str, value: str, size: int | None
    ) -> tuple[str, Rejection | None]:
        definition = self._layout.definitions[position]
        index = definition.attribute_index(attribute)
        if index is None:
            return "NotSupportedAttributeType", self._unsupported_attribute(definition, attribute)
        if definition.attributes[index].mutability is Mutability.READ_ONLY:
            return "Rejected", Rejection("ReadOnly", f"{definition.label} is read-only")
        if size is not None and len(value) > size:
            return "Rejected", Rejection(
                "TooLargeElement", f"{len(value)} characters, more than ConfigurationValueSize {size}"
            )
        rejection = validate_value(definition, value)
        for guard in self._guards:
            if rejection is not None:
                break
            rejection = guard(self, definition, AttributeType(attribute), value)
        if rejection is not None:
            return "Rejected", rejection
        changed = self._store(position, index, value)
        return ("RebootRequired" if definition.reboot_required and changed else "Accepted"), None

    def _report_data(self, position: int, size: int | None) -> dict[str, Any]:
        definition = self._layout.definitions[position]
        base = self._layout.offsets[position]
        attributes: list[dict[str, Any]] = []
        for j, spec in enumerate(definition.attributes):
            entry: dict[str, Any] = {"type": spec.type.value}
            if spec.mutability is not Mutability.WRITE_ONLY:
                text = self._current(base + j) or ""
                entry["value"] = text[:size] if size is not None else text
            entry["mutability"] = spec.mutability.value
            entry["persistent"] = spec.persistent
            entry["constant"] = spec.constant
            attributes.append(entry)
        return {
            "component": definition.component.to_ocpp(),
            "variable": definition.variable.to_ocpp(),
            "variableAttribute": attributes,
            "variableCharacteristics": definition.characteristics.to_ocpp(),
        }

    def _actual_of(self, position: int) -> str | None:
        definition = self._layout.definitions[position]
        index = definition.attribute_index(AttributeType.ACTUAL)
        return None if index is None else self._current(self._layout.offsets[position] + index)

    def _summary_positions(self) -> list[int]:
        definitions = self._layout.definitions
        positions: list[int] = []
        for position, definition in enumerate(definitions):
            component = definition.component
            name, variable = component.name.casefold(), definition.variable.name.casefold()
            if definition.variable.instance is None and variable == "availabilitystate":
                if name in ("chargingstation", "evse"):
                    positions.append(position)
                elif name == "connector":
                    evse_key = ("evse", None, component.evse_id, None)
                    evse_position = self._layout.index.get((evse_key, ("availabilitystate", None)))
                    evse_state = None if evse_position is None else self._actual_of(evse_position)
                    if self._actual_of(position) != evse_state:
                        positions.append(position)
            elif variable in _ABNORMAL_FLAGS and self._actual_of(position) == "true":
                positions.append(position)
        return positions

    def _meets_criteria(self, key: ComponentKey, criteria: Sequence[str]) -> bool:
        """B08.FR.07-10: Active/Available/Enabled hold when true or absent; Problem only when true."""
        flags: dict[str, str | None] = {}
        for name in ("active", "available", "enabled", "problem"):
            position = self._layout.index.get((key, (name, None)))
            flags[name] = None if position is None else self._actual_of(position)
        for criterion in criteria:
            flag = flags[criterion.casefold()]
            if criterion == "Problem":
                if flag == "true":
                    return True
            elif flag is None or flag == "true":
                return True
        return False


def _parse_bool(text: str) -> bool:
    folded = text.strip().casefold()
    if folded not in ("true", "false"):
        raise ValueError(text)
    return folded == "true"


def _parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _with_override(definition: VariableDefinition, suffix: str, raw: OverrideValue) -> VariableDefinition:
    """A copy of `definition` with one characteristic (or the Actual mutability) replaced."""
    ch = definition.characteristics
    empty = raw is None or raw == ""
    if suffix == "mutability":
        text = to_text(raw).casefold()
        mutability = next((m for m in Mutability if m.value.casefold() == text), None)
        if mutability is None:
            raise ValueError(f"mutability must be one of {[m.value for m in Mutability]}, got {raw!r}")
        index = definition.attribute_index(AttributeType.ACTUAL)
        if index is None:
            raise ValueError(f"{definition.label} has no Actual attribute")
        attributes = list(definition.attributes)
        attributes[index] = replace(attributes[index], mutability=mutability)
        return replace(definition, attributes=tuple(attributes))
    if suffix in ("minLimit", "maxLimit"):
        if isinstance(raw, bool):
            raise ValueError(f"{suffix} must be a number, got {raw!r}")
        limit = None if empty else float(to_text(raw))
        if suffix == "minLimit":
            return replace(definition, characteristics=replace(ch, min_limit=limit))
        return replace(definition, characteristics=replace(ch, max_limit=limit))
    if suffix == "maxElements":
        count = None if empty else int(to_text(raw))
        if count is not None and count < 1:
            raise ValueError(f"maxElements must be at least 1, got {count}")
        return replace(definition, characteristics=replace(ch, max_elements=count))
    if suffix == "valuesList":
        values = None if empty else tuple(_parse_list(to_text(raw)))
        return replace(definition, characteristics=replace(ch, values_list=values))
    if suffix == "unit":
        unit = None if empty else to_text(raw)
        if unit is not None and len(unit) > 16:
            raise ValueError(f"a unit has at most 16 characters, got {unit!r}")
        return replace(definition, characteristics=replace(ch, unit=unit))
    if suffix == "supportsMonitoring":
        return replace(definition, characteristics=replace(ch, supports_monitoring=_parse_bool(to_text(raw))))
    raise ValueError(f"unknown override suffix {suffix!r}")


def _matches(component_variable: Mapping[str, Any], definition: VariableDefinition) -> bool:
    """Whether a GetReport componentVariable selects `definition` (B08.FR.20-25)."""
    wanted = component_variable["component"]
    have = definition.component
    if wanted["name"].casefold() != have.name.casefold():
        return False
    instance = _fold(wanted.get("instance"))
    if instance is not None and instance != _fold(have.instance):
        return False
    evse = wanted.get("evse")
    if evse is not None:
        evse_id = evse["id"] or None  # id 0: the station level only
        if have.evse_id != evse_id:
            return False
        connector = evse.get("connectorId") or None
        if connector is not None and have.connector_id != connector:
            return False
    variable = component_variable.get("variable")
    if variable is not None:
        if variable["name"].casefold() != definition.variable.name.casefold():
            return False
        variable_instance = _fold(variable.get("instance"))
        if variable_instance is not None and variable_instance != _fold(definition.variable.instance):
            return False
    return True


def network_configuration_guard(
    model: DeviceModel, definition: VariableDefinition, attribute: AttributeType, value: str
) -> Rejection | None:
    """B09/B10 rules for writing network configuration through SetVariables.

    * a NetworkConfiguration slot listed in NetworkConfigurationPriority may not be changed:
      the station might reconnect with it any moment (B09.FR.22, reasonCode per errata);
    * adding a slot to NetworkConfigurationPriority needs that slot to be complete and valid
      (B09.FR.33/34, B10.FR.02);
    * a slot's SecurityProfile may not go below the active profile unless downgrades are
      allowed, and never to 1 (B09.FR.32/35).
    """
    component = definition.component.name.casefold()
    variable = definition.variable.name.casefold()
    if component == "networkconfiguration":
        slot = definition.component.instance or ""
        priority = model.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority", default=[])
        if slot.casefold() in (s.casefold() for s in priority):
            return Rejection(
                "ActiveNetworkConf",
                f"configuration slot {slot} is in NetworkConfigurationPriority; remove it there first",
            )
        if variable == "securityprofile":
            return _downgrade_rejection(model, value)
    elif component == "ocppcommctrlr" and variable == "networkconfigurationpriority":
        in_use = model.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority", default=[])
        current = {s.casefold() for s in in_use}
        for slot in _parse_list(value):
            if slot.casefold() in current:
                continue
            problem = _slot_problem(model, slot)
            if problem is not None:
                return Rejection("InvalidNetworkConf", f"configuration slot {slot}: {problem}")
    return None


def _downgrade_rejection(model: DeviceModel, value: str) -> Rejection | None:
    try:
        new = int(value)
    except ValueError:
        return None  # the data type check reports it
    active = model.get_int("SecurityCtrlr", "SecurityProfile", default=0)
    if new >= active:
        return None
    if new >= 2 and model.get_bool("SecurityCtrlr", "AllowSecurityProfileDowngrade", default=False):
        return None  # 3 -> 2 when allowed
    return Rejection("NoSecurityDowngrade", f"security profile {new} is below the active profile {active}")


def _slot_problem(model: DeviceModel, slot: str) -> str | None:
    """What keeps a configuration slot from being usable, or None when it is complete."""
    component = Component("NetworkConfiguration", slot)
    if model.find(component, "OcppCsmsUrl") is None:
        return "no NetworkConfiguration component for it"
    url = model.get_str(component, "OcppCsmsUrl", default="")
    if not url:
        return "OcppCsmsUrl is not set"
    for name in ("OcppInterface", "MessageTimeout", "SecurityProfile"):
        if not model.get_str(component, name, default=""):
            return f"{name} is not set"
    profile = model.get_int(component, "SecurityProfile")
    if profile >= 2 and not url.lower().startswith("wss://"):
        return f"security profile {profile} needs a wss:// URL"
    rejection = _downgrade_rejection(model, str(profile))
    return None if rejection is None else rejection.info


# ---------------------------------------------------------------------------------------------
# NotifyReport helpers
# ---------------------------------------------------------------------------------------------


def split_report(entries: Sequence[dict[str, Any]], items_per_message: int) -> list[list[dict[str, Any]]]:
    """Cut report data into NotifyReport-sized parts, order kept (B07.FR.10 numbers them)."""
    if items_per_message < 1:
        raise ValueError(f"items_per_message must be at least 1, got {items_per_message}")
    return [list(entries[i : i + items_per_message]) for i in range(0, len(entries), items_per_message)]


def notify_report_requests(
    request_id: int,
    entries: Sequence[dict[str, Any]],
    *,
    generated_at: str,
    items_per_message: int = 100,
) -> list[dict[str, Any]]:
    """NotifyReportRequest payloads for one report: same requestId (B07.FR.04), seqNo from 0
    (B07.FR.10), tbc on all but the last part. No entries, no messages.
    """
    parts = split_report(entries, items_per_message)
    return [
        {
            "requestId": request_id,
            "generatedAt": generated_at,
            "tbc": seq_no < len(parts) - 1,
            "seqNo": seq_no,
            "reportData": part,
        }
        for seq_no, part in enumerate(parts)
    ]
