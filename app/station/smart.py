"""The station's side of smart charging: its profile store, the context the rules read from the
device model, the effective limit each physics tick obeys, and the messages of block K.

The rules themselves live in `app.smartcharging`; this module feeds them the station's state and
turns their answers into behaviour: the limit of the composite schedule caps the power the EVSE
offers (so delivered power follows a profile within the ramp), TxProfiles leave with their
transaction (K02.FR.05), persistent purposes survive restarts (K01.FR.27), and an external limit
from the window is reported with NotifyChargingLimit / ClearedChargingLimit (K11-K13).
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from app.clock import utc_timestamp
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.smartcharging import (
    ALWAYS_PERSISTENT,
    EffectiveLimit,
    EvseInfo,
    Kind,
    ProfileStore,
    Purpose,
    StationContext,
    composite_schedule,
    get_composite_schedule,
    limit_at,
    update_dynamic,
    validate_profile,
)

if TYPE_CHECKING:
    from app.station.evse import Evse
    from app.station.station import Station

log = logging.getLogger(__name__)

SC = "SmartChargingCtrlr"
V2X = "V2XChargingCtrlr"
EXTERNAL_LIMIT_ID = -1  # the window's grid / load-manager limit (station-owned ids are negative)
#: Operation modes in which the EV may feed energy back (Q03-Q09); ChargingOnly, ExternalLimits
#: and Idle never discharge, whatever a setpoint says.
DISCHARGE_MODES = frozenset(
    {"CentralSetpoint", "ExternalSetpoint", "CentralFrequency", "LocalFrequency", "LocalLoadBalancing"}
)
#: Energy transfer modes that include export (bidirectional power transfer).
BPT_MODES = frozenset({"AC_BPT", "AC_BPT_DER", "DC_BPT", "DC_ACDP_BPT"})
_RECURRENCE_S = {"Daily": 86_400, "Weekly": 604_800}


@dataclass(frozen=True, slots=True)
class V2xControl:
    """What the physics needs from a V2X period beyond the limit: the setpoint to follow and
    whether export is allowed at all (V2X on, the mode discharges, the CSMS allowed BPT)."""

    setpoint_w: float | None = None
    discharge_limit_w: float | None = None
    allow_discharge: bool = False


class StationSmartCharging:
    def __init__(self, station: Station) -> None:
        self.station = station
        saved = station.store.get("smartcharging.profiles")
        self.store = ProfileStore.from_json(saved) if saved else ProfileStore()
        self._ctx: StationContext | None = None
        self._offline_since: datetime | None = None
        self.external_limit_w: dict[int, float] = {}  # evse id (0 = station) -> W, set in the window
        # Per transaction: the operation mode last reported (K01.FR.110) and the energy transfer
        # modes the CSMS allowed (Q01/Q02; absent: nothing said, the profile decides).
        self._modes: dict[str, str] = {}
        self.allowed_energy_transfer: dict[str, tuple[str, ...]] = {}
        # K28.FR.10: Dynamic profile id -> when the last pull was sent (so one is in flight at most).
        self._pulls: dict[int, datetime] = {}
        self._pulling: set[int] = set()
        # Q08.FR.10: evse id -> (from when, aFRR signal) for LocalFrequency periods.
        self.afrr_signal: dict[int, tuple[datetime, int]] = {}
        self.store.changed.connect(self._persist)
        station.dm.on_change(lambda *_: self.invalidate())

    # ------------------------------------------------------------------ context

    def invalidate(self) -> None:
        """Something the rules read changed (transaction, variable, link): rebuild the context."""
        self._ctx = None

    @property
    def context(self) -> StationContext:
        if self._ctx is None:
            self._ctx = self._build_context()
        return self._ctx

    def _build_context(self) -> StationContext:
        station = self.station
        dm = station.dm
        evses = []
        for evse, spec in zip(station.evses.values(), station.config.evses, strict=True):
            tx = evse.transaction
            evses.append(
                EvseInfo(
                    evse.evse_id,
                    phases=spec.phases if spec.dc_max_power_w is None else 0,
                    voltage_v=spec.nominal_voltage_v,
                    max_current_a=spec.max_current_a,
                    max_power_w=spec.rated_power_w,
                    transaction_id=tx.transaction_id if tx else None,
                    tx_start=tx.started_at if tx else None,
                )
            )
        entries = dm.find(SC, "Entries", "ChargingProfiles")
        # A station with V2X switched off honours only ChargingOnly (K01.FR.115, Q01 prerequisites).
        modes = (
            frozenset(dm.get_list(V2X, "SupportedOperationModes", default=["ChargingOnly"]))
            if self.v2x_enabled
            else frozenset({"ChargingOnly"})
        )
        return StationContext(
            evses=tuple(evses),
            rate_units=frozenset(dm.get_list(SC, "RateUnit", default=["A", "W"])),
            periods_per_schedule=dm.get_int(SC, "PeriodsPerSchedule", default=24),
            max_stack_level=dm.get_int(SC, "ProfileStackLevel", default=10),
            max_profiles=_max_limit(entries),
            supported_additional_purposes=frozenset(
                dm.get_list(SC, "SupportedAdditionalPurposes", default=[])
            ),
            supports_dynamic_profiles=dm.get_bool(SC, "SupportsDynamicProfiles", default=False),
            supports_use_local_time=dm.get_bool(SC, "SupportsUseLocalTime", default=False),
            supports_randomized_delay=dm.get_bool(SC, "SupportsRandomizedDelay", default=False),
            supports_limit_at_soc=dm.get_bool(SC, "SupportsLimitAtSoC", default=False),
            supports_evse_sleep=dm.get_bool(SC, "SupportsEvseSleep", default=False),
            supports_max_offline_duration=dm.get_bool(SC, "SupportsMaxOfflineDuration", default=False),
            supported_operation_modes=modes,
            external_constraints_disallowed=dm.get_bool(
                SC, "ExternalConstraintsProfileDisallowed", default=False
            ),
            offline_since=self._offline_since,
            random_seed=station.station_id,
        )

    def link_changed(self, online: bool) -> None:
        """maxOfflineDuration counts from the moment the CSMS went away (K01.FR.101/102)."""
        now = self.station.now()
        if online and self._offline_since is not None:
            self.store.connection_restored(self._offline_since, now)
            self._offline_since = None
            self.invalidate()
        elif not online and self._offline_since is None:
            self._offline_since = now
            self.invalidate()

    # ------------------------------------------------------------------ physics

    def limit(self, evse: Evse) -> EffectiveLimit | None:
        """The composite limit for the EVSE at this instant (None: no profile applies)."""
        if next(self.store.entries(), None) is None:
            return None
        soc = evse.ev.soc_percent if evse.ev is not None else None
        lim = limit_at(self.store, evse.evse_id, self.station.now(), self.context, soc=soc)
        return lim if lim.watts is not None else None

    def transaction_ended(self, transaction_id: str) -> None:
        self.store.end_transaction(transaction_id)
        self._modes.pop(transaction_id, None)
        self.allowed_energy_transfer.pop(transaction_id, None)
        self.invalidate()

    # ------------------------------------------------------------------ V2X (Q)

    @property
    def v2x_enabled(self) -> bool:
        return self.station.dm.get_bool(V2X, "Enabled", default=False)

    def v2x_control(self, evse: Evse, limit: EffectiveLimit) -> V2xControl:
        """The setpoint and export permission of this instant, for the physics step.

        Export needs every party's consent: the station (V2XChargingCtrlr.Enabled and the mode
        in SupportedOperationModes), the schedule (a discharging operation mode), and the CSMS
        when it said which energy transfers it allows for the transaction (Q01/Q02). The car's
        own consent (bidirectional, reserve SoC) is checked by the physics.
        """
        mode = limit.operation_mode
        setpoint = limit.setpoint_w
        if mode == "LocalFrequency":
            setpoint = self._local_frequency_setpoint(evse, limit)
        allow = (
            mode in DISCHARGE_MODES and self.v2x_enabled and mode in self.context.supported_operation_modes
        )
        tx = evse.transaction
        if allow and tx is not None and tx.transaction_id in self.allowed_energy_transfer:
            allow = bool(BPT_MODES & set(self.allowed_energy_transfer[tx.transaction_id]))
        return V2xControl(setpoint, limit.discharge_limit_w, allow)

    def operation_mode_changed(self, evse: Evse, mode: str) -> bool:
        """True once per change of the transaction's operation mode (K01.FR.110); the default
        mode is ChargingOnly, so a transaction that never leaves it reports nothing."""
        tx = evse.transaction
        if tx is None:
            return False
        previous = self._modes.get(tx.transaction_id, "ChargingOnly")
        if previous == mode:
            return False
        self._modes[tx.transaction_id] = mode
        return True

    def operation_mode(self, transaction_id: str) -> str:
        return self._modes.get(transaction_id, "ChargingOnly")

    def _active_period(self, evse: Evse, limit: EffectiveLimit) -> dict[str, Any] | None:
        """The raw schedule period behind the limit's operation mode (its curves and baseline
        are not part of the EffectiveLimit)."""
        now = self.station.now()
        for pid in limit.source_ids:
            entry = self.store.get(pid)
            if entry is None or entry.profile.purpose not in (
                Purpose.TX,
                Purpose.TX_DEFAULT,
                Purpose.PRIORITY,
            ):
                continue
            raw = entry.profile.raw
            schedule = raw["chargingSchedule"][0]
            periods = schedule["chargingSchedulePeriod"]
            elapsed = 0.0
            kind = entry.profile.kind
            if kind is Kind.RELATIVE and evse.transaction is not None:
                elapsed = (now - evse.transaction.started_at).total_seconds()
            elif kind in (Kind.ABSOLUTE, Kind.RECURRING) and schedule.get("startSchedule"):
                start = datetime.fromisoformat(schedule["startSchedule"].replace("Z", "+00:00"))
                elapsed = (now - start).total_seconds()
                period_s = _RECURRENCE_S.get(raw.get("recurrencyKind", ""))
                if kind is Kind.RECURRING and period_s:
                    elapsed %= period_s
            starts = [per["startPeriod"] for per in periods]
            i = bisect_right(starts, elapsed) - 1
            if i >= 0 and periods[i].get("operationMode", "ChargingOnly") == limit.operation_mode:
                period: dict[str, Any] = periods[i]
                return period
        return None

    def _local_frequency_setpoint(self, evse: Evse, limit: EffectiveLimit) -> float | None:
        """Q08.FR.06/10: baseline + the freq-watt curve at the measured frequency + the aFRR
        signal's share once its timestamp has passed."""
        period = self._active_period(evse, limit)
        if period is None:
            return None
        frequency = evse.reading.frequency_hz if evse.reading is not None else 50.0
        setpoint = float(period.get("v2xBaseline", 0.0))
        curve = [(p["frequency"], p["power"]) for p in period.get("v2xFreqWattCurve", ())]
        setpoint += _interpolate(curve, frequency)
        signal = self.afrr_signal.get(evse.evse_id)
        signal_curve = [(p["signal"], p["power"]) for p in period.get("v2xSignalWattCurve", ())]
        if signal is not None and signal_curve and self.station.now() >= signal[0]:
            setpoint += _interpolate(signal_curve, signal[1])
        return setpoint

    def afrr(self, payload: dict[str, Any]) -> dict[str, Any]:
        """AFRRSignal: taken by every EVSE whose active period is LocalFrequency with a
        v2xSignalWattCurve, else refused (Q08.FR.10/11)."""
        when = datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00"))
        takers = []
        for evse in self.station.evses.values():
            limit = self.limit(evse)
            if limit is None or limit.operation_mode != "LocalFrequency":
                continue
            period = self._active_period(evse, limit)
            if period is not None and period.get("v2xSignalWattCurve"):
                takers.append(evse.evse_id)
        if not takers:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NoSignalWattCurve"}}
        for evse_id in takers:
            self.afrr_signal[evse_id] = (when, int(payload["signal"]))
        return {"status": "Accepted"}

    def notify_allowed_energy_transfer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Q02.FR.05/06: the CSMS changes what a running transaction may do.

        Accepted when the transaction runs here and at least one of the modes is one this
        station supports; otherwise the honest answer is Rejected, as the EV could not be
        offered any of them.
        """
        tx_id = payload["transactionId"]
        running = (e for e in self.station.evses.values() if e.transaction is not None)
        evse = next((e for e in running if e.transaction and e.transaction.transaction_id == tx_id), None)
        if evse is None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "TxNotFound"}}
        allowed = tuple(payload["allowedEnergyTransfer"])
        supported = set(self.station.dm.get_list(V2X, "SupportedEnergyTransferModes", default=[]))
        if not self.v2x_enabled:
            supported -= BPT_MODES
        if not supported & set(allowed):
            return {
                "status": "Rejected",
                "statusInfo": {
                    "reasonCode": "UnsupportedRequest",
                    "additionalInfo": f"supported: {','.join(sorted(supported)) or 'none'}",
                },
            }
        self.allowed_energy_transfer[tx_id] = allowed
        self.invalidate()
        return {"status": "Accepted"}

    def charging_needs(self, evse: Evse) -> dict[str, Any] | None:
        """NotifyEVChargingNeeds after a renegotiation (Q02.FR.07): the EV picks the first
        allowed mode it and the station can do, preferring bidirectional when both can."""
        tx = evse.transaction
        if tx is None or evse.ev is None:
            return None
        supported = self.station.dm.get_list(V2X, "SupportedEnergyTransferModes", default=[])
        ev_modes = [m for m in supported if evse.ev.bidirectional or m not in BPT_MODES]
        if not self.v2x_enabled:
            ev_modes = [m for m in ev_modes if m not in BPT_MODES]
        allowed = self.allowed_energy_transfer.get(tx.transaction_id, tuple(ev_modes))
        usable = [m for m in ev_modes if m in allowed]
        if not usable:
            return None
        requested = next((m for m in usable if m in BPT_MODES), usable[0])
        return {
            "evseId": evse.evse_id,
            "timestamp": utc_timestamp(self.station.now()),
            "chargingNeeds": {"requestedEnergyTransfer": requested, "availableEnergyTransfer": ev_modes},
        }

    # ------------------------------------------------------------------ dynamic profiles (K28)

    def pull_dynamic_updates(self) -> None:
        """K28.FR.10: ask for the next value of each Dynamic profile whose dynUpdateInterval has
        passed since its last update (or since the last unanswered pull, so a silent CSMS is
        asked once per interval, not once per tick)."""
        if not self.station.online or self.station.connection is None:
            return
        now = self.station.now()
        for entry in self.store.entries():
            profile = entry.profile
            interval = profile.dyn_update_interval
            if profile.kind is not Kind.DYNAMIC or not interval or profile.id in self._pulling:
                continue
            last = profile.dyn_update_time
            attempt = self._pulls.get(profile.id)
            if attempt is not None and (last is None or attempt > last):
                last = attempt
            if last is not None and (now - last).total_seconds() < interval:
                continue
            self._pulls[profile.id] = now
            self._pulling.add(profile.id)
            self.station.spawn(self._pull(profile.id), "pull-dynamic-schedule")

    async def _pull(self, profile_id: int) -> None:
        try:
            conn = self.station.connection
            if conn is None:
                return
            try:
                answer = await conn.call("PullDynamicScheduleUpdate", {"chargingProfileId": profile_id})
            except (CallTimeout, OcppError, ConnectionLost) as exc:
                log.info("%s: PullDynamicScheduleUpdate failed: %s", self.station.station_id, exc)
                return
            if answer.get("status") == "Accepted" and "scheduleUpdate" in answer:  # K28.FR.08/09
                update_dynamic(self.store, profile_id, answer["scheduleUpdate"], self.station.now())
        finally:
            self._pulling.discard(profile_id)

    # ------------------------------------------------------------------ priority charging (K21/K22)

    def request_priority_locally(self, evse: Evse, activate: bool) -> bool:
        """K22: the driver's button. False when there is no PriorityCharging profile to switch to
        (K22.FR.01: the caller tells the driver)."""
        tx = evse.transaction
        if tx is None:
            return False
        before = self.store.priority_active(tx.transaction_id)
        answer = self.store.use_priority_charging(tx.transaction_id, activate, self.context)
        if answer["status"] != "Accepted":
            return False
        if self.store.priority_active(tx.transaction_id) != before:
            self.notify_priority(tx.transaction_id, not before)
        return True

    def notify_priority(self, transaction_id: str, activated: bool) -> None:
        """K21.FR.05/08, K22.FR.03/05: queued, so it also reaches a CSMS that is offline now.

        The state is the one of the change being reported, not of the moment it is sent: two
        quick requests must give two notifications that tell the story in order.
        """
        self.station.enqueue(
            "NotifyPriorityCharging", {"transactionId": transaction_id, "activated": activated}
        )

    # ------------------------------------------------------------------ CSMS requests (K)

    def set_charging_profile(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.station.dm.get_bool(SC, "Enabled", default=True):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NotEnabled"}}
        return self.store.set_charging_profile(payload, self.context, self.station.now())

    def clear(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.store.clear(payload)

    def reports(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        return self.store.get_profiles(payload, max_per_report=10)

    def composite(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["evseId"] != 0 and payload["evseId"] not in self.station.evses:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEVSE"}}  # K08.FR.05
        return get_composite_schedule(self.store, payload, self.context, self.station.now())

    def schedule(self, evse_id: int, duration_s: int, unit: str = "W") -> dict[str, Any]:
        """The composite schedule from now, for plots and the window."""
        return composite_schedule(self.store, evse_id, self.station.now(), duration_s, unit, self.context)

    def update_dynamic(self, payload: dict[str, Any]) -> dict[str, Any]:
        return update_dynamic(
            self.store, payload["chargingProfileId"], payload["scheduleUpdate"], self.station.now()
        )

    def use_priority_charging(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.store.use_priority_charging(payload["transactionId"], payload["activate"], self.context)

    def validate_remote_start_profile(self, profile: dict[str, Any], evse_id: int) -> str | None:
        """K05: the TxProfile of a RequestStartTransaction, checked before it is accepted."""
        rejection = validate_profile(profile, evse_id, self.context, self.store, remote_start=True)
        return rejection.reason_code if rejection is not None else None

    def install_remote_start_profile(
        self, profile: dict[str, Any], evse_id: int, transaction_id: str
    ) -> None:
        profile = {**profile, "transactionId": transaction_id}
        self.store.install(profile, evse_id, now=self.station.now())

    # ------------------------------------------------------------------ external limits (K11-K13)

    async def set_external_limit(self, evse_id: int, watts: float | None) -> None:
        """A limit from outside OCPP (grid operator, load manager), set in the window."""
        station = self.station
        now = station.now()
        profile_id = EXTERNAL_LIMIT_ID - evse_id
        if watts is None:
            if not self.store.remove_external(profile_id):
                return
            self.external_limit_w.pop(evse_id, None)
            payload: dict[str, Any] = {"chargingLimitSource": "EMS"}
            if evse_id:
                payload["evseId"] = evse_id
            await self.send("ClearedChargingLimit", payload)  # K13
            return
        rejection = self.store.set_external_limit(
            watts, now, unit="W", evse_id=evse_id, profile_id=profile_id, source="EMS", ctx=self.context
        )
        if rejection is not None:
            raise ValueError(f"external limit refused: {rejection.reason_code} {rejection.info}")
        self.external_limit_w[evse_id] = watts
        payload = {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": False}}
        if evse_id:
            payload["evseId"] = evse_id
        if station.dm.get_bool(SC, "NotifyChargingLimitWithSchedules", default=False):
            payload["chargingSchedule"] = [
                {**composite_schedule(self.store, evse_id, now, 3600, "W", self.context), "id": 1}
            ]
            for schedule in payload["chargingSchedule"]:
                schedule.pop("evseId", None)
                schedule.pop("duration", None)
                schedule.pop("scheduleStart", None)
        await self.send("NotifyChargingLimit", payload)  # K12
        for evse in station.evses.values():
            if evse.transaction is not None and evse_id in (0, evse.evse_id):
                station.send_event(evse, "Updated", "ChargingRateChanged")  # K12.FR.04

    async def send(self, action: str, payload: dict[str, Any]) -> None:
        conn = self.station.connection
        if conn is None or not self.station.online:
            return
        try:
            await conn.call(action, payload)
        except (CallTimeout, OcppError, ConnectionLost) as exc:
            log.info("%s: %s failed: %s", self.station.station_id, action, exc)

    def _persist(self) -> None:
        purposes: set[str] = {str(p) for p in ALWAYS_PERSISTENT}
        dm = self.station.dm
        for purpose in ("TxProfile", "LocalGeneration", "ChargingStationExternalConstraints"):
            if dm.get_bool(SC, "ChargingProfilePersistence", purpose, default=purpose != "TxProfile"):
                purposes.add(purpose)
        self.station.store.put("smartcharging.profiles", self.store.to_json(purposes))
        entries = sum(1 for _ in self.store.entries())
        if dm.find(SC, "Entries", "ChargingProfiles") is not None:
            dm.set_actual(SC, "Entries", str(entries), "ChargingProfiles", validate=False)
        self.invalidate()


def _interpolate(curve: list[tuple[float, float]], x: float) -> float:
    """Linear interpolation on a curve of (x, power) points, flat beyond its ends (Q08.FR.06)."""
    if not curve:
        return 0.0
    points = sorted(curve)
    if x <= points[0][0]:
        return float(points[0][1])
    for (x0, y0), (x1, y1) in pairwise(points):
        if x <= x1:
            return float(y0 + (y1 - y0) * (x - x0) / (x1 - x0)) if x1 != x0 else float(y1)
    return float(points[-1][1])


def _max_limit(definition: Any) -> int | None:
    if definition is None:
        return None
    value = definition.characteristics.max_limit
    return int(value) if value is not None else None


__all__ = ["StationSmartCharging", "V2xControl"]
