"""A session recorded through the window's levers replays to the same message sequence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.clock import AcceleratedClock
from app.inspector.records import CaptureRecord
from app.scenarios.controls import controls_for
from app.scenarios.loader import load_scenario
from app.scenarios.recorder import Recorder
from app.scenarios.runner import ScenarioRunner
from app.session import Session
from app.station.config import StationConfig
from app.station.ev import EVModel
from tests.support import wait_until

KEY_ACTIONS = {"BootNotification", "Authorize", "TransactionEvent", "NotifyEvent", "StatusNotification"}


def key_sequence(records: list[CaptureRecord], station_id: str) -> list[tuple[Any, ...]]:
    """What the station told the CSMS, reduced to the fields a replay must reproduce."""
    out: list[tuple[Any, ...]] = []
    for r in records:
        if r.mirror or r.station != station_id or r.message_type != 2 or r.sender != "station":
            continue
        if r.action not in KEY_ACTIONS:
            continue
        p = r.payload
        token = (p.get("idToken") or {}).get("idToken")
        status = p.get("connectorStatus")
        if r.action == "NotifyEvent":
            event = p["eventData"][0]
            if event["component"]["name"] != "Connector":
                continue  # monitoring events depend on timing, not on what the tester did
            status = event.get("actualValue")
        out.append((r.action, p.get("eventType"), p.get("triggerReason"), token, status, p.get("offline")))
    return out


async def test_recorded_session_replays_to_the_same_message_sequence(tmp_path: Path) -> None:
    session = Session(clock=AcceleratedClock(20.0))
    try:
        csms = await session.start_csms()
        config = StationConfig(
            station_id="REC-1",
            csms_url=csms.url,
            evse_count=2,
            overrides={"AlignedDataCtrlr.Interval": "0", "SampledDataCtrlr.TxUpdatedInterval": "0"},
        )
        station = session.add_station(config)
        await wait_until(lambda: station.online)
        recorder = Recorder(session)
        recorder.start()
        levers = controls_for(station)  # what the window's buttons call
        await levers.plug(1, ev=EVModel.city_car(soc_percent=35.0))
        await levers.tap("REC-CARD", 1)
        await wait_until(lambda: station.evses[1].transaction is not None)
        await session.clock.sleep(20)
        await levers.set_external_limit(1, 4000.0)  # the local limit box on the EVSE card
        await session.clock.sleep(5)
        await levers.set_fault(2, True)
        await levers.set_network(False)
        await session.clock.sleep(10)
        await levers.unplug(1)
        await levers.set_network(True)
        await wait_until(lambda: station.online and station.queued_events == 0)
        await levers.set_fault(2, False)
        await session.clock.sleep(5)
        recorder.stop()
        original = key_sequence(session.store.records(), "REC-1")
        path = tmp_path / "recorded.yaml"
        recorder.save(path, "Recorded flow")
    finally:
        await session.stop()

    data = yaml.safe_load(path.read_text())
    # The station's shape and settings travel in a profile next to the scenario.
    assert data["stations"][0]["profile"] == "recorded.REC-1.profile.yaml"
    assert "TxUpdatedInterval" in (tmp_path / "recorded.REC-1.profile.yaml").read_text()
    kinds = [next(k for k in step if k != "station") for step in data["steps"]]
    assert kinds[:3] == ["wait", "plug", "expect"]
    assert {"tap", "limit", "fault", "network", "unplug", "wait"} <= set(kinds)
    assert data["steps"][1]["plug"]["ev"]["soc"] == 35.0

    replay = ScenarioRunner(load_scenario(path), speed=20)
    records: list[CaptureRecord] = []
    replay.session.store.added.connect(records.append)
    result = await replay.run()
    assert result.passed, result.failure
    assert key_sequence(records, "REC-1") == original
    assert ("TransactionEvent", "Ended", "EVCommunicationLost", None, None, True) in original
    assert ("TransactionEvent", "Updated", "ChargingRateChanged", None, None, None) in original


async def test_console_calls_are_recorded_with_the_transaction_of_the_evse(tmp_path: Path) -> None:
    session = Session(clock=AcceleratedClock(20.0))
    try:
        csms = await session.start_csms()
        config = StationConfig(station_id="REC-2", csms_url=csms.url)
        config.overrides = {"AlignedDataCtrlr.Interval": "0"}
        station = session.add_station(config)
        await wait_until(lambda: station.online)
        recorder = Recorder(session)
        recorder.start()
        await controls_for(station).plug(1)
        start = {"idToken": {"idToken": "APP", "type": "Central"}, "remoteStartId": 5, "evseId": 1}
        await csms.call("REC-2", "RequestStartTransaction", start)
        tx = await wait_until(lambda: station.evses[1].transaction)
        await csms.call("REC-2", "RequestStopTransaction", {"transactionId": tx.transaction_id})
        await wait_until(lambda: station.evses[1].transaction is None)
        await session.clock.sleep(1)
        recorder.stop()
        recorder.save(tmp_path / "remote.yaml", "Remote")
    finally:
        await session.stop()
    steps = yaml.safe_load((tmp_path / "remote.yaml").read_text())["steps"]
    calls = [s["csms_call"] for s in steps if "csms_call" in s]
    assert [c["action"] for c in calls] == ["RequestStartTransaction", "RequestStopTransaction"]
    assert calls[1]["use_transaction"] == {"evse": 1, "field": "transactionId"}
    assert calls[0]["expect"] == {"status": "Accepted"}
    result = await ScenarioRunner(load_scenario(tmp_path / "remote.yaml"), speed=20).run()
    assert result.passed, result.failure
