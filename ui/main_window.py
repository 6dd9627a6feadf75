"""The main window: built-in CSMS bar; stations (list + selected panel) left; inspector right.

The right side has two tabs: the frame inspector, and Power (setpoint against delivered power
per EVSE, following the station selected in the list).

The window is built and shown before anything asynchronous starts (`start()` or `restore()`
comes after), so it is on screen fast; it owns no protocol logic, only a `Session` it drives.
It hosts any number of stations: the list adds (from a template or a profile file), clones,
edits, removes, starts and stops them, and the set of stations plus the layout is the
workspace, saved on close and after every change to the set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.hardware.setup import profile_names_hardware
from app.session import Session
from app.station.config import StationConfig
from app.station.station import LinkState, Station
from ui import theme
from ui import workspace as ws
from ui.bridge import SessionBridge
from ui.capture_files import CaptureFiles
from ui.composer import ComposerDialog
from ui.csms_bar import CsmsBar
from ui.csms_console import CsmsConsole
from ui.device_model_view import DeviceModelDialog
from ui.hardware_page import HardwarePage
from ui.inspector_model import InspectorModel
from ui.inspector_view import InspectorView
from ui.intercept_panel import InterceptPanel
from ui.plot_view import TAB_STYLE, PowerPlotView
from ui.proxy_page import ProxyPage
from ui.scenario_page import ScenarioPage
from ui.sequence_view import SequenceView
from ui.station_dialog import StationDialog, next_free_id, with_identity
from ui.station_list import StationListPane
from ui.station_panel import StationsPane
from ui.tasks import TaskRunner

log = logging.getLogger(__name__)
BUILTIN_HOST = "127.0.0.1"


class MainWindow(QMainWindow):
    #: The user closed the window: the owner shuts the session down.
    closed = Signal()

    def __init__(self, session: Session, *, evse_count: int = 2, workspace_path: Path | None = None) -> None:
        super().__init__()
        self.session = session
        self.evse_count = evse_count
        #: Where the workspace is saved; None: never saved (tests, screenshots).
        self.workspace_path = workspace_path
        self.setWindowTitle("ChargeBench")
        self.resize(1400, 860)
        self.setStyleSheet(theme.STYLESHEET)

        self.runner = TaskRunner(self)
        self.model = InspectorModel(self)
        self.bridge = SessionBridge(session, self.model, self)
        self.device_models: dict[int, DeviceModelDialog] = {}
        self.password_needed: set[str] = set()
        self._builtin_port: int | None = None
        self._restoring = False

        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.csms_bar = CsmsBar(session)
        layout.addWidget(self.csms_bar)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(10, 10, 10, 6)
        self.station_list = StationListPane()
        self.stations = StationsPane(self.runner)
        self.left = QSplitter(Qt.Orientation.Vertical)
        self.left.setChildrenCollapsible(False)
        self.left.setHandleWidth(8)
        self.left.addWidget(self.station_list)
        self.left.addWidget(self.stations)
        self.left.setStretchFactor(0, 0)
        self.left.setStretchFactor(1, 1)
        self.left.setSizes([128, 720])
        self.left.setMinimumWidth(440)
        self.inspector = InspectorView(self.model)
        self.power_view = PowerPlotView(self.bridge.power)
        self.tabs = QTabWidget()
        self.tabs.setStyleSheet(TAB_STYLE)
        self.tabs.addTab(self.inspector, "Inspector")
        self.tabs.addTab(self.power_view, "Power")
        self.sequence_view = SequenceView(session.store, history=lambda: self.model.db)
        self.tabs.addTab(self.sequence_view, "Sequence")
        self.csms_console = CsmsConsole(session, self.runner, running=lambda: self.csms_bar.running)
        self.tabs.addTab(self.csms_console, "CSMS console")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(8)
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([450, 930])
        body_layout.addWidget(self.splitter)
        layout.addWidget(body, 1)
        self.setCentralWidget(central)
        self.capture_files = CaptureFiles(self, self.model, self.runner)
        self.capture_files.install(self.menuBar().addMenu("&File"))
        tools = self.menuBar().addMenu("&Tools")
        self.validate_action = tools.addAction("Validate a frame…")
        self.validate_action.triggered.connect(self.inspector.open_validator)
        # Fault injection and the proxy: a tab each, and a way there from the Tools menu.
        self.composer: ComposerDialog | None = None
        self.compose_action = tools.addAction("Compose a raw frame…")
        self.compose_action.triggered.connect(lambda: self.open_composer(self.station_list.current()))
        self.stations.composeRequested.connect(self.open_composer)
        self.intercept_panel = InterceptPanel(session)
        self.tabs.addTab(self.intercept_panel, "Intercept")
        tools.addAction("Intercept frames…").triggered.connect(lambda: self.show_tab(self.intercept_panel))
        self.proxy_page = ProxyPage(session, self.runner)
        self.tabs.addTab(self.proxy_page, "Proxy")
        tools.addAction("Proxy…").triggered.connect(lambda: self.show_tab(self.proxy_page))
        self.hardware_page = HardwarePage(session, self.runner)
        self.tabs.addTab(self.hardware_page, "Hardware")
        self.scenario_page = ScenarioPage(session, self.runner, caption_host=self)
        self.tabs.addTab(self.scenario_page, "Scenarios")
        self.scenario_page.stationFocused.connect(self.station_list.select)
        tools.addAction("Run a scenario…").triggered.connect(lambda: self.show_tab(self.scenario_page))
        tools.addAction("Record a scenario").triggered.connect(self.scenario_page.toggle_recording)

        self.frames_label = QLabel("0 frames captured")
        self.rate_label = QLabel("0.0 frames/s")
        for label in (self.rate_label, self.frames_label):
            label.setContentsMargins(10, 0, 10, 0)
            self.statusBar().addPermanentWidget(label)
        self._rate_samples: deque[tuple[float, int]] = deque(maxlen=6)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()

        self.bridge.stationAdded.connect(self._on_station_added)
        self.bridge.stationRemoved.connect(self._on_station_removed)
        self.bridge.stationChanged.connect(self._on_station_changed)
        self.bridge.evseChanged.connect(self._on_evse_changed)
        self.bridge.recordsFlushed.connect(self._on_flushed)
        self.bridge.powerChanged.connect(self.power_view.on_series_changed)
        self.station_list.currentChanged.connect(self.power_view.follow_station)
        self.station_list.currentChanged.connect(self.sequence_view.follow_station)
        self.bridge.stationAdded.connect(self.sequence_view.add_station)
        self.bridge.recordsFlushed.connect(self.sequence_view.on_records_flushed)
        self.runner.failed.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self.csms_bar.toggleRequested.connect(self.toggle_builtin_csms)
        self.csms_bar.answersRequested.connect(self.csms_console.open_answers)
        self.station_list.currentChanged.connect(self.stations.show_station)
        self.station_list.addRequested.connect(self.open_add_dialog)
        self.station_list.cloneRequested.connect(self.clone_station)
        self.station_list.editRequested.connect(self.open_edit_dialog)
        self.station_list.removeRequested.connect(self.request_remove)
        self.station_list.startStopRequested.connect(self.toggle_running)
        self.stations.deviceModelRequested.connect(self.open_device_model)
        self.stations.passwordRequested.connect(self.ask_password)
        for station in session.stations.values():
            self._on_station_added(station)

    # ================================================================== life

    async def start(self, *, csms_url: str | None, station_id: str, evse_count: int) -> Station:
        """Start the built-in CSMS (unless a URL is given) and a first station on it."""
        if csms_url is None:
            await self.start_builtin_csms()
            assert self.session.csms is not None
            csms_url = self.session.csms.url
        station = self.session.add_station(StationConfig(station_id, csms_url, evse_count=evse_count))
        self.station_list.select(station)
        # Keyboard focus on the frames (arrow keys walk them), not a blinking cursor somewhere.
        self.inspector.table.setFocus()
        return station

    async def restore(self, workspace: ws.Workspace) -> list[Station]:
        """Bring back a saved workspace: built-in CSMS, stations (started as they were), layout."""
        self._restoring = True
        try:
            if workspace.builtin_csms:
                await self.start_builtin_csms(workspace.builtin_port or 0)
            builtin = (
                self.session.csms.url if (self.session.csms is not None and self.csms_bar.running) else None
            )
            stations = []
            for entry in workspace.stations:
                config = entry.config
                if entry.builtin_csms and builtin is not None:
                    config.csms_url = builtin
                if config.station_id in self.session.stations:
                    continue
                start = entry.running and not entry.password_needed
                if entry.password_needed:
                    self.password_needed.add(config.station_id)
                station = self.session.add_station(config, start=start)
                stations.append(station)
                panel = self.stations.panel_for(station)
                if panel is not None and entry.password_needed:
                    panel.set_password_needed(True)
            self._restore_hardware(workspace)
            self.proxy_page.apply_settings(workspace.proxy)
            self.restore_layout(workspace)
            selected = self.session.stations.get(workspace.selected or "")
            if selected is not None:
                self.station_list.select(selected)
            self.inspector.table.setFocus()
            return stations
        finally:
            self._restoring = False

    def _restore_hardware(self, workspace: ws.Workspace) -> None:
        """Readers and meters as they were; a meter whose map is gone is reported, not fatal."""
        hardware = self.session.hardware
        known = {c.ident for c in hardware.readers.configs}
        for reader in workspace.readers:
            if reader.ident not in known:
                hardware.add_reader(reader)
        for meter in workspace.meters:
            try:
                hardware.add_meter(meter)
            except ValueError as exc:  # MeterMapError: the map file moved or broke
                self.statusBar().showMessage(f"Meter {meter.name} not restored: {exc}", 10000)
        if workspace.readers or workspace.meters:
            hardware.start()

    async def shutdown(self) -> None:
        """Stop everything the window started; safe to call twice."""
        self._tick.stop()
        self.intercept_panel.close_panel()
        self.proxy_page.close_page()
        if self.composer is not None:
            self.composer.close()
        self.stations.stop_ticking()
        self.power_view.stop()
        for dialog in list(self.device_models.values()):
            dialog.view.stop()
            dialog.close()
        self.device_models.clear()
        await self.runner.cancel_all()
        await self.session.stop()
        self.bridge.close()
        self.capture_files.close_all()
        self.model.close()
        # Let tasks the core just cancelled run their last step before the loop goes away.
        for _ in range(3):
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_workspace()
        self.closed.emit()
        super().closeEvent(event)

    # ================================================================== built-in CSMS

    def builtin_url(self) -> str | None:
        csms = self.session.csms
        return csms.url if (csms is not None and self.csms_bar.running) else None

    async def start_builtin_csms(self, port: int = 0) -> None:
        if self.csms_bar.running:
            return
        self.csms_bar.set_busy()
        answers = self.csms_console.answers.config  # what the console's Automatic answers say
        try:
            try:
                await self.session.start_csms(BUILTIN_HOST, port or self._builtin_port or 0, answers)
            except OSError:
                # The port of last time is taken now: any free port (stations follow the CSMS).
                await self.session.start_csms(BUILTIN_HOST, 0, answers)
        except Exception:
            self.csms_bar.set_running(False)
            raise
        assert self.session.csms is not None
        old = self._builtin_port
        self._builtin_port = self.session.csms.port
        self.csms_bar.set_running(True)
        if old and old != self._builtin_port:
            await self._follow_builtin(f"ws://{BUILTIN_HOST}:{old}/ocpp")

    async def stop_builtin_csms(self) -> None:
        csms = self.session.csms
        if csms is None or not self.csms_bar.running:
            return
        self.csms_bar.set_busy()
        try:
            await csms.stop()
        finally:
            self.csms_bar.set_running(False)

    def toggle_builtin_csms(self) -> None:
        if self.csms_bar.running:
            self.runner.run(self._then_save(self.stop_builtin_csms()), "Stop the built-in CSMS")
        else:
            self.runner.run(self._then_save(self.start_builtin_csms()), "Start the built-in CSMS")

    async def _follow_builtin(self, old_url: str) -> None:
        """Stations that used the built-in CSMS at its old port move to the new one."""
        new_url = self.builtin_url()
        if new_url is None:
            return
        for station in list(self.session.stations.values()):
            if station.config.csms_url == old_url:
                station.config.csms_url = new_url
                if station.state is not LinkState.STOPPED:
                    await station.reconnect()

    # ================================================================== station actions

    def taken_ids(self) -> set[str]:
        return set(self.session.stations)

    def open_add_dialog(self) -> StationDialog:
        """Show the Add dialog (not modal to the loop: `open()`); returns it for tests."""
        ids = [s.station_id for s in self.station_list.model.stations()]
        default_id = next_free_id(ids[-1] if ids else "CB-0000", self.taken_ids())
        dialog = StationDialog(
            taken_ids=self.taken_ids(), default_id=default_id, builtin_url=self.builtin_url, parent=self
        )
        dialog.accepted.connect(lambda: self._on_add_accepted(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_add_accepted(self, dialog: StationDialog) -> None:
        config = dialog.config
        if config is None:
            return
        self.add_station(config)
        if dialog.profile_file is not None and profile_names_hardware(dialog.profile_file):
            # The profile's readers and meters come with the station (Hardware tab).
            self.hardware_page.load_profile_hardware(dialog.profile_file, config.station_id)

    def add_station(self, config: StationConfig, *, start: bool = True) -> Station:
        station = self.session.add_station(config, start=start)
        self.station_list.select(station)
        self.save_workspace()
        return station

    def clone_station(self, station: Station) -> Station:
        """A copy of `station` under the next free id; own state (no shared state file)."""
        cfg = station.config
        new_id = next_free_id(station.station_id, self.taken_ids())
        config = with_identity(
            cfg,
            station_id=new_id,
            csms_url=cfg.csms_url,
            security_profile=cfg.security_profile,
            versions=tuple(cfg.versions),
            password=cfg.password,
            ca_file=cfg.ca_file,
            client_cert=cfg.client_cert,
            client_key=cfg.client_key,
            keep_state=False,
        )
        clone = self.add_station(config)
        self.statusBar().showMessage(f"Cloned {station.station_id} as {new_id}", 5000)
        return clone

    def open_edit_dialog(self, station: Station) -> StationDialog:
        dialog = StationDialog(
            taken_ids=self.taken_ids() - {station.station_id},
            default_id=station.station_id,
            builtin_url=self.builtin_url,
            current=station.config,
            parent=self,
        )
        dialog.accepted.connect(lambda: self._on_edit_accepted(station, dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_edit_accepted(self, station: Station, dialog: StationDialog) -> None:
        if dialog.config is not None:
            self.runner.run(
                self.replace_station(station, dialog.config), f"Apply changes to {station.station_id}"
            )

    async def replace_station(self, old: Station, config: StationConfig) -> Station:
        """Edit = stop the old station, start one built from the new config (same place in the list)."""
        self.password_needed.discard(old.station_id)
        if self.session.stations.get(old.station_id) is old:
            await self.session.remove_station(old.station_id)
        station = self.session.add_station(config)
        self.station_list.select(station)
        self.save_workspace()
        return station

    def request_remove(self, station: Station) -> QMessageBox:
        """Ask first (a station's panel and its state go away); returns the box for tests."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Remove station")
        box.setText(f"Remove station {station.station_id}?")
        box.setInformativeText(
            "It is stopped and leaves the workspace. Frames it sent stay in the inspector."
        )
        remove = box.addButton("Remove", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(remove)
        box.accepted.connect(
            lambda: self.runner.run(self.remove_station(station), f"Remove {station.station_id}")
        )
        box.finished.connect(box.deleteLater)
        box.open()
        return box

    async def remove_station(self, station: Station) -> None:
        self.password_needed.discard(station.station_id)
        if self.session.stations.get(station.station_id) is station:
            await self.session.remove_station(station.station_id)
        self.save_workspace()

    def toggle_running(self, station: Station) -> None:
        if station.state is LinkState.STOPPED:
            if station.station_id in self.password_needed:
                self.ask_password(station)
                return
            station.start()
            self.save_workspace()
        else:
            self.runner.run(self._then_save(station.stop()), f"Stop {station.station_id}")

    def ask_password(self, station: Station) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setWindowTitle(f"Password for {station.station_id}")
        dialog.setLabelText(
            f"HTTP Basic password of {station.station_id}.\n"
            "It is kept in memory only: the workspace file never contains passwords."
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.textValueSelected.connect(lambda text: self.set_password(station, text))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def set_password(self, station: Station, password: str) -> None:
        """Give a restored station its password back and start it."""
        station.config.password = password or None
        self.password_needed.discard(station.station_id)
        panel = self.stations.panel_for(station)
        if panel is not None:
            panel.set_password_needed(False)
        if station.state is LinkState.STOPPED:
            station.start()

    def open_device_model(self, station: Station) -> DeviceModelDialog:
        dialog = self.device_models.get(id(station))
        if dialog is None:
            dialog = DeviceModelDialog(station, self)
            self.device_models[id(station)] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_tab(self, page: QWidget) -> None:
        self.tabs.setCurrentWidget(page)
        if page is self.intercept_panel:
            self.intercept_panel.refresh_choices()

    def open_composer(self, station: Station | None = None) -> ComposerDialog:
        """The raw composer (one, non-modal), on `station`'s connection when one is given."""
        if self.composer is None:
            self.composer = ComposerDialog(self.session, self.runner, self)
            self.composer.finished.connect(self._composer_closed)
        if station is not None:
            self.composer.select(station.station_id)
        self.composer.show()
        self.composer.raise_()
        return self.composer

    def _composer_closed(self) -> None:
        if self.composer is not None:
            self.composer.deleteLater()
            self.composer = None

    async def _then_save(self, coro: object) -> None:
        await coro  # type: ignore[misc]
        self.save_workspace()

    # ================================================================== workspace

    def workspace(self) -> ws.Workspace:
        """The current workspace (what `save_workspace` writes)."""
        builtin = self.session.csms.url if self.session.csms is not None else None
        entries = []
        for station in self.station_list.model.stations():
            config = station.config
            entries.append(
                ws.StationEntry(
                    config,
                    running=station.state is not LinkState.STOPPED
                    or station.station_id in self.password_needed,
                    builtin_csms=builtin is not None and config.csms_url == builtin,
                    password_needed=station.station_id in self.password_needed or bool(config.password),
                )
            )
        current = self.station_list.current()
        workspace = ws.Workspace(
            stations=entries,
            builtin_csms=self.csms_bar.running,
            builtin_port=self._builtin_port,
            selected=current.station_id if current is not None else None,
            readers=list(self.session.hardware.readers.configs),
            meters=[meter.config for meter in self.session.hardware.meters],
            proxy=self.proxy_page.settings(),
        )
        workspace.set_blob("geometry", self.saveGeometry().data())
        workspace.set_blob("splitter", self.splitter.saveState().data())
        workspace.set_blob("left", self.left.saveState().data())
        workspace.set_blob("inspector", self.inspector.splitter.saveState().data())
        return workspace

    def save_workspace(self) -> bool:
        if self.workspace_path is None or self._restoring:
            return False
        try:
            ws.save(self.workspace(), self.workspace_path)
        except OSError as exc:
            log.warning("could not save the workspace: %s", exc)
            self.statusBar().showMessage(f"Could not save the workspace: {exc}", 8000)
            return False
        return True

    def restore_layout(self, workspace: ws.Workspace) -> None:
        geometry = workspace.blob("geometry")
        if geometry:
            self.restoreGeometry(QByteArray(geometry))
        for name, splitter in (
            ("splitter", self.splitter),
            ("left", self.left),
            ("inspector", self.inspector.splitter),
        ):
            state = workspace.blob(name)
            if state:
                splitter.restoreState(QByteArray(state))

    # ================================================================== bridge

    def _on_station_added(self, station: Station) -> None:
        self.stations.add_station(station)  # first: selecting the list row shows the panel
        self.power_view.set_known(station.station_id, list(station.evses))
        self.station_list.add_station(station)
        self._sync_station_ids()

    def _on_station_removed(self, station: Station) -> None:
        dialog = self.device_models.pop(id(station), None)
        if dialog is not None:
            dialog.view.stop()
            dialog.close()
            dialog.deleteLater()
        self.stations.remove_station(station)
        self.power_view.forget(station.station_id)
        self.station_list.remove_station(station)
        self._sync_station_ids()

    def _on_station_changed(self, station: Station) -> None:
        self.station_list.refresh(station)
        self.stations.on_station_changed(station)
        self.csms_bar.refresh_fleet()

    def _on_evse_changed(self, station: Station, evse: object) -> None:
        self.stations.on_evse_changed(station, evse)  # type: ignore[arg-type]
        self.station_list.refresh(station)

    def _sync_station_ids(self) -> None:
        self.inspector.set_station_ids([s.station_id for s in self.station_list.model.stations()])
        self.csms_bar.refresh_fleet()

    # ================================================================== status bar

    def _on_flushed(self, _batch: int, total: int) -> None:
        self.frames_label.setText(f"{total:,} frame{'s' if total != 1 else ''} captured")

    def _on_tick(self) -> None:
        now = time.monotonic()
        self._rate_samples.append((now, self.bridge.ingested))
        t0, n0 = self._rate_samples[0]
        rate = (self.bridge.ingested - n0) / (now - t0) if now > t0 else 0.0
        self.rate_label.setText(f"{rate:.1f} frames/s")
        # Queue counts and ages move without a change signal: refresh the cheap views.
        with contextlib.suppress(RuntimeError):
            self.station_list.refresh_all()
            self.csms_bar.refresh_fleet()
