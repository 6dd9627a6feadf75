"""Intercept mode in the window: rules on the left, held frames and the decision on the right.

A rule says which frames to hold (where, which direction, station, action, frame type, the next
one only or every one). A held frame waits in the list with a countdown to its hold timeout;
selecting it puts its text in the editor, and the buttons decide: release as is, release the
edited text, delay, drop. The inspector shows a held frame only once it is on the wire.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.protocol import schemas
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.transport.intercept import FRAME_TYPES, HeldFrame, Rule
from ui import theme
from ui.composer import judge

ANY = "Any"
COUNTDOWN_MS = 250
_COLUMNS = ("#", "Releases in", "Where, direction", "Frame", "Message id")
_COUNTDOWN = 1


class InterceptPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.interceptor = session.interceptor
        self._items: dict[int, QTreeWidgetItem] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        head = QHBoxLayout()
        self.enabled = QCheckBox("Intercept on")
        self.enabled.setChecked(self.interceptor.enabled)
        self.enabled.setToolTip("Off: every frame passes; the rules stay for later")
        self.enabled.toggled.connect(self.interceptor.set_enabled)
        head.addWidget(self.enabled)
        head.addSpacing(16)
        head.addWidget(QLabel("Hold timeout"))
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1, 3600)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(self.interceptor.hold_timeout)
        self.timeout.setToolTip("A held frame nobody decides about is released as is after this long")
        self.timeout.valueChanged.connect(lambda v: setattr(self.interceptor, "hold_timeout", float(v)))
        head.addWidget(self.timeout)
        head.addStretch(1)
        hint = QLabel(
            "The station's own timeouts keep running while a frame is held. "
            "Held frames appear in the inspector once released."
        )
        hint.setStyleSheet("color:#6b7280")
        hint.setWordWrap(True)
        head.addWidget(hint, 2)
        outer.addLayout(head)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_rules())
        splitter.addWidget(self._build_held())
        splitter.setSizes([360, 640])
        outer.addWidget(splitter, 1)

        self.interceptor.frame_held.connect(self._on_held)
        self.interceptor.frame_decided.connect(self._on_decided)
        self.interceptor.rules_changed.connect(self._show_rules)
        self._tick = QTimer(self)
        self._tick.setInterval(COUNTDOWN_MS)
        self._tick.timeout.connect(self._countdown)
        self._tick.start()
        self.refresh_choices()
        self._show_rules()
        for frame in self.interceptor.held.values():
            self._on_held(frame)

    # ------------------------------------------------------------------ building

    def _build_rules(self) -> QWidget:
        box = QGroupBox("Hold frames that match")
        form = QFormLayout(box)
        self.side = QComboBox()
        self.side.addItem("Emulated station", "station")
        self.side.addItem("Built-in CSMS", "csms")
        self.side.addItem("Proxy (a real charger)", "proxy")
        self.side.setToolTip(
            "Where the frame is held: at an emulated station, at the built-in CSMS, or in the proxy\n"
            "between a real charger and its CSMS (Proxy tab)"
        )
        self.side.currentIndexChanged.connect(self._name_directions)
        self.direction = QComboBox()
        for label, value in (
            ("Outgoing (it sends)", "outgoing"),
            ("Incoming (it receives)", "incoming"),
            ("Both", "both"),
        ):
            self.direction.addItem(label, value)
        self.station = QComboBox()
        self.station.setEditable(True)
        self.action = QComboBox()
        self.action.setEditable(True)
        self.action.addItem(ANY)
        actions = set(schemas.send_actions(OcppVersion.V21))
        for version in OcppVersion:
            actions |= schemas.actions(version)
        self.action.addItems(sorted(actions))
        # The longest action name would set the width of the whole window; it elides instead.
        self.action.setMinimumContentsLength(14)
        self.action.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.frame_type = QComboBox()
        self.frame_type.addItem(ANY, None)
        for number, name in FRAME_TYPES.items():
            self.frame_type.addItem(name, number)
        self.every = QComboBox()
        self.every.addItem("Next matching frame only", False)
        self.every.addItem("Every matching frame", True)
        form.addRow("Hold at", self.side)
        form.addRow("Direction", self.direction)
        form.addRow("Station", self.station)
        form.addRow("Action", self.action)
        form.addRow("Frame type", self.frame_type)
        form.addRow("How often", self.every)
        self.add_button = QPushButton("Add rule")
        self.add_button.clicked.connect(self.add_rule)
        form.addRow(self.add_button)
        self.rules = QListWidget()
        self.rules.setToolTip("Active rules; a 'next' rule goes away once it held a frame")
        form.addRow(self.rules)
        self.remove_button = QPushButton("Remove rule")
        self.remove_button.clicked.connect(self.remove_rule)
        form.addRow(self.remove_button)
        return box

    def _build_held(self) -> QWidget:
        box = QGroupBox("Held frames")
        layout = QVBoxLayout(box)
        self.held = QTreeWidget()
        self.held.setHeaderLabels(list(_COLUMNS))
        self.held.setRootIsDecorated(False)
        self.held.setUniformRowHeights(True)
        self.held.currentItemChanged.connect(self._on_selected)
        layout.addWidget(self.held, 1)
        self.editor = QPlainTextEdit()
        self.editor.setFont(theme.monospace())
        self.editor.setPlaceholderText("Select a held frame: its text shows here, ready to edit.")
        self.editor.textChanged.connect(self._revalidate)
        layout.addWidget(self.editor, 1)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        row = QHBoxLayout()
        self.release_button = QPushButton("Release")
        self.release_button.setToolTip("Send (or deliver) the frame exactly as it was")
        self.release_button.clicked.connect(self.release)
        self.edited_button = QPushButton("Release edited")
        self.edited_button.setToolTip("Send (or deliver) the text in the editor instead, valid or not")
        self.edited_button.clicked.connect(self.release_edited)
        self.delay_seconds = QDoubleSpinBox()
        self.delay_seconds.setRange(0.1, 3600)
        self.delay_seconds.setValue(5.0)
        self.delay_seconds.setSuffix(" s")
        self.delay_button = QPushButton("Delay")
        self.delay_button.setToolTip("Release the editor's text after this many more seconds")
        self.delay_button.clicked.connect(self.delay)
        self.drop_button = QPushButton("Drop")
        self.drop_button.setToolTip("Outgoing: never sent. Incoming: received but never handled")
        self.drop_button.setStyleSheet("color:#c62828")
        self.drop_button.clicked.connect(self.drop)
        for button in (self.release_button, self.edited_button, self.delay_seconds, self.delay_button):
            row.addWidget(button)
        row.addWidget(self.drop_button)
        row.addStretch(1)
        layout.addLayout(row)
        self._enable_decisions(False)
        return box

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh_choices()  # stations come and go while the tab is hidden
        super().showEvent(event)

    # ------------------------------------------------------------------ rules

    def _name_directions(self, *_: object) -> None:
        """At the proxy nothing of ours sends: the directions are named after the charger."""
        proxy = self.side.currentData() == "proxy"
        names = {
            "outgoing": "Charger → CSMS" if proxy else "Outgoing (it sends)",
            "incoming": "CSMS → charger" if proxy else "Incoming (it receives)",
        }
        for i in range(self.direction.count()):
            value = self.direction.itemData(i)
            if value in names:
                self.direction.setItemText(i, names[value])

    def refresh_choices(self) -> None:
        """Station ids for the rule editor (emulated stations, the built-in CSMS's peers, the
        stations connected through a proxy)."""
        wanted = self.station.currentText()
        ids = set(self.session.stations)
        if self.session.csms is not None:
            ids |= set(self.session.csms.stations)
        for proxy in self.session.proxies:
            ids |= {link.station_id for link in proxy.stations.values()}
        self.station.clear()
        self.station.addItem(ANY)
        self.station.addItems(sorted(ids))
        self.station.setCurrentText(wanted or ANY)

    def add_rule(self) -> Rule:
        station = self.station.currentText().strip()
        action = self.action.currentText().strip()
        rule = Rule(
            direction=self.direction.currentData(),
            station=None if station in ("", ANY) else station,
            action=None if action in ("", ANY) else action,
            message_type=self.frame_type.currentData(),
            every=bool(self.every.currentData()),
            side=self.side.currentData(),
        )
        return self.interceptor.add_rule(rule)

    def remove_rule(self) -> None:
        item = self.rules.currentItem()
        if item is not None:
            self.interceptor.remove_rule(item.data(Qt.ItemDataRole.UserRole))

    def _show_rules(self) -> None:
        self.rules.clear()
        for rule in self.interceptor.rules:
            item = QListWidgetItem(rule.describe())
            item.setToolTip(rule.describe())
            item.setData(Qt.ItemDataRole.UserRole, rule)
            self.rules.addItem(item)
        if self.enabled.isChecked() != self.interceptor.enabled:
            self.enabled.setChecked(self.interceptor.enabled)

    # ------------------------------------------------------------------ held frames

    def _on_held(self, frame: HeldFrame) -> None:
        where = "station" if frame.side == "station" else "built-in CSMS"
        item = QTreeWidgetItem(
            [
                str(frame.id),
                f"{frame.remaining:.0f} s",
                f"{where}, {frame.direction}",
                frame.summary,
                frame.message_id or "—",
            ]
        )
        item.setData(0, Qt.ItemDataRole.UserRole, frame)
        self._items[frame.id] = item
        self.held.addTopLevelItem(item)
        for col in range(len(_COLUMNS) - 1):
            self.held.resizeColumnToContents(col)
        if self.held.currentItem() is None:
            self.held.setCurrentItem(item)

    def _on_decided(self, frame: HeldFrame) -> None:
        item = self._items.pop(frame.id, None)
        if item is not None:
            index = self.held.indexOfTopLevelItem(item)
            if index >= 0:
                self.held.takeTopLevelItem(index)
        if self.current() is None:
            self.editor.clear()
            self._enable_decisions(False)

    def _countdown(self) -> None:
        for item in self._items.values():
            frame: HeldFrame = item.data(0, Qt.ItemDataRole.UserRole)
            item.setText(_COUNTDOWN, f"{frame.remaining:.0f} s")

    def current(self) -> HeldFrame | None:
        item = self.held.currentItem()
        frame = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return frame if isinstance(frame, HeldFrame) and frame.pending else None

    def _on_selected(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        frame = self.current()
        self.editor.setPlainText(frame.text if frame is not None else "")
        self._enable_decisions(frame is not None)

    def _enable_decisions(self, enabled: bool) -> None:
        for w in (self.release_button, self.edited_button, self.delay_button, self.drop_button):
            w.setEnabled(enabled)

    def _revalidate(self) -> None:
        frame = self.current()
        if frame is None:
            self.verdict.clear()
            return
        version = self._version_of(frame)
        ok, line = judge(self.editor.toPlainText(), version, frame.action)
        edited = " (edited)" if self.editor.toPlainText() != frame.text else ""
        colour = "#1e7a3c" if ok else "#c62828"
        self.verdict.setText(f'<span style="color:{colour}">{"✔" if ok else "✘"} {line}{edited}</span>')

    def _version_of(self, frame: HeldFrame) -> OcppVersion:
        station = self.session.stations.get(frame.station)
        if frame.side == "station" and station is not None and station.version is not None:
            return station.version
        link = self.session.csms.stations.get(frame.station) if self.session.csms else None
        return link.version if link is not None else OcppVersion.V21

    def release(self) -> None:
        frame = self.current()
        if frame is not None:
            frame.release()

    def release_edited(self) -> None:
        frame = self.current()
        if frame is not None:
            frame.release_edited(self.editor.toPlainText())

    def delay(self) -> None:
        frame = self.current()
        if frame is not None:
            text = self.editor.toPlainText()
            frame.delay(self.delay_seconds.value(), None if text == frame.text else text)

    def drop(self) -> None:
        frame = self.current()
        if frame is not None:
            frame.drop()

    def close_panel(self) -> None:
        """Stop listening (the session outlives the window in tests)."""
        self._tick.stop()
        self.interceptor.frame_held.disconnect(self._on_held)
        self.interceptor.frame_decided.disconnect(self._on_decided)
        self.interceptor.rules_changed.disconnect(self._show_rules)
