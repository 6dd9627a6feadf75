"""The Scenarios tab: run a scenario in the window and watch it, fail one and read why, record
what a tester clicks on the station cards and replay it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402

from app.clock import AcceleratedClock  # noqa: E402
from app.scenarios.loader import load_scenario  # noqa: E402
from app.scenarios.runner import ScenarioRunner  # noqa: E402
from app.session import Session  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.scenario_page import CAPTION_POINT_SIZE  # noqa: E402

DEMO = """\
name: Window demo
description: Tap, plug in, charge; a caption for the audience.
stations:
  - id: UI-SC-1
    set: {AlignedDataCtrlr.Interval: 0}
steps:
  - wait: {state: Online}
  - caption: "Tap the card, then plug in"
  - tap: {token: UI-CARD, evse: 1}
  - plug: 1
  - expect: {action: TransactionEvent, where: {eventType: Started, idToken.idToken: UI-CARD}}
  - expect:
      action: TransactionEvent
      where: {eventType: Updated, triggerReason: RemoteStart}
      within: 2 s
"""


def _window(qtbot, session: Session) -> MainWindow:
    window = MainWindow(session, evse_count=1)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    return window


def test_run_a_scenario_in_the_window_shows_progress_captions_and_the_failure(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    session = Session(clock=AcceleratedClock(10.0))
    window = _window(qtbot, session)
    page = window.scenario_page
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO)

    async def body() -> None:
        try:
            await window.start(csms_url=None, station_id="CB-UI", evse_count=1)
            window.show_tab(page)
            assert page.load(path)
            assert page.steps.topLevelItemCount() == 6
            assert page.steps.topLevelItem(2).text(2) == "tap card UI-CARD at EVSE 1"
            qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: page.overlay.isVisible(), 10, "the caption")
            assert page.overlay.text() == "Tap the card, then plug in"
            assert page.overlay.font().pointSize() >= CAPTION_POINT_SIZE
            assert page.overlay.parent() is window  # over every tab, not only this one
            await wait_until(lambda: not page.running, 20, "the run to end")
            marks = [page.steps.topLevelItem(n).text(0) for n in range(6)]
            assert marks == ["✓", "✓", "✓", "✓", "✓", "✗"]
            failed = page.steps.topLevelItem(5).text(3)
            expected = "expected TransactionEvent where eventType = Updated and triggerReason = RemoteStart"
            assert expected in failed
            assert page.verdict.text().startswith('✗ FAILED — step 6 "expect TransactionEvent')
            assert page.progress.value() == 6
            # The scenario's station joined the window: its card, the list and the inspector.
            assert "UI-SC-1" in session.stations
            assert window.station_list.current() is session.stations["UI-SC-1"]
            assert any(r.station == "UI-SC-1" for r in session.store.records())
            page.grab().save(str(tmp_path / "page.png"))
            # Once looked at, the scenario's station can go; the tester's own one stays.
            assert page.cleanup_button.isEnabled()
            qtbot.mouseClick(page.cleanup_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: "UI-SC-1" not in session.stations, 5, "the scenario's station removed")
            assert "CB-UI" in session.stations
            await wait_until(lambda: not page.cleanup_button.isEnabled(), 5, "the button disabled")
        finally:
            await window.shutdown()

    loop.run_until_complete(body())


def test_pause_and_step_in_the_window(qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    session = Session(clock=AcceleratedClock(10.0))
    window = _window(qtbot, session)
    page = window.scenario_page
    path = tmp_path / "steps.yaml"
    path.write_text("name: Steps\nstations: [{id: UI-SC-2}]\nsteps:\n  - caption: one\n  - caption: two\n")

    async def body() -> None:
        try:
            await window.start(csms_url=None, station_id="CB-UI", evse_count=1)
            assert page.load(path)
            qtbot.mouseClick(page.step_button, Qt.MouseButton.LeftButton)  # start paused, one step
            await wait_until(lambda: page.steps.topLevelItem(0).text(0) == "✓", 10, "step 1")
            await asyncio.sleep(0.3)
            assert page.steps.topLevelItem(1).text(0) == "·"
            assert page.pause_button.text() == "▶  Resume"
            qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: not page.running, 10, "the run to end")
            assert page.verdict.text().startswith("✓ PASSED")
        finally:
            await window.shutdown()

    loop.run_until_complete(body())


def test_record_clicks_on_the_station_card_and_replay_them(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    session = Session(clock=AcceleratedClock(10.0))
    window = _window(qtbot, session)
    page = window.scenario_page
    saved = tmp_path / "recorded.yaml"

    async def body() -> None:
        try:
            station = await window.start(csms_url=None, station_id="CB-UI", evse_count=1)
            await wait_until(lambda: station.online, 10, "the station online")
            qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
            assert page.recording and "Recording" in page.verdict.text()
            panel = window.stations.panel_for(station)
            assert panel is not None
            card = panel.cards[1]
            qtbot.mouseClick(card.plug_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: station.evses[1].plugged, 10, "the plug")
            qtbot.mouseClick(card.tap_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: station.evses[1].transaction is not None, 10, "the transaction")
            await asyncio.sleep(0.3)
            page.save_recording(page.stop_recording(), saved, "Clicked")
            assert page.scenario is not None and page.scenario.name == "Clicked"
        finally:
            await window.shutdown()

    loop.run_until_complete(body())
    kinds = [s.kind for s in load_scenario(saved).steps]
    assert kinds[:2] == ["wait", "plug"] and "tap" in kinds and "expect" in kinds

    async def replay() -> None:
        result = await ScenarioRunner(load_scenario(saved), speed=10).run()
        assert result.passed, result.failure

    loop.run_until_complete(replay())
