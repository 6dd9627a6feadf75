"""Composite schedules (K08) and limit_at, against results worked out by hand.

Unless a case says otherwise: one AC EVSE (#1), 3 phases, 230 V nominal, rated 32 A per phase
(= 22 080 W); the window starts at T0 = Monday 2025-01-06 00:00Z. In W, an A limit is
A x 230 x phases; in A, a W limit is W / (230 x phases) (K01.FR.50/51).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.protocol.schemas import Kind, OcppVersion, validate
from app.smartcharging import (
    EvseInfo,
    ProfileStore,
    StationContext,
    composite_schedule,
    get_composite_schedule,
    limit_at,
    update_dynamic,
)
from app.smartcharging.testing import make_profile

T0 = datetime(2025, 1, 6, tzinfo=UTC)
EVSE = EvseInfo(1, max_current_a=32)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def checked(schedule: dict[str, Any]) -> dict[str, Any]:
    """Every composite we produce must be a schema-valid GetCompositeScheduleResponse."""
    problems = validate(
        OcppVersion.V21, "GetCompositeSchedule", Kind.RESPONSE, {"status": "Accepted", "schedule": schedule}
    )
    assert not problems, problems
    return schedule


def pairs(schedule: dict[str, Any]) -> list[tuple[int, float]]:
    return [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]]


@dataclass
class Case:
    name: str
    profiles: list[tuple[int, dict[str, Any]]]  # (evseId, profile); station-owned purposes install as EMS
    expected: list[tuple[int, float]] | list[dict[str, Any]]
    unit: str = "A"
    start: float = 0
    duration: int = 3600
    evse_id: int = 1
    ctx: dict[str, Any] = field(default_factory=dict)
    evses: tuple[EvseInfo, ...] = (EVSE,)


def build(case: Case) -> tuple[ProfileStore, StationContext]:
    ctx = StationContext(evses=case.evses, **case.ctx)
    store = ProfileStore()
    for evse_id, prof in case.profiles:
        if prof["chargingProfilePurpose"] in ("ChargingStationExternalConstraints", "LocalGeneration"):
            assert store.install_external(prof, evse_id, ctx=ctx, now=T0) is None
        else:
            assert store.set_charging_profile({"evseId": evse_id, "chargingProfile": prof}, ctx, T0) == {
                "status": "Accepted"
            }, prof
    return store, ctx


TX_EVSE = dataclasses.replace(EVSE, transaction_id="T1", tx_start=at(1800))

CASES = [
    Case(
        # StationMax 11 000 W = 11000/690 = 15.942 A. TxDefault #2 (EVSE 0, stack 0) 12 A always;
        # TxDefault #3 (EVSE 1, stack 1) 10 A for 00:00-01:00. TxProfile #4 Relative from the
        # transaction's start at 00:30: 6 A for 30 min, then 25 A, duration 1 h (ends 01:30).
        #   0-1800     no Tx period yet -> TxDefault stack 1 = 10;  min(15.942, 10)       = 10
        #   1800-3600  Tx 6 overrides TxDefault;                     min(15.942, 6)        = 6
        #   3600-5400  Tx 25;                                        min(15.942, 25, 32)   = 15.942
        #   5400-      Tx expired -> TxDefault, stack 1 gone -> 12;  min(15.942, 12)       = 12
        "K01.FR.17 K02.FR.04 K02.FR.08 SC.01 stacked Tx over TxDefault over station max",
        [
            (0, make_profile(1, "ChargingStationMaxProfile", [(0, 11000)], unit="W")),
            (0, make_profile(2, "TxDefaultProfile", [(0, 12)])),
            (
                1,
                make_profile(
                    3, "TxDefaultProfile", [(0, 10)], stack=1, start="2025-01-06T00:00:00Z", duration=3600
                ),
            ),
            (
                1,
                make_profile(
                    4, "TxProfile", [(0, 6), (1800, 25)], kind="Relative", duration=3600, transaction_id="T1"
                ),
            ),
        ],
        [(0, 10), (1800, 6), (3600, 15.942), (5400, 12)],
        duration=10800,
        evses=(TX_EVSE,),
    ),
    Case(
        # Daily from 22:00, 8 h long: 16 A 22:00-00:00, 8 A 00:00-06:00, nothing 06:00-22:00.
        # Window Mon 20:00 -> Tue 08:00: 20-22 rated 32 | 22-00 16 | 00-06 8 | 06-08 rated 32.
        "K01.FR.13 K01.FR.40 recurring daily crossing midnight",
        [
            (
                0,
                make_profile(
                    1,
                    "TxDefaultProfile",
                    [(0, 16), (7200, 8)],
                    kind="Recurring",
                    start="2025-01-01T22:00:00Z",
                    duration=28800,
                ),
            )
        ],
        [(0, 32), (7200, 16), (14400, 8), (36000, 32)],
        start=20 * 3600,
        duration=12 * 3600,
    ),
    Case(
        # Weekly from Sat 2025-01-04 00:00 for 48 h at 32 A (stack 1) over a daily 10 A (stack 0).
        # Window Fri 2025-01-10 12:00 + 48 h: Fri 12:00-Sat 00:00 -> 10; Sat 00:00 on -> 32.
        "K01.FR.17 recurring weekly weekend exception",
        [
            (
                0,
                make_profile(
                    1, "TxDefaultProfile", [(0, 10)], kind="Recurring", start="2025-01-01T00:00:00Z"
                ),
            ),
            (
                0,
                make_profile(
                    2,
                    "TxDefaultProfile",
                    [(0, 32)],
                    stack=1,
                    kind="Recurring",
                    recurrency="Weekly",
                    start="2025-01-04T00:00:00Z",
                    duration=172800,
                ),
            ),
        ],
        [(0, 10), (43200, 32)],
        start=4 * 86400 + 12 * 3600,
        duration=172800,
    ),
    Case(
        # Relative TxDefault: 6 A for 15 min, then 16 A. Plug-in (PowerPathClosed) at 00:10, so
        # 0-600 the schedule has not started (rated 32), 600-1500 6 A, from 1500 16 A.
        "K01.FR.42 relative profile starts at plug-in",
        [(0, make_profile(1, "TxDefaultProfile", [(0, 6), (900, 16)], kind="Relative"))],
        [(0, 32), (600, 6), (1500, 16)],
        evses=(dataclasses.replace(EVSE, transaction_id="T1", tx_start=at(600)),),
    ),
    Case(
        # Same profile, no transaction: computed as if one started at the request (now = T0).
        "K08.FR.06 relative profile without transaction starts now",
        [(0, make_profile(1, "TxDefaultProfile", [(0, 6), (900, 16)], kind="Relative"))],
        [(0, 6), (900, 16)],
    ),
    Case(
        # 7360 W on 1 phase = 7360 / (230 x 1) = 32 A, reported with numberPhases 1.
        "K01.FR.50 W limit on one phase reported in A",
        [
            (
                0,
                make_profile(
                    1, "TxDefaultProfile", [{"startPeriod": 0, "limit": 7360, "numberPhases": 1}], unit="W"
                ),
            )
        ],
        [{"startPeriod": 0, "limit": 32, "numberPhases": 1}],
    ),
    Case(
        "K01.FR.50 W limit on one phase reported in W",
        [
            (
                0,
                make_profile(
                    1, "TxDefaultProfile", [{"startPeriod": 0, "limit": 7360, "numberPhases": 1}], unit="W"
                ),
            )
        ],
        [{"startPeriod": 0, "limit": 7360, "numberPhases": 1}],
        unit="W",
    ),
    Case(
        # numberPhases absent on AC means 3: 16 A x 230 x 3 = 11 040 W.
        "K01.FR.49 K01.FR.51 A limit without numberPhases is three phases",
        [(0, make_profile(1, "TxDefaultProfile", [(0, 16)]))],
        [{"startPeriod": 0, "limit": 11040, "numberPhases": 3}],
        unit="W",
    ),
    Case(
        # 16 A on 1 phase = 16 x 230 = 3680 W.
        "K01.FR.51 A limit on one phase reported in W",
        [(0, make_profile(1, "TxDefaultProfile", [{"startPeriod": 0, "limit": 16, "numberPhases": 1}]))],
        [{"startPeriod": 0, "limit": 3680, "numberPhases": 1}],
        unit="W",
    ),
    Case(
        # Station max 11 040 W (3 phases by default), TxDefault 20 A on 1 phase. Lowest numberPhases
        # wins (K01.FR.140): 1. Station max on 1 phase: 11040/230 = 48 A; min(48, 20, 32) = 20 A.
        "K01.FR.140 station max in W with a one-phase A profile",
        [
            (0, make_profile(1, "ChargingStationMaxProfile", [(0, 11040)], unit="W")),
            (0, make_profile(2, "TxDefaultProfile", [{"startPeriod": 0, "limit": 20, "numberPhases": 1}])),
        ],
        [{"startPeriod": 0, "limit": 20, "numberPhases": 1}],
    ),
    Case(
        # Same in W: 20 A x 230 x 1 = 4600 W.
        "K01.FR.140 station max in W with a one-phase A profile reported in W",
        [
            (0, make_profile(1, "ChargingStationMaxProfile", [(0, 11040)], unit="W")),
            (0, make_profile(2, "TxDefaultProfile", [{"startPeriod": 0, "limit": 20, "numberPhases": 1}])),
        ],
        [{"startPeriod": 0, "limit": 4600, "numberPhases": 1}],
        unit="W",
    ),
    Case(
        # Station max 11 040 W on 3 phases = 16 A per phase, below the 20 A TxDefault.
        "SC.01 three-phase station max in W caps an A profile",
        [
            (0, make_profile(1, "ChargingStationMaxProfile", [(0, 11040)], unit="W")),
            (0, make_profile(2, "TxDefaultProfile", [(0, 20)])),
        ],
        [(0, 16)],
    ),
    Case(
        # EVSE with one phase only: profile says nothing (3) -> imposed 1 (K01.FR.45).
        # 11 040 W / 230 = 48 A, capped by the rated 32 A; in W 32 x 230 = 7360.
        "K01.FR.45 more phases than the EVSE has are imposed lower",
        [(0, make_profile(1, "TxDefaultProfile", [(0, 11040)], unit="W"))],
        [{"startPeriod": 0, "limit": 7360, "numberPhases": 1}],
        unit="W",
        evses=(EvseInfo(1, phases=1, max_current_a=32),),
    ),
    Case(
        # External limit (EMS) 10 A for 30 min, then 40 A until 01:00. TxDefault 32 A.
        #   0-1800 min(32, 10) = 10 | 1800-3600 min(32, 40) = 32 | after 3600 no external: 32 (merged)
        "K11.FR.01 SC.01 external constraints cap the transaction",
        [
            (0, make_profile(1, "TxDefaultProfile", [(0, 32)])),
            (
                0,
                make_profile(
                    -1,
                    "ChargingStationExternalConstraints",
                    [(0, 10), (1800, 40)],
                    start="2025-01-06T00:00:00Z",
                    duration=3600,
                ),
            ),
        ],
        [(0, 10), (1800, 32)],
        duration=7200,
    ),
    Case(
        # TxDefault stack 0 16 A; stack 1 8 A valid only 01:00-02:00.
        "K01.FR.36 K01.FR.37 validFrom and validTo switch profiles",
        [
            (0, make_profile(1, "TxDefaultProfile", [(0, 16)])),
            (
                0,
                make_profile(
                    2,
                    "TxDefaultProfile",
                    [(0, 8)],
                    stack=1,
                    valid_from="2025-01-06T01:00:00Z",
                    valid_to="2025-01-06T02:00:00Z",
                ),
            ),
        ],
        [(0, 16), (3600, 8), (7200, 16)],
        duration=10800,
    ),
    Case(
        # Stack 2: 10 A from Sun 23:30 for 1 h -> ends Mon 00:30 (1800 s into the window);
        # then the stack 0 profile's 20 A shows through.
        "K01.FR.11 K01.FR.12 K01.FR.17 higher stack level expires mid-window",
        [
            (0, make_profile(1, "TxDefaultProfile", [(0, 20)])),
            (
                0,
                make_profile(
                    2, "TxDefaultProfile", [(0, 10)], stack=2, start="2025-01-05T23:30:00Z", duration=3600
                ),
            ),
        ],
        [(0, 10), (1800, 20)],
    ),
    Case(
        # K27 example: TxDefault 5000 W plus local generation 2000 W, later 1000 W, until 01:00.
        "K27 SC.01 local generation adds on top of the composite",
        [
            (0, make_profile(1, "TxDefaultProfile", [(0, 5000)], unit="W", kind="Relative")),
            (
                0,
                make_profile(
                    -2,
                    "LocalGeneration",
                    [(0, 2000), (1800, 1000)],
                    unit="W",
                    start="2025-01-06T00:00:00Z",
                    duration=3600,
                ),
            ),
        ],
        [(0, 7000), (1800, 6000), (3600, 5000)],
        unit="W",
        duration=7200,
        ctx={"supported_additional_purposes": frozenset({"LocalGeneration"})},
    ),
    Case(
        # Two EVSEs, TxDefault 16 A on EVSE 0 applies to both (K01.FR.14); the grid draws
        # 16 + 16 = 32 A per phase, capped by the 24 A station max -> 24 A = 24 x 690 = 16 560 W.
        "K08.FR.03 K01.FR.14 evse 0 is the sum of EVSEs capped by station max",
        [
            (0, make_profile(1, "ChargingStationMaxProfile", [(0, 24)])),
            (0, make_profile(2, "TxDefaultProfile", [(0, 16)])),
        ],
        [{"startPeriod": 0, "limit": 16560, "numberPhases": 3}],
        unit="W",
        evse_id=0,
        evses=(EVSE, EvseInfo(2, max_current_a=32)),
    ),
    Case(
        # Per-phase limits: L1 16, L2 10, L3 8 A; in W x 230 each: 3680 / 2300 / 1840.
        "K08.FR.09 limit_L2 and limit_L3 are reported",
        [
            (
                1,
                make_profile(
                    1,
                    "TxProfile",
                    [{"startPeriod": 0, "limit": 16, "limit_L2": 10, "limit_L3": 8}],
                    kind="Relative",
                    transaction_id="T1",
                ),
            )
        ],
        [{"startPeriod": 0, "limit": 3680, "limit_L2": 2300, "limit_L3": 1840, "numberPhases": 3}],
        unit="W",
        evses=(dataclasses.replace(EVSE, transaction_id="T1", tx_start=T0),),
    ),
    Case(
        # DC EVSE at 400 V nominal: 50 kW = 50000 / 400 = 125 A; no numberPhases for DC.
        "K01.FR.50 DC EVSE converts with its DC voltage and reports no phases",
        [(0, make_profile(1, "TxDefaultProfile", [(0, 50000)], unit="W"))],
        [{"startPeriod": 0, "limit": 125}],
        evses=(EvseInfo(1, phases=0, voltage_v=400, max_power_w=150000),),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_composite_table(case: Case) -> None:
    store, ctx = build(case)
    got = checked(composite_schedule(store, case.evse_id, at(case.start), case.duration, case.unit, ctx))
    assert got["chargingRateUnit"] == case.unit
    assert got["duration"] == case.duration
    if isinstance(case.expected[0], tuple):
        assert pairs(got) == case.expected
    else:
        assert got["chargingSchedulePeriod"] == case.expected


def test_K08_FR_08_V2X_03_V2X_04_setpoint_capped_by_limit_and_discharge_limit() -> None:
    # Station max 8000 W; EMS dischargeLimit -4000 W; TxProfile CentralSetpoint limit 12 000 W,
    # dischargeLimit -7000 W, setpoint 12 000 W for 10 min then -6000 W.
    #   limit = min(8000, 12000, 22080) = 8000; dischargeLimit = closest to 0 of (-7000, -4000) = -4000
    #   0-600   setpoint 12000 > limit -> 8000 (V2X.03)
    #   600-    setpoint -6000 < dischargeLimit -> -4000 (V2X.04)
    ctx = StationContext(
        evses=(dataclasses.replace(EVSE, transaction_id="T1", tx_start=T0),),
        supported_operation_modes=frozenset({"CentralSetpoint", "ExternalLimits"}),
    )
    store = ProfileStore()
    store.install(make_profile(1, "ChargingStationMaxProfile", [(0, 8000)], unit="W"), 0)
    ext = make_profile(
        -1,
        "ChargingStationExternalConstraints",
        [{"startPeriod": 0, "operationMode": "ExternalLimits", "dischargeLimit": -4000}],
        unit="W",
    )
    assert store.install_external(ext, 0, ctx=ctx) is None
    v2x = {"operationMode": "CentralSetpoint", "limit": 12000, "dischargeLimit": -7000}
    tx = make_profile(
        2,
        "TxProfile",
        [{"startPeriod": 0, **v2x, "setpoint": 12000}, {"startPeriod": 600, **v2x, "setpoint": -6000}],
        unit="W",
        kind="Relative",
        transaction_id="T1",
    )
    assert store.set_charging_profile({"evseId": 1, "chargingProfile": tx}, ctx, T0)["status"] == "Accepted"
    got = checked(composite_schedule(store, 1, T0, 1200, "W", ctx))
    common = {"limit": 8000, "numberPhases": 3, "dischargeLimit": -4000, "operationMode": "CentralSetpoint"}
    assert got["chargingSchedulePeriod"] == [
        {"startPeriod": 0, **common, "setpoint": 8000},
        {"startPeriod": 600, **common, "setpoint": -4000},
    ]
    lim = limit_at(store, 1, at(700), ctx)
    assert (lim.watts, lim.setpoint_w, lim.discharge_limit_w) == (8000, -4000, -4000)
    assert lim.operation_mode == "CentralSetpoint"
    assert set(lim.source_ids) == {1, -1, 2}
    # In A: 8000 W / 690 = 11.594 A, setpoint and dischargeLimit likewise per phase.
    amps = composite_schedule(store, 1, T0, 600, "A", ctx)["chargingSchedulePeriod"][0]
    assert (amps["limit"], amps["setpoint"], amps["dischargeLimit"]) == (11.594, 11.594, -5.797)


@pytest.mark.parametrize(("priority", "expected"), [("ExternalSystem", 3000), ("CSMS", 5000)])
def test_setpoint_priority_chooses_external_or_csms_setpoint(priority: str, expected: float) -> None:
    # EMS ExternalSetpoint 3000 W vs TxDefault CentralSetpoint 5000 W: SetpointPriority decides (§3.2).
    ctx = StationContext(
        evses=(EVSE,),
        supported_operation_modes=frozenset({"CentralSetpoint", "ExternalSetpoint"}),
        setpoint_priority=priority,
    )
    store = ProfileStore()
    store.install_external(
        make_profile(
            -1,
            "ChargingStationExternalConstraints",
            [{"startPeriod": 0, "operationMode": "ExternalSetpoint", "setpoint": 3000}],
            unit="W",
        ),
        0,
        ctx=ctx,
    )
    store.install(
        make_profile(
            1,
            "TxDefaultProfile",
            [{"startPeriod": 0, "operationMode": "CentralSetpoint", "limit": 11000, "setpoint": 5000}],
            unit="W",
        ),
        0,
    )
    assert limit_at(store, 1, T0, ctx).setpoint_w == expected


def test_K21_FR_04_priority_charging_overrides_tx_profile_until_deactivated_or_tx_ends() -> None:
    # Station max 20 A; TxProfile 6 A; PriorityCharging 32 A on EVSE 0.
    # Off: min(20, 6) = 6. On: PriorityCharging replaces Tx -> min(20, 32) = 20 (K21.FR.04).
    ctx = StationContext(evses=(TX_EVSE,), supported_additional_purposes=frozenset({"PriorityCharging"}))
    store = ProfileStore()
    for evse_id, prof in [
        (0, make_profile(1, "ChargingStationMaxProfile", [(0, 20)])),
        (1, make_profile(2, "TxProfile", [(0, 6)], kind="Relative", transaction_id="T1")),
        (0, make_profile(3, "PriorityCharging", [(0, 32)])),
    ]:
        assert (
            store.set_charging_profile({"evseId": evse_id, "chargingProfile": prof}, ctx, T0)["status"]
            == "Accepted"
        )
    assert limit_at(store, 1, at(2000), ctx).amps == (6, 6, 6)
    assert store.use_priority_charging("T1", True, ctx) == {"status": "Accepted"}  # K21.FR.03
    assert limit_at(store, 1, at(2000), ctx).amps == (20, 20, 20)
    assert pairs(composite_schedule(store, 1, at(1800), 600, "A", ctx)) == [(0, 20)]
    assert store.use_priority_charging("T1", False, ctx) == {"status": "Accepted"}  # K21.FR.06/07
    assert limit_at(store, 1, at(2000), ctx).amps == (6, 6, 6)
    store.use_priority_charging("T1", True, ctx)
    store.end_transaction("T1")
    assert not store.priority_active("T1")


def test_K21_FR_01_FR_02_priority_charging_needs_profile_and_transaction() -> None:
    ctx = StationContext(evses=(TX_EVSE,), supported_additional_purposes=frozenset({"PriorityCharging"}))
    store = ProfileStore()
    assert store.use_priority_charging("T1", True, ctx)["status"] == "NoProfile"
    assert store.use_priority_charging("nope", True, ctx)["status"] == "Rejected"


def test_K28_dynamic_profile_update_and_lapse() -> None:
    # Dynamic TxDefault (stack 1) 10 A with duration 600 over a stack 0 16 A TxDefault.
    # Installed at T0 (dynUpdateTime := T0, K28.FR.05): 10 A until T0+600, then 16 A (K28.FR.13).
    # UpdateDynamicSchedule at T0+300 to 20 A (K28.FR.06/09): 20 A until T0+900, then 16 A.
    # After the lapse, another update revives it (K28.FR.14).
    ctx = StationContext(evses=(EVSE,), supports_dynamic_profiles=True)
    store = ProfileStore()
    store.set_charging_profile(
        {"evseId": 0, "chargingProfile": make_profile(1, "TxDefaultProfile", [(0, 16)])}, ctx, T0
    )
    dyn = make_profile(2, "TxDefaultProfile", [(0, 10)], stack=1, kind="Dynamic", duration=600)
    assert store.set_charging_profile({"evseId": 0, "chargingProfile": dyn}, ctx, T0) == {
        "status": "Accepted"
    }
    assert store.get(2).profile.raw["dynUpdateTime"] == "2025-01-06T00:00:00Z"
    assert pairs(composite_schedule(store, 1, T0, 1200, "A", ctx)) == [(0, 10), (600, 16)]
    assert update_dynamic(store, 2, {"limit": 20}, at(300)) == {"status": "Accepted"}
    assert pairs(composite_schedule(store, 1, at(300), 1200, "A", ctx)) == [(0, 20), (600, 16)]
    assert limit_at(store, 1, at(950), ctx).amps == (16, 16, 16)
    update_dynamic(store, 2, {"limit": 12}, at(1000))
    assert limit_at(store, 1, at(1000), ctx).amps == (12, 12, 12)


def test_K28_FR_11_update_of_a_non_dynamic_profile_is_rejected() -> None:
    store = ProfileStore()
    store.install(make_profile(1), 0)
    assert update_dynamic(store, 1, {"limit": 3}, T0)["status"] == "Rejected"
    assert update_dynamic(store, 99, {"limit": 3}, T0)["status"] == "Rejected"


def test_K01_FR_90_use_local_time_reads_start_schedule_as_station_wall_clock() -> None:
    # startSchedule 08:00 "Z" but useLocalTime: 08:00 at the station, which is UTC+2 -> 06:00Z.
    ctx = StationContext(evses=(EVSE,), supports_use_local_time=True, utc_offset_s=7200)
    store = ProfileStore()
    prof = make_profile(
        1,
        "TxDefaultProfile",
        [(0, 10)],
        start="2025-01-06T08:00:00Z",
        duration=3600,
        schedule={"useLocalTime": True},
    )
    assert store.set_charging_profile({"evseId": 0, "chargingProfile": prof}, ctx, T0)["status"] == "Accepted"
    assert pairs(checked(composite_schedule(store, 1, at(5 * 3600), 3 * 3600, "A", ctx))) == [
        (0, 32),
        (3600, 10),
        (7200, 32),
    ]


def test_K01_FR_91_daylight_saving_change_skips_wall_clock_time() -> None:
    # Europe/Amsterdam, 2025-03-30: at 01:00Z local time jumps 02:00 CET -> 03:00 CEST.
    # Daily local schedule: 10 A from 00:00, 20 A from 02:30, 10 A from 03:30 (wall clock).
    # Window from 2025-03-29 23:00Z (= 00:00 CET):
    #   23:00Z-01:00Z  wall 00:00-02:00        10 A
    #   01:00Z         wall jumps to 03:00     -> inside 02:30-03:30: 20 A (its first half skipped)
    #   01:30Z         wall 03:30              10 A
    ctx = StationContext(evses=(EVSE,), supports_use_local_time=True, time_zone="Europe/Amsterdam")
    store = ProfileStore()
    plan = [(0, 10), (9000, 20), (12600, 10)]
    prof = make_profile(
        1,
        "TxDefaultProfile",
        plan,
        kind="Recurring",
        start="2025-03-01T00:00:00",
        schedule={"useLocalTime": True},
    )
    store.set_charging_profile({"evseId": 0, "chargingProfile": prof}, ctx, T0)
    start = datetime(2025, 3, 29, 23, tzinfo=UTC)
    assert pairs(composite_schedule(store, 1, start, 4 * 3600, "A", ctx)) == [(0, 10), (7200, 20), (9000, 10)]
    # Autumn, 2025-10-26: at 01:00Z wall goes 03:00 CEST -> 02:00 CET, so 02:30-03:30 runs twice.
    # From 2025-10-25 22:00Z (= 00:00 CEST): 20 A at 00:30Z-01:00Z (wall 02:30-03:00 CEST),
    # wall back to 02:00 at 01:00Z -> 10 A until 01:30Z (wall 02:30), 20 A until 02:30Z (wall 03:30).
    start = datetime(2025, 10, 25, 22, tzinfo=UTC)
    assert pairs(composite_schedule(store, 1, start, 6 * 3600, "A", ctx)) == [
        (0, 10),
        (9000, 20),
        (10800, 10),
        (12600, 20),
        (16200, 10),
    ]


def test_K01_FR_92_to_97_randomized_delay_fixed_per_transaction_and_zero_without_one() -> None:
    ctx = StationContext(evses=(EVSE,), supports_randomized_delay=True, random_seed="CS-1")
    store = ProfileStore()
    plan = [(0, 32), (28800, 0), (39600, 32), (57600, 0), (79200, 32)]  # §3.9 example, in A
    prof = make_profile(
        1, "TxDefaultProfile", plan, kind="Recurring", duration=86400, schedule={"randomizedDelay": 600}
    )
    store.set_charging_profile({"evseId": 0, "chargingProfile": prof}, ctx, T0)
    # No transaction: delays are 0 (K08.FR.06).
    assert pairs(composite_schedule(store, 1, T0, 86400, "A", ctx)) == [
        (0, 32),
        (28800, 0),
        (39600, 32),
        (57600, 0),
        (79200, 32),
    ]
    tx_ctx = dataclasses.replace(ctx, evses=(dataclasses.replace(EVSE, transaction_id="T1", tx_start=T0),))
    got = pairs(composite_schedule(store, 1, T0, 86400, "A", tx_ctx))
    assert [limit for _, limit in got] == [32, 0, 32, 0, 32]
    assert got[0][0] == 0  # the first period is never delayed (K01.FR.92)
    for (start, _), nominal in zip(got[1:], (28800, 39600, 57600, 79200), strict=True):
        assert nominal <= start <= nominal + 600
    assert got != pairs(composite_schedule(store, 1, T0, 86400, "A", ctx))
    # Fixed for the transaction: recomputing and the physics agree (K01.FR.93).
    assert pairs(composite_schedule(store, 1, T0, 86400, "A", tx_ctx)) == got
    for start, limit in got:
        assert limit_at(store, 1, at(start), tx_ctx).amps[0] == limit
    # Another transaction draws other delays.
    other = dataclasses.replace(ctx, evses=(dataclasses.replace(EVSE, transaction_id="T2", tx_start=T0),))
    assert pairs(composite_schedule(store, 1, T0, 86400, "A", other)) != got


def test_K01_FR_97_delayed_period_past_the_next_is_skipped() -> None:
    from app.smartcharging.composite import _randomize
    from app.smartcharging.profiles import Period

    # Errata example: starts 0/300/600/900 delayed to 0/1053/723/987 -> period 1 is dropped.
    periods = tuple(Period(start=s, limit=float(i)) for i, s in enumerate((0, 300, 600, 900)))
    delays = iter((753, 123, 87))

    class Fixed:
        def __init__(self, seed: str) -> None:
            pass

        def randint(self, a: int, b: int) -> int:
            return next(delays)

    import app.smartcharging.composite as composite

    real = composite.random.Random
    composite.random.Random = Fixed  # type: ignore[misc,assignment]
    try:
        keep, eff = _randomize(periods, 1000, None, "x")
    finally:
        composite.random.Random = real  # type: ignore[misc]
    assert keep == [0, 2, 3]
    assert [eff[i] for i in keep] == [0, 723, 987]


def test_K01_FR_100_limit_at_soc_caps_above_the_threshold() -> None:
    ctx = StationContext(evses=(EVSE,), supports_limit_at_soc=True)
    store = ProfileStore()
    prof = make_profile(1, "TxDefaultProfile", [(0, 32)], schedule={"limitAtSoC": {"soc": 80, "limit": 10}})
    assert store.set_charging_profile({"evseId": 0, "chargingProfile": prof}, ctx, T0)["status"] == "Accepted"
    assert limit_at(store, 1, T0, ctx).amps == (32, 32, 32)
    assert limit_at(store, 1, T0, ctx, soc=79.9).amps == (32, 32, 32)
    assert limit_at(store, 1, T0, ctx, soc=80).amps == (10, 10, 10)
    assert limit_at(store, 1, T0, ctx, soc=95).watts == 6900


def test_K01_FR_101_profile_invalid_after_max_offline_duration() -> None:
    # Stack 1 8 A with maxOfflineDuration 600 over stack 0 16 A. Offline since T0:
    # 8 A for 600 s, then the fallback 16 A. Online: 8 A throughout (K01.FR.103 for the other).
    ctx = StationContext(evses=(EVSE,), supports_max_offline_duration=True)
    store = ProfileStore()
    store.install(make_profile(1, "TxDefaultProfile", [(0, 16)]), 0)
    store.install(make_profile(2, "TxDefaultProfile", [(0, 8)], stack=1, maxOfflineDuration=600), 0)
    assert pairs(composite_schedule(store, 1, T0, 1200, "A", ctx)) == [(0, 8)]
    offline = dataclasses.replace(ctx, offline_since=T0)
    assert pairs(composite_schedule(store, 1, T0, 1200, "A", offline)) == [(0, 8), (600, 16)]
    assert limit_at(store, 1, at(900), offline).amps == (16, 16, 16)


def test_K01_FR_21_min_charging_rate_is_carried_to_the_physics() -> None:
    ctx = StationContext(evses=(EVSE,))
    store = ProfileStore()
    store.install(make_profile(1, "TxDefaultProfile", [(0, 16)], schedule={"minChargingRate": 6}), 0)
    assert limit_at(store, 1, T0, ctx).min_charging_rate_w == 6 * 230 * 3


def test_limit_at_agrees_with_the_composite_and_says_when_it_changes() -> None:
    store, ctx = build(CASES[0])
    schedule = composite_schedule(store, 1, T0, 10800, "W", ctx)
    for p in schedule["chargingSchedulePeriod"]:
        for offset in (0, 1, 599):
            lim = limit_at(store, 1, at(p["startPeriod"] + offset), ctx)
            assert lim.watts == pytest.approx(p["limit"], abs=1e-3)
    first = limit_at(store, 1, T0, ctx)
    assert first.until == at(1800)
    assert first.number_phases == 3
    assert first.source_ids == (1, 3)


def test_limit_at_cache_follows_store_and_context_changes() -> None:
    ctx = StationContext(evses=(EVSE,))
    store = ProfileStore()
    assert limit_at(store, 1, T0, ctx).amps == (32, 32, 32)  # nothing installed: rated current
    store.install(make_profile(1, "TxDefaultProfile", [(0, 10)]), 0)
    assert limit_at(store, 1, T0, ctx).amps == (10, 10, 10)
    store.clear({"chargingProfileId": 1})
    assert limit_at(store, 1, T0, ctx).amps == (32, 32, 32)
    smaller = dataclasses.replace(ctx, evses=(dataclasses.replace(EVSE, max_current_a=16),))
    assert limit_at(store, 1, T0, smaller).amps == (16, 16, 16)
    # Far beyond the cached hour the window is rebuilt.
    assert limit_at(store, 1, at(86400), smaller).amps == (16, 16, 16)


def test_get_composite_schedule_K08_FR_05_and_K08_FR_07_rejections() -> None:
    ctx = StationContext(evses=(EVSE,), rate_units=frozenset({"A"}))
    store = ProfileStore()
    assert get_composite_schedule(store, {"evseId": 7, "duration": 60}, ctx, T0)["status"] == "Rejected"
    assert (
        get_composite_schedule(store, {"evseId": 1, "duration": 60, "chargingRateUnit": "W"}, ctx, T0)[
            "status"
        ]
        == "Rejected"
    )
    response = get_composite_schedule(store, {"evseId": 1, "duration": 60}, ctx, T0)
    assert response["status"] == "Accepted"
    assert response["schedule"]["chargingRateUnit"] == "A"  # the only RateUnit
    assert not validate(OcppVersion.V21, "GetCompositeSchedule", Kind.RESPONSE, response)


def test_K08_FR_02_schedule_reported_from_the_whole_second() -> None:
    # Request at 00:00:00.400: reported from 00:00:00, so whole-second boundaries stay exact.
    ctx = StationContext(evses=(EVSE,))
    store = ProfileStore()
    store.install(
        make_profile(1, "TxDefaultProfile", [(0, 10), (60, 20), (61, 10)], start="2025-01-06T00:00:00Z"), 0
    )
    got = checked(composite_schedule(store, 1, T0 + timedelta(milliseconds=400), 120, "A", ctx))
    assert got["scheduleStart"] == "2025-01-06T00:00:00Z"
    assert pairs(got) == [(0, 10), (60, 20), (61, 10)]
