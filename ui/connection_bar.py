"""The bar at the top: which CSMS the station talks to, under which identity.

Connect replaces the station with a fresh one built from the fields (a changed URL or id
means a different station to the CSMS, with its own boot), Disconnect stops it in place so
the cards and the capture stay on screen for inspection.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.session import Session
from app.station.config import StationConfig
from app.station.station import LinkState, Station
from ui import theme
from ui.inspector_model import version_label
from ui.tasks import TaskRunner


class ConnectionBar(QFrame):
    def __init__(
        self, session: Session, runner: TaskRunner, evse_count: int = 2, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connectionBar")
        self.session = session
        self.runner = runner
        self.evse_count = evse_count
        self.station: Station | None = None
        self._busy = False

        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)
        url_label = QLabel("CSMS URL")
        self.url = QLineEdit()
        self.url.setPlaceholderText("ws://host:port/path")
        self.url.setToolTip("Websocket URL of the CSMS; the station id is appended to it")
        self.url.setMinimumWidth(260)
        id_label = QLabel("Station id")
        self.station_id = QLineEdit()
        self.station_id.setMaximumWidth(160)
        self.station_id.setToolTip("Charging station identity (the last part of the connection URL)")
        self.connect_button = QPushButton("Connect")
        self.connect_button.setProperty("primary", True)
        self.connect_button.setToolTip("(Re)create the station with this URL and id and connect it")
        self.connect_button.clicked.connect(self.request_connect)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setToolTip("Stop the station: closes its websocket, keeps its state")
        self.disconnect_button.clicked.connect(self.request_disconnect)
        self.status = QLabel("Starting…")
        self.status.setMinimumWidth(220)
        layout.addWidget(url_label)
        layout.addWidget(self.url, 3)
        layout.addSpacing(6)
        layout.addWidget(id_label)
        layout.addWidget(self.station_id, 1)
        layout.addWidget(self.connect_button)
        layout.addWidget(self.disconnect_button)
        layout.addSpacing(10)
        layout.addWidget(self.status, 2)
        self.refresh()

    # ------------------------------------------------------------------ actions

    def request_connect(self) -> None:
        self.runner.run(self.connect_station(), "Connect")

    def request_disconnect(self) -> None:
        if self.station is not None:
            self.runner.run(self.disconnect_station(), "Disconnect")

    async def connect_station(self) -> Station | None:
        url, station_id = self.url.text().strip(), self.station_id.text().strip()
        try:
            config = StationConfig(station_id, url, evse_count=self.evse_count)
        except ValueError as exc:
            self._show_error(str(exc))
            return None
        if not url.startswith(("ws://", "wss://")):
            self._show_error("the CSMS URL must start with ws:// or wss://")
            return None
        self._busy = True
        self.refresh()
        try:
            old = self.station
            if old is not None and self.session.stations.get(old.station_id) is old:
                await self.session.remove_station(old.station_id)
            if station_id in self.session.stations:
                await self.session.remove_station(station_id)
            self.station = self.session.add_station(config)
        finally:
            self._busy = False
            self.refresh()
        return self.station

    async def disconnect_station(self) -> None:
        if self.station is None:
            return
        self._busy = True
        self.refresh()
        try:
            await self.station.stop()
        finally:
            self._busy = False
            self.refresh()

    # ------------------------------------------------------------------ view

    def adopt(self, station: Station) -> None:
        """Make this the station the bar shows and controls (the window's first station)."""
        self.station = station
        self.url.setText(station.config.csms_url)
        self.station_id.setText(station.station_id)
        self.refresh()

    def on_station_changed(self, station: Station) -> None:
        if station is self.station:
            self.refresh()

    def on_station_removed(self, station: Station) -> None:
        if station is self.station:
            self.refresh()

    def refresh(self) -> None:
        st = self.station
        running = st is not None and st.state is not LinkState.STOPPED
        self.connect_button.setEnabled(not self._busy)
        self.disconnect_button.setEnabled(not self._busy and running)
        if self._busy:
            self._show("Working…", "#6b7280")
        elif st is None:
            self._show("No station", "#6b7280")
        else:
            colour = theme.LINK_COLOURS.get(st.state.value, ("#6b7280", ""))[0]
            text = f"● {st.state.value}"
            if st.state is LinkState.ONLINE:
                text += f" · {version_label(st.version)}"
            elif st.state is LinkState.OFFLINE:
                text += " · retrying (hover for why)" if st.last_error else " · retrying"
            self._show(text, colour)
            self.status.setToolTip(st.last_error or "")

    def _show(self, text: str, colour: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour}; font-weight: 600;")

    def _show_error(self, message: str) -> None:
        self._show(f"✗ {message}", theme.INVALID.name())
