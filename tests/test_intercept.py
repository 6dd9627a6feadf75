"""Intercept mode: an emulated station and the built-in CSMS over real loopback websockets, with
frames held, edited, delayed and dropped on their way. Assertions are on what each end did and
on the capture (which must show the wire, not the intent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from app.clock import AcceleratedClock
from app.inspector.records import CaptureRecord
from app.protocol.errors import CallTimeout, ConnectionLost
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from app.transport.intercept import HeldFrame, Outcome, Rule
from tests.support import wait_until

FAST = {
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": "1",
    "OCPPCommCtrlr.RetryBackOffRandomRange": "0",
    "AlignedDataCtrlr.Interval": "0",
}


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


async def start(session: Session, versions: tuple[OcppVersion, ...] = (OcppVersion.V21,)) -> Station:
    await session.start_csms()
    assert session.csms is not None
    config = StationConfig(
        station_id="CB-INT", csms_url=session.csms.url, evse_count=1, overrides=FAST, call_timeout=5
    )
    config.versions = versions
    station = session.add_station(config)
    await wait_until(lambda: station.online, 10)
    await session.csms.wait_for_station("CB-INT")
    return station


def frames(
    session: Session, action: str, *, observer: str, sender: str, mtype: int | None = None
) -> list[CaptureRecord]:
    return [
        r
        for r in session.store
        if r.observer == observer
        and r.sender == sender
        and r.action == action
        and (mtype is None or r.message_type == mtype)
    ]


def collect(session: Session) -> list[HeldFrame]:
    held: list[HeldFrame] = []
    session.interceptor.frame_held.connect(held.append)
    return held


async def test_held_status_notification_is_edited_and_the_csms_gets_the_edit(session: Session) -> None:
    station = await start(session, versions=(OcppVersion.V201,))  # G01: StatusNotification on 2.0.1
    held = collect(session)
    session.interceptor.add_rule(Rule(direction="outgoing", action="StatusNotification"))
    before = len(frames(session, "StatusNotification", observer="csms", sender="station"))  # boot report

    fault = asyncio.ensure_future(station.set_fault(1, True))
    frame = await wait_until(lambda: held and held[0])
    assert frame.direction == "outgoing" and frame.message_type == 2
    assert '"Faulted"' in frame.text
    await asyncio.sleep(0.2)
    # Held means held: nothing went out yet, the CSMS still believes the connector is Available.
    assert len(frames(session, "StatusNotification", observer="csms", sender="station")) == before
    frame.release_edited(frame.text.replace('"Faulted"', '"Unavailable"'))
    await fault

    assert session.csms is not None
    link = session.csms.stations["CB-INT"]
    await wait_until(lambda: link.connector_status.get((1, 1)) == "Unavailable")
    at_station = frames(session, "StatusNotification", observer="station", sender="station", mtype=2)[before:]
    assert len(at_station) == 1
    assert '"Unavailable"' in at_station[0].raw and "Faulted" not in at_station[0].raw
    assert any("edited by the tester" in n for n in at_station[0].notes)
    assert at_station[0].problems == []  # still a valid frame: Unavailable is a ConnectorStatus
    # The station still believes what it meant to say.
    assert station.evses[1].connectors[0].status.value == "Faulted"
    # "Next only": the rule is used up and the next report passes untouched.
    assert session.interceptor.rules == []
    await station.set_fault(1, False)
    await wait_until(lambda: link.connector_status.get((1, 1)) == "Available")
    assert held == [frame] and frame.outcome is Outcome.EDITED


async def test_dropped_heartbeat_never_reaches_the_wire_and_the_call_times_out(session: Session) -> None:
    station = await start(session)
    held = collect(session)
    held_now = session.interceptor.frame_held.connect(lambda f: f.drop())
    session.interceptor.add_rule(Rule(direction="outgoing", action="Heartbeat"))
    conn = station.connection
    assert conn is not None

    started = time.monotonic()
    with pytest.raises(CallTimeout):
        await conn.call("Heartbeat", {}, timeout=1.0)
    assert time.monotonic() - started >= 1.0
    assert len(held) == 1 and held[0].outcome is Outcome.DROPPED
    # Capture = wire: a dropped outgoing frame is nowhere, at either end.
    assert [r for r in session.store if r.action == "Heartbeat"] == []

    session.interceptor.frame_held.disconnect(held_now)
    answer = await conn.call("Heartbeat", {})  # the rule was "next only": this one goes through
    assert "currentTime" in answer
    assert len(frames(session, "Heartbeat", observer="csms", sender="station", mtype=2)) == 1


async def test_delayed_callresult_arrives_late_and_its_latency_shows_it(session: Session) -> None:
    station = await start(session)
    held = collect(session)
    session.interceptor.frame_held.connect(lambda f: f.delay(2.0))
    # Held at the station, incoming: the CSMS answered at once, the station reads it 2 s later.
    session.interceptor.add_rule(Rule(direction="incoming", action="Heartbeat", message_type=3))
    conn = station.connection
    assert conn is not None

    started = time.monotonic()
    await conn.call("Heartbeat", {})
    assert time.monotonic() - started >= 2.0
    assert held[0].action == "Heartbeat" and held[0].outcome is Outcome.DELAYED
    [answer] = frames(session, "Heartbeat", observer="station", sender="csms", mtype=3)
    assert answer.latency_ms is not None and answer.latency_ms >= 2000
    assert any("delayed 2 s" in n for n in answer.notes)
    [sent_by_csms] = frames(session, "Heartbeat", observer="csms", sender="csms", mtype=3)
    assert sent_by_csms.latency_ms is not None and sent_by_csms.latency_ms < 1000


async def test_dropped_incoming_remote_start_is_never_answered(session: Session) -> None:
    station = await start(session)
    held = collect(session)
    session.interceptor.frame_held.connect(lambda f: f.drop())
    session.interceptor.add_rule(Rule(direction="incoming", action="RequestStartTransaction"))
    assert session.csms is not None

    request = {"idToken": {"idToken": "CARD-1", "type": "ISO14443"}, "remoteStartId": 7}
    with pytest.raises(CallTimeout):
        await session.csms.call("CB-INT", "RequestStartTransaction", request, timeout=1.5)
    assert held[0].outcome is Outcome.DROPPED
    # Captured as received at the station, marked, and never handled: no answer, no transaction.
    [call] = frames(session, "RequestStartTransaction", observer="station", sender="csms")
    assert any("[intercept] dropped" in n for n in call.notes)
    answers = [r for r in session.store if r.sender == "station" and r.message_id == call.message_id]
    assert answers == []
    assert station.evses[1].transaction is None
    # The station's reader is free again: the next CSMS call is answered.
    wanted = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    status = await session.csms.call("CB-INT", "GetVariables", {"getVariableData": [wanted]})
    assert status["getVariableResult"][0]["attributeStatus"] == "Accepted"


async def test_a_forgotten_hold_is_released_by_the_hold_timeout(session: Session) -> None:
    station = await start(session)
    session.interceptor.hold_timeout = 0.5
    held = collect(session)
    session.interceptor.add_rule(Rule(direction="outgoing", action="Heartbeat", every=True))
    conn = station.connection
    assert conn is not None

    await conn.call("Heartbeat", {})
    await conn.call("Heartbeat", {})
    assert [f.outcome for f in held] == [Outcome.TIMED_OUT, Outcome.TIMED_OUT]
    assert session.interceptor.held == {}
    sent = frames(session, "Heartbeat", observer="station", sender="station", mtype=2)
    assert len(sent) == 2
    assert all(any("0.5 s hold timeout" in n for n in r.notes) for r in sent)


async def test_held_frame_at_a_closing_connection_goes_nowhere(session: Session) -> None:
    station = await start(session)
    held = collect(session)
    session.interceptor.add_rule(Rule(direction="outgoing", action="Heartbeat"))
    conn = station.connection
    assert conn is not None

    heartbeat = asyncio.ensure_future(conn.call("Heartbeat", {}))
    await wait_until(lambda: held)
    await conn.close(1001, "test")
    with pytest.raises(ConnectionLost):  # the station sees its link go
        await heartbeat
    await wait_until(lambda: held[0].outcome is not None)
    assert held[0].outcome is Outcome.GONE
    with pytest.raises(RuntimeError, match="no longer held"):
        held[0].release()
    assert [r for r in session.store if r.action == "Heartbeat"] == []


async def test_rules_filter_by_station_side_and_type(session: Session) -> None:
    await start(session)
    held = collect(session)
    interceptor = session.interceptor
    interceptor.frame_held.connect(lambda f: f.release())
    interceptor.add_rule(Rule(station="SOMEONE-ELSE", every=True))
    interceptor.add_rule(Rule(side="csms", direction="incoming", action="Heartbeat", message_type=2))
    assert session.csms is not None
    station = session.stations["CB-INT"]
    assert station.connection is not None

    await station.connection.call("Heartbeat", {})
    # Only the CSMS end held it: the other rule names another station.
    assert [(f.side, f.direction, f.action) for f in held] == [("csms", "incoming", "Heartbeat")]
    assert [r.describe() for r in interceptor.rules] == ["every frame · SOMEONE-ELSE"]
    interceptor.set_enabled(False)
    interceptor.add_rule(Rule(every=True))
    await station.connection.call("Heartbeat", {})
    assert len(held) == 1  # switched off: nothing is held


async def test_at_the_proxy_a_real_chargers_frame_is_edited_or_dropped_on_its_way(session: Session) -> None:
    # The station stands in for a real charger: it talks to the built-in CSMS through the proxy,
    # and the rules hold its frames at the proxy (side "proxy"; outgoing = sent by the charger).
    csms = await session.start_csms()
    proxy = await session.start_proxy("127.0.0.1", 0, csms.url)
    config = StationConfig(
        station_id="CB-PXI", csms_url=proxy.url, evse_count=1, overrides=FAST, call_timeout=5
    )
    config.versions = (OcppVersion.V201,)  # StatusNotification (G01) on 2.0.1
    station = session.add_station(config)
    await wait_until(lambda: station.online, 10)
    link = await csms.wait_for_station("CB-PXI")
    held = collect(session)

    session.interceptor.add_rule(Rule(side="proxy", direction="outgoing", action="StatusNotification"))
    fault = asyncio.ensure_future(station.set_fault(1, True))
    frame = await wait_until(lambda: held and held[0])
    assert (frame.side, frame.station, frame.direction) == ("proxy", "CB-PXI", "outgoing")
    assert '"Faulted"' in frame.text and frame.summary.startswith("CB-PXI →")
    frame.release_edited(frame.text.replace('"Faulted"', '"Unavailable"'))
    await fault
    await wait_until(lambda: link.connector_status.get((1, 1)) == "Unavailable")
    # Each capture point shows its own wire: the charger sent Faulted, the proxy forwarded the edit.
    sent = frames(session, "StatusNotification", observer="station", sender="station", mtype=2)
    forwarded = frames(session, "StatusNotification", observer="proxy", sender="station", mtype=2)
    assert '"Faulted"' in sent[-1].raw
    assert '"Unavailable"' in forwarded[-1].raw and any("edited" in n for n in forwarded[-1].notes)

    # Dropped at the proxy: the CSMS never sees the heartbeat, the charger's call times out.
    session.interceptor.add_rule(Rule(side="proxy", direction="outgoing", action="Heartbeat"))
    before = len(frames(session, "Heartbeat", observer="csms", sender="station"))
    assert station.connection is not None
    beat = asyncio.ensure_future(station.connection.call("Heartbeat", {}))
    frame = await wait_until(lambda: len(held) == 2 and held[1])
    frame.drop()
    with pytest.raises((CallTimeout, ConnectionLost)):
        await beat
    assert len(frames(session, "Heartbeat", observer="csms", sender="station")) == before
    dropped = frames(session, "Heartbeat", observer="proxy", sender="station", mtype=2)[-1]
    assert any("dropped" in n for n in dropped.notes)
