"""Offline validation of captures (app/inspector/offline.py, behind `chargebench validate`).

JSONL files are written in tmp_path: one produced by a real loopback exchange through
JsonlWriter, others by hand to hold exactly the fault under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.inspector.jsonl import CaptureFileError, JsonlWriter
from app.inspector.offline import FrameChecker, check_capture, check_document
from app.protocol.frames import Call
from app.protocol.schemas import OcppVersion
from tests.helpers_ws import TIMESTAMP, open_pair

V21, V201 = OcppVersion.V21, OcppVersion.V201
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
TX_STARTED = {
    "eventType": "Started",
    "timestamp": TIMESTAMP,
    "triggerReason": "CablePluggedIn",
    "seqNo": 0,
    "transactionInfo": {"transactionId": "tx-1"},
    "evse": {"id": 1, "connectorId": 1},
}


def line(
    frame: list[Any], sender: str, *, station: str = "CP1", version: str = "ocpp2.1", **extra: Any
) -> str:
    body = {
        "time": TIMESTAMP,
        "station": station,
        "from": sender,
        "frame": json.dumps(frame),
        "valid": True,
        "problems": [],
        "version": version,
        **extra,
    }
    return json.dumps(body)


def write(tmp_path: Path, *lines: str, name: str = "capture.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_real_capture_has_no_findings(tmp_path: Path) -> None:
    path = tmp_path / "real.jsonl"
    writer = JsonlWriter(path)

    async def csms(call: Call) -> dict[str, Any]:
        if call.action == "BootNotification":
            return {"currentTime": TIMESTAMP, "interval": 60, "status": "Accepted"}
        return {"currentTime": TIMESTAMP} if call.action == "Heartbeat" else {}

    async def station(call: Call) -> dict[str, Any]:
        return {"status": "Accepted"}

    # Both ends in one process: the CSMS copy of each frame is the mirror, judged once.
    async with open_pair(csms_handler=csms, station_handler=station, csms_mirror=True) as pair:
        pair.station.capture = pair.csms.capture = writer.write
        await pair.station.call("BootNotification", BOOT)
        await pair.station.call("Heartbeat", {})
        await pair.station.call("TransactionEvent", TX_STARTED)
        await pair.csms.call("Reset", {"type": "Immediate"})
        await pair.station.send(
            "NotifyPeriodicEventStream",
            {"id": 1, "pending": 0, "basetime": TIMESTAMP, "data": [{"t": 0, "v": "1"}]},
        )
        await pair.station.call("Heartbeat", {})  # the SEND has reached the CSMS once this returns
    writer.close()
    assert writer.count == 22  # 11 frames, each seen at both ends

    findings, frames = check_capture(path)
    assert findings == []
    assert frames == 11


def test_schema_broken_transaction_event_is_an_error_at_file_and_line(tmp_path: Path) -> None:
    broken = {k: v for k, v in TX_STARTED.items() if k != "triggerReason"} | {"seqNo": "zero"}
    path = write(
        tmp_path,
        line([2, "b1", "BootNotification", BOOT], "station"),
        line([3, "b1", {"currentTime": TIMESTAMP, "interval": 60, "status": "Accepted"}], "csms"),
        "",  # blank lines are allowed and still counted for line numbers
        line([2, "t1", "TransactionEvent", broken], "station"),
        line([3, "t1", {}], "csms"),
    )
    findings, frames = check_capture(path)
    assert frames == 4
    assert {f.location for f in findings} == {f"{path}:4"}
    assert all(f.severity == "error" and f.rule == "schema" for f in findings)
    text = " | ".join(f.message for f in findings)
    assert "triggerReason" in text and "OccurrenceConstraintViolation" in text
    assert "seqNo" in text and "TypeConstraintViolation" in text
    assert str(findings[0]).startswith(f"{path}:4: error: [schema] TransactionEvent")


def test_result_is_checked_against_the_schema_of_the_call_it_answers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line([2, "h1", "Heartbeat", {}], "station"),
        line([2, "r1", "Reset", {"type": "Immediate"}], "csms"),  # crossing CALL of the other side
        line([3, "r1", {"status": "Sure"}], "station"),
        line([3, "h1", {"currentTime": "noon"}], "csms"),
    )
    findings, _ = check_capture(path)
    assert [(f.location.rsplit(":", 1)[1], f.message.split(" ")[0]) for f in findings] == [
        ("3", "ResetResponse"),
        ("4", "HeartbeatResponse"),
    ]


def test_result_for_unknown_id_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line([2, "h1", "Heartbeat", {}], "station"),
        line([3, "h1", {"currentTime": TIMESTAMP}], "csms"),
        line([3, "h1", {"currentTime": TIMESTAMP}], "csms"),  # answered twice
        line([3, "ghost", {}], "csms", station="CP2"),
    )
    findings, _ = check_capture(path)
    assert [(f.location, f.severity, f.rule) for f in findings] == [
        (f"{path}:3", "warning", "correlation"),
        (f"{path}:4", "warning", "correlation"),
    ]
    assert "ghost" in findings[1].message


def test_ids_are_correlated_per_station_and_direction(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line([2, "same", "Heartbeat", {}], "station", station="CP1"),
        line([3, "same", {"currentTime": TIMESTAMP}], "csms", station="CP2"),  # other station
        line([3, "same", {"currentTime": TIMESTAMP}], "station", station="CP1"),  # wrong direction
        line([3, "same", {"currentTime": TIMESTAMP}], "csms", station="CP1"),
    )
    findings, _ = check_capture(path)
    assert [f.location.rsplit(":", 1)[1] for f in findings] == ["2", "3"]


def test_rpc_level_faults_and_versions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line([2, "x1", "MakeCoffee", {}], "station"),
        line([6, "s1", "NotifyPeriodicEventStream", {}], "station", version="ocpp2.0.1"),
        line([4, "x1", "Teapot", "", {}], "csms"),
        json.dumps(
            {
                "time": TIMESTAMP,
                "station": "CP1",
                "from": "station",
                "frame": "[2,",
                "valid": False,
                "problems": ["not valid JSON"],
            }
        ),
    )
    findings, frames = check_capture(path)
    assert frames == 4
    by_line = {f.location.rsplit(":", 1)[1]: f for f in findings}
    assert set(by_line) == {"1", "2", "3", "4"}
    assert "MakeCoffee is not a ocpp2.1 action" in by_line["1"].message
    assert by_line["2"].message.startswith("MessageTypeNotSupported")  # no SEND on 2.0.1
    assert (by_line["3"].severity, "Teapot" in by_line["3"].message) == ("warning", True)
    assert by_line["4"].message.startswith("RpcFrameworkError")


def test_mirror_lines_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line([2, "h1", "Heartbeat", {}], "station"),
        line([2, "h1", "Heartbeat", {}], "station", mirror=True),
        line([3, "h1", {"currentTime": TIMESTAMP}], "csms", mirror=True),
        line([3, "h1", {"currentTime": TIMESTAMP}], "csms"),
    )
    assert check_capture(path) == ([], 2)


def test_line_not_matching_the_capture_line_schema_is_reported(tmp_path: Path) -> None:
    bad_shape = json.dumps(
        {
            "time": "yesterday",
            "station": "CP1",
            "from": "ev",
            "frame": '[2,"h","Heartbeat",{}]',
            "valid": True,
            "problems": [],
            "version": "ocpp9",
        }
    )
    no_frame = json.dumps(
        {"time": TIMESTAMP, "station": "CP1", "from": "station", "valid": True, "problems": []}
    )
    path = write(tmp_path, bad_shape, no_frame)
    findings, frames = check_capture(path)
    assert frames == 1  # the line without a frame cannot be judged further
    capture_findings = [f for f in findings if f.rule == "capture"]
    assert [f.location.rsplit(":", 1)[1] for f in capture_findings] == ["1", "2"]
    assert "'ev' is not one of" in capture_findings[0].message
    assert "'frame' is a required property" in capture_findings[1].message


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"time": "x"}\n{not json\n', ":2:"),
        ('["a list", "not an object"]\n', ":1:"),
    ],
)
def test_corrupt_line_raises_capture_file_error(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "corrupt.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CaptureFileError) as info:
        check_capture(path)
    assert f"{path}{where}" in str(info.value)


# ------------------------------------------------------------ single documents


def test_check_document_frame_and_payload(tmp_path: Path) -> None:
    frame = tmp_path / "call.json"
    frame.write_text(json.dumps([2, "b1", "BootNotification", BOOT]), encoding="utf-8")
    assert check_document(frame, version=V21) == []

    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"reason": "PowerUp"}), encoding="utf-8")
    findings = check_document(payload, version=V21, action="BootNotification")
    assert [(f.location, f.rule) for f in findings] == [(str(payload), "schema")]
    assert "chargingStation" in findings[0].message

    response = tmp_path / "response.json"
    response.write_text(json.dumps({"currentTime": TIMESTAMP, "interval": 1, "status": "Accepted"}))
    assert check_document(response, version=V21, action="BootNotification", response=True) == []


def test_check_document_lone_result_uses_the_given_action(tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    result.write_text(
        json.dumps([3, "b1", {"currentTime": TIMESTAMP, "status": "Accepted"}]), encoding="utf-8"
    )
    findings = check_document(result, version=V21, action="BootNotification")
    assert len(findings) == 1 and "interval" in findings[0].message
    # Without the action there is nothing to check it against: a correlation warning.
    assert [f.rule for f in check_document(result, version=V21)] == ["correlation"]


def test_check_document_refusals(tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text("{}", encoding="utf-8")
    with pytest.raises(CaptureFileError, match="needs --action"):
        check_document(payload, version=V21)
    with pytest.raises(CaptureFileError, match=r"BatterySwap is not a ocpp2\.0\.1 action"):
        check_document(payload, version=V201, action="BatterySwap")
    broken = tmp_path / "broken.json"
    broken.write_text("[2,", encoding="utf-8")
    with pytest.raises(CaptureFileError, match="not JSON"):
        check_document(broken, version=V21)
    scalar = tmp_path / "scalar.json"
    scalar.write_text("42", encoding="utf-8")
    with pytest.raises(CaptureFileError, match="expected a frame"):
        check_document(scalar, version=V21)


def test_frame_checker_expect_result() -> None:
    checker = FrameChecker(V21)
    checker.expect_result("m1", "Heartbeat", station="CP1", caller="station")
    ok = checker.check(
        '[3,"m1",{"currentTime":"2026-01-01T00:00:00Z"}]', location="x", station="CP1", sender="csms"
    )
    assert ok == []
