"""The inspector: live frame table on top, the selected frame in detail below.

The detail pane puts validation problems first and in red, because "why is this frame
wrong" is the question a tester opens it with; the payload follows as an expanded tree and
the raw text as it was on the wire, so what is shown can always be checked against the bytes.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.inspector.filters import FilterError
from app.inspector.records import CaptureRecord
from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion
from ui import theme
from ui.inspector_model import (
    COL_ACTION,
    COL_DELTA,
    COL_DIRECTION,
    COL_ID,
    COL_LATENCY,
    COL_SEQ,
    COL_SIZE,
    COL_STATION,
    COL_TIME,
    COL_TYPE,
    COL_VALID,
    InspectorModel,
    direction_text,
    version_label,
)

ROW_HEIGHT = 22
ALL_STATIONS = "All stations"
DEBOUNCE_FROM_ROWS = 50_000
_WIDTHS = {
    COL_SEQ: 44,
    COL_TIME: 94,
    COL_DELTA: 70,
    COL_STATION: 86,
    COL_DIRECTION: 108,
    COL_TYPE: 92,
    COL_ACTION: 140,
    COL_ID: 82,
    COL_LATENCY: 80,
    COL_SIZE: 48,
    COL_VALID: 56,
}


class FrameTable(QTableView):
    """A table that keeps the newest row in view until the user scrolls away from the bottom."""

    def __init__(self, model: InspectorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.follow = True
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Uniform row heights: the view never asks the model for size hints, so 100k rows
        # scroll as cheaply as 100.
        vh = self.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(ROW_HEIGHT)
        hh = self.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in _WIDTHS.items():
            self.setColumnWidth(col, width)
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(COL_ACTION, QHeaderView.ResizeMode.Stretch)
        sb = self.verticalScrollBar()
        sb.valueChanged.connect(self._on_scrolled)
        sb.rangeChanged.connect(self._on_range)

    def _on_scrolled(self, value: int) -> None:
        self.follow = value >= self.verticalScrollBar().maximum()

    def _on_range(self, _minimum: int, maximum: int) -> None:
        if self.follow:
            self.verticalScrollBar().setValue(maximum)

    def follow_inserted(self, *_: object) -> None:
        """Rows arrived: lay out (and, when following, scroll) now, so a batch costs one
        repaint. Left to Qt's delayed layout, the table paints once for the insert and again,
        a loop turn later, for the new scroll range: twice the cost under a flood."""
        self.executeDelayedItemsLayout()
        if self.follow:
            self.scrollToBottom()


class FrameDetail(QWidget):
    """One frame: problems, payload tree, raw text, copy button."""

    #: The user asked for the paired frame (the answer of a CALL, the CALL of an answer).
    pairRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record: CaptureRecord | None = None
        #: Tree items by payload path ("evse.id", "meterValue[0]"; "" is the payload itself).
        self.items: dict[str, QTreeWidgetItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(6)

        title_row = QHBoxLayout()
        self.title = QLabel("Select a frame to see its content")
        self.title.setObjectName("frameTitle")
        self.title.setMinimumWidth(1)  # a long title is clipped (full text in the tooltip)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy JSON")
        self.copy_button.setToolTip("Copy the payload, pretty-printed, to the clipboard")
        self.copy_button.clicked.connect(self.copy_json)
        self.copy_button.setEnabled(False)
        self.pair_button = QPushButton("Go to answer")
        self.pair_button.setToolTip("Select the frame with the same message id on this connection")
        self.pair_button.clicked.connect(self.pairRequested.emit)
        self.pair_button.setEnabled(False)
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.pair_button)
        title_row.addWidget(self.copy_button)
        layout.addLayout(title_row)

        self.problems = QLabel()
        self.problems.setObjectName("problems")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.hide()
        layout.addWidget(self.problems)
        self.notes = QLabel()
        self.notes.setObjectName("notes")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.hide()
        layout.addWidget(self.notes)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        tree_box = QWidget()
        tree_layout = QVBoxLayout(tree_box)
        tree_layout.setContentsMargins(0, 0, 0, 0)
        tree_layout.setSpacing(3)
        tree_title = QLabel("Payload")
        tree_title.setObjectName("muted")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Key", "Value"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().resizeSection(0, 190)
        self.tree.header().setStretchLastSection(True)
        tree_layout.addWidget(tree_title)
        tree_layout.addWidget(self.tree)

        raw_box = QWidget()
        raw_layout = QVBoxLayout(raw_box)
        raw_layout.setContentsMargins(0, 0, 0, 0)
        raw_layout.setSpacing(3)
        raw_title = QLabel("Raw frame (as on the wire)")
        raw_title.setObjectName("muted")
        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setFont(theme.monospace())
        self.raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        raw_layout.addWidget(raw_title)
        raw_layout.addWidget(self.raw)

        split.addWidget(tree_box)
        split.addWidget(raw_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)

    def show_record(self, record: CaptureRecord | None, pair: CaptureRecord | None = None) -> None:
        self.record = record
        self.tree.clear()
        self.items = {}
        if record is None:
            self.title.setText("Select a frame to see its content")
            self.raw.clear()
            self.problems.hide()
            self.notes.hide()
            self.copy_button.setEnabled(False)
            self.pair_button.setEnabled(False)
            return
        self.set_pair(record, pair)
        action = record.action or "(no action)"
        self.title.setText(
            f"#{record.seq}  {record.frame_type} {action}  ·  {direction_text(record)}  ·  "
            f"{record.station}  ·  {version_label(record.version)}  ·  id {record.message_id or '?'}"
        )
        self.title.setToolTip(self.title.text())
        if record.problems:
            items = "".join(f"<li>{_problem_html(p)}</li>" for p in record.problems)
            count = len(record.problems)
            heading = f"✗ {count} validation problem{'s' if count != 1 else ''}"
            self.problems.setText(f"<b>{heading}</b><ul style='margin:2px 0 0 -20px'>{items}</ul>")
            self.problems.show()
        else:
            self.problems.hide()
        if record.notes:
            items = "".join(f"<li>{_problem_html(n)}</li>" for n in record.notes)
            self.notes.setText(f"<b>⚠ Protocol notes</b><ul style='margin:2px 0 0 -20px'>{items}</ul>")
            self.notes.show()
        else:
            self.notes.hide()
        self.tree.setUpdatesEnabled(False)
        _fill_tree(self.tree.invisibleRootItem(), record.payload, "", self.items, _schema_of(record))
        self._mark_problems(record)
        self.tree.expandAll()
        self.tree.setUpdatesEnabled(True)
        self.raw.setPlainText(record.raw)
        self.copy_button.setEnabled(True)

    def set_pair(self, record: CaptureRecord, pair: CaptureRecord | None) -> None:
        if record.message_type == 2:
            self.pair_button.setText("Go to answer")
            self.pair_button.setToolTip(
                f"Select the {pair.frame_type} of this CALL" if pair else "No answer to this CALL (yet)"
            )
        else:
            self.pair_button.setText("Go to request")
            self.pair_button.setToolTip(
                "Select the CALL this frame answers" if pair else "The CALL was not captured"
            )
        self.pair_button.setVisible(record.message_type in (2, 3, 4))
        self.pair_button.setEnabled(pair is not None)

    def _mark_problems(self, record: CaptureRecord) -> None:
        """Each problem's path: its tree item red, the message as tooltip (lints in amber)."""
        for text, colour in [(p, theme.INVALID) for p in record.problems] + [
            (n, theme.NOTE) for n in record.notes
        ]:
            path, sep, message = text.partition(": ")
            if not sep or path.startswith("["):
                continue  # a lint note ("[rule] message (REQ)") or a problem without a path
            item = self.items.get("" if path == "(payload)" else path)
            if item is None:
                continue
            for column in (0, 1):
                item.setForeground(column, colour)
            tip = item.data(0, _PROBLEM_ROLE)
            tip = f"{tip}\n{message}" if tip else message
            item.setData(0, _PROBLEM_ROLE, tip)
            description = item.data(0, _DESCRIPTION_ROLE)
            item.setToolTip(0, f"{tip}\n\n{description}" if description else tip)
            item.setToolTip(1, tip)

    def payload_json(self) -> str:
        if self.record is None:
            return ""
        return json.dumps(self.record.payload, indent=2, ensure_ascii=False)

    def copy_json(self) -> None:
        QGuiApplication.clipboard().setText(self.payload_json())


