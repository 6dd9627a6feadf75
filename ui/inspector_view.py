"""The inspector: live frame table on top, the selected frame in detail below.

The detail pane puts validation problems first and in red, because "why is this frame
wrong" is the question a tester opens it with; the payload follows as an expanded tree and
the raw text as it was on the wire, so what is shown can always be checked against the bytes.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
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

from app.inspector.records import CaptureRecord
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
    COL_TIME: 100,
    COL_DELTA: 62,
    COL_STATION: 92,
    COL_DIRECTION: 112,
    COL_TYPE: 98,
    COL_ACTION: 140,
    COL_ID: 96,
    COL_LATENCY: 68,
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


class FrameDetail(QWidget):
    """One frame: problems, payload tree, raw text, copy button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record: CaptureRecord | None = None
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
        title_row.addWidget(self.title, 1)
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

    def show_record(self, record: CaptureRecord | None) -> None:
        self.record = record
        self.tree.clear()
        if record is None:
            self.title.setText("Select a frame to see its content")
            self.raw.clear()
            self.problems.hide()
            self.notes.hide()
            self.copy_button.setEnabled(False)
            return
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
        _fill_tree(self.tree.invisibleRootItem(), record.payload)
        self.tree.expandAll()
        self.tree.setUpdatesEnabled(True)
        self.raw.setPlainText(record.raw)
        self.copy_button.setEnabled(True)

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


def _fill_tree(parent: QTreeWidgetItem, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _add_node(parent, str(key), child)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _add_node(parent, f"[{i}]", child)
    elif value is not None:
        _add_node(parent, "(value)", value)


def _add_node(parent: QTreeWidgetItem, key: str, value: Any) -> None:
    item = QTreeWidgetItem(parent)
    item.setText(0, key)
    if isinstance(value, dict):
        item.setText(1, f"{{{len(value)}}}" if value else "{}")
        item.setForeground(1, theme.MUTED)
        _fill_tree(item, value)
    elif isinstance(value, list):
        item.setText(1, f"[{len(value)}]")
        item.setForeground(1, theme.MUTED)
        _fill_tree(item, value)
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
        self.filter.setPlaceholderText("Filter by action, station or message id")
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
        self.count.setMinimumWidth(1)  # clipped rather than widening a narrow window
        self.filter.setMinimumWidth(120)
        bar.addWidget(title)
        bar.addSpacing(8)
        bar.addWidget(self.station)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.only_problems)
        bar.addWidget(self.show_mirrors)
        bar.addWidget(self.count)
        layout.addLayout(bar)

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
        model.modelReset.connect(self._after_reset)
        model.rowsInserted.connect(self._update_count)
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
        self._filter_timer.stop()
        self.model.set_text_filter(self.filter.text())

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.detail.show_record(self.model.record(current.row()))

    def _after_reset(self) -> None:
        """Keep the frame being read in view across filter changes, if it still passes."""
        self._update_count()
        record = self.detail.record
        if record is not None:
            row = self.model.row_of(record)
            if row >= 0:
                self.select_row(row)

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
