"""The main window: connection bar, stations on the left, the frame inspector on the right.

The window is built and shown before anything asynchronous starts (`start()` comes after),
so it is on screen fast; it owns no protocol logic, only a `Session` it drives.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from ui import theme
from ui.bridge import SessionBridge
from ui.connection_bar import ConnectionBar
from ui.inspector_model import InspectorModel
from ui.inspector_view import InspectorView
from ui.station_panel import StationsPane
from ui.tasks import TaskRunner


class MainWindow(QMainWindow):
    #: The user closed the window: the owner shuts the session down.
    closed = Signal()

    def __init__(self, session: Session, *, evse_count: int = 2) -> None:
        super().__init__()
        self.session = session
        self.setWindowTitle("ChargeBench")
        self.resize(1400, 860)
        self.setStyleSheet(theme.STYLESHEET)

        self.runner = TaskRunner(self)
        self.model = InspectorModel(self)
        self.bridge = SessionBridge(session, self.model, self)

        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.connection_bar = ConnectionBar(session, self.runner, evse_count)
        layout.addWidget(self.connection_bar)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(10, 10, 10, 6)
        self.stations = StationsPane(self.runner)
        self.stations.setMinimumWidth(400)
        self.inspector = InspectorView(self.model)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(8)
        self.splitter.addWidget(self.stations)
        self.splitter.addWidget(self.inspector)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([480, 900])
        body_layout.addWidget(self.splitter)
        layout.addWidget(body, 1)
        self.setCentralWidget(central)

        self.frames_label = QLabel("0 frames captured")
        self.rate_label = QLabel("0.0 frames/s")
        self.csms_label = QLabel("")
        for label in (self.csms_label, self.rate_label, self.frames_label):
            label.setContentsMargins(10, 0, 10, 0)
            self.statusBar().addPermanentWidget(label)
        self._rate_samples: deque[tuple[float, int]] = deque(maxlen=6)
        self._rate_timer = QTimer(self)
        self._rate_timer.setInterval(1000)
        self._rate_timer.timeout.connect(self._update_rate)
        self._rate_timer.start()

        self.bridge.stationAdded.connect(self.stations.add_station)
        self.bridge.stationRemoved.connect(self.stations.remove_station)
        self.bridge.stationRemoved.connect(self.connection_bar.on_station_removed)
        self.bridge.stationChanged.connect(self.stations.on_station_changed)
        self.bridge.stationChanged.connect(self.connection_bar.on_station_changed)
        self.bridge.evseChanged.connect(self.stations.on_evse_changed)
        self.bridge.recordsFlushed.connect(self._on_flushed)
        self.runner.failed.connect(lambda message: self.statusBar().showMessage(message, 8000))
        for station in session.stations.values():
            self.stations.add_station(station)

    # ------------------------------------------------------------------ life

    async def start(self, *, csms_url: str | None, station_id: str, evse_count: int) -> Station:
        """Start the built-in CSMS (unless a URL is given) and the first station on it."""
        if csms_url is None:
            if self.session.csms is None:
                await self.session.start_csms("127.0.0.1", 0)
            assert self.session.csms is not None
            csms_url = self.session.csms.url
            self.csms_label.setText(f"Built-in CSMS: {csms_url}")
        else:
            self.csms_label.setText(f"CSMS: {csms_url}")
        station = self.session.add_station(StationConfig(station_id, csms_url, evse_count=evse_count))
        self.connection_bar.adopt(station)
        # Keyboard focus on the frames (arrow keys walk them), not a blinking cursor in the URL.
        self.inspector.table.setFocus()
        return station

    async def shutdown(self) -> None:
        """Stop everything the window started; safe to call twice."""
        self._rate_timer.stop()
        await self.runner.cancel_all()
        await self.session.stop()
        self.bridge.close()
        # Let tasks the core just cancelled run their last step before the loop goes away.
        for _ in range(3):
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)

    # ------------------------------------------------------------------ status bar

    def _on_flushed(self, _batch: int, total: int) -> None:
        self.frames_label.setText(f"{total:,} frame{'s' if total != 1 else ''} captured")

    def _update_rate(self) -> None:
        now = time.monotonic()
        self._rate_samples.append((now, self.bridge.ingested))
        t0, n0 = self._rate_samples[0]
        rate = (self.bridge.ingested - n0) / (now - t0) if now > t0 else 0.0
        self.rate_label.setText(f"{rate:.1f} frames/s")