def _problem_html(text: str) -> str:
    """'path: message' -> path in monospace bold, then the message."""
    path, sep, message = text.partition(": ")
    if not sep:
        return escape(text)
    return f"<code><b>{escape(path)}</b></code> — {escape(message)}"


_PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1
_DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 2
_KINDS = {2: Kind.REQUEST, 3: Kind.RESPONSE, 6: Kind.SEND}
SchemaNode = tuple[dict[str, Any], dict[str, Any]]  # (node, the whole schema for $ref)


def _schema_of(record: CaptureRecord) -> SchemaNode | None:
    """The OCA schema of the record's payload, when the version and action are known."""
    kind = _KINDS.get(record.message_type or 0)
    if kind is None or not record.action:
        return None
    try:
        version = OcppVersion(record.version)
    except ValueError:
        return None
    doc = schemas.schema(version, record.action, kind)
    return (doc, doc) if doc else None



def _child_schema(schema: SchemaNode | None, key: str | int) -> SchemaNode | None:
    if schema is None:
        return None
    node, root = schema
    node = schemas.resolve_ref(node, root)[0]
    if isinstance(key, int):
        items = node.get("items")
        return (items, root) if isinstance(items, dict) else None
    prop = (node.get("properties") or {}).get(key)
    return (prop, root) if isinstance(prop, dict) else None


