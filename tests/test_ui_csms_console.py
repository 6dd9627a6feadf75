"""The CSMS console tab, end to end: an emulated station on the built-in CSMS, driven by clicks.

Real parts only: real loopback websockets between the station and the built-in CSMS, the
station's own handlers answering, Qt widgets clicked through qtbot on a qasync loop.
Requirement ids: G03.FR.01/02 (ChangeAvailability of one EVSE: Accepted, the EVSE becomes
Unavailable), B03.FR.01 (a Rejected boot), C01.FR.02 (the CSMS's idTokenInfo decides the tap).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QComboBox, QSpinBox  # noqa: E402

from app.protocol.schemas import OcppVersion  # noqa: E402
from app.session import Session  # noqa: E402
from app.station.config import StationConfig  # noqa: E402
from app.station.station import Station  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.csms_console import CsmsConsole  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def _run(loop: asyncio.AbstractEventLoop, window: MainWindow, scenario) -> None:  # type: ignore[no-untyped-def]
    async def wrapped() -> None:
        try:
            await scenario()
        finally:
            await window.shutdown()

    loop.run_until_complete(wrapped())
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    assert leftover == [], f"tasks still running after shutdown: {leftover}"


async def _console_on(window: MainWindow, station_id: str) -> tuple[Station, CsmsConsole]:
    station = await window.start(csms_url=None, station_id=station_id, evse_count=2)
    await wait_until(lambda: station.online, 10, "the station to come online")
    console = window.csms_console
    window.tabs.setCurrentWidget(console)
    await wait_until(lambda: console.station_id() == station_id, 5, "the station in the console's picker")
    return station, console


def _pick(combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, f"{text} not offered: {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(index)


def test_change_availability_from_the_form_then_an_invalid_request_needs_send_anyway(
    qtbot, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()

    async def scenario() -> None:
        station, console = await _console_on(window, "CB-CON-1")
        assert "OCPP 2.1" in console.station_combo.currentText()
        offered = [console.action_combo.itemText(i) for i in range(console.action_combo.count())]
        assert "ChangeAvailability" in offered and "SetChargingProfile" in offered
        assert "BootNotification" not in offered and "TransactionEvent" not in offered

        _pick(console.action_combo, "ChangeAvailability")
        form = console.form
        assert form is not None
        status = form.root.fields["operationalStatus"].editor.input
        assert isinstance(status, QComboBox)
        assert [status.itemText(i) for i in range(status.count())] == ["Inoperative", "Operative"]
        assert status.currentText() == "Operative"  # the harmless start
        # The optional EVSE is off until switched on; then its required id appears.
        evse_field = form.root.fields["evse"]
        assert not evse_field.included and "evse" not in json.loads(console.raw.toPlainText())
        evse_field.group.setChecked(True)
        evse_id = evse_field.editor.fields["id"].editor.input
        assert isinstance(evse_id, QSpinBox)
        evse_id.setValue(1)
        _pick(status, "Inoperative")
        sent = {"operationalStatus": "Inoperative", "evse": {"id": 1}}
        assert json.loads(console.raw.toPlainText()) == sent
        assert console.valid_label.text().startswith("✓")
        assert console.send_button.isEnabled() and not console.send_anyway_button.isVisible()

        qtbot.mouseClick(console.send_button, Qt.MouseButton.LeftButton)
        entry = console.history[-1]
        await wait_until(lambda: entry.ok is not None, 5, "the station's answer")
        assert entry.outcome == "CALLRESULT" and entry.answer == {"status": "Accepted"}
        assert entry.latency_ms is not None and entry.latency_ms > 0
        assert re.fullmatch(
            r"ChangeAvailability → CB-CON-1: CALLRESULT · Accepted in \d+ ms", console.answer_title.text()
        )
        assert '"Accepted"' in console.answer_text.toPlainText()
        assert console.history_table.item(0, 3).text() == "Accepted"
        await wait_until(lambda: station.evses[1].status == "Unavailable", 5, "EVSE 1 to go Unavailable")
        assert station.evses[2].status == "Available"
        link = session.csms.stations["CB-CON-1"]  # type: ignore[union-attr]
        await wait_until(
            lambda: link.connector_status.get((1, 1)) == "Unavailable", 5, "the CSMS to see it"
        )

        # Again, from the history: same station, same payload, answered again.
        qtbot.mouseClick(console.resend_button, Qt.MouseButton.LeftButton)
        assert len(console.history) == 2
        await wait_until(lambda: console.history[1].ok is not None, 5, "the second answer")
        assert console.history[1].payload == entry.payload
        assert console.recent.of("ChangeAvailability") == [entry.payload]
        console.copy_selected()
        copied = json.loads(QGuiApplication.clipboard().text())
        assert copied["request"] == entry.payload and copied["answer"] == {"status": "Accepted"}

        # Raw JSON with a schema error: marked at the field, listed, Send refuses.
        console.editor_tabs.setCurrentIndex(1)
        console.set_raw_text('{"operationalStatus": "Broken", "evse": {"id": 2}}')
        problems = [console.problem_list.item(i).text() for i in range(console.problem_list.count())]
        assert len(problems) == 1 and problems[0].startswith("operationalStatus:") and "Broken" in problems[0]
        assert console.valid_label.text().startswith("✗ 1 problem")
        assert status.property("problem") is True
        assert console.fit_note.isVisibleTo(console)  # "Broken" is no choice of the drop-down
        assert not console.send_button.isEnabled()
        assert console.send() is None and len(console.history) == 2
        assert console.send_anyway_button.isVisibleTo(console) and console.send_anyway_button.isEnabled()

        qtbot.mouseClick(console.send_anyway_button, Qt.MouseButton.LeftButton)
        invalid = console.history[-1]
        await wait_until(lambda: invalid.ok is not None, 5, "the station's CALLERROR")
        assert invalid.outcome.startswith("CALLERROR ") and invalid.ok is False
        assert invalid.answer["errorCode"] in ("FormatViolation", "PropertyConstraintViolation")
        assert "CALLERROR" in console.answer_title.text()
        assert "(sent invalid)" in console.history_table.item(2, 3).text()
        assert station.evses[2].status == "Available"  # nothing applied
        # The inspector judged the frame with the same validator.
        records = session.store.records()
        calls = [r for r in records if r.action == "ChangeAvailability" and r.message_type == 2]
        assert calls and calls[-1].problems and "Broken" in " ".join(map(str, calls[-1].problems))

        # Fixing the JSON clears the marks and Send works again.
        console.set_raw_text('{"operationalStatus": "Operative", "evse": {"id": 1}}')
        assert status.property("problem") is False and status.currentText() == "Operative"
        assert console.send_button.isEnabled() and not console.send_anyway_button.isVisibleTo(console)
        console.set_raw_text('{"operationalStatus": ')
        assert console.valid_label.text().startswith("✗ Not JSON")
        assert not console.send_button.isEnabled() and not console.send_anyway_button.isVisibleTo(console)

    _run(loop, window, scenario)
    assert "Task was destroyed but it is pending" not in caplog.text


def test_automatic_answers_boot_rejected_and_a_blocked_card_take_effect_without_restart(
    qtbot, loop: asyncio.AbstractEventLoop
) -> None:
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()

    async def scenario() -> None:
        station, console = await _console_on(window, "CB-AUTO-1")
        qtbot.mouseClick(window.csms_bar.answers_button, Qt.MouseButton.LeftButton)
        dialog = console.answers_dialog
        assert dialog is not None and dialog.isVisible()
        panel = console.answers
        csms = session.csms
        assert csms is not None and csms.config is panel.config

        _pick(panel.boot_status, "Rejected")
        panel.retry.setValue(45)
        assert csms.config.boot_status == "Rejected" and csms.config.boot_retry_interval == 45
        late = window.add_station(StationConfig("CB-AUTO-2", csms.url, versions=(OcppVersion.V201,)))
        await wait_until(lambda: late.boot_status == "Rejected", 10, "the next boot to be Rejected")
        assert csms.stations["CB-AUTO-2"].boot_status == "Rejected"
        assert station.boot_status == "Accepted"  # the station booted before keeps going
        # The console speaks each station's version: 2.0.1 has no 2.1-only actions.
        assert console.select_station("CB-AUTO-2")
        assert "OCPP 2.0.1" in console.station_combo.currentText() and console.version is OcppVersion.V201
        offered = [console.action_combo.itemText(i) for i in range(console.action_combo.count())]
        assert "ChangeAvailability" in offered and "AFRRSignal" not in offered

        panel.new_token.setText("BLOCKED-CARD-7")
        qtbot.mouseClick(panel.add_token_button, Qt.MouseButton.LeftButton)
        combo = panel.token_status_combo("BLOCKED-CARD-7")
        assert combo is not None and combo.currentText() == "Blocked"
        assert csms.config.status_of("blocked-card-7") == "Blocked"
        await station.plug(1)
        assert await station.tap("BLOCKED-CARD-7", 1) == "Blocked"
        assert station.evses[1].transaction is None
        _pick(combo, "Expired")
        assert await station.tap("BLOCKED-CARD-7", 1) == "Expired"
        _pick(panel.default_status, "Invalid")
        assert await station.tap("SOME-OTHER-CARD", 1) == "Invalid"

        # Station passwords: once required, only listed stations with their password get in.
        _pick(panel.boot_status, "Accepted")
        panel.require_password.setChecked(True)
        assert csms.config.passwords == {}
        panel.add_password("CB-AUTO-3", "s3cret-pw-16chars")
        assert csms.config.passwords == {"CB-AUTO-3": "s3cret-pw-16chars"}
        good = window.add_station(StationConfig("CB-AUTO-3", csms.url, password="s3cret-pw-16chars"))
        bad = window.add_station(StationConfig("CB-AUTO-4", csms.url, password="guess-guess-guess"))
        await wait_until(lambda: good.online, 10, "the station with the right password online")
        await asyncio.sleep(0.3)
        assert not bad.online and "CB-AUTO-4" not in csms.stations
        panel.require_password.setChecked(False)
        assert csms.config.passwords is None

        # Stop / Start makes a new CSMS object: it answers by the same settings from the start.
        await window.stop_builtin_csms()
        await window.start_builtin_csms()
        assert session.csms is not None and session.csms is not csms
        config = session.csms.config
        assert config is panel.config
        assert (config.boot_retry_interval, config.default_token_status) == (45, "Invalid")

    _run(loop, window, scenario)


def test_nested_lists_in_the_form_and_raw_json_stay_in_step_without_a_station(qtbot) -> None:
    from ui.tasks import TaskRunner

    console = CsmsConsole(Session(), TaskRunner())
    qtbot.addWidget(console)
    console.show()
    assert console.station_id() is None and not console.send_button.isEnabled()
    assert "built-in CSMS is off" in console.station_note.text()
    console.running = lambda: True
    console.refresh_stations()
    assert "No station is connected" in console.station_note.text()
    # The action picker is searchable: any part of the name, any case.
    completer = console.action_combo.completer()
    completer.setCompletionPrefix("avail")
    found = [completer.completionModel().index(i, 0).data() for i in range(completer.completionCount())]
    assert found == ["ChangeAvailability"]
    console.select_action("SetChargingProfile")
    form = console.form
    assert form is not None
    schedules = form.root.fields["chargingProfile"].editor.fields["chargingSchedule"].editor
    periods = schedules.items[0][1].fields["chargingSchedulePeriod"].editor
    # One period is the minimum: it cannot be removed; a second one can be added and removed.
    assert len(periods.items) == 1 and not periods.items[0][2].isEnabled()
    qtbot.mouseClick(periods.add_button, Qt.MouseButton.LeftButton)
    raw = json.loads(console.raw.toPlainText())
    assert len(raw["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"]) == 2
    limit = periods.items[1][1].fields["limit"]
    limit.set_included(True)
    limit.editor.input.setValue(16.5)
    raw = json.loads(console.raw.toPlainText())
    assert raw["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][1] == {
        "startPeriod": 0,
        "limit": 16.5,
    }
    qtbot.mouseClick(periods.items[0][2], Qt.MouseButton.LeftButton)
    raw = json.loads(console.raw.toPlainText())
    assert raw["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.5}
    ]
    # Three schedules at most (2.1 schema): the add button stops there.
    qtbot.mouseClick(schedules.add_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(schedules.add_button, Qt.MouseButton.LeftButton)
    assert len(schedules.items) == 3 and not schedules.add_button.isEnabled()

    # Raw JSON into the form: a nested type error is marked at its field and listed by path.
    payload = json.loads(console.raw.toPlainText())
    payload["chargingProfile"]["chargingSchedule"] = [
        {"id": 7, "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": "soon"}]}
    ]
    payload["chargingProfile"]["vendorField"] = 1
    console.set_raw_text(json.dumps(payload))
    assert len(schedules.items) == 1 and schedules.items[0][1].fields["id"].editor.value() == 7
    paths = [p.path for p in console.problems]
    assert "chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].startPeriod" in paths
    assert "chargingProfile" in paths  # the unknown vendorField
    start = schedules.items[0][1].fields["chargingSchedulePeriod"].editor.items[0][1].fields["startPeriod"]
    assert start.editor.input.property("problem") is True
    assert not console.fit_note.isHidden()  # on the Raw JSON tab
    # An edit in the form replaces the JSON with what the form shows: valid again.
    start.editor.input.setValue(60)
    assert console.problems == [] and console.fit_note.isHidden()
    assert "vendorField" not in console.raw.toPlainText()

    # Typing in the Raw JSON tab: the form follows after a pause, not on every key.
    console.editor_tabs.setCurrentIndex(1)
    console.raw.selectAll()
    before = form.root.fields["evseId"].editor.value()
    qtbot.keyClicks(console.raw, '{"evseId": 2, "chargingProfile": 1}')
    assert before != 2 and form.root.fields["evseId"].editor.value() == before  # not yet
    qtbot.waitUntil(lambda: form.root.fields["evseId"].editor.value() == 2, timeout=2000)
    assert [p.path for p in console.problems] == ["chargingProfile"]


async def _charger_answering(url: str, station_id: str, answer: dict[str, object]) -> None:
    """A charger that boots and then answers every CALL of the CSMS with `answer`, right or wrong."""
    from websockets.asyncio.client import connect

    boot = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
    async with connect(f"{url}/{station_id}", subprotocols=["ocpp2.1"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps([2, "boot-1", "BootNotification", boot]))
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] == 2:
                await ws.send(json.dumps([3, frame[1], answer]))


def test_a_charger_answering_against_the_schema_shows_as_a_broken_callresult_not_a_callerror(
    qtbot, loop: asyncio.AbstractEventLoop
) -> None:
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()

    async def scenario() -> None:
        await window.start_builtin_csms()
        assert session.csms is not None
        charger = asyncio.ensure_future(_charger_answering(session.csms.url, "REAL-1", {"status": "Maybe"}))
        try:
            console = window.csms_console
            await wait_until(lambda: console.station_id() == "REAL-1", 5, "the charger in the picker")
            _pick(console.action_combo, "ChangeAvailability")
            entry = console.send()
            assert entry is not None
            await wait_until(lambda: entry.ok is not None, 5, "the charger's answer")
            assert entry.ok is False and entry.outcome == "CALLRESULT breaking the schema"
            assert entry.answer == {"status": "Maybe"}
            assert len(entry.answer_problems) == 1 and "Maybe" in entry.answer_problems[0]
            assert "CALLRESULT breaking the schema" in console.answer_title.text()
            assert "Schema problems of this answer" in console.answer_text.toPlainText()
            assert console.history_table.item(0, 3).text() == "CALLRESULT breaking the schema"
        finally:
            charger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await charger

    _run(loop, window, scenario)
