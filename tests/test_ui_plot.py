"""The Power tab end to end: a charging emulated station on the built-in CSMS, its power plotted.

Real parts: the station and the built-in CSMS talk over loopback; the plot reads the same
PowerSeries the bridge feeds from the capture store. The CSMS sends a SetChargingProfile; the
setpoint line must show it only if the station accepted it. An emulated station without smart
charging answers NotSupported: then the test feeds the series the frames a real charger that
accepts it would produce (same shapes as on the wire), and checks the line from those.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402

from app.clock import utc_timestamp  # noqa: E402
from app.inspector.records import CaptureRecord  # noqa: E402
from app.protocol.errors import OcppError  # noqa: E402
from app.session import Session  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.plot_view import step_xy  # noqa: E402

STATION = "CB-PLOT-1"


def test_step_xy_splits_the_staircase_at_now() -> None:
    t = np.array([0.0, 10.0, 20.0, 30.0])
    w = np.array([1000.0, np.nan, 3000.0, 3000.0])
    (px, py), (fx, fy) = step_xy(t, w, 15.0)
    assert list(px) == [0.0, 10.0, 10.0, 15.0]
    assert list(py[:2]) == [1.0, 1.0] and np.isnan(py[2:]).all()
    assert list(fx) == [15.0, 20.0, 20.0, 30.0]
    assert np.isnan(fy[:2]).all() and list(fy[2:]) == [3.0, 3.0]


def _profile_payload(tx_id: str, start: str) -> dict[str, Any]:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": 71,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": tx_id,
            "chargingSchedule": [
                {
                    "id": 1,
                    "startSchedule": start,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 6000.0},
                        {"startPeriod": 600, "limit": 4000.0},
                    ],
                }
            ],
        },
    }


def _recorded_accept(session: Session, payload: dict[str, Any]) -> list[CaptureRecord]:
    """The CALL and its Accepted CALLRESULT as the built-in CSMS would capture them."""
    now = session.clock.now()
    common: dict[str, Any] = {
        "connection": f"{STATION}@csms",
        "station": STATION,
        "observer": "csms",
        "version": "2.1",
        "message_id": "plot-test-1",
    }
    return [
        CaptureRecord(
            time=now,
            sender="csms",
            raw="[2]",
            message_type=2,
            action="SetChargingProfile",
            payload=payload,
            **common,
        ),
        CaptureRecord(
            time=now + timedelta(milliseconds=30),
            sender="station",
            raw="[3]",
            message_type=3,
            payload={"status": "Accepted"},
            **common,
        ),
    ]


def test_power_tab_plots_a_charge_and_a_profile_and_exports(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        try:
            await charge_and_plot(qtbot, session, window, tmp_path, outcome)
        finally:
            await window.shutdown()

    loop.run_until_complete(scenario())
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    assert leftover == [], f"tasks still running after shutdown: {leftover}"
    assert "Task was destroyed but it is pending" not in caplog.text
    print(f"SetChargingProfile answered by the emulated station: {outcome.get('answer')}")


async def charge_and_plot(qtbot, session: Session, window: MainWindow, tmp_path: Path, outcome: dict) -> None:
    station = await window.start(csms_url=None, station_id=STATION, evse_count=2)
    await wait_until(lambda: station.online, 10, "the station to come online")
    csms = session.csms
    assert csms is not None
    # One meter value a second, so the plot fills within the test.
    result = await csms.call(
        STATION,
        "SetVariables",
        {
            "setVariableData": [
                {
                    "component": {"name": "SampledDataCtrlr"},
                    "variable": {"name": "TxUpdatedInterval"},
                    "attributeValue": "1",
                }
            ]
        },
    )
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"

    tabs, view = window.tabs, window.power_view
    assert [tabs.tabText(i) for i in range(tabs.count())][:2] == ["Inspector", "Power"]
    tabs.setCurrentWidget(view)
    assert view.isVisible()
    # The plot follows the station selected in the list, EVSE 1 first.
    assert view.station_id == STATION and view.evse_id == 1
    assert view.station_combo.currentText() == STATION
    assert [view.evse_combo.itemText(i) for i in range(view.evse_combo.count())] == ["EVSE 1", "EVSE 2"]

    panel = window.stations.panel_for(station)
    assert panel is not None
    card = panel.cards[1]
    qtbot.mouseClick(card.plug_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: station.evses[1].plugged, 5, "the EV to be plugged in")
    qtbot.mouseClick(card.tap_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: station.evses[1].transaction is not None, 5, "a transaction")

    def plotted_power() -> np.ndarray:
        _, y = view.power_item.getData()
        return np.asarray(y if y is not None else [])

    await wait_until(lambda: (plotted_power() > 0).sum() >= 2, 10, "delivered power > 0 on the plot")
    assert view.follow  # on by default: the view ends a quarter span ahead of now
    (x0, x1), _ = view.viewbox.viewRange()
    assert x1 - x0 == pytest.approx(view.span, rel=0.01)
    assert x1 > view.series.now()
    assert view.setpoint_item.getData()[0] is None or len(view.setpoint_item.getData()[0]) == 0

    tx = station.evses[1].transaction
    assert tx is not None
    payload = _profile_payload(tx.transaction_id, utc_timestamp(session.clock.now()))
    try:
        answer = await csms.call(STATION, "SetChargingProfile", payload)
        outcome["answer"] = answer.get("status")
    except OcppError as exc:
        outcome["answer"] = exc.code
    window.bridge.flush()
    await asyncio.sleep(0.2)
    if outcome["answer"] != "Accepted":
        # Refused: nothing on the plot. Then a charger that accepts it, frame for frame.
        assert not [e for e in view.series.series(STATION, 1).events if e.kind == "set"]
        window.bridge.power.feed(_recorded_accept(session, payload))

    def setpoint_drawn() -> bool:
        _, past = view.setpoint_item.getData()
        _, future = view.future_item.getData()
        return past is not None and future is not None and len(past) > 0 and len(future) > 0

    await wait_until(setpoint_drawn, 3, "the setpoint line")

    def drawn_kw(item: object) -> set[float]:
        _, y = item.getData()  # type: ignore[attr-defined]
        return set(np.round(y[~np.isnan(y)], 3)) if y is not None else set()

    # Following now, the view moves a pixel at a time (~1 s here): then the past has the step.
    await wait_until(lambda: 6.0 in drawn_kw(view.setpoint_item), 4, "the setpoint solid up to now")
    _, future = view.future_item.getData()
    assert {6.0, 4.0} <= set(np.round(future[~np.isnan(future)], 3))  # dashed: the schedule ahead
    labels = [m.label.textItem.toPlainText() for m in view._markers if m.isVisible()]
    assert "set Tx #71" in labels
    assert "6.0 kW" in view.summary.text() and "next: 4.0 kW" in view.summary.text()

    # Panning with the mouse stops following; the button brings it back.
    view.viewbox.sigRangeChangedManually.emit([True, False])  # what a mouse drag emits
    assert not view.follow and not view.follow_button.isChecked()
    qtbot.mouseClick(view.follow_button, Qt.MouseButton.LeftButton)
    assert view.follow

    png = view.export_png(tmp_path / "power.png")
    csv_path = view.export_csv(tmp_path / "power.csv")
    assert png.stat().st_size > 5_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = csv_path.read_text()
    assert text.startswith("time_utc,epoch_s,kind,power_w")
    assert ",set," in text and "TxProfile id 71" in text
    assert sum(1 for line in text.splitlines() if ",sample," in line) >= 2