def field_description(schema: SchemaNode | None) -> str:
    """The schema's own description of a field (its definition's when the field has none)."""
    if schema is None:
        return ""
    node, root = schema
    text = node.get("description")
    if not text and "$ref" in node:
        text = schemas.resolve_ref(node, root)[0].get("description")
    return str(text or "").strip()


def _fill_tree(
    parent: QTreeWidgetItem,
    value: Any,
    path: str = "",
    items: dict[str, QTreeWidgetItem] | None = None,
    schema: SchemaNode | None = None,
) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            _add_node(parent, str(key), child, child_path, items, _child_schema(schema, str(key)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _add_node(parent, f"[{i}]", child, f"{path}[{i}]", items, _child_schema(schema, i))
    elif value is not None:
        _add_node(parent, "(value)", value, path, items, None)


def _add_node(
    parent: QTreeWidgetItem,
    key: str,
    value: Any,
    path: str = "",
    items: dict[str, QTreeWidgetItem] | None = None,
    schema: SchemaNode | None = None,
) -> None:
    item = QTreeWidgetItem(parent)
    item.setText(0, key)
    if items is not None:
        items[path] = item
    description = field_description(schema)
    if description:
        item.setData(0, _DESCRIPTION_ROLE, description)
        item.setToolTip(0, description)
    if isinstance(value, dict):
        item.setText(1, f"{{{len(value)}}}" if value else "{}")
        item.setForeground(1, theme.MUTED)
        _fill_tree(item, value, path, items, schema)
    elif isinstance(value, list):
        item.setText(1, f"[{len(value)}]")
        item.setForeground(1, theme.MUTED)
        _fill_tree(item, value, path, items, schema)
    else:
        item.setText(1, json.dumps(value, ensure_ascii=False))
    item.setToolTip(1, item.text(1))


class InspectorView(QWidget):
    """Filter bar, frame table, frame detail."""

    def __init__(self, model: InspectorModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)

        bar = QHBoxLayout()
        title = QLabel("Frames")
        title.setObjectName("sectionTitle")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(
            "Filter: words, or  action:Authorize dir:csms->station problems  ·  "
            "TransactionEvent where eventType = Ended"
        )
        self.filter.setToolTip(
            "Plain words match the action, station or message id.\n"
            "Terms (ANDed): station:CP1 action:TransactionEvent dir:station->csms type:CALL problems\n"
            'since:2026-01-01T00:00 until:2026-01-02 "free text in the frame"\n'
            "Payload conditions: TransactionEvent where eventType = Ended and seqNo > 3"
        )
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter_text)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(200)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.station = QComboBox()
        self.station.setToolTip("Show the frames of one station only")
        self.station.setMinimumContentsLength(8)
        self.station.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.station.addItem(ALL_STATIONS, None)
        self.station.currentIndexChanged.connect(self._on_station)
        self.only_problems = QCheckBox("Only problems")
        self.only_problems.setToolTip("Show only frames with validation problems or protocol notes")
        self.only_problems.toggled.connect(model.set_only_problems)
        self.show_mirrors = QCheckBox("Show CSMS-side copies")
        self.show_mirrors.setToolTip(
            "Frames between an emulated station and the built-in CSMS are captured at both ends;\n"
            "by default only the station's copy is shown."
        )
        self.show_mirrors.toggled.connect(model.set_show_mirrors)
        self.count = QLabel()
        self.count.setObjectName("muted")
        # A fixed size: a label that can grow asks for a relayout on every new count, and the
        # relayout repaints the whole table a second time for every batch of rows.
        sample = "1,000,000 match · 1,000,000 CSMS-side copies hidden"
        width = self.count.fontMetrics().horizontalAdvance(sample) + 8
        self.count.setFixedSize(width, self.count.sizeHint().height())
        self.filter.setMinimumWidth(120)
        bar.addWidget(title)
        bar.addSpacing(8)
        bar.addWidget(self.station)
        bar.addWidget(self.filter, 1)
        self.validate_button = QPushButton("Validate…")
        self.validate_button.setToolTip("Paste a frame or a payload and check it against the schemas")
        self.validate_button.clicked.connect(self.open_validator)
        bar.addWidget(self.validate_button)
        layout.addLayout(bar)
        # The filter box gets the whole first row (it is what testers type in); the switches
        # and the counts go underneath.
        switches = QHBoxLayout()
        switches.addWidget(self.only_problems)
        switches.addWidget(self.show_mirrors)
        switches.addSpacing(8)
        switches.addWidget(self.count, 1)
        layout.addLayout(switches)
        self.filter_error = QLabel()
        self.filter_error.setObjectName("filterError")
        self.filter_error.setWordWrap(True)
        self.filter_error.setStyleSheet(f"color: {theme.INVALID.name()};")
        self.filter_error.hide()
        layout.addWidget(self.filter_error)
        self.validator: Any = None  # the validator dialog, made on first use

        self.table = FrameTable(model)
        self.detail = FrameDetail()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        layout.addWidget(self.splitter, 1)

        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.doubleClicked.connect(self._on_double_click)
        self.detail.pairRequested.connect(self.go_to_pair)
        # Calls cross the no-answer timeout without a new frame arriving: repaint now and then.
        self._answer_timer = QTimer(self)
        self._answer_timer.setInterval(5000)
        self._answer_timer.timeout.connect(model.refresh_unanswered)
        self._answer_timer.start()
        model.modelReset.connect(self._after_reset)
        model.rowsInserted.connect(self._update_count)
        model.filteringChanged.connect(self._on_filtering)
        model.rowsInserted.connect(self.table.follow_inserted)
        self._update_count()

    def _on_filter_text(self, _text: str) -> None:
        # A refilter of a million rows takes a few hundred ms: on big captures wait for a pause
        # in typing rather than refilter on every keystroke.
        if self.model.total_count < DEBOUNCE_FROM_ROWS:
            self.apply_filter()
        else:
            self._filter_timer.start()

    def set_station_ids(self, station_ids: list[str]) -> None:
        """The stations the combo offers; keeps the current choice while that station exists."""
        current = self.station.currentData()
        self.station.blockSignals(True)
        try:
            self.station.clear()
            self.station.addItem(ALL_STATIONS, None)
            for station_id in station_ids:
                self.station.addItem(station_id, station_id)
            index = self.station.findData(current) if current is not None else 0
            self.station.setCurrentIndex(max(index, 0))
        finally:
            self.station.blockSignals(False)
        self._on_station()

    def show_station(self, station_id: str | None) -> None:
        """Filter to one station (None: all), as if picked in the combo."""
        index = self.station.findData(station_id) if station_id is not None else 0
        self.station.setCurrentIndex(max(index, 0))

    def _on_station(self, *_: Any) -> None:
        self.model.set_station_filter(self.station.currentData())

    def apply_filter(self) -> None:
        """Apply the box's text; a filter that does not parse is reported, the old one stays."""
        self._filter_timer.stop()
        try:
            self.model.set_text_filter(self.filter.text())
        except FilterError as exc:
            self.filter_error.setText(
                f"✗ Column {exc.position + 1}: {exc.message}  (the previous filter still applies)"
            )
            self.filter_error.show()
            self.filter.setStyleSheet(f"QLineEdit {{ border: 1px solid {theme.INVALID.name()}; }}")
            return
        if self.filter_error.isVisible():
            self.filter_error.hide()
            self.filter_error.clear()
            self.filter.setStyleSheet("")

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            record = self.model.record(current.row())
            self.detail.show_record(record, self.model.pair_of(record))

    def _on_double_click(self, index: QModelIndex) -> None:
        if index.column() in (COL_ID, COL_LATENCY):
            self.go_to_pair()

    def go_to_pair(self) -> bool:
        """Select the answer of the CALL shown (or the CALL of the answer shown)."""
        record = self.detail.record
        pair = self.model.pair_of(record) if record is not None else None
        if pair is None:
            return False
        if self.select_record(pair):
            return True
        self.filter_error.setText(f"The paired frame #{pair.seq} is hidden by the current filter")
        self.filter_error.show()
        return False

    def open_validator(self) -> Any:
        """The standalone validator (non-modal; one instance, raised when already open)."""
        from ui.validator_dialog import ValidatorDialog

        if self.validator is None:
            self.validator = ValidatorDialog(self)
        record = self.detail.record
        if record is not None and not self.validator.text.toPlainText().strip():
            self.validator.load_record(record)
        self.validator.open()
        self.validator.raise_()
        return self.validator

    def _after_reset(self) -> None:
        """Keep the frame being read in view across filter changes, if it still passes."""
        self._update_count()
        record = self.detail.record
        if record is not None:
            row = self.model.row_of(record)
            if row >= 0:
                self.select_row(row)

    def _on_filtering(self, running: bool) -> None:
        if running:
            self.count.setText(f"Filtering {self.model.total_count:,} frames…")
        else:
            self._update_count()

    def _update_count(self, *_: Any) -> None:
        m = self.model
        shown = m.rowCount()
        text = f"{shown:,} match" if m.filtering else f"{shown:,} frames"
        if m.mirror_count and not m.show_mirrors:
            text += f" · {m.mirror_count:,} CSMS-side copies hidden"
        self.count.setText(text)
        self.count.setToolTip(text)

    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def select_record(self, record: CaptureRecord) -> bool:
        row = self.model.row_of(record)
        if row < 0:
            return False
        self.select_row(row)
        return True
