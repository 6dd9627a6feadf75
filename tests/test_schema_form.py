"""Form specs of CSMS→station actions (app/csms/schema_form.py), from the OCA schemas.

Starting payloads are cross-checked with `jsonschema` (Draft 6 + format checker), independent
of the jsonschema-rs validator the app (and schema_form.validate) uses.
"""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import pytest

from app.csms import schema_form as sf
from app.protocol import schemas
from app.protocol.directions import csms_actions
from app.protocol.schemas import Kind, OcppVersion
from tests.test_csms import BOTH_WAYS, CS_TO_CSMS, CSMS_TO_CS

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
NOW = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def test_the_console_offers_exactly_the_actions_a_csms_sends() -> None:
    actions = set(csms_actions(V21))
    assert actions == CSMS_TO_CS | BOTH_WAYS
    assert not actions & CS_TO_CSMS
    v201 = set(csms_actions(V201))
    assert "ChangeAvailability" in v201 and "AFRRSignal" not in v201  # new in 2.1
    assert v201 < actions | {"DataTransfer"}
    v16 = set(csms_actions(V16))
    assert {"RemoteStartTransaction", "ChangeConfiguration", "GetConfiguration"} <= v16
    assert not v16 & {"StartTransaction", "BootNotification", "Heartbeat", "SignCertificate"}


@pytest.mark.parametrize("action", csms_actions(V21))
def test_every_21_action_gets_a_form_and_a_starting_payload_that_validates(action: str) -> None:
    spec = sf.form_spec(V21, action)
    assert spec.kind == "object"
    payload = sf.starting_payload(V21, action, NOW)
    assert set(payload) == {c.name for c in spec.children if c.required}
    assert sf.validate(V21, action, payload) == []
    doc = schemas.schema(V21, action, Kind.REQUEST)
    checker = jsonschema.Draft6Validator(doc, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
    assert [e.message for e in checker.iter_errors(payload)] == []


@pytest.mark.parametrize("version", [V16, V201])
def test_older_versions_start_valid_too(version: OcppVersion) -> None:
    for action in csms_actions(version):
        payload = sf.starting_payload(version, action, NOW)
        assert sf.validate(version, action, payload) == [], action


def test_change_availability_enum_required_and_optional_nested_object() -> None:
    spec = sf.form_spec(V21, "ChangeAvailability")
    status = spec.child("operationalStatus")
    assert status.required and status.kind == "string"
    assert status.enum == ("Inoperative", "Operative")
    evse = spec.child("evse")
    assert not evse.required and evse.kind == "object" and evse.type_name == "EVSEType"
    assert evse.child("id").required and evse.child("id").kind == "integer"
    assert evse.child("id").minimum == 0
    assert not evse.child("connectorId").required
    assert "customData" not in {c.name for c in spec.children}
    # Descriptions are tooltips: entities decoded, line breaks folded.
    assert "(> 0)" in evse.child("id").description and "\r" not in evse.child("id").description
    # The harmless choice first: a Send pressed too early keeps the charger in service.
    assert sf.starting_payload(V21, "ChangeAvailability", NOW) == {"operationalStatus": "Operative"}
    v16 = sf.form_spec(V16, "ChangeAvailability")
    assert v16.child("type").enum == ("Inoperative", "Operative") and v16.child("connectorId").required


def test_set_charging_profile_nested_arrays_limits_and_date_times() -> None:
    spec = sf.form_spec(V21, "SetChargingProfile")
    assert spec.child("evseId").required
    profile = spec.child("chargingProfile")
    assert profile.required and profile.type_name == "ChargingProfileType"
    assert "TxDefaultProfile" in profile.child("chargingProfilePurpose").enum
    assert profile.child("chargingProfileKind").enum == ("Absolute", "Recurring", "Relative", "Dynamic")
    assert profile.child("validFrom").date_time and not profile.child("validFrom").required
    schedules = profile.child("chargingSchedule")
    assert schedules.kind == "array" and schedules.min_items == 1 and schedules.max_items == 3
    assert schedules.item is not None and schedules.item.type_name == "ChargingScheduleType"
    periods = schedules.item.child("chargingSchedulePeriod")
    assert periods.min_items == 1 and periods.item is not None
    assert periods.item.child("limit").kind == "number"
    payload = sf.starting_payload(V21, "SetChargingProfile", NOW)
    assert payload["chargingProfile"]["chargingProfilePurpose"] == "TxDefaultProfile"
    assert len(payload["chargingProfile"]["chargingSchedule"]) == 1
    # A date-time field, once required somewhere, starts at "now".
    assert sf.starting_value(profile.child("validFrom"), NOW) == "2026-11-24T08:30:00.000Z"


def test_validation_reports_paths_like_the_inspector() -> None:
    problems = sf.validate(V21, "ChangeAvailability", {"operationalStatus": "Broken", "evse": {"id": -1}})
    by_path = {p.path: p for p in problems}
    assert set(by_path) == {"operationalStatus", "evse.id"}
    assert "Broken" in by_path["operationalStatus"].message
    missing = sf.validate(V21, "ChangeAvailability", {})
    assert [(p.path, p.code) for p in missing] == [("", "OccurrenceConstraintViolation")]
    assert "operationalStatus" in missing[0].message
    deep = sf.validate(
        V21,
        "SetChargingProfile",
        {
            "evseId": 1,
            "chargingProfile": {
                "id": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": [
                    {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": "0"}]}
                ],
            },
        },
    )
    period = "chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0]"
    assert [p.path for p in deep] == [f"{period}.startPeriod"]
    assert deep[0].code == "TypeConstraintViolation"


def test_authorization_statuses_follow_the_version() -> None:
    assert "NoCredit" in sf.authorization_statuses(V21)
    assert sf.authorization_statuses(V16) == ("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")


def test_recent_sends_newest_first_without_repeats_and_capped() -> None:
    recent = sf.RecentSends(per_action=3)
    for n in range(5):
        recent.add("Reset", {"type": "OnIdle", "evseId": n})
    recent.add("Reset", {"type": "OnIdle", "evseId": 3})
    assert [p["evseId"] for p in recent.of("Reset")] == [3, 4, 2]
    assert recent.of("ChangeAvailability") == []


def test_cli_token_flag_takes_statuses_of_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import build_parser

    args = build_parser().parse_args(["csms", "--token", "CARD-1=Blocked", "--token", "A=B=Expired"])
    assert args.token == [("CARD-1", "Blocked"), ("A=B", "Expired")]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["csms", "--token", "CARD-1=Nope"])
    assert "ID_TOKEN=STATUS with STATUS one of Accepted, Blocked" in capsys.readouterr().err
