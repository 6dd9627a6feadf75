"""The window end to end: built-in CSMS, one station, a tester's first charge, by clicking.

Real parts only: the websocket between the station and the built-in CSMS is real loopback,
the clicks go through Qt. The asyncio side runs on a qasync loop created on pytest-qt's
QApplication and driven with run_until_complete, as the app does.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402

from app.inspector.records import CaptureRecord  # noqa: E402
from app.session import Session  # noqa: E402
from app.station.station import LinkState  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui import theme  # noqa: E402
from ui.bridge import SessionBridge  # noqa: E402
from ui.inspector_model import COL_ACTION, COL_VALID, InspectorModel  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def _started_event_rows(model: InspectorModel) -> list[int]:
    return [
        row
        for row in range(model.rowCount())
        if model.index(row, COL_ACTION).data() == "TransactionEvent"
        and isinstance(model.record(row).payload, dict)
        and model.record(row).payload.get("eventType") == "Started"
    ]


def test_plug_and_tap_start_a_charge_seen_in_the_inspector(
    qtbot, qtmodeltester, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()

    # One coroutine for the whole scenario: clicks make Qt process events, and qasync's
    # callbacks must only run while the loop is running.
    async def scenario() -> None:
        try:
            await clicks_to_a_charge(qtbot, qtmodeltester, session, window)
        finally:
            await window.shutdown()

    loop.run_until_complete(scenario())

    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    assert leftover == [], f"tasks still running after shutdown: {leftover}"
    assert "Task was destroyed but it is pending" not in caplog.text
    assert "exception was never retrieved" not in caplog.text


async def clicks_to_a_charge(qtbot, qtmodeltester, session: Session, window: MainWindow) -> None:
    station = await window.start(csms_url=None, station_id="CB-UI-1", evse_count=2)
    assert window.windowTitle() == "ChargeBench"
    assert session.csms is not None
    assert window.csms_bar.url.text() == session.csms.url
    assert "Running" in window.csms_bar.status.text()
    await wait_until(lambda: station.online, 10, "the station to come online")

    panel = window.stations.panel_for(station)
    assert panel is not None
    card = panel.cards[1]
    assert card.plug_button.text() == "Plug in"
    qtbot.mouseClick(card.plug_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: station.evses[1].plugged, 5, "the EV to be plugged in")
    assert card.card.text() == "CB-DEMO-0001"
    qtbot.mouseClick(card.tap_button, Qt.MouseButton.LeftButton)

    model = window.model
    await wait_until(lambda: bool(_started_event_rows(model)), 5, "TransactionEvent Started in the table")
    # Mirrors (the built-in CSMS's copies) are hidden by default: one Started row, not two.
    assert len(_started_event_rows(model)) == 1
    assert not any(model.record(r).mirror for r in range(model.rowCount()))

    await wait_until(lambda: card.power_kw() > 1.0, 8, "the EVSE card to show kW")
    tx = station.evses[1].transaction
    assert tx is not None
    assert card.plug_button.text() == "Unplug"
    assert card.status.text() == "Charging"
    assert card.transaction.text() == tx.transaction_id[:8]

    # Selecting the row fills the detail pane with the payload tree and the raw text.
    row = _started_event_rows(model)[0]
    window.inspector.select_row(row)
    detail = window.inspector.detail
    assert detail.record is model.record(row)
    tree = detail.tree
    keys = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert "eventType" in keys and "transactionInfo" in keys
    assert '"Started"' in detail.raw.toPlainText()

    window.inspector.show_mirrors.setChecked(True)
    assert len(_started_event_rows(model)) == 2
    window.inspector.filter.setText("authorize")
    assert model.rowCount() > 0
    assert all(model.record(r).action == "Authorize" for r in range(model.rowCount()))
    window.inspector.filter.clear()

    qtmodeltester.check(model)


def _record(seq: int, *, mirror: bool = False, problems: list[str] | None = None) -> CaptureRecord:
    return CaptureRecord(
        time=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(milliseconds=10 * seq),
        connection="CB-1@station",
        station="CB-1",
        sender="station",
        observer="csms" if mirror else "station",
        version="ocpp2.1",
        raw=f'[2,"m{seq}","Heartbeat",{{}}]',
        message_type=2,
        action="Heartbeat",
        message_id=f"m{seq}",
        payload={},
        problems=problems or [],
        mirror=mirror,
    )


def test_bridge_batches_inserts_and_keeps_what_the_live_store_trims(qtbot, qtmodeltester) -> None:
    session = Session()
    session.store.limit = 100
    model = InspectorModel()
    bridge = SessionBridge(session, model)
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserts.append((first, last)))
    try:
        for seq in range(30):
            session.capture(_record(seq, mirror=seq % 2 == 1))
        assert model.rowCount() == 0  # nothing touches Qt until the timer flushes
        bridge.flush()
        assert inserts == [(0, 14)]  # one batch, mirrors hidden
        assert model.total_count == 30 and model.mirror_count == 15

        for seq in range(30, 120):  # past the store's limit: it drops its oldest tenth
            session.capture(_record(seq, problems=["evse.id: -1 is less than the minimum of 0"]))
        bridge.flush()
        assert len(session.store) < 120
        # The window's capture (SQLite) keeps every frame the in-memory live store let go.
        assert model.total_count == 120 and model.rowCount() == 15 + 90
        assert model.record(0).seq == 1 and model.record(model.rowCount() - 1).seq == 120
        invalid = model.index(model.rowCount() - 1, COL_VALID)
        assert invalid.data() == "✗"
        assert invalid.data(Qt.ItemDataRole.ForegroundRole) == theme.INVALID

        model.set_only_problems(True)
        # schema problems and protocol findings (lints, as notes) both count as problems
        assert all(model.record(r).problems or model.record(r).notes for r in range(model.rowCount()))
        assert model.rowCount() < model.total_count  # clean frames are hidden
        qtmodeltester.check(model)
    finally:
        bridge.close()
        model.close()


def test_stop_start_and_edit_under_a_new_id(qtbot, loop: asyncio.AbstractEventLoop) -> None:
    session = Session()
    window = MainWindow(session, evse_count=1)
    qtbot.addWidget(window)
    window.show()
    pane = window.station_list

    async def scenario() -> None:
        try:
            first = await window.start(csms_url=None, station_id="CB-UI-2", evse_count=1)
            await wait_until(lambda: first.online, 10, "the station to come online")
            window.bridge.flush()
            assert pane.start_button.text() == "Stop"
            qtbot.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: first.state is LinkState.STOPPED, 5, "the station to stop")
            window.bridge.flush()
            assert "Stopped" in pane.row_texts()[0]
            assert pane.start_button.text() == "Start"
            qtbot.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: first.online, 10, "the station to come back online")

            # Edit: a new id replaces the station (a different station to the CSMS).
            dialog = window.open_edit_dialog(first)
            assert dialog.keep_radio.isChecked()
            dialog.station_id.setText("CB-UI-3")
            dialog.accept()
            await wait_until(lambda: "CB-UI-3" in session.stations, 5, "the edited station")
            second = session.stations["CB-UI-3"]
            await wait_until(lambda: second.online, 10, "the edited station to come online")
            window.bridge.flush()
            assert "CB-UI-2" not in session.stations
            assert window.stations.panel_for(first) is None
            assert window.stations.panel_for(second) is not None
            assert pane.current() is second

            # A bad URL is refused in the dialog, with the reason, and changes nothing.
            dialog = window.open_edit_dialog(second)
            dialog.csms_url.setText("http://nowhere")
            dialog.accept()
            assert dialog.isVisible()
            assert "ws://" in dialog.error.text()
            dialog.reject()
            assert session.stations["CB-UI-3"] is second
        finally:
            await window.shutdown()

    loop.run_until_complete(scenario())


def test_the_window_fits_a_1280_pixel_screen(qtbot) -> None:
    # Every tab's controls count toward the window's minimum width: one long row anywhere
    # would push the window off a common laptop screen.
    window = MainWindow(Session(), workspace_path=None)
    qtbot.addWidget(window)
    assert window.minimumSizeHint().width() <= 1280
    window.model.close()
