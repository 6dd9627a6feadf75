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
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.smartcharging import (
    ALWAYS_PERSISTENT,
    EffectiveLimit,
    EvseInfo,
    ProfileStore,
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
EXTERNAL_LIMIT_ID = -1  # the window's grid / load-manager limit (station-owned ids are negative)


class StationSmartCharging:
    def __init__(self, station: Station) -> None:
        self.station = station
        saved = station.store.get("smartcharging.profiles")
        self.store = ProfileStore.from_json(saved) if saved else ProfileStore()
        self._ctx: StationContext | None = None
        self._offline_since: datetime | None = None
        self.external_limit_w: dict[int, float] = {}  # evse id (0 = station) -> W, set in the window
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
            supported_operation_modes=frozenset(
                dm.get_list("V2XChargingCtrlr", "SupportedOperationModes", default=["ChargingOnly"])
            ),
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
        self.invalidate()

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
            await self._send("ClearedChargingLimit", payload)  # K13
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
        await self._send("NotifyChargingLimit", payload)  # K12
        for evse in station.evses.values():
            if evse.transaction is not None and evse_id in (0, evse.evse_id):
                station.send_event(evse, "Updated", "ChargingRateChanged")  # K12.FR.04

    async def _send(self, action: str, payload: dict[str, Any]) -> None:
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


def _max_limit(definition: Any) -> int | None:
    if definition is None:
        return None
    value = definition.characteristics.max_limit
    return int(value) if value is not None else None


__all__ = ["StationSmartCharging"]
