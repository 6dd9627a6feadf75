"""Sequence tab: a station's traffic as a sequence diagram (station lane, CSMS lane, one arrow per frame).

Made for demonstrating flows: CALLs are solid arrows labelled with the action (and the detail
that makes a flow readable: "TransactionEvent Started", "StatusNotification Occupied"),
CALLRESULTs dashed arrows back ("✓ BootNotification Accepted · 12 ms"), errors red with their
code, SENDs with an open head. Frames with schema problems or lint findings get a marker and a
tooltip listing them. Mirror copies (the far end's view of the same frame) are skipped.

One layout (`build_rows`) and one painter (`paint_diagram`) serve the screen, the PNG and the
SVG export, so what is exported is what is shown. The canvas paints only the rows inside the
exposed rectangle, and at most `MAX_ARROWS` rows are laid out (with a note saying so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QEvent,
    QIODevice,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QTimeZone,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QImage,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.inspector.capture_db import CaptureDb
from app.inspector.records import CaptureRecord
from app.inspector.store import CaptureStore
from ui import theme

MAX_ARROWS = 500
DEFAULT_LAST_N = 60

# Geometry (pixels at 1:1).
HEADER_H = 64
BODY_TOP = 4  # rows' top when the header is pinned outside the scroll area
ROW_H = 36
TIME_W = 104
LANE_MARGIN = 90
FOOTER_H = 24
MIN_WIDTH = 640

# Colours (ui/theme.py's vocabulary).
INK = QColor("#1f2430")
LANE = QColor("#c3c9d3")
ACCENT = QColor(theme.ACCENT)
RESULT = QColor("#4b5563")
ERROR = theme.INVALID
NOTE = theme.NOTE
MUTED = theme.MUTED
BACKGROUND = QColor("#ffffff")
STATION_BOX = QColor("#e8f0fc")
CSMS_BOX = QColor("#eceff3")
ROW_BAND = QColor("#f7f8fa")


@dataclass(slots=True)
class SequenceRow:
    """One arrow: everything the painter and the tooltip need, nothing Qt."""

    time: datetime
    from_station: bool
    kind: str  # "call" | "result" | "error" | "send" | "other"
    label: str
    message_id: str | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    record: CaptureRecord | None = None

    @property
    def marked(self) -> bool:
        return bool(self.problems or self.notes)


def _status_of(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    status = payload.get("status")
    if isinstance(status, str):
        return status
    info = payload.get("idTokenInfo")
    if isinstance(info, dict) and isinstance(info.get("status"), str):
        return str(info["status"])
    return None


def _call_detail(action: str, payload: Any) -> str:
    """The one payload fact that makes a CALL readable in a demo."""
    if not isinstance(payload, dict):
        return ""
    if action == "TransactionEvent":
        event = payload.get("eventType", "")
        reason = payload.get("triggerReason")
        return f"{event} ({reason})" if reason else str(event)
    if action == "StatusNotification":
        return str(payload.get("connectorStatus", payload.get("status", "")))
    if action == "BootNotification":
        return str(payload.get("reason", ""))
    if action == "Authorize":
        token = payload.get("idToken")
        return str(token.get("idToken", "")) if isinstance(token, dict) else ""
    if action == "TriggerMessage":
        return str(payload.get("requestedMessage", ""))
    if action == "NotifyEvent":
        data = payload.get("eventData")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            variable = data[0].get("variable", {}).get("name", "")
            value = data[0].get("actualValue", "")
            more = f" +{len(data) - 1}" if len(data) > 1 else ""
            return f"{variable}={value}{more}" if variable else ""
    return ""


def row_for(record: CaptureRecord, call_actions: dict[str | None, str] | None = None) -> SequenceRow:
    """Lay out one frame as an arrow (kind + label)."""
    mtype = record.message_type
    action = record.action or (call_actions or {}).get(record.message_id) or ""
    payload = record.payload
    if mtype == 2:
        detail = _call_detail(action, payload)
        kind, label = "call", f"{action} {detail}".strip()
    elif mtype == 3:
        status = _status_of(payload)
        label = f"✓ {action}" + (f" {status}" if status else "")
        if record.latency_ms is not None:
            label += f" · {record.latency_ms:.0f} ms"
        kind = "result"
    elif mtype in (4, 5):
        code = payload.get("errorCode", "?") if isinstance(payload, dict) else "?"
        name = "CALLERROR" if mtype == 4 else "CALLRESULTERROR"
        kind, label = "error", f"✗ {name} {code}" + (f" ({action})" if action else "")
    elif mtype == 6:
        kind, label = "send", f"{action} (SEND)".strip()
    else:
        kind, label = "other", "unparsable frame"
    return SequenceRow(
        time=record.time,
        from_station=record.sender == "station",
        kind=kind,
        label=label,
        message_id=record.message_id,
        problems=list(record.problems),
        notes=list(record.notes),
        record=record,
    )


@dataclass(slots=True)
class Selection:
    """Which frames to draw: a station, and either the last N or a time range."""

    station: str | None
    last_n: int | None = DEFAULT_LAST_N
    start: datetime | None = None
    end: datetime | None = None


def build_rows(records: Iterable[CaptureRecord], selection: Selection) -> tuple[list[SequenceRow], int]:
    """(rows to draw, how many matching frames were left out by the cap)."""
    frames = [r for r in records if not r.mirror and r.station == selection.station]
    if selection.start is not None:
        frames = [r for r in frames if r.time >= selection.start]
    if selection.end is not None:
        frames = [r for r in frames if r.time <= selection.end]
    if selection.last_n is not None:
        frames = frames[-selection.last_n :]
    dropped = max(0, len(frames) - MAX_ARROWS)
    if dropped:
        frames = frames[-MAX_ARROWS:]
    calls: dict[str | None, str] = {}
    rows = []
    for record in frames:
        if record.message_type in (2, 6) and record.action:
            calls[record.message_id] = record.action
        rows.append(row_for(record, calls))
    return rows, dropped


# ====================================================================== painting


def _font(size: float, *, bold: bool = False, mono: bool = False) -> QFont:
    font = theme.monospace() if mono else QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


def diagram_size(rows: Sequence[SequenceRow], width: int, *, header: bool = True) -> QSize:
    top = HEADER_H if header else BODY_TOP
    return QSize(max(width, MIN_WIDTH), top + ROW_H * max(len(rows), 1) + FOOTER_H + 8)


def lanes(width: int) -> tuple[float, float]:
    """x of the station lane and of the CSMS lane."""
    return TIME_W + LANE_MARGIN, max(width, MIN_WIDTH) - LANE_MARGIN


def row_at(y: float, count: int, *, header: bool = True) -> int | None:
    index = int((y - (HEADER_H if header else BODY_TOP)) // ROW_H)
    return index if 0 <= index < count else None


def _arrow_head(
    painter: QPainter, tip: QPointF, direction: float, colour: QColor, *, open_head: bool
) -> None:
    size = 9.0
    back = tip.x() - direction * size
    points = [QPointF(back, tip.y() - size / 2), tip, QPointF(back, tip.y() + size / 2)]
    if open_head:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolyline(QPolygonF(points))
    else:
        painter.setBrush(colour)
        painter.drawPolygon(QPolygonF(points))


def paint_header(painter: QPainter, *, station: str, width: int) -> None:
    """The lane headers (station, CSMS), the time column title and the legend."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    left, right = lanes(width)
    painter.setPen(QPen(LANE, 2, Qt.PenStyle.SolidLine))
    for x in (left, right):
        painter.drawLine(QPointF(x, 46), QPointF(x, HEADER_H))
    painter.setFont(_font(11, bold=True))
    metrics = QFontMetrics(painter.font())
    for x, text, fill in ((left, station, STATION_BOX), (right, "CSMS", CSMS_BOX)):
        w = max(120, metrics.horizontalAdvance(text) + 32)
        box = QRectF(x - w / 2, 10, w, 36)
        painter.setPen(QPen(LANE, 1))
        painter.setBrush(fill)
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(INK)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.setFont(_font(8.5, bold=True))
    painter.setPen(MUTED)
    painter.drawText(QRectF(12, 10, TIME_W, 36), Qt.AlignmentFlag.AlignVCenter, "Time (UTC)")
    _paint_legend(painter, left, right)


