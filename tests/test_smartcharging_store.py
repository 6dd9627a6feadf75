"""ProfileStore: replace by id, clear (K10), report (K09), transaction end, persistence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.protocol.schemas import Kind, OcppVersion, validate
from app.smartcharging import (
    ALWAYS_PERSISTENT,
    EvseInfo,
    ProfileStore,
    StationContext,
    composite_schedule,
    limit_at,
)
from app.smartcharging.testing import make_profile

T0 = datetime(2025, 1, 6, tzinfo=UTC)
CTX = StationContext(
    evses=(EvseInfo(1, max_current_a=32, transaction_id="T1", tx_start=T0), EvseInfo(2, max_current_a=32)),
    supported_additional_purposes=frozenset({"LocalGeneration", "PriorityCharging"}),
    supports_dynamic_profiles=True,
)


def populated() -> ProfileStore:
    """max on 0 (id 1), TxDefault on 0 (2) and 2 (3), Tx on 1 (4), EMS limit (-1), local generation (-2)."""
    store = ProfileStore()
    for evse_id, prof in [
        (0, make_profile(1, "ChargingStationMaxProfile", [(0, 40)])),
        (0, make_profile(2, "TxDefaultProfile", [(0, 16)], stack=1)),
        (2, make_profile(3, "TxDefaultProfile", [(0, 10)], stack=2)),
        (1, make_profile(4, "TxProfile", [(0, 8)], kind="Relative", transaction_id="T1")),
    ]:
        assert store.set_charging_profile({"evseId": evse_id, "chargingProfile": prof}, CTX, T0) == {
            "status": "Accepted"
        }
    assert (
        store.install_external(make_profile(-1, "ChargingStationExternalConstraints", [(0, 30)]), 0, ctx=CTX)
        is None
    )
    assert (
        store.install_external(
            make_profile(-2, "LocalGeneration", [(0, 1000)], unit="W"), 1, source="Other", ctx=CTX
        )
        is None
    )
    return store


def ids(store: ProfileStore) -> set[int]:
    return {e.profile.id for e in store.entries()}


def test_K01_FR_05_same_id_replaces_even_on_another_evse() -> None:
    store = populated()
    prof = make_profile(3, "TxDefaultProfile", [(0, 12)], stack=5)
    assert store.set_charging_profile({"evseId": 1, "chargingProfile": prof}, CTX, T0)["status"] == "Accepted"
    entry = store.get(3)
    assert entry is not None and entry.evse_id == 1 and entry.profile.stack_level == 5
    assert len(store) == 6


def test_changes_bump_version_and_emit_changed() -> None:
    store = ProfileStore()
    seen: list[int] = []
    store.changed.connect(lambda: seen.append(store.version))
    store.install(make_profile(1), 0)
    store.clear({"chargingProfileId": 1})
    assert seen == [1, 2]
    store.clear({"chargingProfileId": 1})  # nothing to clear: no change
    assert seen == [1, 2]


# -- K10 --------------------------------------------------------------------------------------


def test_K10_FR_03_clear_by_id() -> None:
    store = populated()
    assert store.clear({"chargingProfileId": 2}) == {"status": "Accepted"}
    assert 2 not in ids(store)


def test_K10_FR_01_clear_unknown_id() -> None:
    assert populated().clear({"chargingProfileId": 77}) == {"status": "Unknown"}


@pytest.mark.parametrize("pid", [-1, -2])
def test_K10_FR_09_external_and_local_generation_not_cleared_by_id(pid: int) -> None:
    store = populated()
    assert store.clear({"chargingProfileId": pid}) == {"status": "Unknown"}
    assert pid in ids(store)


@pytest.mark.parametrize(
    ("criteria", "gone"),
    [
        ({"evseId": 0}, {1, 2}),
        ({"chargingProfilePurpose": "TxDefaultProfile"}, {2, 3}),
        ({"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}, {3}),
        ({"evseId": 1}, {4}),
        ({"stackLevel": 0}, {1, 4}),
    ],
)
def test_K10_FR_04_clear_by_criteria_anded(criteria: dict[str, Any], gone: set[int]) -> None:
    store = populated()
    before = ids(store)
    assert store.clear({"chargingProfileCriteria": criteria}) == {"status": "Accepted"}
    assert before - ids(store) == gone


def test_K10_FR_01_criteria_matching_nothing() -> None:
    assert populated().clear({"chargingProfileCriteria": {"evseId": 2, "stackLevel": 9}}) == {
        "status": "Unknown"
    }


def test_K10_FR_08_criteria_matching_only_external_profiles() -> None:
    store = populated()
    request = {"chargingProfileCriteria": {"chargingProfilePurpose": "ChargingStationExternalConstraints"}}
    assert store.clear(request) == {"status": "Unknown"}
    assert -1 in ids(store)


def test_K10_FR_05_clearing_changes_the_composite() -> None:
    store = populated()
    before = composite_schedule(store, 2, T0, 60, "A", CTX)["chargingSchedulePeriod"][0]["limit"]
    store.clear({"chargingProfileId": 3})  # EVSE 2's own 10 A TxDefault goes; EVSE 0's 16 A remains
    after = composite_schedule(store, 2, T0, 60, "A", CTX)["chargingSchedulePeriod"][0]["limit"]
    assert (before, after) == (10, 16)


# -- K09 --------------------------------------------------------------------------------------


def reports_for(store: ProfileStore, **request: Any) -> list[dict[str, Any]]:
    request = {"requestId": 42, "chargingProfile": {}, **request}
    assert not validate(OcppVersion.V21, "GetChargingProfiles", Kind.REQUEST, request)
    reports = store.get_profiles(request)
    for report in reports:
        assert not validate(OcppVersion.V21, "ReportChargingProfiles", Kind.REQUEST, report), report
    return reports


def test_K09_FR_01_02_reports_grouped_by_evse_and_source_with_request_id_and_tbc() -> None:
    reports = reports_for(populated())
    groups = [
        (r["evseId"], r["chargingLimitSource"], [p["id"] for p in r["chargingProfile"]]) for r in reports
    ]
    assert groups == [
        (0, "CSO", [1, 2]),
        (0, "EMS", [-1]),
        (1, "CSO", [4]),
        (1, "Other", [-2]),
        (2, "CSO", [3]),
    ]
    assert all(r["requestId"] == 42 for r in reports)
    assert [r.get("tbc", False) for r in reports] == [True, True, True, True, False]


def test_K09_reported_profiles_are_the_installed_dicts() -> None:
    store = populated()
    (report,) = reports_for(store, chargingProfile={"chargingProfileId": [3]})
    assert report["chargingProfile"] == [make_profile(3, "TxDefaultProfile", [(0, 10)], stack=2)]


def test_K09_FR_04_evse_specific_only() -> None:
    reports = reports_for(populated(), evseId=2)
    assert [p["id"] for r in reports for p in r["chargingProfile"]] == [3]


def test_K09_FR_05_evse_0_only_station_profiles() -> None:
    reports = reports_for(populated(), evseId=0)
    assert sorted(p["id"] for r in reports for p in r["chargingProfile"]) == [-1, 1, 2]


def test_K09_FR_03_criteria_purpose_stack_level_source() -> None:
    store = populated()
    got = reports_for(store, chargingProfile={"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1})
    assert [p["id"] for r in got for p in r["chargingProfile"]] == [2]
    got = reports_for(store, chargingProfile={"chargingLimitSource": ["EMS", "Other"]})
    assert sorted(p["id"] for r in got for p in r["chargingProfile"]) == [-2, -1]


def test_K09_no_match_gives_no_reports() -> None:
    assert reports_for(populated(), chargingProfile={"chargingProfileId": [1234]}) == []


def test_K09_FR_02_large_group_split_with_tbc() -> None:
    store = ProfileStore()
    for i in range(5):
        store.install(make_profile(i + 1, stack=i), 0)
    reports = store.get_profiles({"requestId": 1, "chargingProfile": {}}, max_per_report=2)
    assert [len(r["chargingProfile"]) for r in reports] == [2, 2, 1]
    assert [r.get("tbc", False) for r in reports] == [True, True, False]


def test_K27_FR_02_local_generation_is_reported() -> None:
    reports = reports_for(populated(), chargingProfile={"chargingProfilePurpose": "LocalGeneration"})
    assert [(r["evseId"], r["chargingLimitSource"]) for r in reports] == [(1, "Other")]


def test_dynamic_profile_reports_its_last_update() -> None:
    store = populated()
    dyn = make_profile(9, "TxDefaultProfile", [(0, 10)], stack=3, kind="Dynamic")
    store.set_charging_profile({"evseId": 0, "chargingProfile": dyn}, CTX, T0)
    store.update_dynamic(9, {"limit": 14}, T0 + timedelta(minutes=5))
    (report,) = reports_for(store, chargingProfile={"chargingProfileId": [9]})
    (prof,) = report["chargingProfile"]
    assert prof["dynUpdateTime"] == "2025-01-06T00:05:00Z"
    assert prof["chargingSchedule"][0]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 14}]


# -- lifecycle --------------------------------------------------------------------------------


def test_K02_FR_05_tx_profiles_go_when_the_transaction_ends() -> None:
    store = populated()
    assert store.end_transaction("T1") == [4]
    assert 4 not in ids(store)
    assert store.end_transaction("T1") == []


def test_K13_FR_01_external_limit_released() -> None:
    store = populated()
    assert store.remove_external(-1) is True
    assert store.remove_external(-1) is False
    assert store.remove_external(2) is False  # not station-owned
    assert -1 not in ids(store)


def test_K01_FR_102_invalid_after_offline_duration_removed_on_reconnect() -> None:
    store = ProfileStore()
    store.install(make_profile(1, maxOfflineDuration=600, invalidAfterOfflineDuration=True), 0)
    store.install(make_profile(2, stack=1, maxOfflineDuration=600), 0)
    assert store.connection_restored(T0, T0 + timedelta(seconds=300)) == []
    assert store.connection_restored(T0, T0 + timedelta(seconds=601)) == [1]
    assert ids(store) == {2}


def test_K01_FR_37_purge_expired() -> None:
    store = ProfileStore()
    store.install(make_profile(1, valid_to="2025-01-05T00:00:00Z"), 0)
    store.install(make_profile(2, stack=1), 0)
    assert store.purge_expired(T0) == [1]
    assert ids(store) == {2}


# -- persistence ------------------------------------------------------------------------------


def test_json_round_trip_keeps_profiles_sources_order_and_priority() -> None:
    store = populated()
    store.install(make_profile(5, "PriorityCharging", [(0, 32)]), 0)
    assert store.use_priority_charging("T1", True, CTX) == {"status": "Accepted"}
    text = store.to_json()
    back = ProfileStore.from_json(text)
    assert [(e.profile.raw, e.evse_id, e.source) for e in back.entries()] == [
        (e.profile.raw, e.evse_id, e.source) for e in store.entries()
    ]
    assert back.priority_active("T1")
    assert back.to_json() == text
    for evse_id in (0, 1, 2):
        assert composite_schedule(back, evse_id, T0, 7200, "W", CTX) == composite_schedule(
            store, evse_id, T0, 7200, "W", CTX
        )


def test_K01_FR_27_persist_only_the_persistent_purposes() -> None:
    back = ProfileStore.from_json(populated().to_json(ALWAYS_PERSISTENT))
    assert ids(back) == {1, 2, 3}


def test_K29_FR_04_to_06_single_external_value_is_a_dynamic_profile_updated_in_place() -> None:
    # A grid signal of 6900 W on EVSE 0 caps EVSE 1 (TxDefault 32 A = 22 080 W) at 6900 W;
    # a new value 4600 W updates the same profile and its dynUpdateTime.
    ctx = StationContext(evses=(EvseInfo(1, max_current_a=32),))
    store = ProfileStore()
    store.install(make_profile(1, "TxDefaultProfile", [(0, 32)]), 0)
    assert store.set_external_limit(6900, T0, ctx=ctx) is None
    assert limit_at(store, 1, T0, ctx).watts == 6900
    later = T0 + timedelta(minutes=1)
    assert store.set_external_limit(4600, later, ctx=ctx) is None
    entry = store.get(-1)
    assert entry is not None and entry.seq == 2  # updated, not reinstalled
    assert entry.profile.raw["dynUpdateTime"] == "2025-01-06T00:01:00Z"
    assert limit_at(store, 1, later, ctx).watts == 4600
    (report,) = store.get_profiles({"requestId": 1, "chargingProfile": {"chargingProfileId": [-1]}})
    assert report["chargingLimitSource"] == "EMS"
    assert not validate(OcppVersion.V21, "ReportChargingProfiles", Kind.REQUEST, report)
    # As local generation it adds on top of the profile limits (K27): min(22 080, 4600) + 1000 W.
    store.set_external_limit(1000, later, profile_id=-2, local_generation=True, ctx=ctx)
    assert limit_at(store, 1, later, ctx).watts == 4600 + 1000


def test_installed_and_reported_dicts_are_not_shared_with_callers() -> None:
    store = ProfileStore()
    prof = make_profile(1, "TxDefaultProfile", [(0, 16)])
    store.install(prof, 0)
    prof["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] = 1
    (report,) = store.get_profiles({"requestId": 1, "chargingProfile": {}})
    report["chargingProfile"][0]["stackLevel"] = 7
    again = store.get_profiles({"requestId": 1, "chargingProfile": {}})[0]["chargingProfile"][0]
    assert again == make_profile(1, "TxDefaultProfile", [(0, 16)])
