"""The `chargebench` command as a user runs it: separate processes talking over loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [*CLI, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 15) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not printed; got:\n{''.join(seen)}")


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_station_charges_against_cli_csms_and_capture_validates(tmp_path: Path) -> None:
    port = free_port()
    csms_capture = tmp_path / "csms.jsonl"
    csms = spawn("csms", "--listen", f"127.0.0.1:{port}", "--capture", str(csms_capture), "--quiet")
    try:
        wait_for_line(csms, "CSMS listening")
        station_capture = tmp_path / "station.jsonl"
        station = run(
            "station",
            "--csms",
            f"ws://127.0.0.1:{port}/ocpp",
            "--id",
            "CLI-1",
            "--plugged",
            "1",
            "--duration",
            "3.5",
            "--set",
            "SampledDataCtrlr.TxUpdatedInterval=1",
            "--capture",
            str(station_capture),
        )
        assert station.returncode == 0, station.stderr
        assert "Started/Authorized" in station.stdout
        assert "Updated/MeterValuePeriodic" in station.stdout
        assert "INVALID" not in station.stdout
    finally:
        csms.send_signal(signal.SIGTERM)
        out, err = csms.communicate(timeout=10)
    assert csms.returncode == 0, err  # SIGTERM is a clean stop
    assert "chargebench: stopped" in out

    # The CSMS capture holds the same transaction, as JSON Lines with the documented fields.
    lines = [json.loads(line) for line in csms_capture.read_text().splitlines()]
    assert {"time", "station", "from", "frame", "valid", "problems"} <= set(lines[0])
    started = [
        json.loads(line["frame"])[3]
        for line in lines
        if line["from"] == "station" and line["action"] == "TransactionEvent" and line["type"] == 2
    ]
    assert started[0]["eventType"] == "Started"
    assert all(line["station"] == "CLI-1" for line in lines)

    # Both captures pass `chargebench validate` (exit 0).
    for capture in (csms_capture, station_capture):
        result = run("validate", str(capture))
        assert result.returncode == 0, result.stdout
        assert "0 error(s)" in result.stdout


def test_validate_reports_problems_with_location(tmp_path: Path) -> None:
    frame = tmp_path / "boot.json"
    frame.write_text(
        json.dumps([2, "1", "BootNotification", {"reason": "Sunrise", "chargingStation": {"model": "X"}}])
    )
    result = run("validate", str(frame))
    assert result.returncode == 1
    assert "reason" in result.stdout and "vendorName" in result.stdout
    assert str(frame) in result.stdout

    payload = tmp_path / "hb.json"
    payload.write_text(json.dumps({"currentTime": "yesterday"}))
    result = run("validate", str(payload), "--action", "Heartbeat", "--response")
    assert result.returncode == 1 and "currentTime" in result.stdout

    good = tmp_path / "ok.json"
    good.write_text(json.dumps([2, "1", "Heartbeat", {}]))
    assert run("validate", str(good)).returncode == 0


def test_validate_unreadable_input_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"time": "2026-01-01T00:00:00Z"}\nthis is not json\n')
    result = run("validate", str(broken))
    assert result.returncode == 2
    assert "broken.jsonl:2" in result.stderr
    missing = run("validate", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_station_with_unreachable_csms_keeps_retrying_and_exits_cleanly() -> None:
    port = free_port()  # nothing listens there
    result = run(
        "station", "--csms", f"ws://127.0.0.1:{port}/ocpp", "--id", "LONELY", "--duration", "2",
        "--set", "OCPPCommCtrlr.RetryBackOffWaitMinimum=1",
    )  # fmt: skip
    assert result.returncode == 0
    assert "Offline" in result.stdout and "cannot reach" in result.stdout


@pytest.mark.parametrize("bad", [["--id", "a:b"], ["--evses", "0"], ["--set", "NoSuch.Variable=1"]])
def test_station_bad_arguments_exit_2(bad: list[str]) -> None:
    result = run(
        "station", "--csms", "ws://127.0.0.1:1/ocpp", *(["--id", "X"] if "--id" not in bad else []), *bad
    )
    assert result.returncode == 2
    assert result.stderr.startswith("chargebench:")
    assert "Traceback" not in result.stderr
