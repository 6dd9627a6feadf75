"""The window's EVSE card sets the simulated temperature by hand, and a monitor the CSMS set on
it fires (N07): the built-in CSMS on loopback, clicks through Qt on a qasync loop."""

from __future__ import annotations

import asyncio

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QInputDialog  # noqa: E402

from app.session import Session  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def test_temperature_set_from_the_evse_card_trips_a_monitor(qtbot, loop: asyncio.AbstractEventLoop) -> None:
    session = Session()
    window = MainWindow(session, evse_count=1)
    qtbot.addWidget(window)
    window.show()

    async def body() -> None:
        station = await window.start(csms_url=None, station_id="CB-HOT", evse_count=1)
        await wait_until(lambda: station.online, 10, "the station to come online")
        assert session.csms is not None
        item = {
            "type": "UpperThreshold",
            "value": 45,
            "severity": 2,
            "component": {"name": "EVSE", "evse": {"id": 1}},
            "variable": {"name": "Temperature"},
        }
        answer = await session.csms.call("CB-HOT", "SetVariableMonitoring", {"setMonitoringData": [item]})
        assert answer["setMonitoringResult"][0]["status"] == "Accepted"

        panel = window.stations.panel_for(station)
        assert panel is not None
        card = panel.cards[1]
        assert card.temperature.text() == "25 °C"
        qtbot.mouseClick(card.temperature_button, Qt.MouseButton.LeftButton)
        [dialog] = [d for d in card.findChildren(QInputDialog) if d.isVisible()]
        assert dialog.doubleMaximum() == 150  # the variable's maxLimit
        dialog.setDoubleValue(60.0)
        dialog.accept()

        def alert() -> list[dict]:
            return [
                e
                for r in session.store
                if r.observer == "csms" and r.action == "NotifyEvent" and r.message_type == 2
                for e in r.payload["eventData"]
                if e.get("variableMonitoringId") == answer["setMonitoringResult"][0]["id"]
            ]

        await wait_until(alert, 10, "the monitor's NotifyEvent")
        events = alert()
        assert events[0]["trigger"] == "Alerting" and float(events[0]["actualValue"]) >= 59
        card.refresh()
        assert float(card.temperature.text().removesuffix(" °C")) >= 59

    async def scenario() -> None:
        try:
            await body()
        finally:
            await window.shutdown()

    loop.run_until_complete(scenario())
