"""The station list: every station of the session on one compact row, and what to do with them.

A row reads left to right as a tester scans it: identity, a coloured link-state pill, the
negotiated OCPP version, one dot per EVSE in its connector-status colour (blue and pulsing
colours mean energy is flowing) and, only when there is something, the count of messages
waiting for the CSMS. Rows are painted by a delegate from the live Station objects, so a
refresh is a `dataChanged`, never a rebuild.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.station.station import LinkState, Station
from ui import theme
from ui.inspector_model import version_label

StationRole = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex
ROW_HEIGHT = 34


def evse_status_text(evse: Any) -> str:
    """Connector status, with Charging singled out (the same word the EVSE card shows)."""
    status = str(getattr(evse.status, "value", evse.status))
    if status == "Occupied" and str(getattr(evse.charging_state(), "value", "")) == "Charging":
        return "Charging"
    return status


def link_text(station: Station) -> str:
    return str(station.state.value)


def queue_age_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def queue_facts(station: Station) -> tuple[int, float | None]:
    """(unsent messages, age of the oldest in seconds); (0, None) once the station was closed
    (its store released when the session shut down: it will send nothing any more)."""
    try:
        return station.queued_events, station.oldest_queued_age
    except RuntimeError:
        return 0, None


def station_summary(station: Station) -> str:
    """One line of plain text for a station: tooltips, tests, screen readers."""
    parts = [station.station_id, link_text(station)]
    parts.append(version_label(station.version) if station.version else "version not negotiated")
    parts.append(", ".join(f"EVSE {n} {evse_status_text(e)}" for n, e in sorted(station.evses.items())))
    queued, age = queue_facts(station)
    if queued:
        parts.append(f"{queued} queued, oldest {queue_age_text(age)}")
    return " · ".join(parts)


class StationListModel(QAbstractListModel):
    """The stations in the order they were added."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._stations: list[Station] = []

    def add(self, station: Station) -> int:
        row = len(self._stations)
        self.beginInsertRows(QModelIndex(), row, row)
        self._stations.append(station)
        self.endInsertRows()
        return row

    def remove(self, station: Station) -> None:
        row = self.row_of(station)
        if row < 0:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._stations[row]
        self.endRemoveRows()

    def stations(self) -> list[Station]:
        return list(self._stations)

    def station_at(self, row: int) -> Station | None:
        return self._stations[row] if 0 <= row < len(self._stations) else None

    def row_of(self, station: Station) -> int:
        for row, candidate in enumerate(self._stations):
            if candidate is station:
                return row
        return -1

    def refresh(self, station: Station) -> None:
        row = self.row_of(station)
        if row >= 0:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index)

    def refresh_all(self) -> None:
        if self._stations:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._stations) - 1, 0))

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._stations)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._stations):
            return None
        station = self._stations[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return station.station_id
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return station_summary(station)
        if role == StationRole:
            return station
        return None


class StationRowDelegate(QStyledItemDelegate):
    """Paints a row: id · pill · version · EVSE dots · queue."""

    ID_WIDTH = 118
    PILL_WIDTH = 104
    VERSION_WIDTH = 64

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(320, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        station = index.data(StationRole)
        if not isinstance(station, Station):
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRect(option.rect)  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        if state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, QColor("#cfe0fb"))
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, QColor("#f0f4fb"))
        painter.setPen(QPen(QColor("#eceff3")))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())

        base = QFont(option.font)  # type: ignore[attr-defined]
        x = rect.left() + 10
        cy = rect.center().y()

        # Identity.
        bold = QFont(base)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor("#1f2430"))
        id_rect = QRect(x, rect.top(), self.ID_WIDTH - 8, rect.height())
        text = QFontMetrics(bold).elidedText(station.station_id, Qt.TextElideMode.ElideRight, id_rect.width())
        painter.drawText(id_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
        x += self.ID_WIDTH

        # Link-state pill.
        state_text = link_text(station)
        bg, fg = theme.LINK_COLOURS.get(state_text, ("#8a8f98", "#ffffff"))
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() - 1))
        small.setBold(True)
        painter.setFont(small)
        label = state_text
        width = min(self.PILL_WIDTH - 6, QFontMetrics(small).horizontalAdvance(label) + 18)
        pill = QRectF(x, cy - 9, width, 18)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(bg))
        painter.drawRoundedRect(pill, 9, 9)
        painter.setPen(QColor(fg))
        painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), label)
        x += self.PILL_WIDTH

        # Version.
        painter.setFont(base)
        painter.setPen(theme.MUTED)
        version = version_label(station.version) if station.version else "—"
        painter.drawText(
            QRect(x, rect.top(), self.VERSION_WIDTH, rect.height()),
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            version,
        )
        x += self.VERSION_WIDTH + 4

        # One numbered dot per EVSE, in its connector-status colour.
        digits = QFont(base)
        digits.setPointSizeF(max(6.0, base.pointSizeF() - 2.5))
        digits.setBold(True)
        painter.setFont(digits)
        for number, evse in sorted(station.evses.items()):
            status = evse_status_text(evse)
            colour = QColor(theme.CONNECTOR_COLOURS.get(status, "#8a8f98"))
            dot = QRectF(x, cy - 8, 16, 16)
            painter.setPen(QPen(colour.darker(125), 1))
            painter.setBrush(colour)
            painter.drawEllipse(dot)
            if status == "Charging":  # a ring: energy is flowing
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.setPen(QPen(colour, 1.5))
                painter.drawEllipse(dot.adjusted(-3, -3, 3, 3))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(dot, int(Qt.AlignmentFlag.AlignCenter), str(number))
            x += 22

        # Queue, right-aligned, only when something waits.
        queued, _ = queue_facts(station)
        if queued:
            painter.setFont(small)
            painter.setPen(QColor(theme.QUEUE))
            painter.drawText(
                QRect(x, rect.top(), rect.right() - x - 10, rect.height()),
                int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight),
                f"{queued} queued",
            )
        painter.restore()


