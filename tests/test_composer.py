"""The raw composer's frames on a real connection: a station sends them to the built-in CSMS over
loopback, and the CSMS answers what OCPP-J asks for each kind of breakage (Part 4 §4.2-4.3).
The templates themselves must be what they say: every valid skeleton passes the validator.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from app.clock import AcceleratedClock
from app.inspector.records import CaptureRecord
from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until
from ui.composer import BROKEN_TEMPLATES, judge, skeleton, template


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


async def start(session: Session) -> Station:
    await session.start_csms()
    assert session.csms is not None
    config = StationConfig(
        station_id="CB-RAW",
        csms_url=session.csms.url,
        evse_count=1,
        overrides={"AlignedDataCtrlr.Interval": "0"},
        call_timeout=5,
    )
    station = session.add_station(config)
    await wait_until(lambda: station.online, 10)
    return station


async def answer_to(session: Session, station: Station, text: str, message_id: str) -> CaptureRecord:
    """Send `text` raw from the station; the CSMS's answer as captured at the station."""
    conn = station.connection
    assert conn is not None
    await conn.send_raw(text)
    return await wait_until(
        lambda: next(
            (
                r
                for r in session.store
                if r.observer == "station" and r.sender == "csms" and r.message_id == message_id
            ),
            None,
        )
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Broken JSON", "RpcFrameworkError"),  # unreadable: answered with id "-1"
        ("Unknown action", "NotImplemented"),
        ("Wrong type", "TypeConstraintViolation"),
        ("Missing field", "OccurrenceConstraintViolation"),
    ],
)
async def test_broken_frames_get_the_callerror_ocpp_j_asks_for(
    session: Session, name: str, code: str
) -> None:
    station = await start(session)
    text = template(name, OcppVersion.V21, "BootNotification")
    assert judge(text, OcppVersion.V21, "BootNotification")[0] is False
    message_id = "-1" if name == "Broken JSON" else json.loads(text)[1]

    answer = await answer_to(session, station, text, message_id)
    assert answer.message_type == 4
    assert answer.payload["errorCode"] == code
    [sent] = [r for r in session.store if r.observer == "station" and r.raw == text]
    assert "sent raw" in sent.notes
    assert sent.problems, "the capture flags the broken frame the tester sent"
    assert station.online, "the CSMS keeps the station connected after a bad frame"


async def test_raw_call_is_answered_and_paired_with_its_action_and_latency(session: Session) -> None:
    station = await start(session)
    text = template("CALL", OcppVersion.V21, "Heartbeat")
    message_id = json.loads(text)[1]

    answer = await answer_to(session, station, text, message_id)
    assert answer.message_type == 3
    assert answer.action == "Heartbeat"
    assert answer.latency_ms is not None
    assert answer.problems == []
    assert "answer to a CALL sent raw" in answer.notes
    assert not any("no outstanding call" in n for n in answer.notes)
    # The station's own RPC state is untouched: its next call still works.
    assert station.connection is not None
    assert "currentTime" in await station.connection.call("Heartbeat", {})


async def test_raw_call_from_the_builtin_csms_reaches_the_station_handler(session: Session) -> None:
    station = await start(session)
    assert session.csms is not None
    link = await session.csms.wait_for_station("CB-RAW")
    text = template("CALL", OcppVersion.V21, "GetVariables")
    doc = json.loads(text)
    wanted = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    doc[3] = {"getVariableData": [wanted]}
    text = json.dumps(doc)
    await link.connection.send_raw(text)
    answer = await wait_until(
        lambda: next(
            (
                r
                for r in session.store
                if r.observer == "csms" and r.sender == "station" and r.message_id == doc[1]
            ),
            None,
        )
    )
    assert answer.action == "GetVariables"
    assert answer.payload["getVariableResult"][0]["attributeStatus"] == "Accepted"
    assert station.online


@pytest.mark.parametrize("version", [OcppVersion.V21, OcppVersion.V201, OcppVersion.V16])
def test_every_call_skeleton_is_a_valid_frame(version: OcppVersion) -> None:
    bad = {}
    for action in sorted(schemas.actions(version)):
        ok, line = judge(template("CALL", version, action), version, action)
        if not ok:
            bad[action] = line
        response = skeleton(version, action, Kind.RESPONSE)
        assert schemas.validate(version, action, Kind.RESPONSE, response) == []
    assert bad == {}


def test_breakage_presets_are_each_invalid_and_say_why() -> None:
    for name in BROKEN_TEMPLATES:
        if name == "Duplicate message id":
            continue  # valid on its own: a duplicate only shows on the wire
        ok, line = judge(template(name, OcppVersion.V21, "Authorize"), OcppVersion.V21, "Authorize")
        assert not ok and line.startswith("Not valid"), (name, line)
    text = template("Duplicate message id", OcppVersion.V21, "Heartbeat", last_id="abc-1")
    assert json.loads(text)[1] == "abc-1"
