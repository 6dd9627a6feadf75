"""The bar at the top: the built-in CSMS (where it listens, on or off) and the fleet at a glance.

Stations are added, edited and started in the station list; this bar is about what they talk
to. The URL is selectable and has a copy button, because pointing a real charger or another
tool at the built-in CSMS is a common next step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.session import Session
from app.station.station import LinkState
from ui import theme
from ui.station_list import evse_status_text, queue_facts


class CsmsBar(QFrame):
    #: The user pressed Start / Stop of the built-in CSMS.
    toggleRequested = Signal()
    #: The user wants to change how the built-in CSMS answers (boot, cards, passwords).
    answersRequested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionBar")
        self.session = session
        self.running = False
        self.busy = False

        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)
        title = QLabel("Built-in CSMS")
        title.setStyleSheet("font-weight: 600;")
        self.status = QLabel()
        self.url = QLabel()
        self.url.setFont(theme.monospace())
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url.setToolTip("Stations append their id to this URL")
        self.copy_button = QPushButton("Copy URL")
        self.copy_button.setToolTip("Copy the built-in CSMS URL, e.g. for a real charger")
        self.copy_button.clicked.connect(self.copy_url)
        self.toggle_button = QPushButton("Stop")
        self.toggle_button.clicked.connect(self.toggleRequested)
        self.answers_button = QPushButton("Automatic answers…")
        self.answers_button.setToolTip("How the built-in CSMS answers: boot status, cards, passwords")
        self.answers_button.clicked.connect(self.answersRequested)
        self.fleet = QLabel()
        self.fleet.setObjectName("muted")
        layout.addWidget(title)
        layout.addWidget(self.status)
        layout.addWidget(self.url)
        layout.addWidget(self.copy_button)
        layout.addWidget(self.toggle_button)
        layout.addWidget(self.answers_button)
        layout.addStretch(1)
        layout.addWidget(self.fleet)
        self.refresh()

    def copy_url(self) -> None:
        if self.session.csms is not None:
            QGuiApplication.clipboard().setText(self.session.csms.url)

    def set_running(self, running: bool) -> None:
        self.running = running
        self.busy = False
        self.refresh()

    def set_busy(self) -> None:
        self.busy = True
        self.refresh()

    def refresh(self) -> None:
        csms = self.session.csms
        if self.busy:
            self._status("● Working…", "#6b7280")
        elif self.running and csms is not None:
            self._status("● Running", theme.LINK_COLOURS["Online"][0])
        else:
            self._status("● Off", theme.LINK_COLOURS["Stopped"][0])
        self.url.setText(csms.url if (csms is not None and self.running) else "")
        self.copy_button.setVisible(self.running and csms is not None)
        self.toggle_button.setText("Stop" if self.running else "Start")
        self.toggle_button.setToolTip(
            "Stop the built-in CSMS: its stations go offline and retry"
            if self.running
            else "Start the built-in CSMS on this machine"
        )
        self.toggle_button.setEnabled(not self.busy)
        self.refresh_fleet()

    def refresh_fleet(self) -> None:
        stations = list(self.session.stations.values())
        online = sum(1 for s in stations if s.state is LinkState.ONLINE)
        charging = sum(1 for s in stations for e in s.evses.values() if evse_status_text(e) == "Charging")
        queued = sum(queue_facts(s)[0] for s in stations)
        n = len(stations)
        parts = [f"{n} station{'s' if n != 1 else ''}", f"{online} online", f"{charging} charging"]
        if queued:
            parts.append(f"{queued} queued")
        self.fleet.setText(" · ".join(parts))

    def _status(self, text: str, colour: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour}; font-weight: 600;")
