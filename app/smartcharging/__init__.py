"""Smart charging (OCPP 2.1 functional block K): profiles, their store, the composite schedule.

Pure Python, no I/O and no clock of its own: every call that depends on time takes it as an
argument, so the station can run it on virtual time. Payloads in and out are the OCPP 2.1 JSON
dicts of the messages named below.

How a station uses it
---------------------

Build one `StationContext` from the device model (RateUnit, PeriodsPerSchedule,
ProfileStackLevel, Entries[ChargingProfiles].maxLimit, Supports*, SupportedOperationModes,
TimeOffset/TimeZone ...) with one `EvseInfo` per EVSE (phases, 0 for DC; nominal voltage; rated
current/power; running transaction id and its PowerPathClosed time). The context is frozen: make a
new one with `dataclasses.replace` whenever any of that changes (transaction start/end, offline,
SetVariables) and pass the same object otherwise; `limit_at` caches against it.

One `ProfileStore` per station::

    store = ProfileStore()                                      # or ProfileStore.from_json(text)
    store.set_charging_profile(req, ctx, now)   -> SetChargingProfileResponse        (K01)
    store.clear(req)                            -> ClearChargingProfileResponse      (K10)
    reports = store.get_profiles(req)           -> [ReportChargingProfilesRequest]   (K09)
        # answer GetChargingProfiles with Accepted if reports else NoProfiles, then send them
    get_composite_schedule(store, req, ctx, now) -> GetCompositeScheduleResponse     (K08)
    update_dynamic(store, profile_id, req["scheduleUpdate"], now)
                                                -> UpdateDynamicScheduleResponse     (K28)
    store.use_priority_charging(tx_id, activate, ctx) -> UsePriorityChargingResponse (K21/K22)
    store.install_external(profile, evse_id, source="EMS", ctx=ctx, now=now)         (K11/K12/K27/K29)
    store.set_external_limit(7000, now, unit="W", evse_id=0)  # one grid/EMS value    (K29.FR.04..06)
    store.remove_external(profile_id)                                                (K13)
    store.end_transaction(tx_id)      # TxProfiles of the ended transaction go     (K02.FR.05)
    store.connection_restored(offline_since, now)                                    (K01.FR.102)
    store.install(profile, evse_id, now=now)    # no checks: RequestStartTransaction's TxProfile
        # (K05) once the transaction id is known, validated before with
        # validate_profile(p, evse_id, ctx, store, remote_start=True)
    store.to_json(ALWAYS_PERSISTENT | persisted_purposes)                            (K01.FR.27/55)
    store.changed                              # Signal, emitted after every change

Every physics tick::

    lim = limit_at(store, evse_id, now, ctx, soc=ev_soc)   # EffectiveLimit, SI units
    # lim.watts, lim.amps (per phase), lim.number_phases, lim.setpoint_w, lim.discharge_limit_w,
    # lim.until (when to expect the next change, e.g. for a ChargingRateChanged event)

`validate_profile(profile, evse_id, ctx, store)` is the checking half of set_charging_profile,
usable alone (the inspector, RequestStartTransaction); it returns a `Rejection` or None.
`composite_schedule(store, evse_id, start, duration_s, unit, ctx)` is the schedule without the
request/response wrapping, for plots.

Not modelled (the station's job, or later): distributing ChargingStationMaxProfile among EVSEs
(each EVSE sees it as an upper bound), ISO 15118 schedule selection (the first schedule is used),
the PullDynamicScheduleUpdate timer (the store keeps dynUpdateInterval/dynUpdateTime for it),
LocalFrequency/LocalLoadBalancing setpoint computation, NotifyChargingLimit significance, and the
rate limit of K01.FR.56.
"""

from app.smartcharging.composite import (
    EffectiveLimit,
    composite_schedule,
    get_composite_schedule,
    limit_at,
    update_dynamic,
)
from app.smartcharging.profiles import (
    ALWAYS_PERSISTENT,
    STATION_OWNED,
    ChargingProfile,
    EvseInfo,
    Kind,
    Period,
    ProfileError,
    Purpose,
    Rejection,
    Schedule,
    StationContext,
    parse_profile,
    validate_profile,
)
from app.smartcharging.store import ProfileStore, StoredProfile

__all__ = [
    "ALWAYS_PERSISTENT",
    "STATION_OWNED",
    "ChargingProfile",
    "EffectiveLimit",
    "EvseInfo",
    "Kind",
    "Period",
    "ProfileError",
    "ProfileStore",
    "Purpose",
    "Rejection",
    "Schedule",
    "StationContext",
    "StoredProfile",
    "composite_schedule",
    "get_composite_schedule",
    "limit_at",
    "parse_profile",
    "update_dynamic",
    "validate_profile",
]
