"""The inspector's filter language, CALL/answer pairing and the standalone validator, in the window.

Built-in CSMS and one emulated station over real loopback websockets; Qt offscreen.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402

from app.inspector.records import CaptureRecord  # noqa: E402
from app.protocol.schemas import Kind, OcppVersion  # noqa: E402
from app.session import Session  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.inspector_model import COL_LATENCY, InspectorModel  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.validator_dialog import ValidatorDialog  # noqa: E402


def _started(model: InspectorModel) -> list[CaptureRecord]:
    return [
        r
        for r in model.records()
        if r.action == "TransactionEvent"
        and r.message_type == 2
        and (r.payload or {}).get("eventType") == "Started"
    ]


def test_filter_language_pairing_and_validator(qtbot, loop: asyncio.AbstractEventLoop) -> None:
    session = Session()
    window = MainWindow(session, evse_count=1)
    qtbot.addWidget(window)
    window.show()
    view = window.inspector
    model = window.model

    async def scenario() -> None:
        try:
            station = await window.start(csms_url=None, station_id="CB-F-1", evse_count=1)
            await wait_until(lambda: station.online, 10, "the station to come online")
            card = window.stations.panel_for(station).cards[1]
            qtbot.mouseClick(card.plug_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: station.evses[1].plugged, 5, "the EV to be plugged in")
            qtbot.mouseClick(card.tap_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: bool(_started(model)), 8, "TransactionEvent Started")
            window.bridge.flush()

            # The filter language: exactly the Started TransactionEvent CALL(s).
            view.filter.setText("TransactionEvent where eventType = Started")
            view.apply_filter()
            rows = model.records()
            assert rows, "no rows left"
            assert all(
                r.action == "TransactionEvent" and r.payload.get("eventType") == "Started" for r in rows
            )
            assert not view.filter_error.isVisible()
            shown = model.rowCount()

            # A bad filter: the error (with its column) is shown, the previous rows stay.
            view.filter.setText("TransactionEvent where eventType")
            view.apply_filter()
            assert not view.filter_error.isHidden()
            assert "Column" in view.filter_error.text() and "operator" in view.filter_error.text()
            assert model.rowCount() == shown
            view.filter.setText("type:CALL action:BootNotification")
            view.apply_filter()
            assert view.filter_error.isHidden()
            assert [r.action for r in model.records()] == ["BootNotification"]

            # Plain words keep filtering on action / station / id.
            view.filter.setText("authorize")
            view.apply_filter()
            assert model.rowCount() > 0 and all(r.action == "Authorize" for r in model.records())
            view.filter.clear()
            view.apply_filter()

            # Pairing: from the Started CALL to its CALLRESULT (same id, same connection) and back.
            call = _started(model)[0]
            await wait_until(lambda: model.pair_of(call) is not None, 5, "the CALLRESULT in the table")
            assert view.select_record(call)
            assert view.detail.pair_button.isEnabled() and view.detail.pair_button.text() == "Go to answer"
            qtbot.mouseClick(view.detail.pair_button, Qt.MouseButton.LeftButton)
            answer = view.detail.record
            assert answer is not None and answer is not call
            assert answer.message_type == 3
            assert (answer.message_id, answer.connection) == (call.message_id, call.connection)
            assert model.index(model.row_of(call), COL_LATENCY).data().startswith("→")
            assert view.detail.pair_button.text() == "Go to request"
            assert view.go_to_pair() and view.detail.record is call

            # Schema descriptions as tooltips on the payload tree's keys.
            tip = view.detail.items["eventType"].toolTip(0)
            assert tip, "eventType has no description tooltip"

            # Tools > Validate a frame… opens the validator, non-modal, on the frame being read.
            window.validate_action.trigger()
            dialog = view.validator
            assert dialog is not None and dialog.isVisible() and not dialog.isModal()
            assert dialog.validate() == []  # the Started TransactionEvent is valid
            dialog.close()
        finally:
            await window.shutdown()

    loop.run_until_complete(scenario())


def _frame(
    seq: int, message_type: int, *, age_s: float, raw: str, problems: list[str] | None = None
) -> CaptureRecord:
    return CaptureRecord(
        time=datetime.now(UTC) - timedelta(seconds=age_s),
        connection="CB-9@station",
        station="CB-9",
        sender="station" if message_type == 2 else "csms",
        observer="station",
        version="ocpp2.1",
        raw=raw,
        message_type=message_type,
        action="Heartbeat" if message_type == 2 else None,
        message_id=f"h{seq}",
        payload={},
        problems=problems or [],
        seq=seq,
    )


def test_unanswered_calls_are_flagged_and_problem_paths_marked(qtbot) -> None:
    model = InspectorModel()
    old = _frame(1, 2, age_s=60, raw='[2,"h1","Heartbeat",{}]')
    fresh = _frame(2, 2, age_s=1, raw='[2,"h2","Heartbeat",{}]')
    answered = _frame(3, 2, age_s=60, raw='[2,"h3","Heartbeat",{}]')
    answer = _frame(4, 3, age_s=59, raw='[3,"h3",{"currentTime":"x"}]', problems=["currentTime: bad"])
    answer.latency_ms = 12.0
    answer.message_id = "h3"
    answer.payload = {"currentTime": "x"}
    answer.action = "Heartbeat"
    model.append_records([old, fresh, answered, answer])
    latency = [model.index(r, COL_LATENCY).data() for r in range(4)]
    assert latency == ["no answer", "", "→ 12.0 ms", "12.0 ms"]
    model.mark_connection_closed("CB-9@station")
    assert model.index(1, COL_LATENCY).data() == "no answer"

    from ui.inspector_view import InspectorView

    view = InspectorView(model)
    qtbot.addWidget(view)
    view.select_record(answer)
    item = view.detail.items["currentTime"]
    assert item.foreground(0).color() == view.detail.items["currentTime"].foreground(1).color()
    assert "bad" in item.toolTip(0)
    model.close()


def test_validator_dialog_flags_missing_field_and_passes_heartbeat(qtbot) -> None:
    dialog = ValidatorDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.isVisible() and not dialog.isModal()

    dialog.text.setPlainText('[2,"b1","BootNotification",{"reason":"PowerUp"}]')
    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    assert dialog.problems and any("chargingStation" in p for p in dialog.problems)
    assert "chargingStation" in dialog.result.text()

    dialog.text.setPlainText('[2,"h1","Heartbeat",{}]')
    dialog.validate()
    assert dialog.problems == [] and "Valid ✓" in dialog.result.text()

    # A bare payload, with version, action and request/response picked.
    dialog.set_version(OcppVersion.V16)
    dialog.set_payload_schema("BootNotification", Kind.REQUEST)
    dialog.text.setPlainText('{"chargePointVendor": "ACME"}')
    assert any("chargePointModel" in p for p in dialog.validate())
    dialog.set_payload_schema("Heartbeat", Kind.RESPONSE)
    dialog.text.setPlainText('{"currentTime": "2026-01-01T00:00:00Z"}')
    assert dialog.validate() == []
    dialog.text.setPlainText("[2, ")
    assert "not JSON" in dialog.validate()[0]


def test_a_filter_over_a_big_capture_runs_in_the_background_and_keeps_live_frames(qtbot) -> None:
    model = InspectorModel()
    model.background_from = 0  # every capture counts as big here
    frames = [_frame(n, 2, age_s=1, raw=f'[2,"h{n}","Heartbeat",{{}}]') for n in range(1, 301)]
    for n, record in enumerate(frames):
        if n % 3 == 0:
            record.station = "CB-1"
    model.append_records(frames)
    assert model.rowCount() == 300
    states: list[bool] = []
    model.filteringChanged.connect(states.append)

    with qtbot.waitSignal(model.filteringChanged, timeout=5000, check_params_cb=lambda running: not running):
        model.set_station_filter("CB-1")
        assert model.filter_running and states == [True]
        assert model.rowCount() == 300  # the old rows stay until the answer is in
        # Frames arriving meanwhile are judged by the new filter when the answer comes.
        late = [_frame(n, 2, age_s=0, raw=f'[2,"h{n}","Heartbeat",{{}}]') for n in (301, 302)]
        late[0].station = "CB-1"
        model.append_records(late)
        assert model.rowCount() == 300
    assert not model.filter_running and states == [True, False]
    assert [model.record(r).seq for r in range(model.rowCount())] == [*range(1, 301, 3), 301]
    model.close()