def _tool_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class StationListPane(QFrame):
    """Title, toolbar and the list; emits what the user asked for, the window acts on it."""

    addRequested = Signal()
    cloneRequested = Signal(object)
    editRequested = Signal(object)
    removeRequested = Signal(object)
    startStopRequested = Signal(object)
    #: The selected station (None when the list became empty).
    currentChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stationList")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)

        bar = QHBoxLayout()
        bar.setSpacing(4)
        self.title = QLabel("Stations")
        self.title.setObjectName("sectionTitle")
        bar.addWidget(self.title)
        bar.addStretch(1)
        self.add_button = _tool_button("+ Add", "Add a station from a template or a profile file")
        self.clone_button = _tool_button("Clone", "Add a copy of the selected station under a new id")
        self.edit_button = _tool_button("Edit", "Change identity, CSMS, security or hardware (restarts it)")
        self.remove_button = _tool_button("Remove", "Stop the selected station and remove it")
        self.start_button = _tool_button("Stop", "Start or stop the selected station")
        self.start_button.setMinimumWidth(48)
        for button in (
            self.add_button,
            self.clone_button,
            self.edit_button,
            self.remove_button,
            self.start_button,
        ):
            bar.addWidget(button)
        layout.addLayout(bar)

        self.model = StationListModel(self)
        self.view = QListView()
        self.view.setObjectName("stationRows")
        self.view.setModel(self.model)
        self.view.setItemDelegate(StationRowDelegate(self.view))
        self.view.setUniformItemSizes(True)
        self.view.setMouseTracking(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setMinimumHeight(ROW_HEIGHT * 2 + 4)
        layout.addWidget(self.view, 1)

        self.add_button.clicked.connect(self.addRequested)
        self.clone_button.clicked.connect(lambda: self._emit_for_current(self.cloneRequested))
        self.edit_button.clicked.connect(lambda: self._emit_for_current(self.editRequested))
        self.remove_button.clicked.connect(lambda: self._emit_for_current(self.removeRequested))
        self.start_button.clicked.connect(lambda: self._emit_for_current(self.startStopRequested))
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self.view.doubleClicked.connect(lambda index: self._emit_for_current(self.editRequested))
        self.update_buttons()

    # ------------------------------------------------------------------ stations

    def add_station(self, station: Station) -> None:
        row = self.model.add(station)
        self._update_title()
        if self.current() is None:
            self.select_row(row)

    def remove_station(self, station: Station) -> None:
        was_current = self.current() is station
        row = self.model.row_of(station)
        self.model.remove(station)
        self._update_title()
        if was_current:
            self.select_row(min(row, self.model.rowCount() - 1))
        self.update_buttons()

    def select(self, station: Station) -> None:
        self.select_row(self.model.row_of(station))

    def select_row(self, row: int) -> None:
        if row < 0:
            self.view.selectionModel().clearCurrentIndex()
            self.currentChanged.emit(None)
            self.update_buttons()
            return
        index = self.model.index(row, 0)
        self.view.selectionModel().setCurrentIndex(
            index, self.view.selectionModel().SelectionFlag.ClearAndSelect
        )

    def current(self) -> Station | None:
        index = self.view.currentIndex()
        return self.model.station_at(index.row()) if index.isValid() else None

    def refresh(self, station: Station) -> None:
        self.model.refresh(station)
        if station is self.current():
            self.update_buttons()

    def refresh_all(self) -> None:
        self.model.refresh_all()
        self.update_buttons()

    def row_texts(self) -> list[str]:
        """Each row as one line of text (what the painted row says)."""
        return [station_summary(s) for s in self.model.stations()]

    # ------------------------------------------------------------------ internals

    def _update_title(self) -> None:
        n = self.model.rowCount()
        self.title.setToolTip(f"{n} station{'s' if n != 1 else ''} in this workspace")

    def _emit_for_current(self, signal: Any) -> None:
        station = self.current()
        if station is not None:
            signal.emit(station)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        station = self.model.station_at(current.row()) if current.isValid() else None
        self.update_buttons()
        self.currentChanged.emit(station)

    def update_buttons(self) -> None:
        station = self.current()
        has = station is not None
        for button in (self.clone_button, self.edit_button, self.remove_button, self.start_button):
            button.setEnabled(has)
        stopped = station is None or station.state is LinkState.STOPPED
        self.start_button.setText("Start" if stopped else "Stop")
        self.start_button.setToolTip(
            "Start the selected station: connect and boot"
            if stopped
            else "Stop the selected station: close its websocket, keep it in the list"
        )
