"""Fault injection from the window: the Intercept tab holds, edits and drops a station's frames,
and the raw composer sends a hand-written frame and shows the answer. Real loopback websockets
between an emulated station and the built-in CSMS; the clicks go through Qt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402

from app.protocol.errors import CallTimeout  # noqa: E402
from app.session import Session  # noqa: E402
from app.station.station import Station  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402

SHOTS = os.environ.get("CHARGEBENCH_SHOTS")  # a directory: save what the tester sees there


def run_window(qtbot, loop: asyncio.AbstractEventLoop, scenario) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()

    async def main() -> None:
        try:
            await scenario(qtbot, session, window)
        finally:
            await window.shutdown()

    loop.run_until_complete(main())
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    assert leftover == [], f"tasks still running after shutdown: {leftover}"


def heartbeats(session: Session, mtype: int = 2) -> list:  # type: ignore[type-arg]
    return [
        r
        for r in session.store
        if r.observer == "station" and r.action == "Heartbeat" and r.message_type == mtype
    ]


def test_intercept_tab_holds_releases_edits_and_drops(
    qtbot, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    run_window(qtbot, loop, intercept_scenario)
    assert "Task was destroyed but it is pending" not in caplog.text


async def intercept_scenario(qtbot, session: Session, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    station = await window.start(csms_url=None, station_id="CB-INT-UI", evse_count=1)
    await wait_until(lambda: station.online, 10, "the station to come online")
    panel = window.intercept_panel
    window.show_tab(panel)
    panel.direction.setCurrentIndex(panel.direction.findData("outgoing"))
    panel.station.setCurrentText("CB-INT-UI")
    panel.action.setCurrentText("Heartbeat")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert panel.rules.count() == 1
    assert panel.rules.item(0).text() == "next outgoing Heartbeat · CB-INT-UI"

    # 1. Held, then released as is.
    call = asyncio.ensure_future(heartbeat(station))
    await wait_until(lambda: panel.held.topLevelItemCount() == 1, 5, "the held frame in the list")
    item = panel.held.topLevelItem(0)
    assert "Heartbeat CALL" in item.text(3) and item.text(2) == "station, outgoing"
    assert item.text(1).endswith(" s") and 100 <= int(item.text(1).split()[0]) <= 120  # countdown
    assert '"Heartbeat"' in panel.editor.toPlainText()
    assert panel.release_button.isEnabled()
    assert heartbeats(session) == [], "a held frame is not in the capture"
    if SHOTS:
        window.intercept_panel.grab().save(os.path.join(SHOTS, "intercept.png"))
    qtbot.mouseClick(panel.release_button, Qt.MouseButton.LeftButton)
    await call
    assert panel.held.topLevelItemCount() == 0 and panel.rules.count() == 0
    [sent] = heartbeats(session)
    assert any(n.startswith("[intercept] held") for n in sent.notes)

    # 2. Every heartbeat, this one released edited into a broken frame: the CSMS refuses it.
    panel.every.setCurrentIndex(panel.every.findData(True))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    call = asyncio.ensure_future(heartbeat(station, timeout=2.0))
    await wait_until(lambda: panel.held.topLevelItemCount() == 1, 5, "the second held frame")
    panel.editor.setPlainText('[2,"edited-1","Heartbeat",{"surprise":true}]')
    assert "Not valid" in panel.verdict.text() and "(edited)" in panel.verdict.text()
    qtbot.mouseClick(panel.edited_button, Qt.MouseButton.LeftButton)
    with pytest.raises(CallTimeout):  # the station waits for its own id, the CSMS answered another
        await call
    await wait_until(
        lambda: any(r.message_id == "edited-1" and r.message_type == 4 for r in session.store),
        5,
        "the CSMS's CALLERROR to the edited frame",
    )
    edited = next(r for r in heartbeats(session) if r.message_id == "edited-1")
    assert edited.problems and any("edited by the tester" in n for n in edited.notes)

    # 3. Dropped: nothing on the wire, the station's call times out.
    before = len(heartbeats(session))
    call = asyncio.ensure_future(heartbeat(station, timeout=1.0))
    await wait_until(lambda: panel.held.topLevelItemCount() == 1, 5, "the third held frame")
    qtbot.mouseClick(panel.drop_button, Qt.MouseButton.LeftButton)
    with pytest.raises(CallTimeout):
        await call
    assert len(heartbeats(session)) == before
    assert panel.rules.count() == 1  # an "every" rule stays
    panel.rules.setCurrentRow(0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert session.interceptor.rules == []

    # 4. The CSMS's answer, held where the station receives it and delayed by 1 s.
    panel.direction.setCurrentIndex(panel.direction.findData("incoming"))
    panel.frame_type.setCurrentIndex(panel.frame_type.findData(3))
    panel.every.setCurrentIndex(panel.every.findData(False))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    call = asyncio.ensure_future(heartbeat(station))
    await wait_until(lambda: panel.held.topLevelItemCount() == 1, 5, "the held answer")
    assert panel.held.topLevelItem(0).text(2) == "station, incoming"
    held_id = panel.held.topLevelItem(0).text(4)
    panel.delay_seconds.setValue(1.0)
    qtbot.mouseClick(panel.delay_button, Qt.MouseButton.LeftButton)
    await call
    await wait_until(
        lambda: any(r.message_id == held_id for r in heartbeats(session, mtype=3)), 5, "the delayed answer"
    )
    [answer] = [r for r in heartbeats(session, mtype=3) if r.message_id == held_id]
    assert answer.latency_ms is not None and answer.latency_ms >= 1000, answer.notes


async def heartbeat(station: Station, timeout: float | None = None) -> dict:  # type: ignore[type-arg]
    assert station.connection is not None
    return await station.connection.call("Heartbeat", {}, timeout=timeout)


def test_composer_sends_a_raw_call_and_shows_the_answer(qtbot, loop: asyncio.AbstractEventLoop) -> None:
    run_window(qtbot, loop, composer_scenario)


async def composer_scenario(qtbot, session: Session, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    station = await window.start(csms_url=None, station_id="CB-RAW-UI", evse_count=1)
    await wait_until(lambda: station.online, 10, "the station to come online")
    panel = window.stations.panel_for(station)
    assert panel is not None
    qtbot.mouseClick(panel.compose_button, Qt.MouseButton.LeftButton)
    composer = window.composer
    assert composer is not None and composer.isVisible()
    assert composer.target.currentText() == "Station CB-RAW-UI → its CSMS"
    composer.template.setCurrentIndex(composer.template.findData("CALL"))
    composer.action.setCurrentText("Authorize")
    qtbot.mouseClick(composer.insert_button, Qt.MouseButton.LeftButton)
    assert '"Authorize"' in composer.editor.toPlainText()
    assert "Valid OCPP 2.1 CALL Authorize" in composer.verdict.text()
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: composer.answer_record is not None, 5, "the CSMS's answer")
    assert composer.answer.toPlainText().startswith("CALLRESULT after ")
    assert "idTokenInfo" in composer.answer.toPlainText()

    # A deliberately broken frame: the verdict line says why before it goes; the CSMS says too.
    composer.template.setCurrentIndex(composer.template.findData("Missing field"))
    qtbot.mouseClick(composer.insert_button, Qt.MouseButton.LeftButton)
    assert "Not valid" in composer.verdict.text() and "required" in composer.verdict.text()
    if SHOTS:
        composer.grab().save(os.path.join(SHOTS, "composer-broken.png"))
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: composer.answer_record is not None, 5, "the CSMS's CALLERROR")
    assert "OccurrenceConstraintViolation" in composer.answer.toPlainText()
    assert station.online
    broken_id = json.loads(composer.editor.toPlainText())[1]
    composer.template.setCurrentIndex(composer.template.findData("Duplicate message id"))
    qtbot.mouseClick(composer.insert_button, Qt.MouseButton.LeftButton)
    assert json.loads(composer.editor.toPlainText())[1] == broken_id
    if SHOTS:
        composer.grab().save(os.path.join(SHOTS, "composer.png"))
        window.grab().save(os.path.join(SHOTS, "window.png"))


def test_rules_can_hold_a_real_chargers_frames_at_the_proxy(qtbot) -> None:
    from ui.intercept_panel import InterceptPanel

    session = Session()
    panel = InterceptPanel(session)
    qtbot.addWidget(panel)
    outgoing = panel.direction.findData("outgoing")
    assert panel.direction.itemText(outgoing) == "Outgoing (it sends)"
    panel.side.setCurrentIndex(panel.side.findData("proxy"))
    # Nothing of ours sends at the proxy: the directions are named after the charger.
    assert panel.direction.itemText(outgoing) == "Charger → CSMS"
    assert panel.direction.itemText(panel.direction.findData("incoming")) == "CSMS → charger"
    panel.direction.setCurrentIndex(outgoing)
    panel.action.setCurrentText("StatusNotification")
    rule = panel.add_rule()
    assert (rule.side, rule.direction, rule.action) == ("proxy", "outgoing", "StatusNotification")
    assert panel.rules.item(0).text().endswith("· at the proxy")
