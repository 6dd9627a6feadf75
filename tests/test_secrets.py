"""Passwords never appear in captures, files or exports (security by default)."""

from __future__ import annotations

import json
from pathlib import Path

from app.inspector.jsonl import MASK
from app.session import Session
from app.station.config import StationConfig
from tests.test_station_e2e import wait_until

SECRET = "correct-horse-battery-staple-42"


async def test_basic_auth_password_set_over_ocpp_is_masked_in_the_capture(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    session = Session(capture_path=capture)
    try:
        await session.start_csms()
        assert session.csms is not None
        station = session.add_station(StationConfig(station_id="SEC-1", csms_url=session.csms.url))
        await wait_until(lambda: station.online)
        answer = await session.csms.call(
            "SEC-1",
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "BasicAuthPassword"},
                        "attributeValue": SECRET,
                    }
                ]
            },
        )
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
        # The station really got it (the wire carries the value) ...
        assert station.dm.get_str("SecurityCtrlr", "BasicAuthPassword") == SECRET
    finally:
        await session.stop()
    # ... but no capture holds it: not the live store, not the file.
    for record in session.store:
        assert SECRET not in record.raw
        assert SECRET not in json.dumps(record.payload)
    text = capture.read_text()
    assert SECRET not in text
    assert MASK in text
