"""Real hardware from the window: USB RFID readers and Modbus energy meters.

One page over `session.hardware` (app/hardware): what is plugged in or configured, what it
read last, where it is assigned, and a Test button for each kind, so a tester can check a
reader or a meter before running a scenario. Permission problems show the exact udev rule to
add, as the CLI does. The page starts the hardware (USB scanning, meter polling) the first
time it is shown, so a window that never uses real hardware never touches USB.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.hardware.meter_maps import MeterMapError, bundled_maps
from app.hardware.modbus_meter import MeterConfig, MeterStatus, ModbusMeter
from app.hardware.rfid import ReaderState, ReaderStatus
from app.hardware.setup import hardware_from_profile
from app.hardware.uid_format import TOKEN_TYPES, UidFormat
from app.session import Session
from app.station.profile import ProfileError, load_profile
from ui import theme
from ui.tasks import TaskRunner

REFRESH_MS = 500
_READER_COLUMNS = ("Reader (USB id)", "Status", "Assigned to", "idToken", "Last read")
_METER_COLUMNS = ("Meter", "Connection", "Assigned to", "Status", "Last good values")
_OK = QColor("#2e7d32")
_TEXT = QColor("#1f2430")
_READER_COLOURS = {
    ReaderStatus.READY: _OK,
    ReaderStatus.DENIED: theme.INVALID,
    ReaderStatus.FAILED: theme.INVALID,
    ReaderStatus.GONE: theme.NOTE,
}
_METER_COLOURS = {
    MeterStatus.OK: _OK,
    MeterStatus.STALE: theme.NOTE,
    MeterStatus.UNREACHABLE: theme.INVALID,
    MeterStatus.FAILED: theme.INVALID,
}


def _labelled(layout: QHBoxLayout, label: str, widget: QWidget) -> None:
    if label:
        text = QLabel(label)
        text.setObjectName("muted")
        layout.addWidget(text)
    layout.addWidget(widget)


def _clock(stamp: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp)) if stamp else "—"


def reader_last_read(state: ReaderState) -> str:
    """"12:01:05  04a224b2 → 04A224B2 → Accepted"."""
    if state.last_read is None:
        return "—"
    parts = [_clock(state.last_read_at), state.last_read]
    if state.last_token and state.last_token != state.last_read:
        parts.append(f"→ {state.last_token}")
    if state.last_result:
        parts.append(f"→ {state.last_result}")
    return "  ".join(parts)


def meter_values(meter: ModbusMeter) -> str:
    """"230.5/231.0/229.5 V · 16.25/16.50/15.75 A · 11.25 kW · 12345.500 kWh"."""
    values = meter.values
    if not values:
        return "—"
    parts = []
    volts = [v for n in (1, 2, 3) if (v := values.get(f"voltage.L{n}"))]
    amps = [values[f"current.L{n}"] for n in (1, 2, 3) if f"current.L{n}" in values]
    if volts:
        parts.append("/".join(f"{v:.1f}" for v in volts) + " V")
    if amps and meter.map.phases > 1:
        parts.append("/".join(f"{a:.2f}" for a in amps) + " A")
    elif amps:
        parts.append(f"{amps[0]:.2f} A")
    if "power" in values:
        parts.append(f"{values['power'] / 1000:.2f} kW")
    if "energy.import" in values:
        parts.append(f"{values['energy.import'] / 1000:.3f} kWh")
    text = " · ".join(parts)
    return f"{text}  (stale)" if meter.stale else text


class HardwarePage(QWidget):
    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.hardware = session.hardware

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        intro = QLabel(
            "Real devices in the emulated stations. A card held to an assigned reader is a tap at its "
            "station and EVSE; an assigned meter's readings replace the EVSE's simulated voltage, "
            "current, power and energy in TransactionEvent and MeterValues."
        )
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        top = QHBoxLayout()
        top.addWidget(intro, 1)
        self.load_button = QPushButton("Load from profile…")
        self.load_button.setToolTip("Add the readers and meters a station profile names (hardware section)")
        self.load_button.clicked.connect(self._choose_profile)
        top.addWidget(self.load_button)
        outer.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self._readers_box())
        split.addWidget(self._meters_box())
        outer.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    # ------------------------------------------------------------------ readers

    def _readers_box(self) -> QGroupBox:
        box = QGroupBox("RFID readers (USB keyboard-type desk readers)")
        layout = QVBoxLayout(box)
        self.usb_note = QLabel("")
        self.usb_note.setWordWrap(True)
        layout.addWidget(self.usb_note)
        self.readers = QTreeWidget()
        self.readers.setHeaderLabels(list(_READER_COLUMNS))
        self.readers.setRootIsDecorated(False)
        self.readers.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.readers.itemSelectionChanged.connect(self._reader_selected)
        layout.addWidget(self.readers, 1)
        self.reader_detail = QLabel("")
        self.reader_detail.setWordWrap(True)
        self.reader_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reader_detail.setFont(theme.monospace())
        self.reader_detail.setObjectName("problems")
        self.reader_detail.setVisible(False)
        layout.addWidget(self.reader_detail)

        form = QFormLayout()
        assign = QHBoxLayout()
        self.reader_station = QComboBox()
        self.reader_station.currentTextChanged.connect(lambda _: self._fill_evses(self.reader_evse, True))
        self.reader_evse = QComboBox()
        self.token_type = QComboBox()
        self.token_type.addItems(TOKEN_TYPES)
        self.token_type.setToolTip("idToken type the station presents (ISO14443: 4/7-byte UIDs, ISO15693: 8)")
        self.uid_typed = QComboBox()
        self.uid_typed.addItems(["hex", "decimal"])
        self.uid_typed.setToolTip("What the reader types: hex digits, or a decimal number")
        self.uid_reversed = QComboBox()
        self.uid_reversed.addItems(["as read", "reversed"])
        self.uid_reversed.setToolTip("Reverse the UID bytes (readers that send the least significant first)")
        self.uid_length = QSpinBox()
        self.uid_length.setRange(0, 16)
        self.uid_length.setSpecialValueText("any")
        self.uid_length.setSuffix(" bytes")
        self.uid_length.setToolTip("UID length; shorter UIDs get leading zero bytes")
        self.assign_reader_button = QPushButton("Assign")
        self.assign_reader_button.setToolTip("Use the selected reader for this station / EVSE, as set here")
        self.assign_reader_button.clicked.connect(self.assign_reader)
        for label, widget in (
            ("for", self.reader_station),
            ("", self.reader_evse),
            ("as", self.token_type),
            ("", self.assign_reader_button),
        ):
            _labelled(assign, label, widget)
        assign.addStretch(1)
        form.addRow("Selected reader", assign)
        # The UID format on a row of its own: the window must fit a 1280-pixel screen.
        uid_format = QHBoxLayout()
        for label, widget in (
            ("typed in", self.uid_typed),
            ("byte order", self.uid_reversed),
            ("length", self.uid_length),
        ):
            _labelled(uid_format, label, widget)
        uid_format.addStretch(1)
        form.addRow("UID format", uid_format)
        test = QHBoxLayout()
        self.test_uid = QLineEdit("04A224B2")
        self.test_uid.setToolTip("A UID as the reader would type it")
        self.test_reader_button = QPushButton("Test read")
        self.test_reader_button.setToolTip("Present this UID as if read by the selected reader: a real tap")
        self.test_reader_button.clicked.connect(self.test_reader)
        test.addWidget(self.test_uid)
        test.addWidget(self.test_reader_button)
        test.addStretch(1)
        form.addRow("Without a card", test)
        layout.addLayout(form)
        return box

    def _selected_reader(self) -> ReaderState | None:
        item = self.readers.currentItem()
        if item is None:
            return None
        key = item.data(0, Qt.ItemDataRole.UserRole)
        return next((s for s in self.hardware.readers.rows() if s.key == key), None)

    def _reader_selected(self) -> None:
        state = self._selected_reader()
        if state is None or state.config is None:
            return
        config = state.config
        self.reader_station.setCurrentText(config.station_id or "")
        self.reader_evse.setCurrentIndex(config.evse_id or 0)
        self.token_type.setCurrentText(config.token_type)
        self.uid_typed.setCurrentText(config.uid.typed)
        self.uid_reversed.setCurrentIndex(1 if config.uid.byte_order == "reversed" else 0)
        self.uid_length.setValue(config.uid.length or 0)

    def assign_reader(self) -> None:
        state = self._selected_reader()
        if state is None:
            self._say_reader("Select a reader in the list first.")
            return
        station = self.reader_station.currentText()
        if not station:
            self._say_reader("There is no station to assign it to: add one first.")
            return
        self.hardware.readers.assign(
            state.key,
            station_id=station,
            evse_id=self.reader_evse.currentIndex() or None,
            token_type=self.token_type.currentText(),
            uid=UidFormat(
                typed="decimal" if self.uid_typed.currentText() == "decimal" else "hex",
                byte_order="reversed" if self.uid_reversed.currentIndex() else "as-read",
                length=self.uid_length.value() or None,
            ),
        )
        self.refresh()

    def test_reader(self) -> None:
        state = self._selected_reader()
        if state is None or state.config is None:
            self._say_reader("Select an assigned reader (or assign the selected one) first.")
            return
        self.hardware.readers.present_read(state, self.test_uid.text())
        self.refresh()

    def _say_reader(self, text: str) -> None:
        self.reader_detail.setText(text)
        self.reader_detail.setVisible(True)

    # ------------------------------------------------------------------ meters

    def _meters_box(self) -> QGroupBox:
        box = QGroupBox("Energy meters (Modbus TCP or RTU)")
        layout = QVBoxLayout(box)
        self.meters = QTreeWidget()
        self.meters.setHeaderLabels(list(_METER_COLUMNS))
        self.meters.setRootIsDecorated(False)
        self.meters.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.meters.itemSelectionChanged.connect(self._meter_selected)
        layout.addWidget(self.meters, 1)
        self.meter_note = QLabel("")
        self.meter_note.setWordWrap(True)
        self.meter_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meter_note.setVisible(False)
        layout.addWidget(self.meter_note)

        form = QFormLayout()
        where = QHBoxLayout()
        self.meter_name = QLineEdit("meter 1")
        self.meter_name.setMaximumWidth(110)
        self.meter_map = QComboBox()
        self.meter_map.addItems(bundled_maps())
        self.meter_map.setCurrentText("sdm630")
        self.meter_map.setEditable(True)
        self.meter_map.setToolTip("Register map: a bundled one, or the path of your own map file (.json)")
        self.transport = QComboBox()
        self.transport.addItems(["TCP", "RTU"])
        self.transport.currentTextChanged.connect(self._transport_changed)
        self.meter_host = QLineEdit("127.0.0.1")
        self.meter_host.setToolTip("TCP: host of the meter or gateway.  RTU: serial port, e.g. /dev/ttyUSB0")
        self.meter_host.setMaximumWidth(260)
        self.meter_port = QSpinBox()
        self.meter_port.setRange(1, 65535)
        self.meter_port.setValue(502)
        self.meter_port.setToolTip("TCP port (RTU: baud rate)")
        self.unit_id = QSpinBox()
        self.unit_id.setRange(0, 247)
        self.unit_id.setValue(1)
        self.unit_id.setPrefix("unit ")
        self.unit_id.setToolTip("Modbus unit (slave) id of the meter")
        self.meter_host.setMinimumWidth(160)
        for label, widget in (
            ("", self.meter_name),
            ("register map", self.meter_map),
            ("over", self.transport),
            ("at", self.meter_host),
            ("", self.meter_port),
            ("", self.unit_id),
        ):
            _labelled(where, label, widget)
        where.addStretch(1)
        form.addRow("New meter", where)
        target = QHBoxLayout()
        self.meter_station = QComboBox()
        self.meter_station.currentTextChanged.connect(lambda _: self._fill_evses(self.meter_evse, False))
        self.meter_evse = QComboBox()
        self.add_meter_button = QPushButton("Add meter")
        self.add_meter_button.setProperty("primary", True)
        self.add_meter_button.clicked.connect(self.add_meter)
        self.assign_meter_button = QPushButton("Assign selected")
        self.assign_meter_button.clicked.connect(self.assign_meter)
        self.test_meter_button = QPushButton("Test")
        self.test_meter_button.setToolTip("Read the selected meter once, now")
        self.test_meter_button.clicked.connect(self.test_meter)
        self.remove_meter_button = QPushButton("Remove")
        self.remove_meter_button.clicked.connect(self.remove_meter)
        for widget in (
            QLabel("station"),
            self.meter_station,
            self.meter_evse,
            self.add_meter_button,
            self.assign_meter_button,
            self.test_meter_button,
            self.remove_meter_button,
        ):
            target.addWidget(widget)
        target.addStretch(1)
        form.addRow("Drives", target)
        self.meter_note.setText(
            "Test reads the selected meter once. A meter that stops answering keeps its last values, "
            "shown in italics and marked stale, and is read again every interval until it answers."
        )
        self.meter_note.setObjectName("muted")
        self.meter_note.setVisible(True)
        layout.addLayout(form)
        return box

    def _transport_changed(self, text: str) -> None:
        rtu = text == "RTU"
        self.meter_host.setText("/dev/ttyUSB0" if rtu else "127.0.0.1")
        self.meter_port.setRange(1, 4_000_000)
        self.meter_port.setValue(9600 if rtu else 502)
        self.meter_port.setPrefix("baud " if rtu else "")

    def _meter_config(self) -> MeterConfig:
        rtu = self.transport.currentText() == "RTU"
        common = {
            "name": self.meter_name.text().strip() or f"meter {len(self.hardware.meters) + 1}",
            "map": self.meter_map.currentText().strip(),
            "unit_id": self.unit_id.value(),
            "station_id": self.meter_station.currentText() or None,
            "evse_id": self.meter_evse.currentIndex() + 1,
        }
        if rtu:
            port, baud = self.meter_host.text().strip(), self.meter_port.value()
            return MeterConfig(transport="rtu", serial_port=port, baudrate=baud, **common)
        host = self.meter_host.text().strip()
        return MeterConfig(transport="tcp", host=host, port=self.meter_port.value(), **common)

    def add_meter(self) -> ModbusMeter | None:
        try:
            meter = self.hardware.add_meter(self._meter_config())
        except MeterMapError as exc:
            self._say_meter(str(exc), problem=True)
            return None
        self.hardware.start()
        self.meter_name.setText(f"meter {len(self.hardware.meters) + 1}")
        cfg = meter.config
        self._say_meter(f"Added {cfg.name}: polling {cfg.address} every {cfg.interval_s:g} s.")
        self.refresh()
        return meter

    def _selected_meter(self) -> ModbusMeter | None:
        item = self.meters.currentItem()
        if item is None:
            return None
        index = self.meters.indexOfTopLevelItem(item)
        return self.hardware.meters[index] if 0 <= index < len(self.hardware.meters) else None

    def _meter_selected(self) -> None:
        meter = self._selected_meter()
        if meter is None:
            return
        self.meter_station.setCurrentText(meter.config.station_id or "")
        self.meter_evse.setCurrentIndex(meter.config.evse_id - 1)
        if meter.detail and meter.status != MeterStatus.OK:
            self._say_meter(f"{meter.config.name}: {meter.detail}", problem=meter.status != MeterStatus.STALE)

    def assign_meter(self) -> None:
        meter = self._selected_meter()
        if meter is None:
            self._say_meter("Select a meter in the list first.", problem=True)
            return
        station = self.meter_station.currentText() or None
        self.hardware.assign_meter(meter, station, self.meter_evse.currentIndex() + 1)
        self.refresh()

    def test_meter(self) -> None:
        meter = self._selected_meter()
        if meter is None:
            self._say_meter("Select a meter in the list first.", problem=True)
            return
        self.runner.run(self._test(meter), f"Test meter {meter.config.name}")

    async def _test(self, meter: ModbusMeter) -> None:
        self._say_meter(f"Reading {meter.config.name} at {meter.config.address}…")
        if await meter.poll():
            self._say_meter(f"{meter.config.name} answered: {meter_values(meter)}")
        else:
            self._say_meter(f"{meter.config.name} did not answer: {meter.detail}", problem=True)
        self.refresh()

    def remove_meter(self) -> None:
        meter = self._selected_meter()
        if meter is not None:
            self.runner.run(self.hardware.remove_meter(meter), f"Remove meter {meter.config.name}")

    def _say_meter(self, text: str, *, problem: bool = False) -> None:
        self.meter_note.setObjectName("problems" if problem else "notes")
        self.meter_note.setStyleSheet("")  # re-polish for the new object name
        self.meter_note.setText(text)
        self.meter_note.setVisible(True)

    # ------------------------------------------------------------------ profiles

    def _choose_profile(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Station profile", "", "Station profiles (*.yaml *.yml *.json);;All files (*)"
        )
        if path:
            self.load_profile_hardware(path)

    def load_profile_hardware(self, path: str, station_id: str | None = None) -> str:
        """Add a profile's readers and meters, for `station_id`, else the station of the
        profile's id, else the one selected."""
        if station_id is None:
            try:
                config = load_profile(path)
            except ProfileError as exc:
                message = f"Cannot use {path}:\n{exc}"
                self._say_meter(message, problem=True)
                return message
            station_id = config.station_id
            if station_id not in self.session.stations:
                station_id = self.meter_station.currentText() or station_id
        try:
            setup = hardware_from_profile(path, station_id)
        except MeterMapError as exc:
            self._say_meter(str(exc), problem=True)
            return str(exc)
        for reader in setup.readers:
            self.hardware.add_reader(reader)
        for meter in setup.meters:
            self.hardware.add_meter(meter)
        self.hardware.start()
        counts = f"{len(setup.readers)} reader(s) and {len(setup.meters)} meter(s)"
        message = f"{counts} from {path}, for {station_id}."
        if not setup:
            message = f"{path} names no readers or meters (no hardware section)."
        self._say_meter(message)
        self.refresh()
        return message

    # ------------------------------------------------------------------ both

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.hardware.start()  # USB scanning begins when someone looks for readers
        self.refresh()

    def _fill_evses(self, combo: QComboBox, any_evse: bool) -> None:
        station = self.session.stations.get(
            (self.reader_station if combo is self.reader_evse else self.meter_station).currentText()
        )
        count = len(station.evses) if station is not None else 0
        labels = (["any EVSE"] if any_evse else []) + [f"EVSE {n}" for n in range(1, count + 1)]
        if [combo.itemText(i) for i in range(combo.count())] != labels:
            keep = combo.currentIndex()
            combo.clear()
            combo.addItems(labels)
            combo.setCurrentIndex(max(0, min(keep, len(labels) - 1)))

    def _fill_stations(self) -> None:
        names = sorted(self.session.stations)
        for combo in (self.reader_station, self.meter_station):
            if [combo.itemText(i) for i in range(combo.count())] != names:
                keep = combo.currentText()
                combo.clear()
                combo.addItems(names)
                if keep in names:
                    combo.setCurrentText(keep)
        self._fill_evses(self.reader_evse, True)
        self._fill_evses(self.meter_evse, False)

    def refresh(self) -> None:
        self._fill_stations()
        readers = self.hardware.readers
        if readers.error:
            self.usb_note.setText(readers.error)
            self.usb_note.setObjectName("problems")
        elif not self.hardware.started:
            self.usb_note.setText("USB scanning starts when this page is shown.")
            self.usb_note.setObjectName("muted")
        else:
            self.usb_note.setText(
                "Plug a reader in: it appears below within a second. Select it, pick a station and EVSE, "
                "Assign. Unassigned devices (your keyboard too) are listed but never opened."
            )
            self.usb_note.setObjectName("muted")
        self.usb_note.setStyleSheet("")
        self._refresh_readers()
        self._refresh_meters()

    def _refresh_readers(self) -> None:
        rows = self.hardware.readers.rows()
        selected = self._selected_reader()
        while self.readers.topLevelItemCount() > len(rows):
            self.readers.takeTopLevelItem(self.readers.topLevelItemCount() - 1)
        for n, state in enumerate(rows):
            item = self.readers.topLevelItem(n) or QTreeWidgetItem(self.readers)
            config = state.config
            name = state.ident + (f"  {config.name}" if config is not None and config.name else "")
            token = f"{config.token_type}, {config.uid.describe()}" if config is not None else "—"
            texts = (name, state.status.value, config.target if config else "not assigned", token)
            for column, text in enumerate((*texts, reader_last_read(state))):
                item.setText(column, text)
            item.setData(0, Qt.ItemDataRole.UserRole, state.key)
            colour = _READER_COLOURS.get(state.status, theme.MUTED)
            item.setIcon(1, theme.status_dot(colour))
            item.setToolTip(1, state.detail or state.status.value)
            item.setForeground(4, QBrush(theme.INVALID if state.last_result == "Unreadable" else theme.MUTED))
        current = self._selected_reader() or selected
        if current is not None and current.detail:
            self.reader_detail.setObjectName("problems" if current.status == ReaderStatus.DENIED else "notes")
            self.reader_detail.setStyleSheet("")
            self.reader_detail.setText(f"{current.ident}: {current.detail}")
            self.reader_detail.setVisible(True)

    def _refresh_meters(self) -> None:
        meters = self.hardware.meters
        selected = self._selected_meter()
        if selected is not None and selected.status in (MeterStatus.STALE, MeterStatus.UNREACHABLE):
            text = f"{selected.config.name}: {selected.status.value}: {selected.detail}"
            if self.meter_note.text() != text:
                self._say_meter(text, problem=selected.status == MeterStatus.UNREACHABLE)
        while self.meters.topLevelItemCount() > len(meters):
            self.meters.takeTopLevelItem(self.meters.topLevelItemCount() - 1)
        for n, meter in enumerate(meters):
            item = self.meters.topLevelItem(n) or QTreeWidgetItem(self.meters)
            cfg = meter.config
            texts = (
                f"{cfg.name} · {meter.map.name}",
                cfg.address,
                cfg.target,
                meter.status.value,
                f"{_clock(meter.last_ok_at)}  {meter_values(meter)}" if meter.values else "—",
            )
            for column, text in enumerate(texts):
                item.setText(column, text)
            item.setIcon(3, theme.status_dot(_METER_COLOURS.get(meter.status, theme.MUTED)))
            item.setToolTip(3, meter.detail or meter.status.value)
            item.setToolTip(0, meter.map.source)
            item.setToolTip(4, texts[4])
            font = QFont(item.font(4))
            font.setItalic(meter.stale)
            item.setFont(4, font)
            item.setForeground(4, QBrush(theme.NOTE if meter.stale else _TEXT))
