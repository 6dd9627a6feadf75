"""The CSMS console: send any CSMS→station action to a station of the built-in CSMS.

For an engineer with a real charger (or an emulated one) on the built-in CSMS: pick the
station, pick the action (the list is that station's OCPP version's), fill a form generated
from the action's schema or write the JSON, send, read the answer and its latency, send again.

The form and the raw JSON are two views of one payload: editing either updates the other, and
the JSON text is what is sent. Validation runs on every edit with the inspector's validator;
problems are marked at their field and listed. A schema-invalid request is not sent by *Send*:
chargers must be tested with invalid frames too, so *Send anyway* sends it, as a separate,
deliberate click, so an invalid frame never goes out by accident.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.csms import schema_form as sf
from app.csms.csms import Csms
from app.inspector.records import CaptureRecord
from app.protocol.directions import csms_actions
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.protocol.schemas import OcppVersion, Problem
from app.session import Session
from ui import theme
from ui.csms_answers import AutoAnswersDialog, AutoAnswersPanel
from ui.csms_form import PayloadForm
from ui.tasks import TaskRunner

POLL_MS = 300
RAW_PAUSE_MS = 250
OK_COLOUR = "#1e7a3c"
REFUSED_COLOUR = "#a86400"  # a CALLRESULT that says no (Rejected, NotSupported…)
ERROR_COLOUR = "#c62828"
WAIT_COLOUR = "#6b7280"
HISTORY_COLUMNS = ("Time", "Station", "Action", "Answer", "ms")


@dataclass(slots=True)
class SentCall:
    """One CALL sent from the console and what came back."""

    station_id: str
    version: OcppVersion
    action: str
    payload: dict[str, Any]
    sent_at: datetime
    valid: bool
    outcome: str = "waiting…"
    answer: Any = None
    latency_ms: float | None = None
    ok: bool | None = None  # None while waiting
    answer_problems: list[str] = field(default_factory=list)  # of a CALLRESULT breaking the schema

    @property
    def status(self) -> str | None:
        """The `status` of a CALLRESULT, when the answer has one (most do)."""
        if self.ok and isinstance(self.answer, dict) and isinstance(self.answer.get("status"), str):
            return str(self.answer["status"])
        return None

    @property
    def colour(self) -> str:
        if self.ok is None:
            return WAIT_COLOUR
        if not self.ok:
            return ERROR_COLOUR
        return OK_COLOUR if self.status in (None, "Accepted") else REFUSED_COLOUR

    def answer_text(self) -> str:
        if self.answer is None:
            return ""
        text = json.dumps(self.answer, indent=2, ensure_ascii=False)
        if self.answer_problems:
            listed = "\n".join(f"• {p}" for p in self.answer_problems)
            text += f"\n\nSchema problems of this answer:\n{listed}"
        return text


def _version_label(version: OcppVersion) -> str:
    return f"OCPP {version.removeprefix('ocpp')}"


def _short(payload: dict[str, Any], limit: int = 70) -> str:
    text = json.dumps(payload, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CsmsConsole(QWidget):
    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        *,
        running: Callable[[], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        #: Whether the built-in CSMS is on (the window knows; the Csms object outlives a Stop).
        self.running = running or (lambda: session.csms is not None)
        self.runner = runner
        self.version = OcppVersion.V21
        self.action = ""
        self.form: PayloadForm | None = None
        self.history: list[SentCall] = []
        self.recent = sf.RecentSends()
        self.problems: list[Problem] = []
        self.payload: dict[str, Any] | None = None  # None: the JSON text is not an object
        self._syncing = False
        self._stations_key: tuple[object, ...] | None = None
        self._shown: SentCall | None = None

        self.answers = AutoAnswersPanel(session.csms.config if session.csms is not None else None)
        self.answers.changed.connect(lambda: self.answers.apply_to(self.session.csms))
        self.answers_dialog: AutoAnswersDialog | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        top = QHBoxLayout()
        self.station_combo = QComboBox()
        self.station_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.station_combo.setMinimumContentsLength(16)
        self.station_combo.setToolTip("Stations connected to the built-in CSMS, with their OCPP version")
        self.station_combo.currentIndexChanged.connect(lambda _: self._on_station_picked())
        self.action_combo = QComboBox()
        self.action_combo.setEditable(True)
        self.action_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.action_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.action_combo.setMinimumContentsLength(18)
        self.action_combo.setToolTip("Actions a CSMS sends to a station of this OCPP version; type to search")
        completer = QCompleter(self.action_combo.model(), self.action_combo)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.action_combo.setCompleter(completer)
        self.action_combo.currentIndexChanged.connect(lambda _: self._on_action_picked())
        self.recent_combo = QComboBox()
        self.recent_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.recent_combo.setMinimumContentsLength(10)
        self.recent_combo.setToolTip("Payloads sent before with this action: pick one to edit it again")
        self.recent_combo.activated.connect(self._on_recent_picked)
        self.answers_button = QPushButton("Automatic answers…")
        self.answers_button.setToolTip(
            "How the built-in CSMS answers on its own: boot, heartbeat, cards, passwords"
        )
        self.answers_button.clicked.connect(self.open_answers)
        top.addWidget(QLabel("Station"))
        top.addWidget(self.station_combo)
        top.addSpacing(8)
        top.addWidget(QLabel("Action"))
        top.addWidget(self.action_combo)
        top.addWidget(self.recent_combo)
        top.addStretch(1)
        top.addWidget(self.answers_button)
        layout.addLayout(top)
        self.station_note = QLabel()
        self.station_note.setObjectName("notice")
        self.station_note.setWordWrap(True)
        layout.addWidget(self.station_note)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(8)
        layout.addWidget(self.splitter, 1)

        # ---- left: the request
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Request")
        title.setObjectName("sectionTitle")
        left_layout.addWidget(title)
        self.editor_tabs = QTabWidget()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.editor_tabs.addTab(self.scroll, "Form")
        raw_page = QWidget()
        raw_layout = QVBoxLayout(raw_page)
        raw_layout.setContentsMargins(4, 4, 4, 4)
        self.raw = QPlainTextEdit()
        self.raw.setFont(theme.monospace())
        self.raw.setToolTip("The request payload as JSON: exactly what is sent")
        self.raw.textChanged.connect(self._on_raw_typed)
        # Typing is followed after a pause, not per key: a big request takes a while to show.
        self.raw_pause = QTimer(self)
        self.raw_pause.setSingleShot(True)
        self.raw_pause.setInterval(RAW_PAUSE_MS)
        self.raw_pause.timeout.connect(self._on_raw_changed)
        self.fit_note = QLabel(
            "Part of this JSON cannot be shown in the form (a wrong type or an unknown field). "
            "This JSON is what will be sent; an edit in the form replaces it."
        )
        self.fit_note.setObjectName("notes")
        self.fit_note.setWordWrap(True)
        self.fit_note.hide()
        raw_layout.addWidget(self.raw, 1)
        raw_layout.addWidget(self.fit_note)
        self.editor_tabs.addTab(raw_page, "Raw JSON")
        left_layout.addWidget(self.editor_tabs, 1)
        self.valid_label = QLabel()
        self.valid_label.setWordWrap(True)
        left_layout.addWidget(self.valid_label)
        self.problem_list = QListWidget()
        self.problem_list.setMaximumHeight(110)
        self.problem_list.setWordWrap(True)
        self.problem_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.problem_list.setStyleSheet(f"QListWidget {{ color: {ERROR_COLOUR}; }}")
        self.problem_list.setToolTip("Schema problems of the request; click one to go to its field")
        self.problem_list.itemClicked.connect(lambda _: self._go_to_problem())
        left_layout.addWidget(self.problem_list)
        buttons = QHBoxLayout()
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the required fields with their starting values")
        self.reset_button.clicked.connect(self.reset_payload)
        self.send_anyway_button = QPushButton("Send anyway")
        self.send_anyway_button.setStyleSheet(
            "QPushButton { color: #a4262c; border-color: #d13438; font-weight: 600; }"
        )
        self.send_anyway_button.setToolTip(
            "Send this request although it breaks the schema: to see how the station copes"
        )
        self.send_anyway_button.clicked.connect(lambda: self.send(anyway=True))
        self.send_button = QPushButton("Send")
        self.send_button.setProperty("primary", True)
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(lambda: self.send())
        send_key = QShortcut(QKeySequence("Ctrl+Return"), self)
        send_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        send_key.activated.connect(lambda: self.send_button.isEnabled() and self.send())
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(self.send_anyway_button)
        buttons.addWidget(self.send_button)
        left_layout.addLayout(buttons)
        self.splitter.addWidget(left)

        # ---- right: the answer and the history
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        answer_title = QLabel("Answer")
        answer_title.setObjectName("sectionTitle")
        right_layout.addWidget(answer_title)
        self.answer_title = QLabel("Nothing sent yet")
        self.answer_title.setStyleSheet(f"color: {WAIT_COLOUR}; font-weight: 600;")
        self.answer_title.setWordWrap(True)
        right_layout.addWidget(self.answer_title)
        self.answer_text = QPlainTextEdit()
        self.answer_text.setReadOnly(True)
        self.answer_text.setFont(theme.monospace())
        right_layout.addWidget(self.answer_text, 1)
        history_title = QLabel("Sent this session")
        history_title.setObjectName("sectionTitle")
        right_layout.addWidget(history_title)
        self.history_table = QTableWidget(0, len(HISTORY_COLUMNS))
        self.history_table.setHorizontalHeaderLabels(list(HISTORY_COLUMNS))
        self.history_table.verticalHeader().setVisible(False)
        self.history_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.history_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.history_table.itemSelectionChanged.connect(self._on_history_selected)
        self.history_table.doubleClicked.connect(lambda _: self.edit_selected())
        right_layout.addWidget(self.history_table, 1)
        history_buttons = QHBoxLayout()
        self.resend_button = QPushButton("Send again")
        self.resend_button.setToolTip("Send the selected request again, unchanged, to the same station")
        self.resend_button.clicked.connect(self.resend_selected)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setToolTip("Put the selected request into the form to change it")
        self.edit_button.clicked.connect(self.edit_selected)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selected request and its answer as JSON")
        self.copy_button.clicked.connect(self.copy_selected)
        history_buttons.addStretch(1)
        for button in (self.resend_button, self.edit_button, self.copy_button):
            history_buttons.addWidget(button)
        right_layout.addLayout(history_buttons)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([560, 460])

        self._fill_actions()
        self._update_history_buttons()
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.refresh_stations)
        self.poll.start()
        self.refresh_stations()

    # ================================================================== stations

    @property
    def csms(self) -> Csms | None:
        return self.session.csms

    def connected(self) -> list[tuple[str, OcppVersion]]:
        csms = self.csms
        if csms is None:
            return []
        return sorted((link.station_id, link.version) for link in csms.stations.values() if link.connected)

    def refresh_stations(self) -> None:
        """Follow stations coming and going (a cheap poll: the CSMS object itself is replaced
        on every Stop / Start of the built-in CSMS, so hooking its signals would go stale)."""
        self.answers.apply_to(self.csms)
        stations = self.connected()
        # The CSMS going on or off changes what the empty picker should say.
        key = (self.running(), *((sid, str(version)) for sid, version in stations))
        if key == self._stations_key:
            return
        self._stations_key = key
        current = self.station_combo.currentData()
        self.station_combo.blockSignals(True)
        self.station_combo.clear()
        for station_id, version in stations:
            self.station_combo.addItem(f"{station_id}  ·  {_version_label(version)}", station_id)
        index = self.station_combo.findData(current)
        self.station_combo.setCurrentIndex(max(index, 0) if stations else -1)
        self.station_combo.blockSignals(False)
        self._on_station_picked()

    def station_id(self) -> str | None:
        data = self.station_combo.currentData()
        return data if isinstance(data, str) else None

    def select_station(self, station_id: str) -> bool:
        self.refresh_stations()
        index = self.station_combo.findData(station_id)
        if index >= 0:
            self.station_combo.setCurrentIndex(index)
        return index >= 0

    def _on_station_picked(self) -> None:
        station_id = self.station_id()
        version = dict(self.connected()).get(station_id or "", self.version)
        if station_id is None:
            running = self.running()
            self.station_note.setText(
                "No station is connected to the built-in CSMS. Point a charger at the URL in the "
                "top bar (Copy URL), or start an emulated station."
                if running
                else "The built-in CSMS is off: start it in the top bar, then connect a station."
            )
            self.station_note.show()
        else:
            self.station_note.hide()
        if version != self.version:
            self.version = version
            self._fill_actions()
        self._update_send_buttons()

    # ================================================================== actions

    def _fill_actions(self) -> None:
        previous = self.action or "ChangeAvailability"
        actions = csms_actions(self.version)
        self.action_combo.blockSignals(True)
        self.action_combo.clear()
        self.action_combo.addItems(actions)
        self.action_combo.setCurrentIndex(actions.index(previous) if previous in actions else 0)
        self.action_combo.blockSignals(False)
        self.action = ""
        self._on_action_picked()

    def select_action(self, action: str) -> None:
        index = self.action_combo.findText(action)
        if index < 0:
            raise KeyError(f"{action} is not a CSMS→station action of {self.version}")
        self.action_combo.setCurrentIndex(index)

    def _on_action_picked(self) -> None:
        action = self.action_combo.currentText()
        if action == self.action or action not in csms_actions(self.version):
            return
        self.action = action
        self.form = PayloadForm(sf.form_spec(self.version, action), self._on_form_changed)
        self.scroll.setWidget(self.form)
        self._fill_recent()
        self.reset_payload()

    def _fill_recent(self) -> None:
        self.recent_combo.clear()
        recent = self.recent.of(self.action)
        self.recent_combo.addItem(f"Recent ({len(recent)})" if recent else "Recent: none yet")
        for payload in recent:
            self.recent_combo.addItem(_short(payload, 60), payload)
        self.recent_combo.setEnabled(bool(recent))

    def _on_recent_picked(self, index: int) -> None:
        payload = self.recent_combo.itemData(index)
        if isinstance(payload, dict):
            self.set_payload(payload)
        self.recent_combo.setCurrentIndex(0)

    # ================================================================== payload

    def reset_payload(self) -> None:
        self.set_payload(sf.starting_payload(self.version, self.action, datetime.now(UTC)))

    def set_payload(self, payload: dict[str, Any]) -> None:
        self.set_raw_text(json.dumps(payload, indent=2, ensure_ascii=False))

    def set_raw_text(self, text: str) -> None:
        """Replace the JSON text (what the Raw JSON tab shows); the form follows at once."""
        self.raw.setPlainText(text)
        self.raw_pause.stop()
        self._on_raw_changed()

    def _on_raw_typed(self) -> None:
        if not self._syncing:
            self.raw_pause.start()

    def _on_form_changed(self) -> None:
        if self.form is None or self._syncing:
            return
        payload = self.form.value()
        self._syncing = True
        try:
            self.raw.setPlainText(json.dumps(payload, indent=2, ensure_ascii=False))
        finally:
            self._syncing = False
        self.fit_note.hide()
        self._check(payload)

    def _on_raw_changed(self) -> None:
        if self._syncing:
            return
        text = self.raw.toPlainText()
        try:
            doc = json.loads(text)
        except ValueError as exc:
            line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
            where = f" (line {line}, column {col})" if line is not None else ""
            self._show_unusable(f"Not JSON{where}: {getattr(exc, 'msg', exc)}")
            return
        if not isinstance(doc, dict):
            self._show_unusable("A request payload is a JSON object: { … }")
            return
        fits = True
        if self.form is not None:
            self._syncing = True
            try:
                fits = self.form.set_value(doc)
            finally:
                self._syncing = False
        self.fit_note.setVisible(not fits)
        self._check(doc)

    def _show_unusable(self, message: str) -> None:
        self.payload = None
        self.problems = []
        self.valid_label.setText(f"✗ {message}")
        self.valid_label.setStyleSheet(f"color: {ERROR_COLOUR}; font-weight: 600;")
        self.problem_list.clear()
        self.problem_list.hide()
        if self.form is not None:
            self.form.mark([])
        self._update_send_buttons()

    def _check(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.problems = sf.validate(self.version, self.action, payload)
        if self.form is not None:
            self.form.mark(self.problems)
        self.problem_list.clear()
        schema = f"the {_version_label(self.version)} {self.action}Request schema"
        if self.problems:
            count = len(self.problems)
            self.valid_label.setText(f"✗ {count} problem{'s' if count != 1 else ''} against {schema}")
            self.valid_label.setStyleSheet(f"color: {ERROR_COLOUR}; font-weight: 600;")
            self.problem_list.addItems([str(p) for p in self.problems])
            self.problem_list.show()
        else:
            self.valid_label.setText(f"✓ Valid against {schema}")
            self.valid_label.setStyleSheet(f"color: {OK_COLOUR}; font-weight: 600;")
            self.problem_list.hide()
        self._update_send_buttons()

    def _go_to_problem(self) -> None:
        row = self.problem_list.currentRow()
        if self.form is None or not 0 <= row < len(self.problems):
            return
        marks = self.form.mark(self.problems)
        problem = self.problems[row]
        path = next((p for p in marks if p and problem.path.startswith(p)), None)
        widget = self.form.widget_at(path) if path is not None else None
        if widget is not None:
            self.editor_tabs.setCurrentIndex(0)
            self.scroll.ensureWidgetVisible(widget)
            widget.setFocus()

    def _update_send_buttons(self) -> None:
        station = self.station_id()
        usable = station is not None and self.payload is not None
        self.send_button.setEnabled(usable and not self.problems)
        self.send_anyway_button.setVisible(bool(self.problems) and self.payload is not None)
        self.send_anyway_button.setEnabled(usable)
        if station is None:
            tip = "No station connected to the built-in CSMS"
        elif self.payload is None:
            tip = "The JSON is not a request payload"
        elif self.problems:
            tip = "The request breaks the schema: fix it, or use Send anyway"
        else:
            tip = f"Send {self.action} to {station} (Ctrl+Enter)"
        self.send_button.setToolTip(tip)

    # ================================================================== sending

    def send(self, *, anyway: bool = False) -> SentCall | None:
        """Send the current request to the picked station; None if it may not go out."""
        station = self.station_id()
        if station is None or self.payload is None or (self.problems and not anyway):
            return None
        return self._send(station, self.version, self.action, self.payload, valid=not self.problems)

    def _send(
        self, station: str, version: OcppVersion, action: str, payload: dict[str, Any], *, valid: bool
    ) -> SentCall:
        entry = SentCall(station, version, action, payload, datetime.now(), valid)
        self.history.append(entry)
        self.recent.add(action, payload)
        if action == self.action:
            self._fill_recent()
        row = self.history_table.rowCount()
        self.history_table.insertRow(row)
        self._paint_row(row, entry)
        self.history_table.selectRow(row)
        self._show_answer(entry)
        self.runner.run(self._call(entry), f"Send {action} to {station}")
        return entry

    async def _call(self, entry: SentCall) -> None:
        csms = self.csms
        store = self.session.store
        before = store[-1].seq if len(store) else 0
        started = time.perf_counter()
        try:
            if csms is None:
                raise ConnectionLost("the built-in CSMS is off")
            entry.answer = await csms.call(entry.station_id, entry.action, entry.payload)
            entry.outcome, entry.ok = "CALLRESULT", True
        except OcppError as exc:
            entry.ok = False
            result = self._invalid_result(entry, before)
            if result is not None:
                # The RPC layer turns an unusable CALLRESULT into an error for the caller; the
                # engineer testing a charger must see that the charger did answer, wrongly.
                entry.outcome = "CALLRESULT breaking the schema"
                entry.answer = result.payload
                entry.answer_problems = list(result.problems)
            else:
                entry.outcome = f"CALLERROR {exc.code}"
                entry.answer = {"errorCode": exc.code, "errorDescription": exc.description}
                if exc.details:
                    entry.answer["errorDetails"] = exc.details
        except CallTimeout as exc:
            entry.outcome, entry.ok = "no answer (timeout)", False
            entry.answer = {"timeout": str(exc)}
        except ConnectionLost as exc:
            entry.outcome, entry.ok = "not delivered", False
            entry.answer = {"connection": str(exc)}
        finally:
            if entry.ok is not None:
                entry.latency_ms = (time.perf_counter() - started) * 1000
            self._entry_done(entry)

    def _invalid_result(self, entry: SentCall, after_seq: int) -> CaptureRecord | None:
        """The CALLRESULT the station sent for this call, if the capture has one with problems
        (the RPC layer allows one outstanding call per connection, so it is the first one)."""
        store = self.session.store
        connection = f"{entry.station_id}@csms"
        found = None
        for index in range(len(store) - 1, -1, -1):
            record = store[index]
            if record.seq <= after_seq:
                break
            if (
                record.connection == connection
                and record.message_type == 3
                and record.action == entry.action
                and record.problems
            ):
                found = record
        return found

    def _entry_done(self, entry: SentCall) -> None:
        try:
            row = self.history.index(entry)
        except ValueError:
            return
        self._paint_row(row, entry)
        if self._shown is entry:
            self._show_answer(entry)

    def _paint_row(self, row: int, entry: SentCall) -> None:
        summary = entry.status or entry.outcome.removeprefix("CALLERROR ")
        if not entry.valid:
            summary += "  (sent invalid)"
        latency = "" if entry.latency_ms is None else f"{entry.latency_ms:.0f}"
        cells = (entry.sent_at.strftime("%H:%M:%S"), entry.station_id, entry.action, summary, latency)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column == 3:
                item.setForeground(QColor(entry.colour))
                item.setToolTip(entry.outcome)
            self.history_table.setItem(row, column, item)

    def _show_answer(self, entry: SentCall) -> None:
        self._shown = entry
        where = f"{entry.action} → {entry.station_id}"
        if entry.ok is None:
            text = f"{where}: waiting for the answer…"
        else:
            latency = f" in {entry.latency_ms:.0f} ms" if entry.latency_ms is not None else ""
            status = f" · {entry.status}" if entry.status else ""
            text = f"{where}: {entry.outcome}{status}{latency}"
        self.answer_title.setText(text)
        self.answer_title.setStyleSheet(f"color: {entry.colour}; font-weight: 600;")
        self.answer_text.setPlainText(entry.answer_text())

    # ================================================================== history

    def selected_entry(self) -> SentCall | None:
        rows = self.history_table.selectionModel().selectedRows()
        if not rows or not 0 <= rows[0].row() < len(self.history):
            return None
        return self.history[rows[0].row()]

    def _on_history_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self._show_answer(entry)
        self._update_history_buttons()

    def _update_history_buttons(self) -> None:
        entry = self.selected_entry()
        for button in (self.resend_button, self.edit_button, self.copy_button):
            button.setEnabled(entry is not None)

    def resend_selected(self) -> SentCall | None:
        entry = self.selected_entry()
        if entry is None:
            return None
        return self._send(entry.station_id, entry.version, entry.action, entry.payload, valid=entry.valid)

    def edit_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        self.select_station(entry.station_id)
        if entry.version == self.version:
            self.select_action(entry.action)
            self.set_payload(entry.payload)

    def copy_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        text = json.dumps(
            {"station": entry.station_id, "action": entry.action, "request": entry.payload,
             "outcome": entry.outcome, "answer": entry.answer, "answerProblems": entry.answer_problems},
            indent=2,
            ensure_ascii=False,
        )  # fmt: skip
        QGuiApplication.clipboard().setText(text)

    # ================================================================== automatic answers

    def open_answers(self) -> AutoAnswersDialog:
        if self.answers_dialog is None:
            self.answers_dialog = AutoAnswersDialog(self.answers, self)
        self.answers.apply_to(self.csms)
        self.answers_dialog.show()
        self.answers_dialog.raise_()
        self.answers_dialog.activateWindow()
        return self.answers_dialog

    def stop(self) -> None:
        self.poll.stop()
