"""Charging profiles as typed objects, the station facts the rules need, and the K01 checks.

Payloads stay plain OCPP 2.1 JSON dicts at the edges (the RPC layer has validated them against
the schema already); inside, a profile is parsed once into frozen objects so the composite
schedule does not re-read strings and parse timestamps on every physics tick. Every parsed object
keeps its `raw` dict, because GetChargingProfiles must report exactly what was installed.

`validate_profile` answers "would a SetChargingProfileRequest with this profile be rejected, and
why": it returns a `Rejection` (reasonCode + requirement id) or None. It never changes anything;
`ProfileStore.set_charging_profile` calls it and then installs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.smartcharging.store import ProfileStore


class Purpose(StrEnum):
    STATION_MAX = "ChargingStationMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"
    EXTERNAL = "ChargingStationExternalConstraints"
    PRIORITY = "PriorityCharging"
    LOCAL_GENERATION = "LocalGeneration"


class Kind(StrEnum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"
    DYNAMIC = "Dynamic"


RECURRENCE_S = {"Daily": 86_400, "Weekly": 604_800}

# Purposes the CSMS may never clear (K10.FR.04/08/09) and that a station creates itself.
STATION_OWNED = frozenset({Purpose.EXTERNAL, Purpose.LOCAL_GENERATION})
# Purposes that must survive a reboot (K01.FR.27); the others only if ChargingProfilePersistence says so.
ALWAYS_PERSISTENT = frozenset({Purpose.STATION_MAX, Purpose.TX_DEFAULT, Purpose.PRIORITY})

# Period fields that only a TxProfile may carry per phase (K01.FR.143, V2X.09).
_PHASE_FIELDS = (
    "limit_L2",
    "limit_L3",
    "dischargeLimit_L2",
    "dischargeLimit_L3",
    "setpoint_L2",
    "setpoint_L3",
    "setpointReactive_L2",
    "setpointReactive_L3",
)
# Operation modes in which `limit` may be left out (ChargingSchedulePeriodType.limit).
_LIMIT_OPTIONAL_MODES = frozenset(
    {"CentralSetpoint", "ExternalSetpoint", "ExternalLimits", "LocalFrequency", "LocalLoadBalancing", "Idle"}
)
# Allowed operation modes per purpose (§3.2 table 95, errata K01.FR.111..113).
_MODES_BY_PURPOSE: dict[str, frozenset[str] | None] = {
    Purpose.STATION_MAX: frozenset({"ChargingOnly"}),
    Purpose.PRIORITY: frozenset({"ChargingOnly"}),
    Purpose.EXTERNAL: frozenset({"ChargingOnly", "ExternalLimits", "ExternalSetpoint"}),
    Purpose.LOCAL_GENERATION: frozenset({"ChargingOnly", "ExternalLimits"}),
    Purpose.TX: None,
    Purpose.TX_DEFAULT: None,
}


# ---------------------------------------------------------------------------------------------
# time


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime; a missing offset is read as UTC."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_wall_time(text: str) -> datetime:
    """The wall-clock part of a timestamp, offset dropped: useLocalTime reads it as local (K01.FR.90)."""
    return datetime.fromisoformat(text).replace(tzinfo=None)


def format_time(dt: datetime) -> str:
    """UTC with `Z` and at most milliseconds, the form OCPP recommends (Part 2 §3.1)."""
    dt = dt.astimezone(UTC)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# typed profile


def _num(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Period:
    """One ChargingSchedulePeriodType; values in the schedule's chargingRateUnit."""

    start: int
    limit: float | None = None
    limit_l2: float | None = None
    limit_l3: float | None = None
    number_phases: int | None = None
    phase_to_use: int | None = None
    discharge_limit: float | None = None
    setpoint: float | None = None
    setpoint_reactive: float | None = None
    operation_mode: str = "ChargingOnly"
    evse_sleep: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Period:
        return cls(
            start=int(raw["startPeriod"]),
            limit=_num(raw, "limit"),
            limit_l2=_num(raw, "limit_L2"),
            limit_l3=_num(raw, "limit_L3"),
            number_phases=raw.get("numberPhases"),
            phase_to_use=raw.get("phaseToUse"),
            discharge_limit=_num(raw, "dischargeLimit"),
            setpoint=_num(raw, "setpoint"),
            setpoint_reactive=_num(raw, "setpointReactive"),
            operation_mode=raw.get("operationMode", "ChargingOnly"),
            evse_sleep=bool(raw.get("evseSleep", False)),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """One ChargingScheduleType.

    `start` is the startSchedule instant in UTC; with useLocalTime it is None and `start_wall`
    holds the naive wall-clock time instead, because the instant depends on the station's zone.
    """

    id: int
    unit: str
    periods: tuple[Period, ...]
    start: datetime | None = None
    start_wall: datetime | None = None
    duration: int | None = None
    min_charging_rate: float | None = None
    randomized_delay: int = 0
    use_local_time: bool = False
    limit_at_soc: tuple[float, float] | None = None  # (soc %, limit)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    starts: list[float] = field(default_factory=list, compare=False, repr=False)  # for bisect

    def __post_init__(self) -> None:
        if not self.starts:
            object.__setattr__(self, "starts", [float(p.start) for p in self.periods])

    @property
    def has_start(self) -> bool:
        return self.start is not None or self.start_wall is not None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Schedule:
        local = bool(raw.get("useLocalTime", False))
        start_text = raw.get("startSchedule")
        soc = raw.get("limitAtSoC")
        return cls(
            id=int(raw["id"]),
            unit=str(raw["chargingRateUnit"]),
            periods=tuple(Period.parse(p) for p in raw["chargingSchedulePeriod"]),
            start=parse_time(start_text) if start_text and not local else None,
            start_wall=parse_wall_time(start_text) if start_text and local else None,
            duration=raw.get("duration"),
            min_charging_rate=_num(raw, "minChargingRate"),
            randomized_delay=int(raw.get("randomizedDelay", 0)),
            use_local_time=local,
            limit_at_soc=(float(soc["soc"]), float(soc["limit"])) if soc else None,
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    """One ChargingProfileType, parsed; `raw` is the dict as received (or as last updated)."""

    id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedules: tuple[Schedule, ...]
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None
    max_offline_duration: int | None = None
    invalid_after_offline: bool = False
    dyn_update_interval: int | None = None
    dyn_update_time: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def schedule(self) -> Schedule:
        """The schedule that limits charging.

        Up to three schedules exist only for ISO 15118 offers (K01.FR.34); which one the EV picked
        is not modelled, so the first one is the one enforced and reported.
        """
        return self.schedules[0]

    def valid_at(self, t: datetime) -> bool:
        """validFrom <= t < validTo, open ends unbounded (K01.FR.10/36/37)."""
        if self.valid_from is not None and t < self.valid_from:
            return False
        return self.valid_to is None or t < self.valid_to


class ProfileError(ValueError):
    """A profile dict that cannot be parsed (schema-valid input never raises this)."""

    def __init__(self, reason_code: str, info: str) -> None:
        super().__init__(info)
        self.reason_code = reason_code
        self.info = info


def parse_profile(raw: Mapping[str, Any]) -> ChargingProfile:
    """Parse a ChargingProfileType dict; ProfileError when a field is missing or malformed."""
    try:
        return ChargingProfile(
            id=int(raw["id"]),
            stack_level=int(raw["stackLevel"]),
            purpose=Purpose(raw["chargingProfilePurpose"]),
            kind=Kind(raw["chargingProfileKind"]),
            schedules=tuple(Schedule.parse(s) for s in raw["chargingSchedule"]),
            recurrency=raw.get("recurrencyKind"),
            valid_from=parse_time(raw["validFrom"]) if raw.get("validFrom") else None,
            valid_to=parse_time(raw["validTo"]) if raw.get("validTo") else None,
            transaction_id=raw.get("transactionId"),
            max_offline_duration=raw.get("maxOfflineDuration"),
            invalid_after_offline=bool(raw.get("invalidAfterOfflineDuration", False)),
            dyn_update_interval=raw.get("dynUpdateInterval"),
            dyn_update_time=parse_time(raw["dynUpdateTime"]) if raw.get("dynUpdateTime") else None,
            raw=raw,
        )
    except KeyError as exc:
        raise ProfileError("InvalidProfile", f"missing field {exc.args[0]}") from None
    except (TypeError, ValueError) as exc:
        raise ProfileError("InvalidProfile", str(exc)) from None


# ---------------------------------------------------------------------------------------------
# station facts


@dataclass(frozen=True, slots=True)
class EvseInfo:
    """What the rules need to know about one EVSE; the station fills it from its device model.

    `phases` 0 means DC. `voltage_v` is the nominal line-to-neutral voltage used for A<->W
    (K01.FR.50: the set voltage for the area, not a measurement); for DC the nominal DC voltage.
    `transaction_id`/`tx_start` describe the running transaction, if any; `tx_start` is the
    moment energy could first flow (PowerPathClosed), which anchors Relative profiles (K01.FR.42).
    """

    evse_id: int
    phases: int = 3
    voltage_v: float = 230.0
    max_current_a: float | None = None
    max_power_w: float | None = None
    transaction_id: str | None = None
    tx_start: datetime | None = None
    iso15118: bool = False
    ac_phase_switching: bool = False  # ACPhaseSwitchingSupported
    dc_input_phase_control: bool = False  # EVSE.DCInputPhaseControl

    @property
    def is_dc(self) -> bool:
        return self.phases == 0


@dataclass(frozen=True)
class StationContext:
    """Device-model facts and live state the smart-charging rules depend on.

    Frozen on purpose: `limit_at` caches per EVSE and notices a changed context by identity, so
    the station builds a new context (`dataclasses.replace`) when a transaction starts or ends, it
    goes offline, or a variable changes, and keeps passing the same object otherwise.

    Variable mapping: rate_units = SmartChargingCtrlr.RateUnit, periods_per_schedule =
    PeriodsPerSchedule, max_stack_level = ProfileStackLevel, max_profiles =
    Entries[ChargingProfiles].maxLimit, supported_additional_purposes = SupportedAdditionalPurposes,
    supports_* = SupportsDynamicProfiles / UseLocalTime / RandomizedDelay / LimitAtSoC / EvseSleep /
    MaxOfflineDuration, supported_operation_modes = V2XChargingCtrlr.SupportedOperationModes,
    max_external_constraints_id = MaxExternalConstraintsId, setpoint_priority = SetpointPriority,
    external_constraints_disallowed = ExternalConstraintsProfileDisallowed, station_max_* = the
    grid connection's rating (a local limit, not a profile),
    utc_offset_s / time_zone = ClockCtrlr.TimeOffset / TimeZone. `random_seed` (e.g. the station
    identity) makes randomized delays reproducible; `offline_since` drives maxOfflineDuration.
    """

    evses: tuple[EvseInfo, ...] = (EvseInfo(1),)
    rate_units: frozenset[str] = frozenset({"A", "W"})
    periods_per_schedule: int = 1024
    max_stack_level: int | None = None
    max_profiles: int | None = None
    supported_additional_purposes: frozenset[str] = frozenset()
    supports_dynamic_profiles: bool = False
    supports_use_local_time: bool = False
    supports_randomized_delay: bool = False
    supports_limit_at_soc: bool = False
    supports_evse_sleep: bool = False
    supports_max_offline_duration: bool = False
    supported_operation_modes: frozenset[str] = frozenset({"ChargingOnly"})
    max_external_constraints_id: int | None = None
    setpoint_priority: str = "ExternalSystem"
    external_constraints_disallowed: bool = False
    station_max_current_a: float | None = None  # grid connection, per phase
    station_max_power_w: float | None = None
    utc_offset_s: int = 0
    time_zone: str | None = None
    offline_since: datetime | None = None
    random_seed: str = ""
    _by_id: dict[int, EvseInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.evse_id: e for e in self.evses})

    def evse(self, evse_id: int) -> EvseInfo | None:
        return self._by_id.get(evse_id)

    def evse_of_transaction(self, transaction_id: str) -> EvseInfo | None:
        for evse in self.evses:
            if evse.transaction_id == transaction_id:
                return evse
        return None


# ---------------------------------------------------------------------------------------------
# validation


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a profile is refused: the reasonCode for statusInfo and the requirement behind it."""

    reason_code: str
    requirement: str
    info: str = ""

    def status_info(self) -> dict[str, Any]:
        text = f"{self.requirement}: {self.info}" if self.info else self.requirement
        return {"reasonCode": self.reason_code, "additionalInfo": text[:1024]}

    def to_response(self) -> dict[str, Any]:
        """A SetChargingProfileResponse (also fits RequestStartTransaction's K05.FR.05 reply)."""
        return {"status": "Rejected", "statusInfo": self.status_info()}


def _bounds(p: ChargingProfile) -> tuple[float, float]:
    lo = p.valid_from.timestamp() if p.valid_from else -math.inf
    hi = p.valid_to.timestamp() if p.valid_to else math.inf
    return lo, hi


def _overlap(a: ChargingProfile, b: ChargingProfile) -> bool:
    a_lo, a_hi = _bounds(a)
    b_lo, b_hi = _bounds(b)
    return a_lo < b_hi and b_lo < a_hi


def _phases_to_use(p: ChargingProfile) -> set[int]:
    return {per.phase_to_use for s in p.schedules for per in s.periods if per.phase_to_use}


def validate_profile(
    profile: Mapping[str, Any],
    evse_id: int,
    ctx: StationContext,
    store: ProfileStore | None = None,
    *,
    remote_start: bool = False,
) -> Rejection | None:
    """The K01 checks a station applies to SetChargingProfileRequest(evseId, chargingProfile).

    `store` holds the installed profiles for the checks that compare with them (duplicates,
    capacity, phase conflicts, replacing a station-owned id); without it those are skipped.
    `remote_start` is for a profile inside RequestStartTransaction, whose TxProfile cannot name a
    transaction yet (K05 remark). The first failing rule wins; the order puts "what" before "how".
    """
    try:
        p = parse_profile(profile)
    except ProfileError as exc:
        return Rejection(exc.reason_code, "schema", exc.info)
    for check in (_check_target, _check_purpose_and_kind, _check_schedules):
        rejection = check(p, evse_id, ctx, remote_start)
        if rejection:
            return rejection
    if store is not None:
        return _check_against_store(p, evse_id, ctx, store)
    return None


def _check_target(
    p: ChargingProfile, evse_id: int, ctx: StationContext, remote_start: bool
) -> Rejection | None:
    """Which EVSE and transaction the profile is for."""
    evse = ctx.evse(evse_id)
    if evse_id != 0 and evse is None:
        return Rejection("UnknownEVSE", "K01.FR.28", f"no EVSE {evse_id}")
    if p.purpose is Purpose.EXTERNAL:
        return Rejection(
            "InvalidProfile", "K01.FR.22", "the CSMS may not set ChargingStationExternalConstraints"
        )
    if p.purpose is Purpose.STATION_MAX and evse_id != 0:
        return Rejection("InvalidProfile", "K01 §3.2", "ChargingStationMaxProfile is only for evseId 0")
    if p.purpose is not Purpose.TX:
        if p.transaction_id is not None:
            return Rejection(
                "InvalidProfile", "ChargingProfileType", "transactionId only belongs in a TxProfile"
            )
        return None
    if evse_id == 0:
        return Rejection("InvalidProfile", "K01.FR.16", "a TxProfile needs evseId > 0")
    if remote_start:
        return None
    if p.transaction_id is None:
        return Rejection("MissingParam", "K01.FR.03", "a TxProfile must name its transactionId")
    assert evse is not None
    if evse.transaction_id is None:
        return Rejection("TxNotFound", "K01.FR.09", f"no transaction on EVSE {evse_id}")
    if evse.transaction_id != p.transaction_id:
        return Rejection(
            "TxNotFound", "K01.FR.33", f"transaction {p.transaction_id} is not on EVSE {evse_id}"
        )
    return None


def _check_purpose_and_kind(
    p: ChargingProfile, evse_id: int, ctx: StationContext, remote_start: bool
) -> Rejection | None:
    """Features the station must advertise, and purpose/kind combinations that make no sense."""
    if p.purpose in (Purpose.PRIORITY, Purpose.LOCAL_GENERATION) and (
        p.purpose not in ctx.supported_additional_purposes
    ):
        return Rejection(
            "UnsupportedPurpose", "K01.FR.120", f"{p.purpose} is not in SupportedAdditionalPurposes"
        )
    if p.kind is Kind.DYNAMIC and not ctx.supports_dynamic_profiles:
        return Rejection("UnsupportedKind", "K01.FR.121", "SupportsDynamicProfiles is not true")
    if p.kind is not Kind.DYNAMIC and (p.dyn_update_interval is not None or p.dyn_update_time is not None):
        return Rejection("InvalidProfile", "K01.FR.122", "dynUpdateInterval/dynUpdateTime need kind Dynamic")
    if p.purpose is Purpose.STATION_MAX and p.kind is Kind.RELATIVE:
        return Rejection("InvalidProfile", "K01.FR.38", "a ChargingStationMaxProfile cannot be Relative")
    if p.kind is Kind.RECURRING and p.recurrency not in RECURRENCE_S:
        return Rejection(
            "InvalidProfile", "K01 §3.3", "a Recurring profile needs recurrencyKind Daily or Weekly"
        )
    if ctx.max_stack_level is not None and p.stack_level > ctx.max_stack_level:
        return Rejection(
            "InvalidStackLevel",
            "SmartChargingCtrlr.ProfileStackLevel",
            f"stackLevel above {ctx.max_stack_level}",
        )
    if ctx.max_external_constraints_id is not None and p.id <= ctx.max_external_constraints_id:
        return Rejection(
            "InvalidProfileId", "K01.FR.81", f"id must be above {ctx.max_external_constraints_id}"
        )
    if p.max_offline_duration is not None and not ctx.supports_max_offline_duration:
        return Rejection("InvalidProfile", "SmartChargingCtrlr.SupportsMaxOfflineDuration", "not supported")
    if p.kind is Kind.DYNAMIC and (len(p.schedules) != 1 or len(p.schedules[0].periods) != 1):
        return Rejection("InvalidSchedule", "K28.FR.01", "a Dynamic profile has one schedule with one period")
    if len(p.schedules) > 1:
        evse = ctx.evse(evse_id)
        if p.purpose is not Purpose.TX or evse is None or not evse.iso15118:
            return Rejection(
                "InvalidSchedule", "K01.FR.34", "more than one schedule outside an ISO 15118 session"
            )
    return None


def _check_schedules(
    p: ChargingProfile, evse_id: int, ctx: StationContext, remote_start: bool
) -> Rejection | None:
    evse = ctx.evse(evse_id)
    for s in p.schedules:
        rejection = _check_schedule(p, s, evse, ctx) or _check_periods(p, s, evse, ctx)
        if rejection:
            return rejection
    return None


def _check_schedule(
    p: ChargingProfile, s: Schedule, evse: EvseInfo | None, ctx: StationContext
) -> Rejection | None:
    if s.unit not in ctx.rate_units:
        return Rejection("UnsupportedRateUnit", "K01.FR.26", f"chargingRateUnit {s.unit} is not in RateUnit")
    if len(s.periods) > ctx.periods_per_schedule:
        return Rejection(
            "TooManyElements",
            "SmartChargingCtrlr.PeriodsPerSchedule",
            f"more than {ctx.periods_per_schedule} periods",
        )
    if s.periods[0].start != 0:
        return Rejection("InvalidSchedule", "K01.FR.31", "the first startPeriod must be 0")
    if any(b.start <= a.start for a, b in zip(s.periods, s.periods[1:], strict=False)):
        return Rejection("InvalidSchedule", "K01.FR.35", "startPeriod values must increase")
    if p.kind in (Kind.ABSOLUTE, Kind.RECURRING) and not s.has_start:
        return Rejection("InvalidSchedule", "K01.FR.40", f"a {p.kind} schedule needs startSchedule")
    if p.kind is Kind.RELATIVE and s.has_start:
        return Rejection("InvalidSchedule", "K01.FR.41", "a Relative schedule has no startSchedule")
    if p.purpose is Purpose.PRIORITY and s.duration is not None:
        return Rejection("InvalidSchedule", "K01.FR.70", "a PriorityCharging schedule has no duration")
    if s.randomized_delay > 0:
        if p.purpose not in (Purpose.TX, Purpose.TX_DEFAULT):
            return Rejection(
                "InvalidSchedule", "K01.FR.95", "randomizedDelay only on TxProfile/TxDefaultProfile"
            )
        if not ctx.supports_randomized_delay:
            return Rejection("InvalidSchedule", "K01.FR.124", "SupportsRandomizedDelay is not true")
    if s.use_local_time and not ctx.supports_use_local_time:
        return Rejection("InvalidSchedule", "K01.FR.123", "SupportsUseLocalTime is not true")
    if s.limit_at_soc is not None and not ctx.supports_limit_at_soc:
        return Rejection("InvalidSchedule", "K01.FR.125", "SupportsLimitAtSoC is not true")
    return None


def _check_periods(
    p: ChargingProfile, s: Schedule, evse: EvseInfo | None, ctx: StationContext
) -> Rejection | None:
    allowed_modes = _MODES_BY_PURPOSE[p.purpose]
    for per in s.periods:
        raw = per.raw
        mode = per.operation_mode
        where = f"period at {per.start} s"
        if allowed_modes is not None and mode not in allowed_modes:
            req = "K01.FR.71/111" if p.purpose is Purpose.PRIORITY else "K01.FR.111..114"
            return Rejection("InvalidOperationMode", req, f"{where}: {mode} not allowed for {p.purpose}")
        if mode != "ChargingOnly" and mode not in ctx.supported_operation_modes:
            return Rejection(
                "InvalidOperationMode", "K01.FR.115", f"{where}: {mode} not in SupportedOperationModes"
            )
        if per.limit is None and mode not in _LIMIT_OPTIONAL_MODES:
            return Rejection(
                "InvalidSchedule", "ChargingSchedulePeriodType", f"{where}: {mode} needs a limit"
            )
        if mode == "CentralSetpoint" and per.setpoint is None:
            return Rejection("InvalidSchedule", "Q §2.2", f"{where}: CentralSetpoint needs a setpoint")
        if mode == "LocalFrequency" and (len(raw.get("v2xFreqWattCurve", ())) < 2 or s.unit != "W"):
            return Rejection(
                "NoFreqWattCurve", "Q §2.2", f"{where}: LocalFrequency needs a W freq-watt curve"
            )
        present = [f for f in _PHASE_FIELDS if f in raw]
        if present and p.purpose is not Purpose.TX:
            return Rejection("PhaseConflict", "K01.FR.144", f"{where}: {present[0]} only in a TxProfile")
        if ("limit_L2" in raw or "limit_L3" in raw) and per.limit is None:
            return Rejection("PhaseConflict", "K01.FR.146", f"{where}: limit_L2/L3 without limit")
        if per.setpoint is not None:
            hi = per.limit if per.limit is not None else math.inf
            lo = per.discharge_limit if per.discharge_limit is not None else -math.inf
            if not lo <= per.setpoint <= hi:
                return Rejection(
                    "InvalidSchedule", "V2X.05", f"{where}: setpoint outside dischargeLimit..limit"
                )
        if per.phase_to_use is not None and per.number_phases != 1:
            return Rejection("InvalidSchedule", "K01.FR.19", f"{where}: phaseToUse needs numberPhases 1")
        if evse is not None and evse.is_dc:
            if (
                per.number_phases is not None or per.phase_to_use is not None
            ) and not evse.dc_input_phase_control:
                return Rejection("NoPhaseForDC", "K01.FR.44", f"{where}: phases on a DC EVSE")
        elif per.phase_to_use is not None and not (evse is not None and evse.ac_phase_switching):
            return Rejection(
                "InvalidSchedule", "K01.FR.48", f"{where}: phaseToUse without ACPhaseSwitchingSupported"
            )
        if per.evse_sleep and (not ctx.supports_evse_sleep or mode != "Idle"):
            return Rejection(
                "InvalidSchedule", "K01.FR.126", f"{where}: evseSleep needs Idle and SupportsEvseSleep"
            )
    return None


def _check_against_store(
    p: ChargingProfile, evse_id: int, ctx: StationContext, store: ProfileStore
) -> Rejection | None:
    """Rules that compare with what is installed; the profile with the same id is being replaced."""
    same = store.get(p.id)
    if same is not None and same.profile.purpose in STATION_OWNED and same.source != "CSO":
        return Rejection("InvalidProfileId", "K01.FR.05", f"id {p.id} belongs to a station-owned profile")
    others = [e for e in store.entries() if e.profile.id != p.id]
    if ctx.max_profiles is not None and len(others) >= ctx.max_profiles:
        return Rejection(
            "OutOfStorage", "Entries[ChargingProfiles]", f"already {len(others)} profiles installed"
        )
    for e in others:
        q = e.profile
        if q.purpose is not p.purpose or q.stack_level != p.stack_level:
            continue
        if p.purpose is Purpose.TX:
            if q.transaction_id == p.transaction_id and p.transaction_id is not None:
                return Rejection(
                    "DuplicateProfile", "K01.FR.39", f"profile {q.id} has this stackLevel and transaction"
                )
            continue
        if p.purpose is Purpose.TX_DEFAULT and evse_id == 0 and e.evse_id != 0:
            return Rejection(
                "DuplicateProfile", "K01.FR.52", f"profile {q.id} on EVSE {e.evse_id}, same stackLevel"
            )
        if p.purpose is Purpose.TX_DEFAULT and evse_id != 0 and e.evse_id == 0:
            return Rejection("DuplicateProfile", "K01.FR.53", f"profile {q.id} on EVSE 0, same stackLevel")
        if e.evse_id == evse_id and _overlap(p, q):
            return Rejection(
                "DuplicateProfile", "K01.FR.06", f"profile {q.id}: same stackLevel, overlapping validity"
            )
    return _check_phase_conflict(p, evse_id, others)


def _check_phase_conflict(p: ChargingProfile, evse_id: int, others: Iterable[Any]) -> Rejection | None:
    """K01.FR.141 (§3.8): phaseToUse must agree with the station-level profiles on the same EVSE.

    Checked regardless of timing: §3.8 asks the station to accept only when it can be sure no
    period will ever conflict, which for Relative profiles it cannot know in advance.
    """
    mine = _phases_to_use(p)
    if not mine:
        return None
    station_level = {Purpose.STATION_MAX, Purpose.EXTERNAL}
    for e in others:
        q = e.profile
        related = e.evse_id in (0, evse_id) or evse_id == 0
        if not related or ((p.purpose in station_level) == (q.purpose in station_level)):
            continue
        theirs = _phases_to_use(q)
        if theirs and theirs != mine:
            return Rejection("PhaseConflict", "K01.FR.141", f"phaseToUse differs from profile {q.id}")
    return None
