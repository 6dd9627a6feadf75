"""The Sequence tab end to end: a real charge on the built-in CSMS, drawn as arrows, exported.

Set CHARGEBENCH_SEQUENCE_SHOT=path to also save the window on the Sequence tab (docs/sequence.png).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.session import Session  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.sequence_view import MAX_ARROWS, SequenceView, row_at  # noqa: E402


def _labels(view: SequenceView) -> list[str]:
    return [row.label for row in view.rows]


def test_sequence_tab_draws_a_charge_marks_a_bad_frame_and_exports(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1500, 900)
    window.show()
    view = window.sequence_view

    async def scenario() -> None:
        try:
            station = await window.start(csms_url=None, station_id="CB-SEQ-1", evse_count=2)
            await wait_until(lambda: station.online, 10, "the station to come online")
            index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "Sequence")
            window.tabs.setCurrentIndex(index)
            assert window.tabs.currentWidget() is view

            panel = window.stations.panel_for(station)
            assert panel is not None
            card = panel.cards[1]
            qtbot.mouseClick(card.plug_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: station.evses[1].plugged, 5, "the EV to be plugged in")
            qtbot.mouseClick(card.tap_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: card.power_kw() > 1.0, 8, "the EVSE to charge")
            await asyncio.sleep(0.3)
            window.bridge.flush()
            view.refresh()

            assert view.station_combo.currentText() == "CB-SEQ-1"
            labels = _labels(view)
            assert any(label.startswith("BootNotification") for label in labels)
            assert any(label.startswith("✓ BootNotification Accepted") for label in labels)
            assert any(label.startswith("Authorize") for label in labels)
            assert any(label.startswith("TransactionEvent Started") for label in labels)
            # One arrow per frame, mirrors skipped: one Started, not two.
            assert sum(label.startswith("TransactionEvent Started") for label in labels) == 1
            own = [r for r in session.store.records() if r.station == "CB-SEQ-1" and not r.mirror]
            assert len(view.rows) == min(len(own), view.last_n.value())
            boot = next(r for r in view.rows if r.label.startswith("BootNotification"))
            assert boot.from_station and boot.kind == "call"
            result = next(r for r in view.rows if r.label.startswith("✓ BootNotification"))
            assert not result.from_station and result.kind == "result"

            # A bad frame (schema problem + lint finding) is marked, with a tooltip listing them.
            template = next(r for r in own if r.action == "Heartbeat" or r.message_type == 2)
            bad = template.replace(
                raw='[2,"bad-1","StatusNotification",{"evseId":-1}]',
                message_type=2,
                action="StatusNotification",
                message_id="bad-1",
                payload={"evseId": -1},
                problems=["evseId: -1 is less than the minimum of 0"],
                notes=[],
                mirror=False,
                time=session.clock.now(),
            )
            session.capture(bad)
            await wait_until(lambda: any(r.message_id == "bad-1" for r in view.rows), 3, "the bad frame")
            marked = next(r for r in view.rows if r.message_id == "bad-1")
            assert marked.marked and "minimum" in " ".join(marked.problems)
            assert view.rows[-1] is marked  # follow live: newest last
            assert "marked" in view.count_label.text()
            y = 64 + 36 * (len(view.rows) - 1) + 10
            assert row_at(y, len(view.rows)) == len(view.rows) - 1

            # Exports: the same layout as SVG (text searchable) and PNG.
            svg = view.export_svg()
            png = view.export_png()
            assert svg.startswith(b"<?xml") and b"BootNotification" in svg
            assert b"TransactionEvent Started" in svg
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
            view.save(tmp_path / "seq.svg")
            view.save(tmp_path / "seq.png")
            assert (tmp_path / "seq.svg").stat().st_size > 0 and (tmp_path / "seq.png").stat().st_size > 0

            # Time range mode: from/to cover the whole capture: every own frame (up to the cap).
            view.range_radio.setChecked(True)
            assert len(view.rows) == min(len(own) + 1, MAX_ARROWS)
            view.last_radio.setChecked(True)

            shot = os.environ.get("CHARGEBENCH_SEQUENCE_SHOT")
            if shot:
                # The rest of the flow for the picture: unplug ends the transaction.
                qtbot.mouseClick(card.plug_button, Qt.MouseButton.LeftButton)
                await wait_until(lambda: station.evses[1].transaction is None, 5, "the transaction to end")
                await asyncio.sleep(0.5)
                view.last_n.setValue(22)
                window.bridge.flush()
                view.refresh()
                await asyncio.sleep(0.2)
                QApplication.processEvents()
                window.grab().save(shot)
        finally:
            await window.shutdown()

    loop.run_until_complete(scenario())


def test_sequence_reads_older_frames_from_the_capture_once_the_live_store_let_them_go(qtbot) -> None:
    from datetime import UTC, datetime, timedelta

    from app.inspector.records import CaptureRecord
    from ui.bridge import SessionBridge
    from ui.inspector_model import InspectorModel

    session = Session()
    session.store.limit = 50  # the live tail keeps ~50 frames; the window's capture keeps all
    model = InspectorModel()
    bridge = SessionBridge(session, model)
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    try:
        for n in range(700):
            session.capture(
                CaptureRecord(
                    time=t0 + timedelta(seconds=n),
                    connection="CB-OLD@station",
                    station="CB-OLD",
                    sender="station",
                    observer="station",
                    version="ocpp2.1",
                    raw=f'[2,"h{n}","Heartbeat",{{}}]',
                    message_type=2,
                    action="Heartbeat",
                    message_id=f"h{n}",
                )
            )
        bridge.flush()
        model.db.flush()
        assert len(session.store) < 60
        view = SequenceView(session.store, history=lambda: model.db)
        qtbot.addWidget(view)
        view.set_stations(["CB-OLD"])
        view.last_n.setValue(300)
        assert len(view.rows) == 300 and view.dropped == 0
        assert view.rows[0].record.message_id == "h400" and view.rows[-1].record.message_id == "h699"
        # A time range wholly before the live tail: all from the capture.
        view.range_radio.setChecked(True)
        view.from_edit.setDateTime(t0 + timedelta(seconds=10))
        view.to_edit.setDateTime(t0 + timedelta(seconds=19))
        assert [r.record.message_id for r in view.rows] == [f"h{n}" for n in range(10, 20)]
        # The whole capture: capped, and the note says how many were left out.
        view.from_edit.setDateTime(t0)
        view.to_edit.setDateTime(t0 + timedelta(hours=1))
        assert len(view.rows) == MAX_ARROWS and view.dropped == 700 - MAX_ARROWS
        assert str(700 - MAX_ARROWS) in view.note()
    finally:
        bridge.close()
        model.close()
