"""Scenario files, the runner and `chargebench run`, as a tester and a CI job meet them."""

from __future__ import annotations

import asyncio
import textwrap
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from app.cli import main
from app.scenarios.loader import ScenarioError, parse_scenario
from app.scenarios.runner import ScenarioRunner, StepStatus
from app.session import Session

WRONG_EXPECTATION = """\
name: Remote start, wrongly expected
speed: 10
stations:
  - id: SC-WRONG
    set: {AlignedDataCtrlr.Interval: 0}
steps:
  - wait: {state: Online}
  - tap: {token: CARD-1, evse: 1}
  - plug: 1
  - expect:
      action: TransactionEvent
      where: {eventType: Started, triggerReason: RemoteStart}
      within: 5 s
  - unplug: 1
"""


def scenario(text: str) -> str:
    return textwrap.dedent(text)


async def test_wrong_expectation_names_the_step_the_expected_and_the_actual_frame() -> None:
    result = await ScenarioRunner(parse_scenario(WRONG_EXPECTATION)).run()
    assert not result.passed
    assert [s.status for s in result.steps] == [
        StepStatus.PASSED,
        StepStatus.PASSED,
        StepStatus.PASSED,
        StepStatus.FAILED,
        StepStatus.SKIPPED,  # the flow stops at the first failure
    ]
    message = result.failure
    assert message.startswith(
        'step 4 "expect TransactionEvent where eventType = Started and triggerReason = RemoteStart": '
        "expected TransactionEvent where eventType = Started and triggerReason = RemoteStart within 5 s; "
        "saw TransactionEvent {eventType: Started, triggerReason: CablePluggedIn"
    ), message


HEAD = "name: x\nstations: [{id: A}]\nsteps:\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (HEAD + "  - plug: 1\n  - plgu: 1\n", 5, "unknown key 'plgu'; did you mean 'plug'?"),
        (HEAD + "  - plug: 1\n    tap: C\n", 4, "one step does one thing: found plug, tap"),
        (HEAD + "  - wait: 5 parsecs\n", 4, "wait"),
        (HEAD + "  - !!python/object/apply:os.system [ls]\n", 4, "YAML tags are not allowed"),
        (HEAD + "  - station: B\n    plug: 1\n", 4, "no station 'B'"),
        ("name: x\nstations: [{id: A, template: nope}]\nsteps: [{plug: 1}]\n", 2, "no template 'nope'"),
        (HEAD + "  - expect:\n      action: Heartbeat\n      filter: 'where ='\n", 6, "filter:"),
        ("name: x\nname: y\nstations: [{id: A}]\nsteps: [{plug: 1}]\n", 2, "duplicate key 'name'"),
    ],
)
def test_bad_scenario_files_are_refused_with_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, file="bad.yaml")
    assert f"bad.yaml:{line}:" in str(caught.value)
    assert words in str(caught.value)


def test_no_step_can_run_code() -> None:
    """Safe loading: a Python tag is refused before anything is constructed."""
    marker = Path("/tmp/chargebench-scenario-pwned")
    text = HEAD + f"  - caption: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ScenarioError):
        parse_scenario(text)
    assert not marker.exists()


async def test_time_acceleration_keeps_wire_timestamps_on_the_simulated_clock() -> None:
    text = scenario(
        """\
        name: accelerated
        speed: 600
        stations:
          - id: SC-FAST
            set: {AlignedDataCtrlr.Interval: 0}
        steps:
          - wait: {state: Online}
          - send: '[2, "before", "Heartbeat", {}]'
          - expect: {action: Heartbeat, type: CALLRESULT}
          - wait: 30 min
          - send: '[2, "after", "Heartbeat", {}]'
          - expect: {action: Heartbeat, type: CALLRESULT}
        """
    )
    runner = ScenarioRunner(parse_scenario(text), speed=600)
    session = runner.session
    began = asyncio.get_running_loop().time()
    result = await runner.run()
    real = asyncio.get_running_loop().time() - began
    assert result.passed, result.failure
    assert real < 10  # 30 simulated minutes took seconds
    times = [
        datetime.fromisoformat(r.payload["currentTime"].replace("Z", "+00:00"))
        for r in session.store.records()
        if r.message_id in ("before", "after") and r.message_type == 3 and not r.mirror
    ]
    assert len(times) == 2
    assert 29 * 60 <= (times[1] - times[0]).total_seconds() <= 32 * 60


