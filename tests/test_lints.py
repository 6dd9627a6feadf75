"""Protocol lints (app/inspector/lints.py): one planted mistake per rule, and silence on our own traffic.

Each planted capture is a few frames with sender and time; it must trigger exactly its rule (the
other rules stay quiet). The clean captures come from a real Session: our station against the
built-in CSMS, so the rules are checked against traffic we know to be right.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.clock import AcceleratedClock
from app.inspector.jsonl import JsonlWriter
from app.inspector.lints import _EMPTY_OK_KEYS, RULES, Linter, LintFinding, lint_records
from app.inspector.offline import check_capture
from app.inspector.records import CaptureRecord
from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion
from app.session import Session
from app.station.config import StationConfig
from tests.test_station_e2e import FAST, tx_events, wait_until

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
TS = "2026-01-01T12:00:00.000Z"
DATA = Path(__file__).resolve().parent / "data"

Frame = tuple[str, list[Any], float] | tuple[str, list[Any], float, str]


def rec(sender: str, frame: list[Any], t: float = 0.0, version: str = "ocpp2.1") -> CaptureRecord:
    return CaptureRecord(
        time=T0 + timedelta(seconds=t),
        connection="c1",
        station="CP1",
        sender="csms" if sender == "C" else "station",
        observer="station",
        version=version,
        raw=json.dumps(frame),
    )


def S(frame: list[Any], t: float = 0.0, version: str = "ocpp2.1") -> CaptureRecord:
    return rec("S", frame, t, version)


def C(frame: list[Any], t: float = 0.0, version: str = "ocpp2.1") -> CaptureRecord:
    return rec("C", frame, t, version)


def lint(records: list[CaptureRecord], **kw: Any) -> list[LintFinding]:
    linter = Linter(**kw)
    return [f for r in records for f in linter.check(r)]


def tx(
    event: str,
    seq: int,
    trigger: str = "Authorized",
    tx_id: str = "T1",
    *,
    evse: int | None = 1,
    **info: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventType": event,
        "timestamp": TS,
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": {"transactionId": tx_id, **info},
    }
    if evse is not None:
        body["evse"] = {"id": evse, "connectorId": 1}
    return body


def tx_frames(*events: dict[str, Any]) -> list[CaptureRecord]:
    out = []
    for n, event in enumerate(events):
        out += [S([2, f"tx{n}", "TransactionEvent", event], n), C([3, f"tx{n}", {}], n)]
    return out


def boot(status: str, interval: int = 60, t: float = 0.0, mid: str = "b1") -> list[CaptureRecord]:
    payload = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}
    return [
        S([2, mid, "BootNotification", payload], t),
        C([3, mid, {"currentTime": TS, "interval": interval, "status": status}], t),
    ]


HB = [2, "h1", "Heartbeat", {}]
HB_OK = [3, "h1", {"currentTime": TS}]
TOKEN = {"idToken": "CARD-1", "type": "ISO14443"}
STREAM = {"id": 1, "pending": 0, "basetime": TS, "data": [{"t": 0, "v": "1"}, {"t": 5, "v": "2"}]}
#: A monitoring report as 2.0.1 defines it: no eventNotificationType, which 2.1 requires (N02.FR.22).
MONITOR_REPORT_2_0_1 = {
    "requestId": 4,
    "seqNo": 0,
    "generatedAt": TS,
    "monitor": [
        {
            "component": {"name": "EVSE", "evse": {"id": 1}},
            "variable": {"name": "Temperature"},
            "variableMonitoring": [
                {"id": 1, "transaction": False, "value": 90, "type": "UpperThreshold", "severity": 1}
            ],
        }
    ],
}
STATUS = {"timestamp": TS, "connectorStatus": "Available", "evseId": 1, "connectorId": 1}
GET_REPORT = [2, "g1", "GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"}]


def notify_report(mid: str, seq: int, tbc: bool) -> list[Any]:
    return [2, mid, "NotifyReport", {"requestId": 1, "generatedAt": TS, "seqNo": seq, "tbc": tbc}]


def energy(wh: float) -> list[dict[str, Any]]:
    return [{"timestamp": TS, "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register"}]}]


GET_VARS = [
    2,
    "v1",
    "GetVariables",
    {
        "getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"component": {"name": "TxCtrlr"}, "variable": {"name": "EVConnectionTimeOut"}},
        ]
    },
]
VAR_RESULT = {
    "attributeStatus": "Accepted",
    "attributeValue": "60",
    "component": {"name": "OCPPCommCtrlr"},
    "variable": {"name": "HeartbeatInterval"},
}

WH_AS_W = {"value": 5.0, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "W"}}


def set_profile(
    purpose: str = "TxDefaultProfile", kind: str = "Relative", periods: tuple[int, ...] = (0, 600)
) -> list[Any]:
    schedule = {
        "id": 1,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": start, "limit": 16.0} for start in periods],
    }
    profile = {
        "id": 9,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [schedule],
    }
    return [2, "p1", "SetChargingProfile", {"evseId": 1, "chargingProfile": profile}]


PLANTED: dict[str, list[CaptureRecord]] = {
    "message-id-length": [S([2, "x" * 37, "Heartbeat", {}]), C([3, "x" * 37, {"currentTime": TS}])],
    "duplicate-message-id": [
        S([2, "a", "Authorize", {"idToken": TOKEN}]),
        C([3, "a", {"idTokenInfo": {"status": "Accepted"}}]),
        S([2, "a", "Heartbeat", {}], 1),
        C([3, "a", {"currentTime": TS}], 1),
    ],
    "outstanding-call": [S(HB), S([2, "h2", "Heartbeat", {}], 1), C([3, "h2", {"currentTime": TS}], 1)],
    "unknown-result-id": [S(HB), C(HB_OK), C([3, "ghost", {}], 1)],
    "late-result": [S(HB), C(HB_OK, 31)],
    "frame-type-version": [S([6, "s1", "NotifyPeriodicEventStream", STREAM], version="ocpp2.0.1")],
    "reply-to-send": [S([6, "s1", "NotifyPeriodicEventStream", STREAM]), C([3, "s1", {}])],
    "callresulterror-unmatched": [S(HB), C(HB_OK), S([5, "other", "FormatViolation", "", {}])],
    "callerror-to-callresult": [S(HB), C(HB_OK), S([4, "h1", "FormatViolation", "", {}])],
    "wrong-direction": [C([2, "r1", "Heartbeat", {}]), S([3, "r1", {"currentTime": TS}])],
    "action-request-suffix": [S([2, "h1", "HeartbeatRequest", {}]), C(HB_OK)],
    "before-boot-accepted": [*boot("Pending"), S(HB, 1), C(HB_OK, 1)],
    "call-to-rejected-station": [*boot("Rejected"), C([2, "r1", "Reset", {"type": "Immediate"}], 1)],
    "boot-too-early": [*boot("Pending"), *boot("Pending", t=10, mid="b2")],
    "timestamp-format": [S(HB), C([3, "h1", {"currentTime": "2026-01-01T12:00:00.123456Z"}])],
    "timestamp-not-utc": [S(HB), C([3, "h1", {"currentTime": "2026-01-01T13:00:00+01:00"}])],
    "placeholder-value": [
        S([2, "a1", "Authorize", {"idToken": TOKEN, "iso15118CertificateHashData": []}]),
        C([3, "a1", {"idTokenInfo": {"status": "Accepted", "groupIdToken": None}}]),
    ],
    "tx-not-started": tx_frames(tx("Updated", 0, "MeterValuePeriodic")),
    "tx-after-ended": tx_frames(
        tx("Started", 0), tx("Ended", 1, "StopAuthorized", evse=None), tx("Updated", 2, evse=None)
    ),
    "tx-seqno-gap": tx_frames(tx("Started", 0), tx("Updated", 2, "MeterValuePeriodic", evse=None)),
    "tx-seqno-repeat": tx_frames(
        tx("Started", 0),
        tx("Updated", 1, "MeterValuePeriodic", evse=None),
        tx("Updated", 1, "MeterValueClock", evse=None),
    ),
    "tx-concurrent-on-evse": tx_frames(tx("Started", 0), tx("Started", 0, tx_id="T2")),
    "tx-charging-state-missing": tx_frames(
        tx("Started", 0, chargingState="Charging"), tx("Updated", 1, "ChargingStateChanged", evse=None)
    ),
    "tx-evse-missing": tx_frames(tx("Started", 0, evse=None)),
    "tx-stopped-reason-missing": tx_frames(tx("Started", 0), tx("Ended", 1, "RemoteStop", evse=None)),
    "tx-idtoken-repeated": tx_frames(
        tx("Started", 0) | {"idToken": TOKEN},
        tx("Updated", 1, "MeterValuePeriodic", evse=None) | {"idToken": TOKEN},
    ),
    "tx-operation-mode-missing": tx_frames(
        tx("Started", 0), tx("Updated", 1, "OperationModeChanged", evse=None)
    ),
    "trigger-boot-accepted": [
        *boot("Accepted"),
        C([2, "t1", "TriggerMessage", {"requestedMessage": "BootNotification"}], 1),
        S([3, "t1", {"status": "Accepted"}], 1),
    ],
    "remote-start-id-missing": [
        C([2, "r1", "RequestStartTransaction", {"idToken": TOKEN, "remoteStartId": 42, "evseId": 1}]),
        S([3, "r1", {"status": "Accepted"}]),
        *tx_frames(tx("Started", 0, "RemoteStart")),
    ],
    "energy-register-decreasing": tx_frames(
        tx("Started", 0) | {"meterValue": energy(1000)},
        tx("Updated", 1, "MeterValuePeriodic", evse=None) | {"meterValue": energy(900)},
    ),
    "result-before-response": [
        C(GET_REPORT),
        S(notify_report("n1", 0, False)),
        S([3, "g1", {"status": "Accepted"}]),
        C([3, "n1", {}]),
    ],
    "result-after-rejection": [
        C(GET_REPORT),
        S([3, "g1", {"status": "Rejected"}]),
        S(notify_report("n1", 0, False)),
        C([3, "n1", {}]),
    ],
    "report-seqno": [
        C(GET_REPORT),
        S([3, "g1", {"status": "Accepted"}]),
        S(notify_report("n1", 0, True)),
        C([3, "n1", {}]),
        S(notify_report("n2", 2, False)),
        C([3, "n2", {}]),
    ],
    "report-after-last": [
        frame
        for n in range(2)
        for frame in (
            S(
                [
                    2,
                    f"p{n}",
                    "ReportChargingProfiles",
                    {"requestId": 5, "chargingLimitSource": "CSO", "evseId": 1},
                ]
            ),
            C([3, f"p{n}", {}]),
        )
    ],
    "variables-result-mismatch": [C(GET_VARS), S([3, "v1", {"getVariableResult": [VAR_RESULT]}])],
    "status-notification-deprecated": [S([2, "s1", "StatusNotification", STATUS]), C([3, "s1", {}])],
    "status-repeated": [
        S([2, "s1", "StatusNotification", STATUS], version="ocpp2.0.1"),
        C([3, "s1", {}], version="ocpp2.0.1"),
        S([2, "s2", "StatusNotification", STATUS], 1, version="ocpp2.0.1"),
        C([3, "s2", {}], 1, version="ocpp2.0.1"),
    ],
    "local-list-version": [
        C([2, "l1", "SendLocalList", {"versionNumber": 0, "updateType": "Full"}]),
        S([3, "l1", {"status": "Accepted"}]),
    ],
    "heartbeat-too-often": [*boot("Accepted"), S(HB, 1), C(HB_OK, 1), S([2, "h2", "Heartbeat", {}], 5)],
    "error-code-spelling": [S(HB), C([4, "h1", "OccurenceConstraintViolation", "", {}])],
    "error-code-unknown": [S(HB), C([4, "h1", "Teapot", "", {}])],
    "error-description-length": [S(HB), C([4, "h1", "GenericError", "x" * 300, {}])],
    "appendix-value": [
        S([2, "a1", "Authorize", {"idToken": {"idToken": "C", "type": "RFID"}}]),
        C([3, "a1", {"idTokenInfo": {"status": "Accepted"}}]),
    ],
    "energy-unit": [
        S(
            [
                2,
                "m1",
                "MeterValues",
                {"evseId": 1, "meterValue": [{"timestamp": TS, "sampledValue": [WH_AS_W]}]},
            ]
        ),
        C([3, "m1", {}]),
    ],
    "profile-first-period": [C(set_profile(periods=(60, 120))), S([3, "p1", {"status": "Accepted"}])],
    "profile-periods-unsorted": [C(set_profile(periods=(0, 600, 300))), S([3, "p1", {"status": "Accepted"}])],
    "profile-tx-without-id": [C(set_profile("TxProfile")), S([3, "p1", {"status": "Accepted"}])],
    "profile-start-schedule": [C(set_profile(kind="Absolute")), S([3, "p1", {"status": "Accepted"}])],
    "firmware-request-id": [
        S([2, "f1", "FirmwareStatusNotification", {"status": "Downloading"}]),
        C([3, "f1", {}]),
    ],
    "monitor-notification-type": [
        C([2, "gm1", "GetMonitoringReport", {"requestId": 4}]),
        S([3, "gm1", {"status": "Accepted"}]),
        S([2, "nm1", "NotifyMonitoringReport", MONITOR_REPORT_2_0_1]),
        C([3, "nm1", {}]),
    ],
    "event-stream-data": [
        S(
            [
                6,
                "s1",
                "NotifyPeriodicEventStream",
                STREAM | {"data": [{"t": 0, "v": "1"}, {"t": -1, "v": "2"}]},
            ]
        )
    ],
    "certificate-request-id": [  # A02.FR.25: the CSMS answered request 7 with 8
        S([2, "sc1", "SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----", "requestId": 7}]),
        C([3, "sc1", {"status": "Accepted"}]),
        C([2, "cs1", "CertificateSigned", {"certificateChain": "-----BEGIN CERTIFICATE-", "requestId": 8}]),
        S([3, "cs1", {"status": "Rejected"}]),
    ],
}


def test_every_rule_has_a_planted_capture_and_the_registry_is_complete() -> None:
    assert set(PLANTED) == set(RULES)
    assert len(RULES) >= 20
    for name, info in RULES.items():
        assert info.name == name and info.severity in ("error", "warning", "info")
        assert info.requirement and info.summary


@pytest.mark.parametrize("rule", sorted(PLANTED))
def test_planted_mistake_triggers_exactly_its_rule(rule: str) -> None:
    findings = lint(PLANTED[rule])
    assert findings, f"{rule} did not fire"
    assert {f.rule for f in findings} == {rule}, [str(f) for f in findings]
    info = RULES[rule]
    assert all(f.severity == info.severity and f.requirement == info.requirement for f in findings)


def test_clean_frames_around_the_planted_ones_stay_quiet() -> None:
    records = [
        *boot("Accepted"),
        S(HB, 100),
        C(HB_OK, 100),
        *[
            r
            for r in tx_frames(
                tx("Started", 0, "CablePluggedIn", chargingState="EVConnected") | {"meterValue": energy(10)},
                tx("Updated", 1, "ChargingStateChanged", evse=None, chargingState="Charging"),
                tx("Ended", 2, "StopAuthorized", evse=None) | {"meterValue": energy(20)},
            )
        ],
        S([6, "s1", "NotifyPeriodicEventStream", STREAM]),
        C(GET_REPORT, 200),
        S([3, "g1", {"status": "Accepted"}], 200),
        S(notify_report("n1", 0, True), 201),
        C([3, "n1", {}], 201),
        S(notify_report("n2", 1, False), 202),
        C([3, "n2", {}], 202),
        S([2, "h2", "Heartbeat", {}], 300),
        C([3, "h2", {"currentTime": TS}], 300),
        S([5, "h2", "FormatViolation", "", {}], 300),  # the 2.1 way to refuse a response
    ]
    assert [str(f) for f in lint(records)] == []


def test_exact_retransmission_is_not_a_duplicate() -> None:
    ended = S([2, "e1", "TransactionEvent", tx("Ended", 1, "StopAuthorized", evse=None)], 1)
    records = [*tx_frames(tx("Started", 0)), ended, ended, C([3, "e1", {}], 2)]
    assert [str(f) for f in lint(records)] == []


def test_retried_transaction_event_with_a_new_id_is_not_a_repeat() -> None:
    # E13: the unanswered event is sent again after the timeout (new id, later flagged offline)
    event = tx("Started", 0)
    records = [
        S([2, "e1", "TransactionEvent", event]),
        S([2, "e2", "TransactionEvent", event], 31),
        C([3, "e2", {}], 31),
        S([2, "e3", "TransactionEvent", event | {"offline": True}], 40),
        C([3, "e3", {}], 40),
    ]
    assert [str(f) for f in lint(records)] == []


def test_keys_that_may_be_empty_match_the_schemas() -> None:
    names = {"customData"}
    for version in (OcppVersion.V201, OcppVersion.V21):
        for action in schemas.actions(version) | schemas.send_actions(version):
            for kind in Kind:
                doc = schemas.schema(version, action, kind)
                if doc is None:
                    continue
                definitions = doc.get("definitions", {})

                def resolve(
                    node: dict[str, Any], definitions: dict[str, Any] = definitions
                ) -> dict[str, Any]:
                    while "$ref" in node:
                        node = definitions[node["$ref"].rsplit("/", 1)[-1]]
                    return node

                for obj in (doc, *definitions.values()):
                    for name in obj.get("required", []):
                        prop = resolve(obj.get("properties", {}).get(name, {}))
                        if (prop.get("type") == "object" and not prop.get("required")) or (
                            prop.get("type") == "array" and not prop.get("minItems")
                        ):
                            names.add(name)
    assert names == set(_EMPTY_OK_KEYS)
    assert lint([C([2, "g", "GetChargingProfiles", {"requestId": 1, "chargingProfile": {}}])]) == []


def test_crossing_calls_and_timeouts() -> None:
    # CALLs of the two sides may cross (OCPP-J 4.1.1); a CALL after the timeout is allowed.
    records = [
        S(HB),
        C([2, "r1", "Reset", {"type": "OnIdle"}]),
        S([3, "r1", {"status": "Accepted"}]),
        C(HB_OK),
        S([2, "h2", "Heartbeat", {}], 10),
        S([2, "h3", "Heartbeat", {}], 45),
    ]
    assert lint(records) == []
    assert [f.rule for f in lint([*records, C([3, "h2", {"currentTime": TS}], 46)])] == ["late-result"]
    # a shorter timeout is the caller's choice
    assert "late-result" in {f.rule for f in lint([S(HB), C(HB_OK, 6)], timeout=5)}


def test_pending_station_may_send_triggered_messages() -> None:
    records = [
        *boot("Pending"),
        C([2, "t1", "TriggerMessage", {"requestedMessage": "Heartbeat"}], 1),
        S([3, "t1", {"status": "Accepted"}], 1),
        S(HB, 2),
        C(HB_OK, 2),
    ]
    assert lint(records) == []


def test_records_with_parsed_fields_and_mirrors() -> None:
    record = S([2, "a", "Heartbeat", {}])
    record.message_type, record.message_id, record.action, record.payload = 2, "a", "Heartbeat", {}
    mirror = C([3, "zzz", {}])
    mirror.mirror = True
    linter = Linter()
    assert linter.check(record) == [] and linter.check(mirror) == []
    finding = linter.check(C([2, "x", "Heartbeat", {}]))[0]
    assert str(finding).endswith("[wrong-direction] Heartbeat is not sent by the csms (OCPP-J 4.1.6)")


def test_memory_per_station_is_bounded() -> None:
    linter = Linter()
    for n in range(5000):
        linter.check(S([2, f"h{n}", "Heartbeat", {}], n * 100.0))
        linter.check(C([3, f"h{n}", {"currentTime": TS}], n * 100.0))
    state = linter._states[("station", "CP1")]
    assert len(state.ids["station"]) <= 512


# --- real traffic ---------------------------------------------------------------------------


async def _run_session(capture: Path | None = None) -> list[CaptureRecord]:
    session = Session(clock=AcceleratedClock(10.0), capture_path=capture)
    try:
        await session.start_csms()
        assert session.csms is not None
        config = StationConfig(
            station_id="CB-LINT",
            csms_url=session.csms.url,
            evse_count=2,
            overrides=dict(FAST),
            call_timeout=5,
        )
        station = session.add_station(config)
        await wait_until(lambda: station.online, 10)
        await station.plug(1)
        await station.tap("CARD-1")
        await wait_until(
            lambda: any(e["triggerReason"] == "MeterValuePeriodic" for e in tx_events(session)), 10
        )
        csms = session.csms
        await csms.call("CB-LINT", "GetBaseReport", {"requestId": 7, "reportBase": "ConfigurationInventory"})
        await csms.call(
            "CB-LINT",
            "GetVariables",
            {
                "getVariableData": [
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
                ]
            },
        )
        await csms.call("CB-LINT", "TriggerMessage", {"requestedMessage": "Heartbeat"})
        await csms.call(
            "CB-LINT",
            "TriggerMessage",
            {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
        )
        await asyncio.sleep(0.8)
        await station.tap("CARD-1")
        await wait_until(lambda: tx_events(session)[-1]["eventType"] == "Ended", 10)
        await station.unplug(1)
        # remote start on EVSE 2 (F02) and a TriggerMessage(BootNotification) to refuse (F06.FR.17)
        remote = {"idToken": {"idToken": "REMOTE-1", "type": "Central"}, "remoteStartId": 77, "evseId": 2}
        await csms.call("CB-LINT", "RequestStartTransaction", remote)
        await station.plug(2)
        await wait_until(
            lambda: any(e["transactionInfo"].get("remoteStartId") == 77 for e in tx_events(session)), 10
        )
        await csms.call("CB-LINT", "TriggerMessage", {"requestedMessage": "BootNotification"})
        await asyncio.sleep(0.5)
        return session.store.records()
    finally:
        await session.stop()


async def test_our_station_against_our_csms_lints_clean(tmp_path: Path) -> None:
    capture = tmp_path / "session.jsonl"
    records = await _run_session(capture)
    assert sum(1 for r in records if not r.mirror) > 20
    findings = lint_records(records)
    assert [str(f) for f in findings if f.severity != "info"] == []
    # the same capture through the offline path (what CI runs)
    offline, frames = check_capture(capture)
    assert frames > 20
    assert [str(f) for f in offline if f.severity != "info"] == []


def test_validate_prints_rule_severity_location_and_requirement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "planted.jsonl"
    shutil.copy(DATA / "planted-lints.jsonl", capture)
    assert main(["validate", str(capture)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"{capture}:3: error: [tx-seqno-repeat] T1 seqNo 0 after 0 (E01.FR.07)" in out
    assert f"{capture}:5: error: [tx-after-ended] Updated for T1 after it Ended (E §1.3.2)" in out
    assert any(
        line.startswith(f"{capture}:8: warning: [late-result]") and "(OCPP-J 4.1.1)" in line for line in out
    )
    assert any("[timestamp-not-utc]" in line for line in out)
    assert out[-1].startswith("8 frame(s) checked: 2 error(s), 2 warning(s)")


def test_validate_exit_code_ignores_info_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = tmp_path / "info.jsonl"
    writer = JsonlWriter(capture)
    for record in PLANTED["status-notification-deprecated"]:
        writer.write(record)
    writer.close()
    assert main(["validate", str(capture)]) == 0
    out = capsys.readouterr().out
    assert "[status-notification-deprecated]" in out and "(G01 (2.1))" in out
    assert out.splitlines()[-1] == "2 frame(s) checked: 0 error(s), 0 warning(s), 1 info"


async def test_live_session_marks_protocol_mistakes_on_the_frame() -> None:
    """The window's inspector shows lint findings on the frame they concern (as notes)."""
    import asyncio

    from app.session import Session
    from app.station.config import StationConfig

    session = Session()
    try:
        await session.start_csms()
        assert session.csms is not None
        station = session.add_station(StationConfig(station_id="LINT-LIVE", csms_url=session.csms.url))
        for _ in range(200):
            if station.online:
                break
            await asyncio.sleep(0.02)
        assert station.connection is not None
        await station.connection.send_raw('[2,"same-id","Heartbeat",{}]')
        await asyncio.sleep(0.1)
        # the same id for a different message (an identical retransmission would be allowed)
        await station.connection.send_raw('[2,"same-id","Heartbeat",{"customData":{"vendorId":"x"}}]')
        await asyncio.sleep(0.1)
    finally:
        await session.stop()
    flagged = [r for r in session.store if any("[duplicate-message-id]" in n for n in r.notes)]
    assert flagged and flagged[0].observer == "station" and flagged[0].message_id == "same-id"