def paint_diagram(
    painter: QPainter,
    rows: Sequence[SequenceRow],
    *,
    station: str,
    width: int,
    clip: QRect | None = None,
    note: str = "",
    header: bool = True,
) -> None:
    """Paint the whole diagram (or the rows crossing `clip`) at 1:1 into `painter`.

    Without `header` the rows start at the top (the window pins the header above its scroll area).
    """
    size = diagram_size(rows, width, header=header)
    top = HEADER_H if header else BODY_TOP
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    area = clip if clip is not None else QRect(0, 0, size.width(), size.height())
    painter.fillRect(area, BACKGROUND)
    left, right = lanes(width)
    first = 0
    last = len(rows)
    if clip is not None:
        first = max(0, (clip.top() - top) // ROW_H)
        last = min(len(rows), (clip.bottom() - top) // ROW_H + 1)

    # Alternating bands, so long rows are followed easily across.
    for i in range(first, last):
        if i % 2:
            painter.fillRect(QRectF(0, top + i * ROW_H, size.width(), ROW_H), ROW_BAND)

    if header:
        paint_header(painter, station=station, width=width)

    # Lane lines.
    painter.setPen(QPen(LANE, 2, Qt.PenStyle.SolidLine))
    bottom = top + ROW_H * max(len(rows), 1)
    for x in (left, right):
        painter.drawLine(QPointF(x, top - (8 if header else BODY_TOP)), QPointF(x, bottom))

    label_font = _font(10)
    time_font = _font(8.5, mono=True)
    for i in range(first, last):
        row = rows[i]
        y = top + i * ROW_H + ROW_H * 0.62
        start, end = (left, right) if row.from_station else (right, left)
        direction = 1.0 if end > start else -1.0
        colour = {"call": INK, "result": RESULT, "error": ERROR, "send": ACCENT}.get(row.kind, MUTED)
        style = Qt.PenStyle.DashLine if row.kind in ("result", "error") else Qt.PenStyle.SolidLine
        pen = QPen(colour, 1.6 if row.kind != "call" else 1.8, style)
        painter.setPen(pen)
        tip = QPointF(end - direction * 2, y)
        painter.drawLine(QPointF(start + direction * 2, y), QPointF(tip.x() - direction * 6, y))
        painter.setPen(QPen(colour, 1.6, Qt.PenStyle.SolidLine))
        _arrow_head(painter, tip, direction, colour, open_head=row.kind == "send")

        # Label, centred above the arrow.
        painter.setFont(label_font)
        painter.setPen(ERROR if row.problems else NOTE if row.notes else colour)
        label_box = QRectF(min(start, end) + 12, y - ROW_H * 0.62, abs(end - start) - 24, ROW_H * 0.55)
        if row.kind in ("call", "send"):
            font = QFont(label_font)
            font.setBold(True)
            painter.setFont(font)
        painter.drawText(label_box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, row.label)

        # Time stamp, left.
        painter.setFont(time_font)
        painter.setPen(MUTED)
        stamp = row.time.strftime("%H:%M:%S.") + f"{row.time.microsecond // 1000:03d}"
        painter.drawText(QRectF(12, top + i * ROW_H, TIME_W, ROW_H), Qt.AlignmentFlag.AlignVCenter, stamp)

        # Marker for problems (red) or lint findings (amber), right of the CSMS lane.
        if row.marked:
            mark = ERROR if row.problems else NOTE
            centre = QPointF(right + 26, y - 4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(mark)
            painter.drawEllipse(centre, 9, 9)
            painter.setPen(QColor("#ffffff"))
            painter.setFont(_font(9, bold=True))
            painter.drawText(
                QRectF(centre.x() - 9, centre.y() - 9, 18, 18), Qt.AlignmentFlag.AlignCenter, "!"
            )
            count = len(row.problems) + len(row.notes)
            painter.setPen(mark)
            painter.setFont(_font(8.5))
            painter.drawText(QPointF(right + 40, y), f"{count}")

    if not rows:
        painter.setPen(MUTED)
        painter.setFont(_font(10))
        painter.drawText(
            QRectF(0, top, size.width(), ROW_H),
            Qt.AlignmentFlag.AlignCenter,
            "No frames for this selection",
        )
    if note:
        painter.setPen(NOTE)
        painter.setFont(_font(9))
        painter.drawText(
            QRectF(12, bottom + 4, size.width() - 24, FOOTER_H), Qt.AlignmentFlag.AlignLeft, note
        )


def _paint_legend(painter: QPainter, left: float, right: float) -> None:
    """A one-line key between the lane headers: what each arrow style means."""
    items = [
        ("CALL", INK, Qt.PenStyle.SolidLine, False),
        ("result", RESULT, Qt.PenStyle.DashLine, False),
        ("error", ERROR, Qt.PenStyle.DashLine, False),
        ("SEND", ACCENT, Qt.PenStyle.SolidLine, True),
    ]
    font = _font(8.5)
    metrics = QFontMetrics(font)
    sample = 26.0
    widths = [sample + 6 + metrics.horizontalAdvance(text) + 18 for text, *_ in items]
    finding = metrics.horizontalAdvance("problem / finding") + 18
    total = sum(widths) + finding
    x = (left + right) / 2 - total / 2
    y = 28.0
    painter.setFont(font)
    for (text, colour, style, open_head), width in zip(items, widths, strict=True):
        painter.setPen(QPen(colour, 1.5, style))
        painter.drawLine(QPointF(x, y), QPointF(x + sample - 5, y))
        painter.setPen(QPen(colour, 1.5))
        _arrow_head(painter, QPointF(x + sample, y), 1.0, colour, open_head=open_head)
        painter.setPen(MUTED)
        painter.drawText(QPointF(x + sample + 6, y + 4), text)
        x += width
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(ERROR)
    painter.drawEllipse(QPointF(x + 5, y), 5, 5)
    painter.setPen(MUTED)
    painter.drawText(QPointF(x + 15, y + 4), "problem / finding")


def tooltip_for(row: SequenceRow) -> str:
    lines = [row.label, f"message id: {row.message_id or '-'}"]
    lines += [f"✗ {p}" for p in row.problems]
    lines += [f"⚠ {n}" for n in row.notes]
    return "\n".join(lines)


# ====================================================================== export


def render_png(
    rows: Sequence[SequenceRow], *, station: str, width: int, note: str = "", scale: float = 2.0
) -> bytes:
    size = diagram_size(rows, width)
    image = QImage(int(size.width() * scale), int(size.height() * scale), QImage.Format.Format_ARGB32)
    image.fill(BACKGROUND)
    painter = QPainter(image)
    painter.scale(scale, scale)
    paint_diagram(painter, rows, station=station, width=width, note=note)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def render_svg(rows: Sequence[SequenceRow], *, station: str, width: int, note: str = "") -> bytes:
    size = diagram_size(rows, width)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(f"OCPP sequence — {station}")
    generator.setDescription("ChargeBench sequence diagram")
    painter = QPainter(generator)
    paint_diagram(painter, rows, station=station, width=width, note=note)
    painter.end()
    buffer.close()
    return bytes(data.data())


# ====================================================================== widgets


class SequenceCanvas(QWidget):
    """Paints the rows inside the exposed rectangle only; tooltips per row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[SequenceRow] = []
        self.station = ""
        self.note = ""
        self.setMouseTracking(True)

    def set_rows(self, rows: list[SequenceRow], station: str, note: str, width: int) -> None:
        self.rows, self.station, self.note = rows, station, note
        self.setFixedSize(diagram_size(rows, width, header=False))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        paint_diagram(
            painter,
            self.rows,
            station=self.station,
            width=self.width(),
            clip=event.rect(),
            note=self.note,
            header=False,
        )
        painter.end()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = row_at(event.pos().y(), len(self.rows), header=False)
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), tooltip_for(self.rows[index]), self)
            return True
        return super().event(event)


class SequenceHeader(QWidget):
    """The lane headers, pinned above the scroll area so they stay in view while following."""

    def __init__(self, canvas: SequenceCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.setFixedHeight(HEADER_H)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        painter.translate(self.canvas.x(), 0)  # follows horizontal scrolling
        paint_header(painter, station=self.canvas.station, width=self.canvas.width())
        painter.end()


class SequenceView(QWidget):
    """Controls (station, last N or from/to, Follow live, export) over the scrolling canvas."""

    def __init__(
        self,
        store: CaptureStore,
        parent: QWidget | None = None,
        *,
        history: Callable[[], CaptureDb] | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        # The live store keeps only the newest frames; older ones are read from the capture.
        self.history = history
        self.rows: list[SequenceRow] = []
        self.dropped = 0
        self._older = 0

        self.station_combo = QComboBox()
        self.station_combo.setMinimumWidth(140)
        self.last_radio = QRadioButton("Last")
        self.last_radio.setChecked(True)
        self.last_n = QSpinBox()
        self.last_n.setRange(1, 100_000)
        self.last_n.setValue(DEFAULT_LAST_N)
        self.last_n.setSuffix(" messages")
        self.range_radio = QRadioButton("From")
        self.from_edit = QDateTimeEdit()
        self.to_edit = QDateTimeEdit()
        for edit in (self.from_edit, self.to_edit):
            edit.setDisplayFormat("HH:mm:ss")
            edit.setTimeZone(QTimeZone.utc())
            edit.setEnabled(False)
        self.follow = QCheckBox("Follow live")
        self.follow.setChecked(True)
        self.svg_button = QPushButton("Export SVG…")
        self.png_button = QPushButton("Export PNG…")
        self.count_label = QLabel("")
        self.count_label.setObjectName("muted")

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 8, 8, 4)
        bar.addWidget(QLabel("Station"))
        bar.addWidget(self.station_combo)
        bar.addSpacing(12)
        bar.addWidget(self.last_radio)
        bar.addWidget(self.last_n)
        bar.addSpacing(8)
        bar.addWidget(self.range_radio)
        bar.addWidget(self.from_edit)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.to_edit)
        bar.addStretch(1)
        # Counts and exports on a line of their own: the window must fit a 1280-pixel screen.
        bar2 = QHBoxLayout()
        bar2.setContentsMargins(8, 0, 8, 4)
        bar2.addWidget(self.follow)
        bar2.addSpacing(12)
        bar2.addWidget(self.count_label, 1)
        bar2.addWidget(self.svg_button)
        bar2.addWidget(self.png_button)

        self.canvas = SequenceCanvas()
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.canvas)
        self.scroll.setWidgetResizable(False)
        self.scroll.setStyleSheet("QScrollArea { background: #ffffff; border: none; }")
        self.header = SequenceHeader(self.canvas)
        self.scroll.horizontalScrollBar().valueChanged.connect(lambda _: self.header.update())
        frame = QFrame()
        frame.setObjectName("sequenceFrame")
        frame.setStyleSheet("QFrame#sequenceFrame { background: #ffffff; border: 1px solid #d5d9e0; }")
        frame_layout = QVBoxLayout(frame)
        frame_layout.setContentsMargins(1, 1, 1, 1)
        frame_layout.setSpacing(0)
        frame_layout.addWidget(self.header)
        frame_layout.addWidget(self.scroll, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(bar2)
        layout.addWidget(frame, 1)

        self.station_combo.currentTextChanged.connect(lambda _: self.refresh())
        self.last_n.valueChanged.connect(lambda _: self.refresh())
        self.last_radio.toggled.connect(self._on_mode)
        self.from_edit.dateTimeChanged.connect(lambda _: self.refresh())
        self.to_edit.dateTimeChanged.connect(lambda _: self.refresh())
        self.follow.toggled.connect(lambda on: self.refresh() if on else None)
        self.svg_button.clicked.connect(lambda: self._export("svg"))
        self.png_button.clicked.connect(lambda: self._export("png"))
        # Coalesce bursts of flushes into one relayout.
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(150)
        self._pending.timeout.connect(self.refresh)

    # ------------------------------------------------------------------ inputs

    def set_stations(self, station_ids: Iterable[str]) -> None:
        current = self.station_combo.currentText()
        ids = sorted(set(station_ids))
        self.station_combo.blockSignals(True)
        self.station_combo.clear()
        self.station_combo.addItems(ids)
        if current in ids:
            self.station_combo.setCurrentText(current)
        self.station_combo.blockSignals(False)
        self.refresh()

    def add_station(self, station: Any) -> None:
        """A station joined the session: offer it in the combo (without switching to it)."""
        station_id = getattr(station, "station_id", station)
        if isinstance(station_id, str) and self.station_combo.findText(station_id) < 0:
            self.station_combo.addItem(station_id)

    def follow_station(self, station: Any) -> None:
        """The station selected in the list (a `Station` or an id)."""
        station_id = getattr(station, "station_id", station)
        if not isinstance(station_id, str):
            return
        if self.station_combo.findText(station_id) < 0:
            self.station_combo.addItem(station_id)
        self.station_combo.setCurrentText(station_id)

    def on_records_flushed(self, *_: object) -> None:
        if self.follow.isChecked() and self.isVisible() and not self._pending.isActive():
            self._pending.start()

    def _on_mode(self, last: bool) -> None:
        self.last_n.setEnabled(last)
        self.from_edit.setEnabled(not last)
        self.to_edit.setEnabled(not last)
        if not last:
            records = self._frames(Selection(self.station_combo.currentText(), last_n=None))
            if records:
                for edit, when in ((self.from_edit, records[0].time), (self.to_edit, records[-1].time)):
                    edit.blockSignals(True)
                    edit.setDateTime(when)
                    edit.blockSignals(False)
        self.refresh()

    def _frames(self, selection: Selection) -> list[CaptureRecord]:
        """The selected station's frames: the live tail, preceded by older ones from the capture
        when the tail alone does not cover the selection. Sets `_older`: matching frames older
        than those returned."""
        self._older = 0
        station = selection.station
        tail = [r for r in self.store.records() if not r.mirror and r.station == station]
        if self.history is None or station is None or not len(self.store):
            return tail
        last_n = selection.last_n
        if selection.start is not None or selection.end is not None:
            in_range = sum(
                1
                for r in tail
                if (selection.start is None or r.time >= selection.start)
                and (selection.end is None or r.time <= selection.end)
            )
            want = MAX_ARROWS + 1 - in_range
        else:
            want = min(selection.last_n or MAX_ARROWS, MAX_ARROWS + 1) - len(tail)
        if want <= 0:
            return tail
        older, total = self.history().station_frames(
            station, before_seq=self.store[0].seq, start=selection.start, end=selection.end, limit=want
        )
        if last_n is None:
            self._older = max(0, total - len(older))  # in the range, beyond the arrows drawn
        else:
            self._older = max(0, min(total + len(tail), last_n) - len(older) - len(tail))
        return older + tail

    def selection(self) -> Selection:
        station = self.station_combo.currentText() or None
        if self.last_radio.isChecked():
            return Selection(station, last_n=self.last_n.value())
        start = self.from_edit.dateTime().toPython()
        end = self.to_edit.dateTime().toPython()
        return Selection(station, last_n=None, start=_utc(start), end=_utc(end, ceil=True))

    # ------------------------------------------------------------------ output

    def note(self) -> str:
        if self.dropped:
            return f"Showing the last {MAX_ARROWS} arrows; {self.dropped} earlier frames left out."
        return ""

    def refresh(self) -> None:
        self._pending.stop()
        selection = self.selection()
        frames = self._frames(selection)
        self.rows, dropped = build_rows(frames, selection)
        self.dropped = dropped + self._older
        width = max(self.scroll.viewport().width(), MIN_WIDTH)
        self.canvas.set_rows(self.rows, selection.station or "Station", self.note(), width)
        self.header.update()
        marked = sum(1 for r in self.rows if r.marked)
        self.count_label.setText(f"{len(self.rows)} arrows" + (f" · {marked} marked" if marked else ""))
        if self.follow.isChecked():
            bar = self.scroll.verticalScrollBar()
            QTimer.singleShot(0, lambda: bar.setValue(bar.maximum()))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.refresh()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()

    def export_svg(self) -> bytes:
        return render_svg(self.rows, station=self.canvas.station, width=self.canvas.width(), note=self.note())

    def export_png(self) -> bytes:
        return render_png(self.rows, station=self.canvas.station, width=self.canvas.width(), note=self.note())

    def save(self, path: Path) -> None:
        data = self.export_svg() if path.suffix.lower() == ".svg" else self.export_png()
        path.write_bytes(data)

    def _export(self, kind: str) -> None:
        station = self.canvas.station or "sequence"
        path, _ = QFileDialog.getSaveFileName(
            self,
            f"Export sequence as {kind.upper()}",
            f"{station}-sequence.{kind}",
            f"{kind.upper()} (*.{kind})",
        )
        if path:
            target = Path(path)
            if target.suffix.lower() != f".{kind}":
                target = target.with_suffix(f".{kind}")
            self.save(target)


def _utc(when: datetime, *, ceil: bool = False) -> datetime:
    from datetime import UTC, timedelta

    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    # The editors show whole seconds: "to 10:00:19" means up to the end of that second.
    return when + timedelta(seconds=1, microseconds=-1) if ceil else when
