"""Security events the station logs on its own (appendix 1 "Security events"), over a real
connection to the built-in CSMS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.session import Session
from app.station.config import StationConfig
from tests.support import wait_until


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session()
    yield s
    await s.stop()


async def test_invalid_messages_from_the_csms_are_logged_but_not_pushed(session: Session) -> None:
    csms = await session.start_csms()
    station = session.add_station(
        StationConfig("CB-SEC-EV", csms.url, evse_count=1, overrides={"AlignedDataCtrlr.Interval": "0"})
    )
    await wait_until(lambda: station.online and "CB-SEC-EV" in csms.stations)
    link = csms.stations["CB-SEC-EV"]

    # A Reset with a type the schema does not have, then a frame that is not JSON at all.
    await link.connection.send_raw('[2,"bad-1","Reset",{"type":"Sometimes"}]')
    await link.connection.send_raw('[2,"bad-2","Reset",')
    await wait_until(lambda: sum(e["type"] == "InvalidMessages" for e in station.security.log) == 2)
    first, second = [e for e in station.security.log if e["type"] == "InvalidMessages"]
    assert "Reset bad-1" in first["techInfo"] and "Sometimes" in first["techInfo"]
    assert len(second["techInfo"]) <= 255

    # Not critical (appendix): in the log for GetLog, never sent as SecurityEventNotification.
    assert not any(e["type"] == "InvalidMessages" for e in station.security.outbox)
    sent = [
        r.payload.get("type")
        for r in session.store
        if r.action == "SecurityEventNotification" and r.sender == "station" and r.message_type == 2
    ]
    assert "InvalidMessages" not in sent

    # A valid call is not an invalid message.
    before = len(station.security.log)
    await csms.call("CB-SEC-EV", "GetLocalListVersion", {})
    assert len(station.security.log) == before
