"""The emulated stations as a tester sees them: link state, and per EVSE what a driver sees.

Each EVSE card shows the connector (coloured by its OCPP status, pulsing while energy flows),
the driver display, the live meter in big numbers and the two things a driver does: plug in
and tap a card. Widgets only read station state when the bridge says it changed, and the
buttons run the same station coroutines the CLI and scenarios use.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.station.evse import ChargingState, ConnectorStatus, Evse
from app.station.station import LinkState, Station
from ui import theme
from ui.inspector_model import version_label
from ui.tasks import TaskRunner

DEFAULT_CARD = "CB-DEMO-0001"

_CHARGING_STATE_TEXT = {
    ChargingState.EV_CONNECTED: "EV connected, not charging",
    ChargingState.CHARGING: "Charging",
    ChargingState.SUSPENDED_EV: "Suspended by the EV",
    ChargingState.SUSPENDED_EVSE: "Suspended by the station",
    ChargingState.IDLE: "Idle",
}


def display_status(evse: Evse) -> str:
    """The status word on the card: OCPP's connector status, with Charging singled out."""
    if evse.status is ConnectorStatus.OCCUPIED and evse.charging_state() is ChargingState.CHARGING:
        return "Charging"
    return evse.status.value


class Pill(QLabel):
    """A rounded coloured label: a state readable from across the room."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_state(self, text: str, background: str, foreground: str = "#ffffff") -> None:
        self.setText(text)
        self.setStyleSheet(
            f"background:{background}; color:{foreground}; border-radius:10px;"
            "padding:2px 12px; font-weight:600; font-size:9.5pt;"
        )


class ConnectorGlyph(QWidget):
    """A Type 2 socket face in the status colour; pins fill in when a plug is in, and a ring
    pulses while energy flows, so "is it charging?" needs no reading."""

    SIZE = 64

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(self.SIZE, self.SIZE)
        self._colour = QColor(theme.CONNECTOR_COLOURS["Available"])
        self._plugged = False
        self._charging = False
        self._phase = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(60)
        self._timer.timeout.connect(self._advance)

    def sizeHint(self) -> QSize:
        return QSize(self.SIZE, self.SIZE)

    def set_state(self, status: str, plugged: bool, charging: bool) -> None:
        colour = QColor(theme.CONNECTOR_COLOURS.get(status, "#8a8f98"))
        if (colour, plugged, charging) == (self._colour, self._plugged, self._charging):
            return
        self._colour, self._plugged, self._charging = colour, plugged, charging
        if charging and not self._timer.isActive():
            self._timer.start()
        elif not charging:
            self._timer.stop()
        self.update()

    @property
    def animating(self) -> bool:
        return self._timer.isActive()

    def _advance(self) -> None:
        self._phase = (self._phase + 0.06) % 1.0
        self.update()

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = QPointF(self.width() / 2, self.height() / 2)
        r = self.SIZE / 2 - 8
        if self._charging:
            # Pulsing halo: grows and fades once per second or so.
            halo = QColor(self._colour)
            halo.setAlphaF(0.55 * (1.0 - self._phase))
            p.setPen(QPen(halo, 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            grow = 2 + 5 * self._phase
            p.drawEllipse(c, r + grow, r + grow)
        # Socket face: a circle with its top cut flat, as on a Type 2 inlet.
        path = QPainterPath()
        path.addEllipse(c, r, r)
        cut = QPainterPath()
        cut.addRect(QRectF(c.x() - r, c.y() - r, 2 * r, r * 0.28))
        face = path.subtracted(cut)
        p.setPen(QPen(self._colour.darker(130), 1.5))
        p.setBrush(self._colour)
        p.drawPath(face)
        pin = QColor("#1f2430") if self._plugged else QColor("#ffffff")
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pin)
        small, big = r * 0.12, r * 0.19
        # CP and PP near the flat edge, then L1, N, L2, L3, PE in a ring.
        for dx in (-0.3, 0.3):
            p.drawEllipse(QPointF(c.x() + dx * r, c.y() - 0.45 * r), small, small)
        for angle in (180, 0, 225, 315, 90):
            a = math.radians(angle)
            p.drawEllipse(QPointF(c.x() + 0.55 * r * math.cos(a), c.y() + 0.55 * r * math.sin(a)), big, big)
        p.drawEllipse(c, big, big)
        p.end()


def _big_number(caption: str) -> tuple[QLabel, QWidget]:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    value = QLabel("—")
    value.setObjectName("bigNumber")
    unit = QLabel(caption)
    unit.setObjectName("unit")
    layout.addWidget(value)
    layout.addWidget(unit)
    return value, box


class EvseCard(QFrame):
    """One EVSE: connector, driver display, meter, transaction, driver actions."""

    def __init__(self, station: Station, evse: Evse, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evseCard")
        self.station = station
        self.evse = evse
        self.runner = runner
        self._tx_start_wh: tuple[str, float] | None = None  # (transaction id, register at start)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 12)
        outer.setSpacing(8)

        top = QHBoxLayout()
        top.setSpacing(10)
        self.glyph = ConnectorGlyph()
        top.addWidget(self.glyph)
        names = QVBoxLayout()
        names.setSpacing(2)
        self.title = QLabel(f"EVSE {evse.evse_id}")
        self.title.setObjectName("sectionTitle")
        self.subtitle = QLabel(f"{_connector_name(evse.connector_type)} · connector {evse.connector_id}")
        self.subtitle.setObjectName("muted")
        names.addStretch(1)
        names.addWidget(self.title)
        names.addWidget(self.subtitle)
        names.addStretch(1)
        top.addLayout(names, 1)
        self.status = Pill()
        top.addWidget(self.status, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(top)

        self.display = QLabel()
        self.display.setObjectName("display")
        self.display.setToolTip("What the station's screen shows the driver")
        self.display.setWordWrap(True)
        self.display.setMinimumHeight(34)
        outer.addWidget(self.display)

        numbers = QHBoxLayout()
        numbers.setSpacing(18)
        self.power, box = _big_number("kW now")
        numbers.addWidget(box)
        self.energy, box = _big_number("kWh this session")
        numbers.addWidget(box)
        self.soc, box = _big_number("EV battery %")
        numbers.addWidget(box)
        numbers.addStretch(1)
        outer.addLayout(numbers)

        facts = QGridLayout()
        facts.setHorizontalSpacing(10)
        facts.setVerticalSpacing(2)
        label = QLabel("Transaction")
        label.setObjectName("muted")
        self.transaction = QLabel("—")
        self.transaction.setFont(theme.monospace())
        self.transaction.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        facts.addWidget(label, 0, 0)
        facts.addWidget(self.transaction, 0, 1)
        label = QLabel("State")
        label.setObjectName("muted")
        self.charging_state = QLabel("—")
        facts.addWidget(label, 1, 0)
        facts.addWidget(self.charging_state, 1, 1)
        label = QLabel("Meter")
        label.setObjectName("muted")
        self.meter = QLabel("—")
        self.meter.setToolTip("Energy register of the EVSE meter, and the current the EV draws")
        facts.addWidget(label, 2, 0)
        facts.addWidget(self.meter, 2, 1)
        facts.setColumnStretch(1, 1)
        outer.addLayout(facts)

        actions = QHBoxLayout()
        actions.setSpacing(6)
        self.plug_button = QPushButton("Plug in")
        self.plug_button.setMinimumWidth(84)
        self.plug_button.setToolTip("Connect (or disconnect) a simulated EV to this EVSE")
        self.plug_button.clicked.connect(self._toggle_plug)
        card_label = QLabel("Card")
        card_label.setObjectName("muted")
        self.card = QLineEdit(DEFAULT_CARD)
        self.card.setToolTip("idToken of the RFID card to present at this EVSE's reader")
        self.card.setMinimumWidth(110)
        self.card.returnPressed.connect(self._tap)
        self.tap_button = QPushButton("Tap card")
        self.tap_button.setToolTip("Present the card: authorizes, or stops the transaction it started")
        self.tap_button.clicked.connect(self._tap)
        actions.addWidget(self.plug_button)
        actions.addSpacing(6)
        actions.addWidget(card_label)
        actions.addWidget(self.card, 1)
        actions.addWidget(self.tap_button)
        outer.addLayout(actions)

        self.refresh()

    # ------------------------------------------------------------------ actions

    def _toggle_plug(self) -> None:
        evse_id = self.evse.evse_id
        if self.evse.plugged:
            self.runner.run(self.station.unplug(evse_id), f"Unplug EVSE {evse_id}")
        else:
            self.runner.run(self.station.plug(evse_id), f"Plug in EVSE {evse_id}")

    def _tap(self) -> None:
        token = self.card.text().strip()
        if not token:
            self.card.setFocus()
            return
        self.runner.run(
            self.station.tap(token, self.evse.evse_id), f"Tap card {token} at EVSE {self.evse.evse_id}"
        )

    # ------------------------------------------------------------------ view

    def refresh(self) -> None:
        evse = self.evse
        status = display_status(evse)
        state = evse.charging_state()
        charging = status == "Charging"
        self.status.set_state(status, theme.CONNECTOR_COLOURS.get(status, "#8a8f98"))
        self.glyph.set_state(status, evse.plugged, charging)
        self.display.setText(evse.message or " ")
        self.plug_button.setText("Unplug" if evse.plugged else "Plug in")

        reading = evse.reading
        power_w = reading.power_w if reading is not None else 0.0
        register_wh = reading.energy_wh if reading is not None else 0.0
        self.power.setText(f"{power_w / 1000:.2f}")
        tx = evse.transaction
        if tx is not None:
            if self._tx_start_wh is None or self._tx_start_wh[0] != tx.transaction_id:
                self._tx_start_wh = (tx.transaction_id, register_wh)
            kwh = (register_wh - self._tx_start_wh[1]) / 1000
            self.energy.setText(f"{kwh:.3f}" if kwh < 10 else f"{kwh:.1f}")
            self.transaction.setText(tx.transaction_id[:8])
            self.transaction.setToolTip(tx.transaction_id)
            self.charging_state.setText(_CHARGING_STATE_TEXT.get(state, state.value))
        else:
            self.energy.setText("—" if self._tx_start_wh is None else self.energy.text())
            self.transaction.setText("none")
            self.transaction.setToolTip("")
            self.charging_state.setText(_CHARGING_STATE_TEXT.get(state, state.value))
        soc = evse.ev.soc_percent if evse.ev is not None else None
        self.soc.setText("—" if soc is None else f"{soc:.1f}")
        if reading is not None and reading.phases_in_use:
            amps = max(reading.current_a)
            self.meter.setText(
                f"{register_wh / 1000:.3f} kWh · {amps:.1f} A × {reading.phases_in_use} phases"
            )
        else:
            self.meter.setText(f"{register_wh / 1000:.3f} kWh")

    def power_kw(self) -> float:
        """The kW number as shown (tests read what the user reads)."""
        return float(self.power.text())


def _connector_name(connector_type: str) -> str:
    return {"cType2": "Type 2", "cCCS2": "CCS2", "cCCS1": "CCS1", "cType1": "Type 1"}.get(
        connector_type, connector_type
    )


class StationPanel(QWidget):
    """Header (identity, link, boot, version, queue) and one card per EVSE."""

    def __init__(self, station: Station, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.station = station
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)

        header = QFrame()
        header.setObjectName("stationHeader")
        h = QVBoxLayout(header)
        h.setContentsMargins(12, 10, 12, 10)
        h.setSpacing(4)
        row = QHBoxLayout()
        self.title = QLabel(station.station_id)
        self.title.setStyleSheet("font-size: 14pt; font-weight: 700;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.link = Pill()
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(self.link)
        h.addLayout(row)
        cfg = station.config
        evses = len(station.evses)
        self.model_line = QLabel(f"{cfg.vendor} {cfg.model} · {evses} EVSE{'s' if evses != 1 else ''}")
        self.model_line.setObjectName("muted")
        self.model_line.setWordWrap(True)
        h.addWidget(self.model_line)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        h.addWidget(self.facts)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {theme.INVALID.name()};")
        self.error.setWordWrap(True)
        self.error.hide()
        h.addWidget(self.error)
        layout.addWidget(header)

        self.cards: dict[int, EvseCard] = {}
        for evse_id, evse in sorted(station.evses.items()):
            card = EvseCard(station, evse, runner)
            self.cards[evse_id] = card
            layout.addWidget(card)
        self.refresh()

    def refresh(self) -> None:
        st = self.station
        state = st.state.value
        bg, fg = theme.LINK_COLOURS.get(state, ("#8a8f98", "#ffffff"))
        self.link.set_state(state, bg, fg)
        self.link.setToolTip(_LINK_TIPS.get(st.state, ""))
        queued = st.queued_events
        boot = f"<b>{st.boot_status}</b>" if st.boot_status else "not booted yet"
        version = version_label(st.version) if st.version else "version not negotiated"
        self.facts.setText(
            f"Boot: {boot} &nbsp;·&nbsp; {version}"
            f" &nbsp;·&nbsp; {queued} queued event{'s' if queued != 1 else ''}"
        )
        if st.last_error and st.state is not LinkState.ONLINE:
            self.error.setText(st.last_error)
            self.error.show()
        else:
            self.error.hide()

    def refresh_evse(self, evse: Evse) -> None:
        card = self.cards.get(evse.evse_id)
        if card is not None:
            card.refresh()


_LINK_TIPS = {
    LinkState.ONLINE: "Connected and BootNotification accepted",
    LinkState.CONNECTED: "Socket open, waiting for BootNotification to be accepted",
    LinkState.CONNECTING: "Opening the websocket to the CSMS",
    LinkState.OFFLINE: "Lost the CSMS: retrying with back-off, transaction events are queued",
    LinkState.STOPPED: "Not running: press Connect",
}


class StationsPane(QScrollArea):
    """All stations of the session, stacked; scrolls when there are more than fit."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        inner.setObjectName("central")
        self._layout = QVBoxLayout(inner)
        self._layout.setContentsMargins(0, 0, 6, 0)
        self._layout.setSpacing(14)
        self._empty = QLabel("No station. Enter a CSMS URL and a station id above, then Connect.")
        self._empty.setObjectName("muted")
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self.panels: dict[int, StationPanel] = {}

    def add_station(self, station: Station) -> StationPanel:
        panel = StationPanel(station, self.runner)
        self.panels[id(station)] = panel
        self._layout.insertWidget(self._layout.count() - 1, panel)
        self._empty.hide()
        return panel

    def remove_station(self, station: Station) -> None:
        panel = self.panels.pop(id(station), None)
        if panel is not None:
            self._layout.removeWidget(panel)
            panel.deleteLater()
        self._empty.setVisible(not self.panels)

    def panel_for(self, station: Station) -> StationPanel | None:
        return self.panels.get(id(station))

    def on_station_changed(self, station: Station) -> None:
        panel = self.panels.get(id(station))
        if panel is not None:
            panel.refresh()

    def on_evse_changed(self, station: Station, evse: Evse) -> None:
        panel = self.panels.get(id(station))
        if panel is not None:
            panel.refresh_evse(evse)
