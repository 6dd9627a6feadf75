"""Several stations in one window: add from a template, per-station inspector filter, network
cut with queued events, faults, the device-model browser, and the workspace across restarts.

Real parts only: the built-in CSMS on loopback, stations built from the bundled templates,
clicks through Qt. Each scenario is one coroutine run on a qasync loop (clicks make Qt process
events, and qasync's callbacks must only run while that loop is running).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit  # noqa: E402

from app.protocol.schemas import OcppVersion  # noqa: E402
from app.session import Session  # noqa: E402
from app.station import profile  # noqa: E402
from app.station.evse import ConnectorStatus  # noqa: E402
from app.station.station import LinkState  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui import workspace as ws  # noqa: E402
from ui.device_model_view import COL_VALUE, MASK  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.station_dialog import StationDialog  # noqa: E402

PASSWORD = "correct-horse-battery"  # >= 16 characters (A00.FR.205)


def _window(qtbot, session: Session, **kwargs: object) -> MainWindow:
    window = MainWindow(session, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    return window


def _run(loop: asyncio.AbstractEventLoop, window: MainWindow, body: Callable[[], object]) -> None:
    async def scenario() -> None:
        try:
            await body()  # type: ignore[misc]
        finally:
            await window.shutdown()

    loop.run_until_complete(scenario())


def test_add_a_second_station_from_a_template_and_filter_the_inspector(
    qtbot, loop: asyncio.AbstractEventLoop
) -> None:
    session = Session()
    window = _window(qtbot, session, evse_count=1)
    pane = window.station_list

    async def body() -> None:
        first = await window.start(csms_url=None, station_id="CB-A", evse_count=1)
        await wait_until(lambda: first.online, 10, "the first station to come online")
        assert session.csms is not None

        qtbot.mouseClick(pane.add_button, Qt.MouseButton.LeftButton)
        dialogs = [d for d in window.findChildren(StationDialog) if d.isVisible()]
        assert len(dialogs) == 1
        dialog = dialogs[0]
        names = dialog.template_names()
        assert "ac-22kw-dual-socket" in names
        # Titles and descriptions are on screen, not just file names.
        dialog.select_template("ac-22kw-dual-socket")
        titles = {t.name: t for t in profile.list_templates()}
        assert dialog.templates.currentItem().text() == titles["ac-22kw-dual-socket"].title
        assert "22" in dialog.template_info.text()
        assert dialog.csms_url.text() == session.csms.url  # the built-in CSMS by default
        assert dialog.password.echoMode() is QLineEdit.EchoMode.Password
        dialog.station_id.setText("CB-A")  # taken: refused with the reason
        dialog.accept()
        assert dialog.isVisible() and "already exists" in dialog.error.text()
        dialog.station_id.setText("CB-B")
        dialog.versions.setCurrentIndex(2)  # OCPP 2.0.1 only
        dialog.accept()
        assert not dialog.isVisible()

        await wait_until(lambda: "CB-B" in session.stations, 5, "the second station")
        second = session.stations["CB-B"]
        await wait_until(lambda: second.online, 10, "the second station to come online")
        assert second.version == OcppVersion.V201
        assert len(second.evses) == 2
        window.bridge.flush()

        rows = pane.row_texts()
        assert len(rows) == 2 and pane.model.rowCount() == 2
        assert rows[0].startswith("CB-A · Online · OCPP 2.1")
        assert rows[1].startswith("CB-B · Online · OCPP 2.0.1")
        assert "EVSE 1 Available, EVSE 2 Available" in rows[1]
        assert pane.current() is second  # a new station is selected, its panel shown
        assert window.stations.panel_for(second).isVisible()
        assert not window.stations.panel_for(first).isVisible()
        assert window.csms_bar.fleet.text().startswith("2 stations · 2 online")

        # The inspector's station filter: only CB-B's frames, then all again.
        combo = window.inspector.station
        assert [combo.itemText(i) for i in range(combo.count())] == ["All stations", "CB-A", "CB-B"]
        combo.setCurrentIndex(combo.findText("CB-B"))
        model = window.model
        assert model.rowCount() > 0
        assert {model.record(r).station for r in range(model.rowCount())} == {"CB-B"}
        combo.setCurrentIndex(0)
        assert {model.record(r).station for r in range(model.rowCount())} == {"CB-A", "CB-B"}

        # Clone: same shape and CSMS, next free id.
        clone = window.clone_station(second)
        assert clone.station_id == "CB-B-2"
        assert len(clone.evses) == 2 and clone.config.versions == (OcppVersion.V201,)
        await wait_until(lambda: clone.online, 10, "the clone to come online")

        # Remove (confirmed): row, panel and filter entry go.
        box = window.request_remove(clone)
        next(b for b in box.buttons() if b.text() == "Remove").click()
        await wait_until(lambda: "CB-B-2" not in session.stations, 5, "the clone to be removed")
        # The session drops the station from its dict before it announces the removal (after
        # the station has stopped): the list follows a moment later.
        await wait_until(lambda: pane.model.rowCount() == 2, 5, "the clone's row to go")
        window.bridge.flush()
        assert combo.findText("CB-B-2") < 0

    _run(loop, window, body)


def test_network_cut_queues_a_charge_and_reconnecting_drains_it(
    qtbot, loop: asyncio.AbstractEventLoop
) -> None:
    session = Session()
    window = _window(qtbot, session)

    async def body() -> None:
        station = await window.start(csms_url=None, station_id="CB-NET", evse_count=2)
        await wait_until(lambda: station.online, 10, "the station to come online")
        panel = window.stations.panel_for(station)
        assert panel is not None
        window.bridge.flush()
        assert panel.network_button.text() == "Go offline"
        assert "Queue: empty" in panel.queue.text()
        # Without a local list the station only starts offline for unknown cards when allowed.
        result = station.dm.set_variables(
            {
                "setVariableData": [
                    {
                        "attributeValue": "true",
                        "component": {"name": "AuthCtrlr"},
                        "variable": {"name": "OfflineTxForUnknownIdEnabled"},
                    }
                ]
            }
        )
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"

        qtbot.mouseClick(panel.network_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: station.network_cut and not station.online, 5, "the network cut")
        window.bridge.flush()
        assert panel.link.text() == LinkState.NETWORK_CUT.value
        assert panel.network_button.text() == "Go online"
        assert panel.notice.isVisible() and "Network cut" in panel.notice.text()
        assert window.station_list.row_texts()[0].startswith("CB-NET · Network cut")

        card = panel.cards[1]
        qtbot.mouseClick(card.tap_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: station.evses[1].auth_status is not None, 5, "an authorization outcome")
        qtbot.mouseClick(card.plug_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: station.evses[1].transaction is not None, 5, "an offline transaction")
        await wait_until(lambda: station.queued_events >= 1, 5, "queued events")
        window.bridge.flush()
        panel.refresh_queue()
        window.station_list.refresh_all()
        queued = station.queued_events
        assert f"Queue: {queued} unsent" in panel.queue.text()
        assert f"{queued} queued" in window.station_list.row_texts()[0]
        assert card.auth.isVisible() and card.auth.text() == station.evses[1].auth_status

        qtbot.mouseClick(panel.network_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: station.online, 10, "the station to reconnect")
        await wait_until(lambda: station.queued_events == 0, 10, "the queue to drain")
        window.bridge.flush()
        panel.refresh_queue()
        assert "Queue: empty" in panel.queue.text()
        assert panel.network_button.text() == "Go offline"
        assert not panel.notice.isVisible()
        assert window.station_list.row_texts()[0].startswith("CB-NET · Online")
        # The queued Started event reached the CSMS, marked as sent offline.
        assert session.csms is not None
        started = [
            r
            for r in session.store.records()
            if r.action == "TransactionEvent"
            and r.sender == "station"
            and isinstance(r.payload, dict)
            and r.payload.get("eventType") == "Started"
        ]
        assert started and started[0].payload.get("offline") is True

    _run(loop, window, body)


def test_fault_toggles_the_connector_and_reboot_boots_again(qtbot, loop: asyncio.AbstractEventLoop) -> None:
    session = Session()
    window = _window(qtbot, session)

    async def body() -> None:
        station = await window.start(csms_url=None, station_id="CB-FLT", evse_count=2)
        await wait_until(lambda: station.online, 10, "the station to come online")
        panel = window.stations.panel_for(station)
        assert panel is not None
        card = panel.cards[2]
        assert card.fault_button.text() == "Fault"

        qtbot.mouseClick(card.fault_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: station.evses[2].status is ConnectorStatus.FAULTED, 5, "Faulted")
        window.bridge.flush()
        assert card.status.text() == "Faulted"
        assert card.fault_button.text() == "Clear fault"
        assert "EVSE 2 Faulted" in window.station_list.row_texts()[0]
        # Reported to the CSMS: NotifyEvent AvailabilityState on 2.1 (StatusNotification on 2.0.1).
        await wait_until(
            lambda: any(
                r.sender == "station"
                and r.action in ("NotifyEvent", "StatusNotification")
                and "Faulted" in r.raw
                for r in session.store.records()
            ),
            5,
            "the Faulted status report",
        )

        qtbot.mouseClick(card.fault_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: station.evses[2].status is ConnectorStatus.AVAILABLE, 5, "Available again")
        window.bridge.flush()
        assert card.status.text() == "Available"
        assert card.fault_button.text() == "Fault"

        boots = sum(
            1 for r in session.store.records() if r.action == "BootNotification" and r.sender == "station"
        )
        qtbot.mouseClick(panel.reboot_button, Qt.MouseButton.LeftButton)
        await wait_until(
            lambda: (
                sum(
                    1
                    for r in session.store.records()
                    if r.action == "BootNotification" and r.sender == "station"
                )
                > boots
            ),
            10,
            "a new BootNotification",
        )
        await wait_until(lambda: station.online, 10, "the station to be back online")

    _run(loop, window, body)


def test_device_model_browser_edits_and_refusals(qtbot, loop: asyncio.AbstractEventLoop) -> None:
    session = Session()
    window = _window(qtbot, session, evse_count=1)

    async def body() -> None:
        station = await window.start(csms_url=None, station_id="CB-DM", evse_count=1)
        # Online first: the BootNotification answer sets HeartbeatInterval itself.
        await wait_until(lambda: station.online, 10, "the station to come online")
        panel = window.stations.panel_for(station)
        assert panel is not None
        qtbot.mouseClick(panel.device_model_button, Qt.MouseButton.LeftButton)
        dialog = window.device_models[id(station)]
        assert dialog.isVisible()
        view = dialog.view
        model = view.model
        assert model.rowCount() >= 2  # the station group and at least one EVSE group
        groups = [model.item(r, 0).text() for r in range(model.rowCount())]
        assert groups[0] == "Charging station" and "EVSE 1" in groups

        # Edit HeartbeatInterval through the editor, as a double-click does.
        view.filter.setText("HeartbeatInterval")
        index = view.view_index("OCPPCommCtrlr", "HeartbeatInterval")
        assert index.isValid()
        view.tree.setCurrentIndex(index)
        view.tree.edit(index)
        editors = [e for e in view.tree.viewport().findChildren(QLineEdit) if e.isVisible()]
        assert len(editors) == 1
        editors[0].setText("120")
        qtbot.keyClick(editors[0], Qt.Key.Key_Return)  # the delegate commits on the next turn
        source = view.source_index("OCPPCommCtrlr", "HeartbeatInterval")
        await wait_until(lambda: source.data() == "120", 2, "the edit to be committed")
        assert station.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 120
        assert source.data() == "120"
        assert model.result_of(source) == "✓ Accepted"
        assert "Accepted" in view.message.text()

        # Out of range: the device model's own refusal, value unchanged.
        assert model.setData(source, "0") is False
        assert model.result_of(source).startswith("✗ Rejected")
        assert station.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 120

        # ReadOnly: not editable, and a double-click says why (from the device model).
        view.filter.setText("SecurityProfile")
        read_only = view.source_index("SecurityCtrlr", "SecurityProfile")
        assert read_only.isValid()
        assert not (model.flags(read_only) & Qt.ItemFlag.ItemIsEditable)
        view.tree.doubleClicked.emit(view.proxy.mapFromSource(read_only))
        assert model.result_of(read_only).startswith("✗ Rejected · ReadOnly")
        assert model.setData(read_only, "3") is False
        assert station.dm.value("SecurityCtrlr", "SecurityProfile") == "1"

        # WriteOnly: masked, never the value.
        view.filter.setText("BasicAuthPassword")
        secret = view.source_index("SecurityCtrlr", "BasicAuthPassword")
        assert secret.isValid() and secret.data() == MASK
        assert model.index(secret.row(), COL_VALUE, secret.parent()).data() == MASK

        # The filter hides what does not match.
        view.filter.setText("TxCtrlr")
        assert view.proxy.rowCount() >= 1
        view.filter.clear()

    _run(loop, window, body)


def test_workspace_is_saved_and_restored_without_passwords(
    qtbot,
    qapp: QApplication,
    loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    path = tmp_path / "workspace.json"
    monkeypatch.setenv(ws.ENV_VAR, str(path))
    # As in the app: closing the window must not quit Qt (and with it the asyncio loop).
    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    request.addfinalizer(lambda: qapp.setQuitOnLastWindowClosed(quit_on_close))
    assert ws.default_path() == path

    session = Session()
    window = _window(qtbot, session, evse_count=1, workspace_path=path)
    saved: dict[str, object] = {}

    async def first_run() -> None:
        first = await window.start(csms_url=None, station_id="CB-WS1", evse_count=1)
        assert session.csms is not None
        config = profile.config_from_template(
            "ac-11kw-wallbox", station_id="CB-WS2", csms_url=session.csms.url
        )
        config.password = PASSWORD
        second = window.add_station(config)
        await wait_until(lambda: first.online and second.online, 10, "both stations online")
        window.station_list.select(first)
        window.resize(1000, 700)
        window.left.setSizes([220, 420])
        saved["port"] = session.csms.port
        saved["left"] = window.left.sizes()
        saved["height"] = window.height()
        window.close()  # saves the workspace

    _run(loop, window, first_run)

    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    data = json.loads(text)
    assert [s["station_id"] for s in data["stations"]] == ["CB-WS1", "CB-WS2"]
    assert all("password" not in s for s in data["stations"])
    assert data["stations"][1]["password_needed"] is True
    assert data["stations"][0]["csms"] == "builtin"
    assert data["builtin_csms"]["enabled"] is True
    assert data["selected"] == "CB-WS1"

    restored = ws.load(path)
    assert restored is not None
    session2 = Session()
    window2 = _window(qtbot, session2, workspace_path=path)

    async def second_run() -> None:
        stations = await window2.restore(restored)
        assert [s.station_id for s in stations] == ["CB-WS1", "CB-WS2"]
        assert session2.csms is not None and session2.csms.port == saved["port"]
        one, two = stations
        assert window2.station_list.current() is one
        # Layout back (the offscreen screen is narrower than the window, so only the height
        # is certain to come back as it was; the vertical split depends on nothing else).
        assert window2.height() == saved["height"]
        assert window2.left.sizes() == saved["left"]
        assert len(two.evses) == 1 and two.config.model == "AC 11 kW wallbox"
        assert two.config.password is None
        await wait_until(lambda: one.online, 10, "the password-less station online again")
        # The other waits for its password, and says so.
        assert two.state is LinkState.STOPPED
        panel = window2.stations.panel_for(two)
        assert panel is not None
        window2.station_list.select(two)
        assert panel.notice.isVisible() and "password" in panel.notice.text()
        assert panel.password_button.isVisible()
        dialog = window2.ask_password(two)
        dialog.setTextValue(PASSWORD)
        dialog.accept()
        await wait_until(lambda: two.online, 10, "the station to start with its password")
        assert two.config.password == PASSWORD
        assert not panel.password_button.isVisible()
        window2.close()

    _run(loop, window2, second_run)
    assert PASSWORD not in path.read_text(encoding="utf-8")


def test_workspace_round_trip_keeps_every_config_field() -> None:
    config = profile.config_from_template(
        "dc-150kw-ccs-chademo", station_id="CB-RT", csms_url="wss://csms.example/ocpp"
    )
    config.password = PASSWORD
    workspace = ws.Workspace(stations=[ws.StationEntry(config, running=False)])
    back = ws.from_json(json.loads(json.dumps(ws.to_json(workspace))))
    restored = back.stations[0].config
    assert restored.password is None and back.stations[0].password_needed
    config.password = None
    assert restored == config
