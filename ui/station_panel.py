"""The emulated stations as a tester sees them: link state, and per EVSE what a driver sees.

Each EVSE card shows the connector (coloured by its OCPP status, pulsing while energy flows),
the driver display, the outcome of the last authorization, the live meter in big numbers and
the things a driver or a tester does: plug in, tap a card, inject a fault. The header shows
the link, the queue of messages the CSMS has not received yet, and the tester's levers: cut
the network, reboot, browse the device model. Widgets only read station state when the
bridge says it changed (plus a 1 s tick for ages), and the buttons run the same station
coroutines the CLI and scenarios use.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.scenarios.controls import controls_for
from app.station.evse import ChargingState, ConnectorStatus, Evse
from app.station.station import LinkState, Station
from ui import theme
from ui.ev_dialog import EvChoice, EvDialog, default_choice, ev_details, ev_summary
from ui.inspector_model import version_label
from ui.local_limit import LocalLimitControl, kw_text, limit_in_force
from ui.station_dialog import SECURITY_CHOICES, connector_name
from ui.station_list import queue_age_text, queue_facts
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
        self.next_ev: EvChoice = default_choice()  # what the next Plug in connects
        self._plugged_name: str | None = None  # the preset name of the EV plugged in from here
        self.ev_dialog: EvDialog | None = None

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
        self.subtitle = QLabel(_connectors_text(evse))
        self.subtitle.setObjectName("muted")
        self.subtitle.setWordWrap(True)  # several connectors make a long line
        names.addStretch(1)
        names.addWidget(self.title)
        names.addWidget(self.subtitle)
        names.addStretch(1)
        top.addLayout(names, 1)
        self.status = Pill()
        self.fault_button = QPushButton("Fault")
        self.fault_button.setToolTip("Inject a hardware fault: the connector goes Faulted (and back)")
        self.fault_button.clicked.connect(self._toggle_fault)
        corner = QVBoxLayout()
        corner.setSpacing(6)
        corner.addWidget(self.status, 0, Qt.AlignmentFlag.AlignRight)
        corner.addWidget(self.fault_button, 0, Qt.AlignmentFlag.AlignRight)
        corner.addStretch(1)
        top.addLayout(corner)
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
        label = QLabel("Card")
        label.setObjectName("muted")
        auth_row = QHBoxLayout()
        auth_row.setSpacing(6)
        self.auth = Pill()
        self.auth.setToolTip("Outcome of the last authorization at this EVSE (Authorize or local)")
        self.auth_none = QLabel("no card presented yet")
        self.auth_none.setObjectName("muted")
        auth_row.addWidget(self.auth)
        auth_row.addWidget(self.auth_none)
        auth_row.addStretch(1)
        facts.addWidget(label, 2, 0)
        facts.addLayout(auth_row, 2, 1)
        label = QLabel("Meter")
        label.setObjectName("muted")
        self.meter = QLabel("—")
        self.meter.setToolTip("Energy register of the EVSE meter, and the current the EV draws")
        facts.addWidget(label, 3, 0)
        facts.addWidget(self.meter, 3, 1)
        label = QLabel("EV")
        label.setObjectName("muted")
        self.ev_line = QLabel()
        self.ev_line.setWordWrap(True)  # a narrow column wraps the summary rather than clipping it
        self.ev_line.setMinimumWidth(1)
        facts.addWidget(label, 4, 0)
        facts.addWidget(self.ev_line, 4, 1)
        label = QLabel("Limit")
        label.setObjectName("muted")
        limit_row = QHBoxLayout()
        limit_row.setSpacing(6)
        self.limit = QLabel("no limit")
        self.limit.setStyleSheet("font-weight: 600;")
        self.limit_source = Pill()
        limit_row.addWidget(self.limit)
        limit_row.addWidget(self.limit_source)
        limit_row.addStretch(1)
        facts.addWidget(label, 5, 0)
        facts.addLayout(limit_row, 5, 1)
        label = QLabel("Local limit")
        label.setObjectName("muted")
        self.local_limit = LocalLimitControl(station, evse.evse_id, runner, evse.electrics.rated_power_w())
        facts.addWidget(label, 6, 0)
        facts.addWidget(self.local_limit, 6, 1, Qt.AlignmentFlag.AlignLeft)
        label = QLabel("Temperature")
        label.setObjectName("muted")
        temperature_row = QHBoxLayout()
        temperature_row.setSpacing(6)
        self.temperature = QLabel("—")
        self.temperature.setToolTip("EVSE.Temperature: rises with the load; monitors on it raise events")
        self.temperature_button = QPushButton("Set…")
        self.temperature_button.setToolTip("Heat or cool the EVSE by hand, e.g. past a temperature monitor")
        self.temperature_button.clicked.connect(self.open_temperature_dialog)
        temperature_row.addWidget(self.temperature)
        temperature_row.addWidget(self.temperature_button)
        temperature_row.addStretch(1)
        facts.addWidget(label, 7, 0)
        facts.addLayout(temperature_row, 7, 1)
        facts.setColumnStretch(1, 1)
        outer.addLayout(facts)

        actions = QHBoxLayout()
        actions.setSpacing(6)
        self.plug_button = QPushButton("Plug in")
        self.plug_button.setMinimumWidth(84)
        self.plug_button.setToolTip("Connect (or disconnect) a simulated EV to this EVSE")
        self.plug_button.clicked.connect(self._toggle_plug)
        self.connector = QComboBox()
        self.connector.setToolTip("Which connector the EV is plugged into")
        for connector in evse.connectors:
            self.connector.addItem(
                f"#{connector.connector_id} {connector_name(connector.connector_type)}",
                connector.connector_id,
            )
        self.connector.setVisible(len(evse.connectors) > 1)
        card_label = QLabel("Card")
        card_label.setObjectName("muted")
        self.card = QLineEdit(DEFAULT_CARD)
        self.card.setToolTip("idToken of the RFID card to present at this EVSE's reader")
        self.card.setMinimumWidth(90)
        self.card.returnPressed.connect(self._tap)
        self.tap_button = QPushButton("Tap card")
        self.tap_button.setToolTip("Present the card: authorizes, or stops the transaction it started")
        self.tap_button.clicked.connect(self._tap)
        if len(evse.connectors) > 1:
            pick = QHBoxLayout()
            pick.setSpacing(6)
            pick_label = QLabel("Plug into")
            pick_label.setObjectName("muted")
            pick.addWidget(pick_label)
            pick.addWidget(self.connector)
            pick.addStretch(1)
            outer.addLayout(pick)
        self.ev_button = QPushButton("EV…")
        self.ev_button.setToolTip(
            "Choose the EV the next Plug in connects: preset, battery, SoC, charger (while unplugged)"
        )
        self.ev_button.clicked.connect(self.open_ev_dialog)
        actions.addWidget(self.plug_button)
        actions.addWidget(self.ev_button)
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
            self.runner.run(controls_for(self.station).unplug(evse_id), f"Unplug EVSE {evse_id}")
        else:
            connector_id = int(self.connector.currentData() or 1)
            choice = self.next_ev
            self._plugged_name = choice.name
            ev = choice.make(self.station.now())
            self.runner.run(
                controls_for(self.station).plug(evse_id, connector_id=connector_id, ev=ev),
                f"Plug in EVSE {evse_id} ({choice.name.lower()} EV)",
            )

    def open_ev_dialog(self) -> EvDialog:
        """Non-blocking: the loop keeps running while the tester edits the EV."""
        if self.ev_dialog is not None and self.ev_dialog.isVisible():
            self.ev_dialog.raise_()
            return self.ev_dialog
        if self.ev_dialog is not None:
            self.ev_dialog.deleteLater()  # closed: its choice was taken (or cancelled)
        dialog = EvDialog(self.next_ev, f"EVSE {self.evse.evse_id}", self)
        dialog.accepted.connect(lambda: self._on_ev_chosen(dialog))
        self.ev_dialog = dialog
        dialog.open()
        return dialog

    def _on_ev_chosen(self, dialog: EvDialog) -> None:
        self.next_ev = dialog.choice
        self.refresh()

    def _toggle_fault(self) -> None:
        evse_id = self.evse.evse_id
        faulted = self.evse.faulted
        self.runner.run(
            controls_for(self.station).set_fault(evse_id, not faulted),
            f"{'Clear fault on' if faulted else 'Inject fault on'} EVSE {evse_id}",
        )

    def open_temperature_dialog(self) -> QInputDialog:
        """Ask for a temperature (within the variable's limits) and put the EVSE there."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle(f"EVSE {self.evse.evse_id} temperature")
        dialog.setLabelText("Temperature (°C):")
        dialog.setInputMode(QInputDialog.InputMode.DoubleInput)
        definition = self.station.dm.find("EVSE", "Temperature", evse=self.evse.evse_id)
        limits = definition.characteristics if definition is not None else None
        low = limits.min_limit if limits is not None and limits.min_limit is not None else -40.0
        high = limits.max_limit if limits is not None and limits.max_limit is not None else 150.0
        dialog.setDoubleRange(low, high)
        dialog.setDoubleDecimals(1)
        evse_id = self.evse.evse_id
        dialog.setDoubleValue(self.station.dm.get_float("EVSE", "Temperature", evse=evse_id, default=25.0))
        dialog.doubleValueSelected.connect(self._set_temperature)
        dialog.open()
        return dialog

    def _set_temperature(self, celsius: float) -> None:
        try:
            self.station.set_temperature(self.evse.evse_id, celsius)
        except ValueError as exc:
            self.temperature.setToolTip(str(exc))
        self.refresh()

    def _tap(self) -> None:
        token = self.card.text().strip()
        if not token:
            self.card.setFocus()
            return
        self.runner.run(
            controls_for(self.station).tap(token, self.evse.evse_id),
            f"Tap card {token} at EVSE {self.evse.evse_id}",
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
        self.connector.setEnabled(not evse.plugged)
        self.subtitle.setText(_connectors_text(evse))
        faulted = evse.faulted
        self.fault_button.setText("Clear fault" if faulted else "Fault")
        self.fault_button.setProperty("danger", faulted)
        self.fault_button.setStyleSheet(
            f"color: {theme.INVALID.name()}; border-color: {theme.INVALID.name()}; font-weight: 600;"
            if faulted
            else ""
        )
        auth = evse.auth_status
        if auth:
            self.auth.set_state(auth, theme.AUTH_COLOURS.get(auth, "#c76a00"))
            self.auth.show()
            self.auth_none.hide()
        else:
            self.auth.hide()
            self.auth_none.show()

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
        self._refresh_ev()
        self._refresh_limit()
        celsius = self.station.dm.get_str("EVSE", "Temperature", evse=evse.evse_id, default="")
        self.temperature.setText(f"{celsius} °C" if celsius else "—")
        self.temperature_button.setEnabled(bool(celsius))
        soc = evse.ev.soc_percent if evse.ev is not None else None
        self.soc.setText("—" if soc is None else f"{soc:.1f}")
        if reading is not None and reading.phases_in_use:
            amps = max(reading.current_a)
            text = f"{register_wh / 1000:.3f} kWh · {amps:.1f} A × {reading.phases_in_use} phases"
        else:
            text = f"{register_wh / 1000:.3f} kWh"
        # A real meter drives this EVSE (Hardware tab): say so, and say when it stopped answering.
        if reading is not None and reading.external:
            text += " · real meter, not answering: last values" if reading.stale else " · real meter"
            self.meter.setStyleSheet(f"color: {theme.NOTE.name()};" if reading.stale else "")
            self.meter.setToolTip(
                "The meter assigned on the Hardware tab has stopped answering; the station keeps\n"
                "reporting its last good values until it answers again."
                if reading.stale
                else "Values read from the meter assigned on the Hardware tab"
            )
        else:
            self.meter.setStyleSheet("")
            self.meter.setToolTip("")
        self.meter.setText(text)

    def _refresh_ev(self) -> None:
        ev = self.evse.ev
        self.ev_button.setEnabled(not self.evse.plugged)
        if ev is not None and self.evse.plugged:
            self.ev_line.setText(ev_summary(ev, self._plugged_name))
            self.ev_line.setToolTip("Plugged in now\n" + ev_details(ev))
            _set_muted(self.ev_line, False)
        else:
            self.ev_line.setText("next: " + self.next_ev.summary())
            self.ev_line.setToolTip("Plug in connects this EV\n" + ev_details(self.next_ev.ev))
            _set_muted(self.ev_line, True)

    def _refresh_limit(self) -> None:
        value, source, tip = limit_in_force(self.station, self.evse)
        self.limit.setText(value)
        self.limit.setToolTip(tip)
        self.limit_source.setToolTip(tip)
        if source:
            colour = theme.LOCAL_LIMIT if source.endswith("local limit") else theme.CSMS_LIMIT
            self.limit_source.set_state(source, colour)
            self.limit_source.show()
        else:
            self.limit_source.hide()
        self.local_limit.refresh()

    def power_kw(self) -> float:
        """The kW number as shown (tests read what the user reads)."""
        return float(self.power.text())


def _set_muted(label: QLabel, muted: bool) -> None:
    """Grey or normal text; the style sheet is only re-applied when it changes."""
    name = "muted" if muted else ""
    if label.objectName() != name:
        label.setObjectName(name)
        label.style().unpolish(label)
        label.style().polish(label)


def _connectors_text(evse: Evse) -> str:
    """'Type 2 · connector 1', or per connector with its status when there are several."""
    connectors = evse.connectors
    if len(connectors) == 1:
        c = connectors[0]
        return f"{connector_name(c.connector_type)} · connector {c.connector_id}"
    return " · ".join(
        f"#{c.connector_id} {connector_name(c.connector_type)} ({c.status.value})" for c in connectors
    )


class StationPanel(QWidget):
    """Header (identity, link, queue, tester's levers) and one card per EVSE."""

    #: The user asked for the device-model browser of this station.
    deviceModelRequested = Signal(object)
    #: The user wants to send a raw frame from this station (fault injection).
    composeRequested = Signal(object)
    #: The user wants to enter the password the workspace did not keep.
    passwordRequested = Signal(object)

    def __init__(self, station: Station, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.station = station
        self.runner = runner
        self.password_needed = False
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
        self.model_line = QLabel()
        self.model_line.setObjectName("muted")
        self.model_line.setWordWrap(True)
        h.addWidget(self.model_line)
        self.csms_line = QLabel()
        self.csms_line.setObjectName("muted")
        self.csms_line.setMinimumWidth(1)  # a long URL is clipped, not widening the column
        h.addWidget(self.csms_line)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        h.addWidget(self.facts)
        self.queue = QLabel()
        self.queue.setObjectName("queue")
        self.queue.setTextFormat(Qt.TextFormat.RichText)
        self.queue.setToolTip(
            "Messages the CSMS has not received yet (transaction events are kept while offline\n"
            "and sent in order once the CSMS is reachable again)"
        )
        h.addWidget(self.queue)
        grid_row = QHBoxLayout()
        grid_row.setSpacing(6)
        grid_label = QLabel("Station limit")
        grid_label.setObjectName("muted")
        grid_label.setToolTip("A local limit on the whole station (EVSE 0, the grid connection)")
        self.station_limit = LocalLimitControl(
            station, 0, runner, sum(e.electrics.rated_power_w() for e in station.evses.values())
        )
        self.station_limit_state = QLabel()
        grid_row.addWidget(grid_label)
        grid_row.addWidget(self.station_limit)
        grid_row.addWidget(self.station_limit_state)
        grid_row.addStretch(1)
        h.addLayout(grid_row)
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        h.addWidget(self.notice)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {theme.INVALID.name()};")
        self.error.setWordWrap(True)
        self.error.hide()
        h.addWidget(self.error)

        levers = QHBoxLayout()
        levers.setSpacing(6)
        self.network_button = QPushButton("Go offline")
        self.network_button.setToolTip(
            "Cut the station's network (the socket drops and stays down) or restore it"
        )
        self.network_button.clicked.connect(self._toggle_network)
        self.reboot_button = QPushButton("Reboot")
        self.reboot_button.setToolTip(
            "Power-cycle the station: it boots again (BootNotification with a reason) and ends or\n"
            "resumes its transactions as its device model says"
        )
        self.reboot_button.clicked.connect(self._reboot)
        self.device_model_button = QPushButton("Device model…")
        self.device_model_button.setToolTip("Browse and edit the station's components and variables")
        self.device_model_button.clicked.connect(lambda: self.deviceModelRequested.emit(self.station))
        self.compose_button = QPushButton("Compose…")
        self.compose_button.setToolTip("Send a raw frame from this station, valid or deliberately broken")
        self.compose_button.clicked.connect(lambda: self.composeRequested.emit(self.station))
        self.password_button = QPushButton("Enter password…")
        self.password_button.setProperty("primary", True)
        self.password_button.clicked.connect(lambda: self.passwordRequested.emit(self.station))
        self.password_button.hide()
        levers.addWidget(self.network_button)
        levers.addWidget(self.reboot_button)
        levers.addStretch(1)
        levers.addWidget(self.password_button)
        levers.addWidget(self.compose_button)
        levers.addWidget(self.device_model_button)
        h.addLayout(levers)
        layout.addWidget(header)

        self.cards: dict[int, EvseCard] = {}
        for evse_id, evse in sorted(station.evses.items()):
            card = EvseCard(station, evse, runner)
            self.cards[evse_id] = card
            layout.addWidget(card)
        layout.addStretch(1)
        self.refresh()

    # ------------------------------------------------------------------ actions

    def _toggle_network(self) -> None:
        cut = self.station.network_cut
        self.runner.run(
            controls_for(self.station).set_network(cut),
            f"{'Restore' if cut else 'Cut'} the network of {self.station.station_id}",
        )

    def _reboot(self) -> None:
        self.runner.run(controls_for(self.station).reboot(), f"Reboot {self.station.station_id}")

    def set_password_needed(self, needed: bool) -> None:
        self.password_needed = needed
        self.refresh()

    # ------------------------------------------------------------------ view

    def refresh(self) -> None:
        st = self.station
        cfg = st.config
        state = st.state.value
        bg, fg = theme.LINK_COLOURS.get(state, ("#8a8f98", "#ffffff"))
        self.link.set_state(state, bg, fg)
        self.link.setToolTip(_LINK_TIPS.get(st.state, ""))
        evses = len(st.evses)
        self.model_line.setText(f"{cfg.vendor} {cfg.model} · {evses} EVSE{'s' if evses != 1 else ''}")
        self.csms_line.setText(f"CSMS {cfg.csms_url}")
        self.csms_line.setToolTip(f"The station connects to {cfg.csms_url.rstrip('/')}/{st.station_id}")
        boot = f"<b>{st.boot_status}</b>" if st.boot_status else "not booted yet"
        version = version_label(st.version) if st.version else "version not negotiated"
        self.facts.setText(
            f"Boot: {boot} &nbsp;·&nbsp; {version} &nbsp;·&nbsp; security profile {cfg.security_profile}"
        )
        level = cfg.security_profile
        self.facts.setToolTip(
            f"Security profile {SECURITY_CHOICES[level - 1][1]}: {SECURITY_CHOICES[level - 1][2]}"
            if 1 <= level <= 3
            else ""
        )
        self.refresh_queue()
        self.refresh_station_limit()
        cut = st.network_cut
        self.network_button.setText("Go online" if cut else "Go offline")
        self.network_button.setProperty("primary", cut)
        self.network_button.style().unpolish(self.network_button)
        self.network_button.style().polish(self.network_button)
        running = st.state is not LinkState.STOPPED
        self.network_button.setEnabled(running or cut)
        self.reboot_button.setEnabled(running)
        notices = []
        if cut:
            notices.append(
                "Network cut: the station cannot reach the CSMS. Transaction events are queued "
                "until you press Go online."
            )
        if self.password_needed:
            notices.append(
                "This station's password is not kept in the workspace: enter it to start the station."
            )
        self.notice.setText("\n".join(notices))
        self.notice.setVisible(bool(notices))
        self.password_button.setVisible(self.password_needed)
        if st.last_error and st.state is not LinkState.ONLINE and not cut:
            self.error.setText(st.last_error)
            self.error.show()
        else:
            self.error.hide()

    def refresh_queue(self) -> None:
        """Count and age of the unsent messages; called on changes and once a second."""
        queued, oldest_age = queue_facts(self.station)
        if queued:
            age = queue_age_text(oldest_age)
            oldest = f", oldest waiting {age}" if age else ""
            self.queue.setText(
                f"<span style='color:{theme.QUEUE}'><b>Queue: {queued} unsent "
                f"message{'s' if queued != 1 else ''}</b>{oldest}</span>"
            )
        else:
            self.queue.setText(
                "<span style='color:#6b7280'>Queue: empty, nothing waiting for the CSMS</span>"
            )

    def refresh_station_limit(self) -> None:
        active = self.station.smart.external_limit_w.get(0)
        text = "none set" if active is None else f"{kw_text(active)} in force"
        if self.station_limit_state.text() != text:
            self.station_limit_state.setText(text)
            _set_muted(self.station_limit_state, active is None)
            self.station_limit_state.setStyleSheet(
                "" if active is None else f"color: {theme.LOCAL_LIMIT}; font-weight: 600;"
            )
        self.station_limit.refresh()

    def refresh_evse(self, evse: Evse) -> None:
        card = self.cards.get(evse.evse_id)
        if card is not None:
            card.refresh()
        self.refresh_station_limit()

    def refresh_all(self) -> None:
        self.refresh()
        for card in self.cards.values():
            card.refresh()


_LINK_TIPS = {
    LinkState.ONLINE: "Connected and BootNotification accepted",
    LinkState.CONNECTED: "Socket open, waiting for BootNotification to be accepted",
    LinkState.CONNECTING: "Opening the websocket to the CSMS",
    LinkState.OFFLINE: "No CSMS connection: retrying with back-off (unless the network is cut); "
    "transaction events are queued",
    LinkState.STOPPED: "Not running: press Start in the station list",
    LinkState.NETWORK_CUT: "You cut the network: no connection attempts until Go online",
    LinkState.REBOOTING: "Power-cycling: the station boots again in a moment",
}


class StationsPane(QScrollArea):
    """The selected station's panel; the others wait hidden, so switching is instant."""

    deviceModelRequested = Signal(object)
    composeRequested = Signal(object)
    passwordRequested = Signal(object)

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
        self._empty = QLabel("No station. Press + Add in the station list to create one.")
        self._empty.setObjectName("muted")
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self.panels: dict[int, StationPanel] = {}
        self.current: Station | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()

    def add_station(self, station: Station) -> StationPanel:
        panel = StationPanel(station, self.runner)
        panel.deviceModelRequested.connect(self.deviceModelRequested)
        panel.composeRequested.connect(self.composeRequested)
        panel.passwordRequested.connect(self.passwordRequested)
        self.panels[id(station)] = panel
        self._layout.insertWidget(self._layout.count() - 1, panel)
        if self.current is None:
            self.current = station
        panel.setVisible(self.current is station)
        self._empty.hide()
        return panel

    def remove_station(self, station: Station) -> None:
        panel = self.panels.pop(id(station), None)
        if panel is not None:
            self._layout.removeWidget(panel)
            panel.deleteLater()
        if self.current is station:
            self.current = None
        self._empty.setVisible(not self.panels)

    def show_station(self, station: Station | None) -> None:
        """Show this station's panel (None: none)."""
        self.current = station
        for key, panel in self.panels.items():
            visible = station is not None and key == id(station)
            if visible:
                panel.refresh_all()
            panel.setVisible(visible)
        self._empty.setVisible(not self.panels)
        self.verticalScrollBar().setValue(0)

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

    def stop_ticking(self) -> None:
        """The session is shutting down: no more reads of station state on a timer."""
        self._tick.stop()

    def _on_tick(self) -> None:
        if self.current is not None:
            panel = self.panels.get(id(self.current))
            if panel is not None:
                panel.refresh_queue()