async def test_pause_and_single_step() -> None:
    text = scenario(
        """\
        name: stepping
        speed: 10
        stations: [{id: SC-STEP}]
        steps:
          - caption: one
          - caption: two
          - caption: three
        """
    )
    runner = ScenarioRunner(parse_scenario(text))
    captions: list[str] = []
    runner.caption_shown.connect(captions.append)
    runner.pause()
    task = asyncio.ensure_future(runner.run())
    await asyncio.sleep(0.3)
    assert captions == []
    runner.step_once()
    await asyncio.sleep(0.3)
    assert captions == ["one"]
    assert runner.paused
    runner.resume()
    result = await asyncio.wait_for(task, 10)
    assert captions == ["one", "two", "three"] and result.passed


async def test_stop_skips_the_rest_and_fails_the_run() -> None:
    text = "name: long\nstations: [{id: SC-STOP}]\nsteps:\n  - wait: 1 h\n  - caption: never\n"
    runner = ScenarioRunner(parse_scenario(text))
    task = asyncio.ensure_future(runner.run())
    await asyncio.sleep(0.5)
    runner.stop()
    result = await asyncio.wait_for(task, 10)
    assert not result.passed
    assert [s.status for s in result.steps] == [StepStatus.FAILED, StepStatus.SKIPPED]
    assert result.steps[0].reason == "stopped by the user"


async def test_runs_against_another_csms_by_url_and_csms_steps_say_why_they_cannot() -> None:
    other = Session()
    csms = await other.start_csms()
    try:
        text = scenario(
            """\
            name: elsewhere
            speed: 10
            stations: [{id: SC-REMOTE-CSMS}]
            steps:
              - expect: {action: BootNotification, type: CALLRESULT, where: {status: Accepted}}
              - csms_call: {action: Reset, payload: {type: Immediate}}
            """
        )
        result = await ScenarioRunner(parse_scenario(text), csms_url=csms.url).run()
        assert result.steps[0].status is StepStatus.PASSED
        assert "SC-REMOTE-CSMS" in csms.stations  # the station really talked to that CSMS
        assert result.steps[1].status is StepStatus.FAILED
        assert "drives the built-in CSMS" in result.steps[1].reason
    finally:
        await other.stop()


def test_cli_run_passes_fails_and_writes_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: good\nspeed: 10\nstations: [{id: SC-CLI-OK}]\nsteps:\n  - wait: {state: Online}\n")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG_EXPECTATION)
    report = tmp_path / "junit.xml"

    assert main(["run", str(good)]) == 0
    assert "[ ok ]  1 wait until the station is Online" in capsys.readouterr().out

    assert main(["run", str(good), str(wrong), "--junit", str(report)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL]  4 expect TransactionEvent" in out
    assert "saw TransactionEvent {eventType: Started, triggerReason: CablePluggedIn" in out
    assert "1 of 2 scenario(s) passed" in out

    suites = ET.parse(report).getroot()
    assert [s.get("name") for s in suites] == ["good", "Remote start, wrongly expected"]
    failed = suites[1]
    assert (failed.get("failures"), failed.get("skipped")) == ("1", "1")
    failure = failed.find("testcase/failure")
    assert failure is not None and "expected TransactionEvent" in (failure.get("message") or "")


def test_cli_run_bad_file_exits_2_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nstations: [{id: A}]\nsteps:\n  - plug: 1\n  - unplgu: 1\n")
    assert main(["run", str(bad)]) == 2
    assert f"{bad}:5:" in capsys.readouterr().err


async def test_failure_shows_the_closest_frames_first() -> None:
    text = scenario(
        """\
        name: closest
        speed: 10
        stations: [{id: SC-CLOSEST, set: {AlignedDataCtrlr.Interval: 0}}]
        steps:
          - wait: {state: Online}
          - send: '[2, "n1", "NotifyEvent", {"generatedAt": "2026-01-01T00:00:00Z", "seqNo": 5}]'
          - send: '[2, "n2", "NotifyEvent", {"generatedAt": "2026-01-01T00:00:00Z", "seqNo": 7}]'
          - expect: {action: NotifyEvent, where: {seqNo: 7, tbc: true}, within: 1 s}
        """
    )
    result = await ScenarioRunner(parse_scenario(text)).run()
    assert "saw NotifyEvent {seqNo: 7, tbc: (absent)" in result.failure
