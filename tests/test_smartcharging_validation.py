"""SetChargingProfile checks (K01 and friends): one test per rule, named after its requirement.

Each test starts from a profile and a station that accept it, changes one thing, and expects
the reasonCode (and requirement id) the rule gives. Accepted payloads and the rejection responses
are checked against the OCPP 2.1 schemas too.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from app.protocol.schemas import Kind, OcppVersion, validate
from app.smartcharging import EvseInfo, ProfileStore, Rejection, StationContext, validate_profile
from app.smartcharging.testing import make_profile

T0 = datetime(2025, 1, 6, tzinfo=UTC)
AC = EvseInfo(1, max_current_a=32, transaction_id="T1", tx_start=T0, ac_phase_switching=True)
DC = EvseInfo(2, phases=0, voltage_v=400, max_power_w=50000)
# A station that supports everything optional, so one test can take away one thing.
FULL = StationContext(
    evses=(AC, DC),
    max_stack_level=8,
    max_profiles=10,
    supported_additional_purposes=frozenset({"PriorityCharging", "LocalGeneration"}),
    supports_dynamic_profiles=True,
    supports_use_local_time=True,
    supports_randomized_delay=True,
    supports_limit_at_soc=True,
    supports_evse_sleep=True,
    supports_max_offline_duration=True,
    supported_operation_modes=frozenset(
        {"ChargingOnly", "CentralSetpoint", "ExternalSetpoint", "ExternalLimits", "Idle", "LocalFrequency"}
    ),
)


def tx_profile(pid: int = 1, plan: Any = ((0, 16),), **kw: Any) -> dict[str, Any]:
    kw.setdefault("kind", "Relative")
    kw.setdefault("transaction_id", "T1")
    return make_profile(pid, "TxProfile", plan, **kw)


def rejected(
    profile: dict[str, Any],
    evse_id: int = 0,
    ctx: StationContext = FULL,
    store: ProfileStore | None = None,
    **kw: Any,
) -> Rejection:
    assert not validate(
        OcppVersion.V21, "SetChargingProfile", Kind.REQUEST, {"evseId": evse_id, "chargingProfile": profile}
    )
    rejection = validate_profile(profile, evse_id, ctx, store, **kw)
    assert rejection is not None, "expected a rejection"
    assert not validate(OcppVersion.V21, "SetChargingProfile", Kind.RESPONSE, rejection.to_response())
    return rejection


def accepted(
    profile: dict[str, Any],
    evse_id: int = 0,
    ctx: StationContext = FULL,
    store: ProfileStore | None = None,
    **kw: Any,
) -> None:
    assert not validate(
        OcppVersion.V21, "SetChargingProfile", Kind.REQUEST, {"evseId": evse_id, "chargingProfile": profile}
    )
    assert validate_profile(profile, evse_id, ctx, store, **kw) is None


def expect(rejection: Rejection, reason: str, requirement: str) -> None:
    assert (rejection.reason_code, rejection.requirement) == (reason, requirement), rejection


# -- baseline ---------------------------------------------------------------------------------


def test_baseline_profiles_are_accepted() -> None:
    accepted(make_profile(1, "ChargingStationMaxProfile", [(0, 11000)], unit="W"))
    accepted(make_profile(2, "TxDefaultProfile", [(0, 16)], kind="Recurring", duration=3600))
    accepted(tx_profile(), evse_id=1)
    accepted(make_profile(3, "PriorityCharging", [(0, 32)]))
    accepted(make_profile(4, "LocalGeneration", [(0, 2000)], unit="W"))  # §3.2: a CSMS may provide it
    accepted(make_profile(5, "TxDefaultProfile", [(0, 10)], kind="Dynamic", dynUpdateInterval=60))


# -- which EVSE / transaction -----------------------------------------------------------------


def test_K01_FR_28_unknown_evse() -> None:
    expect(rejected(make_profile(1), evse_id=9), "UnknownEVSE", "K01.FR.28")


def test_K01_FR_22_csms_may_not_set_external_constraints() -> None:
    expect(rejected(make_profile(1, "ChargingStationExternalConstraints")), "InvalidProfile", "K01.FR.22")


def test_station_max_profile_only_on_evse_0() -> None:
    # §3.2: a ChargingStationMaxProfile is always for evseId 0.
    expect(rejected(make_profile(1, "ChargingStationMaxProfile"), evse_id=1), "InvalidProfile", "K01 §3.2")


def test_transaction_id_only_in_tx_profile() -> None:
    # ChargingProfileType.transactionId: only included when the purpose is TxProfile.
    expect(rejected(make_profile(1, transaction_id="T1")), "InvalidProfile", "ChargingProfileType")


def test_K01_FR_16_tx_profile_not_on_evse_0() -> None:
    expect(rejected(tx_profile(), evse_id=0), "InvalidProfile", "K01.FR.16")


def test_K01_FR_03_tx_profile_without_transaction_id() -> None:
    prof = tx_profile()
    del prof["transactionId"]
    expect(rejected(prof, evse_id=1), "MissingParam", "K01.FR.03")


def test_K05_remote_start_tx_profile_needs_no_transaction_id() -> None:
    prof = tx_profile()
    del prof["transactionId"]
    idle = dataclasses.replace(FULL, evses=(dataclasses.replace(AC, transaction_id=None), DC))
    accepted(prof, evse_id=1, ctx=idle, remote_start=True)


def test_K01_FR_09_tx_profile_without_transaction_on_evse() -> None:
    idle = dataclasses.replace(FULL, evses=(dataclasses.replace(AC, transaction_id=None), DC))
    expect(rejected(tx_profile(), evse_id=1, ctx=idle), "TxNotFound", "K01.FR.09")


def test_K01_FR_33_tx_profile_with_unknown_transaction_id() -> None:
    expect(rejected(tx_profile(transaction_id="other"), evse_id=1), "TxNotFound", "K01.FR.33")


# -- purpose and kind -------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["PriorityCharging", "LocalGeneration"])
def test_K01_FR_120_unsupported_additional_purpose(purpose: str) -> None:
    ctx = dataclasses.replace(FULL, supported_additional_purposes=frozenset())
    expect(rejected(make_profile(1, purpose), ctx=ctx), "UnsupportedPurpose", "K01.FR.120")


def test_K01_FR_121_dynamic_kind_not_supported() -> None:
    ctx = dataclasses.replace(FULL, supports_dynamic_profiles=False)
    expect(rejected(make_profile(1, kind="Dynamic"), ctx=ctx), "UnsupportedKind", "K01.FR.121")


@pytest.mark.parametrize("field", ["dynUpdateInterval", "dynUpdateTime"])
def test_K01_FR_122_K28_FR_04_dynamic_fields_need_dynamic_kind(field: str) -> None:
    value = 60 if field == "dynUpdateInterval" else "2025-01-06T00:00:00Z"
    expect(rejected(make_profile(1, **{field: value})), "InvalidProfile", "K01.FR.122")


def test_K01_FR_38_station_max_profile_not_relative() -> None:
    expect(
        rejected(make_profile(1, "ChargingStationMaxProfile", kind="Relative")), "InvalidProfile", "K01.FR.38"
    )


def test_recurring_needs_recurrency_kind() -> None:
    # §3.3: Recurring restarts every Daily/Weekly period; without recurrencyKind there is no period.
    prof = make_profile(1, kind="Recurring")
    del prof["recurrencyKind"]
    expect(rejected(prof), "InvalidProfile", "K01 §3.3")


def test_stack_level_above_profile_stack_level() -> None:
    # SmartChargingCtrlr.ProfileStackLevel is the highest acceptable stackLevel.
    accepted(make_profile(1, stack=8))
    expect(rejected(make_profile(1, stack=9)), "InvalidStackLevel", "SmartChargingCtrlr.ProfileStackLevel")


def test_K01_FR_81_id_at_or_below_max_external_constraints_id() -> None:
    ctx = dataclasses.replace(FULL, max_external_constraints_id=100)
    accepted(make_profile(101), ctx=ctx)
    expect(rejected(make_profile(100), ctx=ctx), "InvalidProfileId", "K01.FR.81")


def test_max_offline_duration_needs_support() -> None:
    ctx = dataclasses.replace(FULL, supports_max_offline_duration=False)
    expect(
        rejected(make_profile(1, maxOfflineDuration=60), ctx=ctx),
        "InvalidProfile",
        "SmartChargingCtrlr.SupportsMaxOfflineDuration",
    )


def test_K28_FR_01_dynamic_has_one_period() -> None:
    expect(
        rejected(make_profile(1, plan=[(0, 10), (60, 12)], kind="Dynamic")), "InvalidSchedule", "K28.FR.01"
    )


def test_K01_FR_34_one_schedule_outside_iso15118() -> None:
    prof = tx_profile()
    prof["chargingSchedule"].append({**prof["chargingSchedule"][0], "id": 2})
    expect(rejected(prof, evse_id=1), "InvalidSchedule", "K01.FR.34")
    iso = dataclasses.replace(FULL, evses=(dataclasses.replace(AC, iso15118=True), DC))
    accepted(prof, evse_id=1, ctx=iso)


# -- schedule ---------------------------------------------------------------------------------


def test_K01_FR_26_unsupported_rate_unit() -> None:
    ctx = dataclasses.replace(FULL, rate_units=frozenset({"A"}))
    expect(rejected(make_profile(1, unit="W"), ctx=ctx), "UnsupportedRateUnit", "K01.FR.26")


def test_more_periods_than_periods_per_schedule() -> None:
    ctx = dataclasses.replace(FULL, periods_per_schedule=2)
    prof = make_profile(1, plan=[(0, 1), (60, 2), (120, 3)])
    expect(rejected(prof, ctx=ctx), "TooManyElements", "SmartChargingCtrlr.PeriodsPerSchedule")


def test_K01_FR_31_first_start_period_is_zero() -> None:
    expect(rejected(make_profile(1, plan=[(60, 16)])), "InvalidSchedule", "K01.FR.31")


@pytest.mark.parametrize(
    "plan", [[(0, 1), (120, 2), (60, 3)], [(0, 1), (60, 2), (60, 3)]], ids=["unsorted", "repeated"]
)
def test_K01_FR_35_start_periods_increase(plan: list[tuple[int, float]]) -> None:
    expect(rejected(make_profile(1, plan=plan)), "InvalidSchedule", "K01.FR.35")


@pytest.mark.parametrize("kind", ["Absolute", "Recurring"])
def test_K01_FR_40_absolute_and_recurring_need_start_schedule(kind: str) -> None:
    expect(rejected(make_profile(1, kind=kind, start=None)), "InvalidSchedule", "K01.FR.40")


def test_K01_FR_41_relative_has_no_start_schedule() -> None:
    prof = make_profile(1, kind="Relative", schedule={"startSchedule": "2025-01-06T00:00:00Z"})
    expect(rejected(prof), "InvalidSchedule", "K01.FR.41")


def test_K01_FR_70_priority_charging_has_no_duration() -> None:
    expect(rejected(make_profile(1, "PriorityCharging", duration=3600)), "InvalidSchedule", "K01.FR.70")


def test_K01_FR_95_randomized_delay_only_for_tx_and_tx_default() -> None:
    prof = make_profile(1, "ChargingStationMaxProfile", schedule={"randomizedDelay": 60})
    expect(rejected(prof), "InvalidSchedule", "K01.FR.95")
    accepted(make_profile(2, schedule={"randomizedDelay": 60}))


def test_K01_FR_124_randomized_delay_needs_support() -> None:
    ctx = dataclasses.replace(FULL, supports_randomized_delay=False)
    expect(
        rejected(make_profile(1, schedule={"randomizedDelay": 60}), ctx=ctx), "InvalidSchedule", "K01.FR.124"
    )


def test_K01_FR_123_use_local_time_needs_support() -> None:
    ctx = dataclasses.replace(FULL, supports_use_local_time=False)
    expect(
        rejected(make_profile(1, schedule={"useLocalTime": True}), ctx=ctx), "InvalidSchedule", "K01.FR.123"
    )


def test_K01_FR_125_limit_at_soc_needs_support() -> None:
    ctx = dataclasses.replace(FULL, supports_limit_at_soc=False)
    prof = make_profile(1, schedule={"limitAtSoC": {"soc": 80, "limit": 10}})
    expect(rejected(prof, ctx=ctx), "InvalidSchedule", "K01.FR.125")


# -- periods ----------------------------------------------------------------------------------


def test_K01_FR_111_K01_FR_114_station_max_only_charging_only() -> None:
    plan = [{"startPeriod": 0, "limit": 10, "operationMode": "ExternalLimits"}]
    expect(
        rejected(make_profile(1, "ChargingStationMaxProfile", plan)),
        "InvalidOperationMode",
        "K01.FR.111..114",
    )


def test_K01_FR_71_priority_charging_only_charging_only() -> None:
    plan = [{"startPeriod": 0, "limit": 10, "setpoint": 5, "operationMode": "CentralSetpoint"}]
    expect(rejected(make_profile(1, "PriorityCharging", plan)), "InvalidOperationMode", "K01.FR.71/111")


def test_K01_FR_113_local_generation_modes() -> None:
    plan = [{"startPeriod": 0, "setpoint": 5, "operationMode": "ExternalSetpoint"}]
    expect(rejected(make_profile(1, "LocalGeneration", plan)), "InvalidOperationMode", "K01.FR.111..114")


def test_K01_FR_115_operation_mode_not_supported() -> None:
    ctx = dataclasses.replace(FULL, supported_operation_modes=frozenset({"ChargingOnly"}))
    plan = [{"startPeriod": 0, "limit": 10, "setpoint": 5, "operationMode": "CentralSetpoint"}]
    expect(rejected(make_profile(1, plan=plan), ctx=ctx), "InvalidOperationMode", "K01.FR.115")


def test_charging_only_period_needs_limit() -> None:
    # ChargingSchedulePeriodType.limit may only be left out in modes that do not need it.
    expect(
        rejected(make_profile(1, plan=[{"startPeriod": 0}])), "InvalidSchedule", "ChargingSchedulePeriodType"
    )
    accepted(make_profile(2, plan=[{"startPeriod": 0, "operationMode": "ExternalLimits"}]))


def test_central_setpoint_needs_setpoint() -> None:
    plan = [{"startPeriod": 0, "limit": 10, "operationMode": "CentralSetpoint"}]
    expect(rejected(make_profile(1, plan=plan)), "InvalidSchedule", "Q §2.2")


def test_local_frequency_needs_freq_watt_curve() -> None:
    plan = [{"startPeriod": 0, "operationMode": "LocalFrequency"}]
    expect(rejected(make_profile(1, plan=plan, unit="W")), "NoFreqWattCurve", "Q §2.2")
    curve = [{"frequency": 49.8, "power": -10000}, {"frequency": 50.2, "power": 10000}]
    accepted(make_profile(1, plan=[{**plan[0], "v2xFreqWattCurve": curve}], unit="W"))


@pytest.mark.parametrize("field", ["limit_L2", "dischargeLimit_L3", "setpoint_L2"])
def test_K01_FR_144_V2X_10_phase_values_only_in_tx_profile(field: str) -> None:
    value = -5 if field.startswith("discharge") else 5
    plan = [{"startPeriod": 0, "limit": 10, field: value}]
    expect(rejected(make_profile(1, plan=plan)), "PhaseConflict", "K01.FR.144")


def test_K01_FR_146_limit_l2_l3_need_limit() -> None:
    plan = [{"startPeriod": 0, "limit_L2": 10, "limit_L3": 10, "operationMode": "ExternalLimits"}]
    expect(rejected(tx_profile(plan=plan), evse_id=1), "PhaseConflict", "K01.FR.146")


def test_V2X_05_setpoint_within_discharge_limit_and_limit() -> None:
    plan = [
        {
            "startPeriod": 0,
            "operationMode": "CentralSetpoint",
            "limit": 1000,
            "dischargeLimit": -500,
            "setpoint": -750,
        }
    ]
    expect(rejected(make_profile(1, plan=plan, unit="W")), "InvalidSchedule", "V2X.05")


def test_K01_FR_19_phase_to_use_needs_one_phase() -> None:
    plan = [{"startPeriod": 0, "limit": 16, "numberPhases": 3, "phaseToUse": 2}]
    expect(rejected(make_profile(1, plan=plan), evse_id=1), "InvalidSchedule", "K01.FR.19")


def test_K01_FR_44_no_phases_for_dc() -> None:
    plan = [{"startPeriod": 0, "limit": 16, "numberPhases": 3}]
    expect(rejected(make_profile(1, plan=plan), evse_id=2), "NoPhaseForDC", "K01.FR.44")
    controlled = dataclasses.replace(FULL, evses=(AC, dataclasses.replace(DC, dc_input_phase_control=True)))
    accepted(make_profile(1, plan=plan), evse_id=2, ctx=controlled)  # K01.FR.54


def test_K01_FR_48_phase_to_use_needs_phase_switching() -> None:
    plan = [{"startPeriod": 0, "limit": 16, "numberPhases": 1, "phaseToUse": 2}]
    accepted(make_profile(1, plan=plan), evse_id=1)
    fixed = dataclasses.replace(FULL, evses=(dataclasses.replace(AC, ac_phase_switching=False), DC))
    expect(rejected(make_profile(1, plan=plan), evse_id=1, ctx=fixed), "InvalidSchedule", "K01.FR.48")


def test_K01_FR_126_evse_sleep_needs_idle_and_support() -> None:
    sleep = [{"startPeriod": 0, "operationMode": "Idle", "evseSleep": True}]
    accepted(make_profile(1, plan=sleep))
    no = dataclasses.replace(FULL, supports_evse_sleep=False)
    expect(rejected(make_profile(1, plan=sleep), ctx=no), "InvalidSchedule", "K01.FR.126")
    charging = [{"startPeriod": 0, "limit": 16, "evseSleep": True}]
    expect(rejected(make_profile(1, plan=charging)), "InvalidSchedule", "K01.FR.126")


# -- against installed profiles ---------------------------------------------------------------


def store_with(*items: tuple[int, dict[str, Any]]) -> ProfileStore:
    store = ProfileStore()
    for evse_id, prof in items:
        store.install(prof, evse_id)
    return store


def test_K01_FR_05_same_id_replaces_but_not_a_station_owned_profile() -> None:
    store = store_with((0, make_profile(1, stack=0)))
    accepted(make_profile(1, stack=0, plan=[(0, 8)]), store=store)  # same id: no duplicate
    store.install_external(make_profile(-5, "ChargingStationExternalConstraints"), 0)
    expect(rejected(make_profile(-5), store=store), "InvalidProfileId", "K01.FR.05")


def test_entries_max_limit() -> None:
    # SmartChargingCtrlr.Entries[ChargingProfiles] maxLimit: no room for an 11th profile.
    store = store_with(
        *(
            (
                0,
                make_profile(
                    i,
                    stack=i % 9,
                    valid_from=f"20{10 + i}-01-01T00:00:00Z",
                    valid_to=f"20{10 + i}-06-01T00:00:00Z",
                ),
            )
            for i in range(10)
        )
    )
    expect(rejected(make_profile(99, stack=0), store=store), "OutOfStorage", "Entries[ChargingProfiles]")
    accepted(make_profile(3, stack=3), store=store)  # replacing takes no extra room


def test_K01_FR_06_same_stack_level_purpose_evse_overlapping_validity() -> None:
    store = store_with(
        (1, make_profile(1, stack=2, valid_from="2025-01-01T00:00:00Z", valid_to="2025-02-01T00:00:00Z"))
    )
    expect(rejected(make_profile(2, stack=2), evse_id=1, store=store), "DuplicateProfile", "K01.FR.06")
    later = make_profile(2, stack=2, valid_from="2025-02-01T00:00:00Z")
    accepted(later, evse_id=1, store=store)  # validity does not overlap
    accepted(make_profile(2, stack=3), evse_id=1, store=store)  # other stack level
    accepted(make_profile(2, "ChargingStationMaxProfile", stack=2), store=store)  # other purpose and EVSE


def test_K01_FR_39_tx_profile_same_stack_level_and_transaction() -> None:
    store = store_with((1, tx_profile(1, stack=1)))
    expect(rejected(tx_profile(2, stack=1), evse_id=1, store=store), "DuplicateProfile", "K01.FR.39")
    accepted(tx_profile(2, stack=2), evse_id=1, store=store)


def test_K01_FR_52_tx_default_on_evse_0_clashes_with_evse_specific() -> None:
    store = store_with((1, make_profile(1, stack=4)))
    expect(rejected(make_profile(2, stack=4), evse_id=0, store=store), "DuplicateProfile", "K01.FR.52")


def test_K01_FR_53_tx_default_on_evse_clashes_with_evse_0() -> None:
    store = store_with((0, make_profile(1, stack=4)))
    expect(rejected(make_profile(2, stack=4), evse_id=1, store=store), "DuplicateProfile", "K01.FR.53")


def test_K01_FR_141_phase_to_use_conflict_with_station_level_profile() -> None:
    max_l1 = make_profile(
        1, "ChargingStationMaxProfile", [{"startPeriod": 0, "limit": 16, "numberPhases": 1, "phaseToUse": 1}]
    )
    store = store_with((0, max_l1))
    on_l3 = [{"startPeriod": 0, "limit": 16, "numberPhases": 1, "phaseToUse": 3}]
    expect(rejected(tx_profile(2, plan=on_l3), evse_id=1, store=store), "PhaseConflict", "K01.FR.141")
    on_l1 = [{"startPeriod": 0, "limit": 16, "numberPhases": 1, "phaseToUse": 1}]
    accepted(tx_profile(2, plan=on_l1), evse_id=1, store=store)


# -- external limits the station installs -----------------------------------------------------


def test_K01_FR_82_external_constraints_id_at_most_max_external_constraints_id() -> None:
    ctx = dataclasses.replace(FULL, max_external_constraints_id=100)
    store = ProfileStore()
    bad = store.install_external(make_profile(101, "ChargingStationExternalConstraints"), 0, ctx=ctx)
    assert bad is not None and bad.requirement == "K01.FR.82"
    assert store.install_external(make_profile(100, "ChargingStationExternalConstraints"), 0, ctx=ctx) is None


def test_K01_FR_112_external_constraints_modes() -> None:
    store = ProfileStore()
    plan = [{"startPeriod": 0, "setpoint": 5, "limit": 10, "operationMode": "CentralSetpoint"}]
    bad = store.install_external(make_profile(-1, "ChargingStationExternalConstraints", plan), 0, ctx=FULL)
    assert bad is not None and bad.reason_code == "InvalidOperationMode"


def test_K11_FR_07_external_constraints_disallowed() -> None:
    ctx = dataclasses.replace(FULL, external_constraints_disallowed=True)
    store = ProfileStore()
    bad = store.install_external(make_profile(-1, "ChargingStationExternalConstraints"), 0, ctx=ctx)
    assert bad is not None and bad.requirement == "K11.FR.07"
    assert len(store) == 0
    # LocalGeneration is not an external constraint and stays allowed (K27).
    assert store.install_external(make_profile(-2, "LocalGeneration", unit="W"), 0, ctx=ctx) is None


def test_set_charging_profile_response_carries_reason() -> None:
    store = ProfileStore()
    response = store.set_charging_profile({"evseId": 0, "chargingProfile": tx_profile()}, FULL, T0)
    assert response["status"] == "Rejected"
    assert response["statusInfo"]["reasonCode"] == "InvalidProfile"
    assert response["statusInfo"]["additionalInfo"].startswith("K01.FR.16")
    assert len(store) == 0
