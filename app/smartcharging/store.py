"""The charging profiles a station holds, and the K messages that change or list them.

One `ProfileStore` per station. It is the single owner of installed profiles: the CSMS's
(SetChargingProfile, ClearChargingProfile), the station's own external limits
(ChargingStationExternalConstraints / LocalGeneration from an EMS or a grid signal), Dynamic
updates, and which transactions run under PriorityCharging. Every change bumps `version` and
emits `changed` after the state is updated, so `limit_at` caches can tell they are stale and a
UI can redraw. Request/response handling takes and returns plain OCPP 2.1 payload dicts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.signals import Signal
from app.smartcharging.profiles import (
    STATION_OWNED,
    ChargingProfile,
    Kind,
    ProfileError,
    Purpose,
    Rejection,
    StationContext,
    format_time,
    parse_profile,
    validate_profile,
)

CSMS_SOURCE = "CSO"  # chargingLimitSource of everything the CSMS installed


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """An installed profile: where it applies, who set it, and install order (tie-breaker)."""

    profile: ChargingProfile
    evse_id: int
    source: str = CSMS_SOURCE
    seq: int = 0


class ProfileStore:
    def __init__(self) -> None:
        self._by_id: dict[int, StoredProfile] = {}
        self._priority: set[str] = set()  # transaction ids running under PriorityCharging (K21/K22)
        self._seq = 0
        self._version = 0
        self.changed: Signal[[]] = Signal()
        # Per-EVSE caches owned by app.smartcharging.composite; cleared on every change.
        self._limit_cache: dict[int, Any] = {}

    # -- reading -------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self._version

    def __len__(self) -> int:
        return len(self._by_id)

    def entries(self) -> Iterator[StoredProfile]:
        """Installed profiles in install order."""
        return iter(sorted(self._by_id.values(), key=lambda e: e.seq))

    def get(self, profile_id: int) -> StoredProfile | None:
        return self._by_id.get(profile_id)

    def priority_active(self, transaction_id: str | None) -> bool:
        return transaction_id is not None and transaction_id in self._priority

    # -- changing ------------------------------------------------------------------------------

    def _touch(self) -> None:
        self._version += 1
        self._limit_cache.clear()
        self.changed.emit()

    def install(
        self,
        profile: Mapping[str, Any] | ChargingProfile,
        evse_id: int,
        *,
        source: str = CSMS_SOURCE,
        now: datetime | None = None,
    ) -> StoredProfile:
        """Install without checks, replacing a profile with the same id (K01.FR.05).

        A Dynamic profile without dynUpdateTime gets `now` (K28.FR.05), which starts the
        duration-based expiry of K28.FR.13.
        """
        if not isinstance(profile, ChargingProfile):
            profile = parse_profile(copy.deepcopy(profile))  # the caller's dict stays the caller's
        if profile.kind is Kind.DYNAMIC and profile.dyn_update_time is None and now is not None:
            profile = parse_profile({**profile.raw, "dynUpdateTime": format_time(now)})
        self._seq += 1
        entry = StoredProfile(profile, evse_id, source, self._seq)
        self._by_id[profile.id] = entry
        self._touch()
        return entry

    def set_charging_profile(
        self, request: Mapping[str, Any], ctx: StationContext, now: datetime
    ) -> dict[str, Any]:
        """SetChargingProfileRequest -> SetChargingProfileResponse: K01 checks, then install."""
        evse_id = int(request["evseId"])
        profile = request["chargingProfile"]
        rejection = validate_profile(profile, evse_id, ctx, self)
        if rejection:
            return rejection.to_response()
        self.install(profile, evse_id, now=now)
        return {"status": "Accepted"}

    def install_external(
        self,
        profile: Mapping[str, Any],
        evse_id: int,
        *,
        source: str = "EMS",
        ctx: StationContext | None = None,
        now: datetime | None = None,
    ) -> Rejection | None:
        """A limit from an EMS, DSO or local generation, as the station represents it (K11/K12/K27/K29).

        Only ChargingStationExternalConstraints and LocalGeneration are accepted here. With a
        context, the id must respect MaxExternalConstraintsId (K01.FR.82), external constraints must
        not be disallowed (K11.FR.07), and periods may only use the modes K01.FR.112/113 allow.
        The same id replaces the previous limit (K11 remark: an update replaces the profile).
        """
        try:
            p = parse_profile(profile)
        except ProfileError as exc:
            return Rejection(exc.reason_code, "schema", exc.info)
        if p.purpose not in STATION_OWNED:
            return Rejection("InvalidProfile", "K11.FR.06", f"{p.purpose} is not an external limit")
        if ctx is not None:
            if p.purpose is Purpose.EXTERNAL and ctx.external_constraints_disallowed:
                return Rejection(
                    "InvalidProfile", "K11.FR.07", "ExternalConstraintsProfileDisallowed is true"
                )
            if ctx.max_external_constraints_id is not None and p.id > ctx.max_external_constraints_id:
                return Rejection(
                    "InvalidProfileId", "K01.FR.82", f"id above {ctx.max_external_constraints_id}"
                )
            allowed = {"ChargingOnly", "ExternalLimits"}
            if p.purpose is Purpose.EXTERNAL:
                allowed.add("ExternalSetpoint")
            for s in p.schedules:
                for per in s.periods:
                    if per.operation_mode not in allowed:
                        return Rejection("InvalidOperationMode", "K01.FR.112/113", per.operation_mode)
        same = self._by_id.get(p.id)
        if same is not None and same.profile.purpose not in STATION_OWNED:
            return Rejection("InvalidProfileId", "K01.FR.80", f"id {p.id} is used by a CSMS profile")
        self.install(p, evse_id, source=source, now=now)
        return None

    def set_external_limit(
        self,
        limit: float,
        now: datetime,
        *,
        unit: str = "W",
        evse_id: int = 0,
        profile_id: int = -1,
        source: str = "EMS",
        local_generation: bool = False,
        ctx: StationContext | None = None,
    ) -> Rejection | None:
        """One external value (grid signal, EMS register, a slider in the window) as a limit.

        Represented as a Dynamic station-owned profile with one ExternalLimits period (K29.FR.04);
        a new value for the same id, purpose, EVSE and unit updates that period and dynUpdateTime
        (K29.FR.05/06) instead of replacing the profile. `local_generation` makes it a
        LocalGeneration allowance (K27 scenario 2) rather than a cap.
        """
        purpose = Purpose.LOCAL_GENERATION if local_generation else Purpose.EXTERNAL
        same = self._by_id.get(profile_id)
        if (
            same is not None
            and same.profile.purpose is purpose
            and same.profile.kind is Kind.DYNAMIC
            and same.evse_id == evse_id
            and same.profile.schedule.unit == unit
        ):
            self.update_dynamic(profile_id, {"limit": limit}, now)
            return None
        profile = {
            "id": profile_id,
            "stackLevel": 0,
            "chargingProfilePurpose": str(purpose),
            "chargingProfileKind": "Dynamic",
            "dynUpdateTime": format_time(now),
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": unit,
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": limit, "operationMode": "ExternalLimits"}
                    ],
                }
            ],
        }
        return self.install_external(profile, evse_id, source=source, ctx=ctx, now=now)

    def remove_external(self, profile_id: int) -> bool:
        """The external system released its limit (K13.FR.01); False if there was none."""
        entry = self._by_id.get(profile_id)
        if entry is None or entry.profile.purpose not in STATION_OWNED:
            return False
        del self._by_id[profile_id]
        self._touch()
        return True

    def clear(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """ClearChargingProfileRequest -> ClearChargingProfileResponse (K10).

        An id, when given, decides alone (K10.FR.03); otherwise evseId, chargingProfilePurpose and
        stackLevel are ANDed, and a request with neither matches every profile. Station-owned
        purposes are never cleared this way (K10.FR.04/08/09); nothing cleared -> Unknown (K10.FR.01).
        """
        profile_id = request.get("chargingProfileId")
        if profile_id is not None:
            entry = self._by_id.get(int(profile_id))
            if entry is None or entry.profile.purpose in STATION_OWNED:
                return {"status": "Unknown"}
            del self._by_id[entry.profile.id]
            self._touch()
            return {"status": "Accepted"}
        criteria = request.get("chargingProfileCriteria") or {}
        evse_id = criteria.get("evseId")
        purpose = criteria.get("chargingProfilePurpose")
        stack_level = criteria.get("stackLevel")
        doomed = [
            e.profile.id
            for e in self._by_id.values()
            if e.profile.purpose not in STATION_OWNED
            and (evse_id is None or e.evse_id == evse_id)
            and (purpose is None or e.profile.purpose == purpose)
            and (stack_level is None or e.profile.stack_level == stack_level)
        ]
        if not doomed:
            return {"status": "Unknown"}
        for pid in doomed:
            del self._by_id[pid]
        self._touch()
        return {"status": "Accepted"}

    def end_transaction(self, transaction_id: str) -> list[int]:
        """A transaction ended: its TxProfiles go (K02.FR.05) and priority charging ends (K21 remark)."""
        doomed = [
            e.profile.id
            for e in self._by_id.values()
            if e.profile.purpose is Purpose.TX and e.profile.transaction_id == transaction_id
        ]
        for pid in doomed:
            del self._by_id[pid]
        had_priority = transaction_id in self._priority
        self._priority.discard(transaction_id)
        if doomed or had_priority:
            self._touch()
        return doomed

    def use_priority_charging(
        self, transaction_id: str, activate: bool, ctx: StationContext
    ) -> dict[str, Any]:
        """UsePriorityChargingRequest -> response (K21); local activation (K22) uses the same call.

        The caller sends NotifyPriorityCharging when `priority_active` changed (K21.FR.05/08).
        """
        evse = ctx.evse_of_transaction(transaction_id)
        if evse is None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "TxNotFound"}}  # K21.FR.02
        if not activate:
            if transaction_id in self._priority:  # K21.FR.06/07
                self._priority.discard(transaction_id)
                self._touch()
            return {"status": "Accepted"}
        has_profile = any(
            e.profile.purpose is Purpose.PRIORITY and e.evse_id in (0, evse.evse_id)
            for e in self._by_id.values()
        )
        if not has_profile:
            return {"status": "NoProfile", "statusInfo": {"reasonCode": "NotFound"}}  # K21.FR.01
        if transaction_id not in self._priority:  # K21.FR.03/04
            self._priority.add(transaction_id)
            self._touch()
        return {"status": "Accepted"}

    def update_dynamic(
        self, profile_id: int, schedule_update: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        """UpdateDynamicScheduleRequest / PullDynamicScheduleUpdateResponse / an EMS update (K28, K29).

        The values given replace those of the single period; values not given stay. dynUpdateTime
        becomes `now` (K28.FR.09, K29.FR.06), which also revives a lapsed profile (K28.FR.14).
        """
        entry = self._by_id.get(profile_id)
        if entry is None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NotFound"}}
        p = entry.profile
        if p.kind is not Kind.DYNAMIC:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidProfile"}}  # K28.FR.11
        values = {k: v for k, v in schedule_update.items() if k != "customData"}
        raw = json.loads(json.dumps(p.raw))
        period = raw["chargingSchedule"][0]["chargingSchedulePeriod"][0]
        period.update(values)
        raw["dynUpdateTime"] = format_time(now)
        self._by_id[profile_id] = StoredProfile(parse_profile(raw), entry.evse_id, entry.source, entry.seq)
        self._touch()
        return {"status": "Accepted"}  # K28.FR.06

    def connection_restored(self, offline_since: datetime, now: datetime) -> list[int]:
        """Back online: profiles that outlived maxOfflineDuration with invalidAfterOfflineDuration go.

        The others simply count again (K01.FR.102); while offline, the composite skips them once
        `ctx.offline_since + maxOfflineDuration` has passed (K01.FR.101).
        """
        doomed = [
            e.profile.id
            for e in self._by_id.values()
            if e.profile.invalid_after_offline
            and e.profile.max_offline_duration is not None
            and now > offline_since + timedelta(seconds=e.profile.max_offline_duration)
        ]
        for pid in doomed:
            del self._by_id[pid]
        if doomed:
            self._touch()
        return doomed

    def purge_expired(self, now: datetime) -> list[int]:
        """Drop profiles whose validTo has passed: they can never apply again (K01.FR.37)."""
        doomed = [
            e.profile.id for e in self._by_id.values() if e.profile.valid_to and e.profile.valid_to <= now
        ]
        for pid in doomed:
            del self._by_id[pid]
        if doomed:
            self._touch()
        return doomed

    # -- reporting -----------------------------------------------------------------------------

    def matching(self, request: Mapping[str, Any]) -> list[StoredProfile]:
        """Profiles a GetChargingProfilesRequest selects (K09.FR.03..06)."""
        evse_id = request.get("evseId")
        crit = request.get("chargingProfile") or {}
        ids = crit.get("chargingProfileId")
        sources = crit.get("chargingLimitSource")
        purpose = crit.get("chargingProfilePurpose")
        stack_level = crit.get("stackLevel")
        return [
            e
            for e in self.entries()
            if (evse_id is None or e.evse_id == evse_id)
            and (not ids or e.profile.id in ids)
            and (not sources or e.source in sources)
            and (purpose is None or e.profile.purpose == purpose)
            and (stack_level is None or e.profile.stack_level == stack_level)
        ]

    def get_profiles(
        self, request: Mapping[str, Any], *, max_per_report: int | None = None
    ) -> list[dict[str, Any]]:
        """GetChargingProfilesRequest -> the ReportChargingProfilesRequest payloads to send.

        One report per (evseId, chargingLimitSource), since both are per-message fields, split
        further at `max_per_report`. Every report carries the requestId (K09.FR.01) and all but the
        last have tbc = true (K09.FR.02). Empty list: answer NoProfiles and send nothing.
        """
        groups: dict[tuple[int, str], list[StoredProfile]] = {}
        for e in self.matching(request):
            groups.setdefault((e.evse_id, e.source), []).append(e)
        chunk = max_per_report or 1_000_000
        reports: list[dict[str, Any]] = []
        for (evse_id, source), entries in sorted(groups.items()):
            for i in range(0, len(entries), chunk):
                reports.append(
                    {
                        "requestId": request["requestId"],
                        "chargingLimitSource": source,
                        "evseId": evse_id,
                        "chargingProfile": [copy.deepcopy(e.profile.raw) for e in entries[i : i + chunk]],
                    }
                )
        for report in reports[:-1]:
            report["tbc"] = True
        return reports

    # -- persistence ---------------------------------------------------------------------------

    def to_json(self, purposes: frozenset[str] | set[str] | None = None) -> str:
        """The store as JSON text; `purposes` keeps only those (e.g. the persistent ones, K01.FR.27/55)."""
        return json.dumps(
            {
                "format": 1,
                "profiles": [
                    {"evseId": e.evse_id, "source": e.source, "chargingProfile": e.profile.raw}
                    for e in self.entries()
                    if purposes is None or e.profile.purpose in purposes
                ],
                "priority": sorted(self._priority),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ProfileStore:
        data = json.loads(text)
        store = cls()
        for item in data.get("profiles", ()):
            store._seq += 1
            profile = parse_profile(item["chargingProfile"])
            store._by_id[profile.id] = StoredProfile(profile, int(item["evseId"]), item["source"], store._seq)
        store._priority = set(data.get("priority", ()))
        return store
