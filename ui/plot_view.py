"""The Power tab: per EVSE, the setpoint a station was given against the power it delivered.

One pyqtgraph plot for the selected (station, EVSE): the setpoint as a step line (solid up to
now, dashed for the part of the schedule still ahead), delivered power as a filled line, SoC
on a right-hand axis, a vertical "now" line and a marker per profile event (set, cleared,
period change, external limit). The data comes from `PowerSeries` (app/inspector), which is
fed by the capture store, so a real charger looks exactly like an emulated one.

Drawing follows pyqtgraph's scrollingPlots example: the series are ring buffers in the core,
and a 15 Hz timer calls `setData` only when they changed (clip to view and peak downsampling
keep a day of 1 Hz samples smooth). "Follow now" scrolls the view with time; panning or
zooming with the mouse turns it off, the button turns it back on.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as pg_exporters
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.inspector.power_series import PowerSeries, SeriesData, SeriesEvent
from ui import theme

REDRAW_MS = 66  # ~15 Hz
POWER_COLOUR = theme.ACCENT
SETPOINT_COLOUR = "#d9480f"
SOC_COLOUR = "#1e9e4a"
NOW_COLOUR = "#1f2430"
AXIS_COLOUR = "#4b5563"
GRID_ALPHA = 0.12
EVENT_COLOURS = {
    "set": "#1e7a3c",
    "cleared": "#c62828",
    "period": "#8a8f98",
    "limit": "#8a4fd0",
    "limit cleared": "#8a4fd0",
}
#: Width of the visible window; a quarter of it lies ahead of now (the scheduled part).
SPANS: list[tuple[str, float]] = [
    ("5 min", 300.0),
    ("15 min", 900.0),
    ("1 h", 3600.0),
    ("6 h", 6 * 3600.0),
    ("24 h", 24 * 3600.0),
]
DEFAULT_SPAN = 900.0
AHEAD = 0.25
MAX_MARKERS = 40
LABEL_LEVELS = (0.97, 0.89, 0.81, 0.73)
LABEL_MIN_PX = 110

#: Tab bar styling for the tab that hosts the inspector and this view (light, flat).
TAB_STYLE = f"""
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{
    background: #eceff3; border: 1px solid #d5d9e0; border-bottom: none; padding: 4px 16px;
    margin-right: 2px; border-top-left-radius: 4px; border-top-right-radius: 4px; color: #4b5563;
}}
QTabBar::tab:selected {{ background: #ffffff; color: #1f2430; font-weight: 600;
    border-top: 2px solid {theme.ACCENT}; }}
QTabBar::tab:hover:!selected {{ background: #f6f8fb; }}
"""


def step_xy(t: np.ndarray, w: np.ndarray, now: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Setpoint steps -> (past x, y), (future x, y) as drawable staircases in kW, split at now.

    `w[i]` holds from `t[i]` to `t[i + 1]`; NaN (no limit) leaves a gap.
    """
    empty = (np.empty(0), np.empty(0))
    if len(t) < 2:
        return empty, empty

    def stairs(ts: np.ndarray, ws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(ts) < 2:
            return empty
        x = np.repeat(ts, 2)[1:-1]
        y = np.repeat(ws[:-1], 2) / 1000.0
        return x, y

    if now <= t[0]:
        return empty, stairs(t, w)
    if now >= t[-1]:
        return stairs(t, w), empty
    i = int(np.searchsorted(t, now, side="right"))  # t[i-1] <= now < t[i]
    w_now = w[i - 1]
    past = stairs(np.r_[t[:i], now], np.r_[w[:i], w_now])
    future = stairs(np.r_[now, t[i:]], np.r_[w_now, w[i:]])
    return past, future


class EventMarker(pg.InfiniteLine):
    """A vertical line with a short label at the top of the plot; the detail is its tooltip."""

    def __init__(self) -> None:
        super().__init__(angle=90, movable=False, pen=pg.mkPen("#8a8f98", width=1, style=Qt.PenStyle.DotLine))
        self.label = pg.InfLineLabel(
            self,
            text="",
            position=LABEL_LEVELS[0],
            anchors=[(0, 0.5), (0, 0.5)],
            fill=pg.mkBrush(255, 255, 255, 225),
            color="#1f2430",
        )
        font = QFont()
        font.setPointSizeF(8.5)
        self.label.setFont(font)
        self.setZValue(-5)

    def show_event(self, event: SeriesEvent, level: int) -> None:
        colour = EVENT_COLOURS.get(event.kind, "#6b7280")
        style = Qt.PenStyle.DotLine if event.kind == "period" else Qt.PenStyle.DashLine
        self.setPen(pg.mkPen(colour, width=1.2, style=style))
        self.setPos(event.t)
        self.label.setText(event.text)
        self.label.setColor(QColor(colour))
        self.label.setPosition(LABEL_LEVELS[level % len(LABEL_LEVELS)])
        self.setToolTip(event.detail or event.text)
        self.label.setToolTip(event.detail or event.text)
        self.show()
        self.label.show()


class PowerPlotView(QWidget):
    """Selectors and buttons on top, the plot below; reads a `PowerSeries`, never writes it."""

    def __init__(self, series: PowerSeries, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = series
        self.station_id: str | None = None
        self.evse_id: int | None = None
        self.follow = True
        self.span = DEFAULT_SPAN
        self.data: SeriesData | None = None
        self._known: dict[str, list[int]] = {}
        self._chosen_evse: dict[str, int] = {}
        self._dirty = True
        self._shown: tuple[str | None, int | None, int] = (None, None, -1)
        self._last_now = 0.0
        self._setting_range = False
        self._updating_combos = False
        self._key_snapshot: tuple[tuple[str, int], ...] = ()
        self._combo_version = (-1, -1)
        self._markers: list[EventMarker] = []
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        bar.addWidget(QLabel("Station"))
        self.station_combo = QComboBox()
        self.station_combo.setMinimumWidth(130)
        self.station_combo.currentIndexChanged.connect(self._on_station_combo)
        bar.addWidget(self.station_combo)
        bar.addWidget(QLabel("EVSE"))
        self.evse_combo = QComboBox()
        self.evse_combo.setMinimumWidth(90)
        self.evse_combo.currentIndexChanged.connect(self._on_evse_combo)
        bar.addWidget(self.evse_combo)
        bar.addSpacing(10)
        self.span_combo = QComboBox()
        for text, seconds in SPANS:
            self.span_combo.addItem(text, seconds)
        self.span_combo.setCurrentIndex([s for _, s in SPANS].index(DEFAULT_SPAN))
        self.span_combo.setToolTip("Width of the window while following now")
        self.span_combo.currentIndexChanged.connect(self._on_span)
        bar.addWidget(self.span_combo)
        self.follow_button = QPushButton("Follow now")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip("Scroll with time; panning or zooming with the mouse turns it off")
        self.follow_button.toggled.connect(self.set_follow)
        bar.addWidget(self.follow_button)
        bar.addStretch(1)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.clicked.connect(lambda: self._ask_path("png"))
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self._ask_path("csv"))
        bar.addWidget(self.png_button)
        bar.addWidget(self.csv_button)
        layout.addLayout(bar)

        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.summary)

        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget(background="#ffffff", axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setObjectName("powerPlot")
        self.plot.setStyleSheet("border: 1px solid #d5d9e0; border-radius: 4px;")
        item = self.plot.getPlotItem()
        self.viewbox: pg.ViewBox = item.getViewBox()
        item.showGrid(x=True, y=True, alpha=GRID_ALPHA)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showAxis("right")
        for name in ("left", "bottom", "right"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(AXIS_COLOUR))
            axis.setTextPen(pg.mkPen(AXIS_COLOUR))
        item.setLabel("left", "Power (kW)", color=AXIS_COLOUR)
        item.setLabel("right", "SoC (%)", color=SOC_COLOUR)
        item.getAxis("left").setWidth(56)
        item.getAxis("right").setWidth(48)
        self.viewbox.setMouseEnabled(x=True, y=False)
        self.viewbox.disableAutoRange()
        self.viewbox.sigRangeChangedManually.connect(self._on_user_range)
        self.viewbox.sigXRangeChanged.connect(self._on_x_range)

        # SoC lives in its own ViewBox, linked on X, drawn against the right axis (0-100 %).
        self.soc_view = pg.ViewBox(enableMouse=False)
        item.scene().addItem(self.soc_view)
        item.getAxis("right").linkToView(self.soc_view)
        self.soc_view.setXLink(self.viewbox)
        self.soc_view.setYRange(0, 100, padding=0)
        self.soc_view.setZValue(-10)
        self.viewbox.sigResized.connect(self._sync_soc_view)

        self.power_item = pg.PlotDataItem(
            name="Delivered power",
            pen=pg.mkPen(POWER_COLOUR, width=1.8),
            fillLevel=0.0,
            brush=pg.mkBrush(QColor(47, 111, 214, 40)),
        )
        self.setpoint_item = pg.PlotDataItem(
            name="Setpoint / limit", pen=pg.mkPen(SETPOINT_COLOUR, width=2.4), connect="finite"
        )
        self.future_item = pg.PlotDataItem(
            name="Scheduled (ahead of now)",
            pen=pg.mkPen(SETPOINT_COLOUR, width=2.4, style=Qt.PenStyle.DashLine),
            connect="finite",
        )
        self.soc_item = pg.PlotDataItem(
            name="SoC", pen=pg.mkPen(SOC_COLOUR, width=1.6, style=Qt.PenStyle.DashDotLine)
        )
        for data_item in (self.power_item, self.soc_item):
            data_item.setClipToView(True)
            data_item.setDownsampling(auto=True, method="peak")
        item.addItem(self.power_item)
        item.addItem(self.setpoint_item)
        item.addItem(self.future_item)
        self.soc_view.addItem(self.soc_item)

        self.now_line = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(NOW_COLOUR, width=1.2, style=Qt.PenStyle.DashLine),
            label="now",
            labelOpts={
                "position": 0.04,
                "color": NOW_COLOUR,
                "fill": pg.mkBrush(255, 255, 255, 220),
                "anchors": [(0, 1), (0, 1)],
            },
        )
        self.now_line.setZValue(20)
        item.addItem(self.now_line, ignoreBounds=True)
        # What lies ahead of now (the scheduled part) on a faint grey ground.
        self.ahead = pg.LinearRegionItem(
            values=(0, 1), movable=False, brush=pg.mkBrush(31, 36, 48, 12), pen=pg.mkPen(None)
        )
        self.ahead.setZValue(-20)
        item.addItem(self.ahead, ignoreBounds=True)

        self.legend = pg.LegendItem(
            offset=None,
            brush=None,
            pen=None,
            labelTextColor="#1f2430",
            labelTextSize="9pt",
            colCount=4,
        )
        # Above the plot (the title row), so it never hides data and is part of an export: which
        # station and EVSE on the left (an exported PNG must say what it shows), then the legend.
        item.layout.removeItem(item.titleLabel)
        item.titleLabel.hide()
        header = pg.GraphicsLayout()
        header.setContentsMargins(0, 0, 0, 0)
        self.title = pg.LabelItem("", color="#1f2430", size="10pt", bold=True, justify="left")
        header.addItem(self.title, 0, 0)
        header.addItem(self.legend, 0, 1)
        header.layout.setColumnStretchFactor(1, 1)
        item.layout.addItem(header, 0, 1)
        item.layout.setRowFixedHeight(0, 30)
        for data_item in (self.setpoint_item, self.future_item, self.power_item, self.soc_item):
            self.legend.addItem(data_item, data_item.name())

        self.placeholder = pg.TextItem("", color="#6b7280", anchor=(0.5, 0.5))
        self.placeholder.setFont(QFont(self.font().family(), 11))
        item.addItem(self.placeholder, ignoreBounds=True)
        layout.addWidget(self.plot, 1)

    def _sync_soc_view(self) -> None:
        self.soc_view.setGeometry(self.viewbox.sceneBoundingRect())
        self.soc_view.linkedViewChanged(self.viewbox, self.soc_view.XAxis)

    # ------------------------------------------------------------------ selection

    def set_known(self, station_id: str, evse_ids: list[int]) -> None:
        """A station the window knows (emulated): listed even before it sent a meter value."""
        self._known[station_id] = sorted(evse_ids)
        self._refresh_combos(force=True)

    def forget(self, station_id: str) -> None:
        self._known.pop(station_id, None)
        self._refresh_combos(force=True)

    def follow_station(self, station: object) -> None:
        """The station list's selection: show that station (keeping its chosen EVSE)."""
        station_id = getattr(station, "station_id", None)
        if isinstance(station_id, str):
            self.select(station_id)

    def select(self, station_id: str, evse_id: int | None = None) -> None:
        if station_id not in self._stations():
            self._known.setdefault(station_id, [])
        self.station_id = station_id
        if evse_id is not None:
            self._chosen_evse[station_id] = evse_id
        self.evse_id = self._default_evse(station_id)
        self._refresh_combos(force=True)
        self._dirty = True

    def _stations(self) -> list[str]:
        return sorted(set(self._known) | set(self.series.station_ids()))

    def _evses(self, station_id: str) -> list[int]:
        evses = set(self._known.get(station_id, []))
        evses.update(e for s, e in self.series.keys() if s == station_id)  # noqa: SIM118
        return sorted(evses)

    def _default_evse(self, station_id: str) -> int | None:
        evses = self._evses(station_id)
        chosen = self._chosen_evse.get(station_id)
        if chosen is not None and chosen in evses:
            return chosen
        with_samples = [e for e in evses if e > 0 and len(self.series.series(station_id, e).t)]
        if with_samples:
            return with_samples[0]
        positive = [e for e in evses if e > 0]
        return positive[0] if positive else (evses[0] if evses else None)

    def _refresh_combos(self, *, force: bool = False) -> None:
        if not force and self._combo_version == (self.series.version, len(self._known)):
            return
        self._combo_version = (self.series.version, len(self._known))
        keys = tuple(self.series.keys())
        snapshot = (*keys, *((s, -1 - len(e)) for s, e in self._known.items()))
        if not force and snapshot == self._key_snapshot:
            return
        self._key_snapshot = snapshot
        self._updating_combos = True
        try:
            stations = self._stations()
            if self.station_id not in stations:  # none yet, or the shown one was removed
                self.station_id = stations[0] if stations else None
                self.evse_id = self._default_evse(stations[0]) if stations else None
                self._dirty = True
            self.station_combo.clear()
            for station_id in stations:
                self.station_combo.addItem(station_id, station_id)
            if self.station_id is not None:
                self.station_combo.setCurrentIndex(stations.index(self.station_id))
            self.evse_combo.clear()
            evses = self._evses(self.station_id) if self.station_id else []
            if self.evse_id not in evses:
                self.evse_id = self._default_evse(self.station_id) if self.station_id else None
                self._dirty = True
            for evse_id in evses:
                self.evse_combo.addItem("Station (EVSE 0)" if evse_id == 0 else f"EVSE {evse_id}", evse_id)
            if self.evse_id in evses:
                self.evse_combo.setCurrentIndex(evses.index(self.evse_id))
        finally:
            self._updating_combos = False

    def _on_station_combo(self, index: int) -> None:
        if self._updating_combos or index < 0:
            return
        station_id = self.station_combo.itemData(index)
        if station_id != self.station_id:
            self.select(station_id)

    def _on_evse_combo(self, index: int) -> None:
        if self._updating_combos or index < 0 or self.station_id is None:
            return
        evse_id = self.evse_combo.itemData(index)
        self._chosen_evse[self.station_id] = evse_id
        self.evse_id = evse_id
        self._dirty = True

    # ------------------------------------------------------------------ follow / range

    def set_follow(self, on: bool) -> None:
        if on and not self.follow:
            # Keep the zoom the user chose: its width becomes the followed span.
            (x0, x1), _ = self.viewbox.viewRange()
            if x1 > x0:
                self.span = x1 - x0
        self.follow = on
        if self.follow_button.isChecked() != on:
            self.follow_button.setChecked(on)
        self._dirty = True

    def _on_span(self, index: int) -> None:
        self.span = float(self.span_combo.itemData(index))
        self.set_follow(True)
        self.follow = True
        self._dirty = True
        self.redraw()

    def _on_user_range(self, *_: object) -> None:
        if self.follow:
            self.set_follow(False)
        self._dirty = True

    def _on_x_range(self, *_: object) -> None:
        if not self._setting_range:
            self._dirty = True

    def on_series_changed(self) -> None:
        """The bridge says PowerSeries changed: redraw at the next tick."""
        self._dirty = True

    # ------------------------------------------------------------------ drawing

    def _tick(self) -> None:
        if not self.isVisible():
            return
        self._refresh_combos()
        now = self.series.now()
        if self.follow:
            width = max(1, self.viewbox.width())
            if (now - self._last_now) * width / self.span >= 1.0:
                self._dirty = True
        if self._dirty:
            self.redraw(now)

    def redraw(self, now: float | None = None) -> None:
        """Bring the plot up to date (the timer calls this; tests and exports may too)."""
        self._dirty = False
        now = self.series.now() if now is None else now
        self._last_now = now
        station_id, evse_id = self.station_id, self.evse_id
        if station_id is None or evse_id is None:
            self.data = None
            self._clear_items("No station yet: start one, or connect a charger to the built-in CSMS")
            return
        version = self.series.station_version(station_id)
        key = (station_id, evse_id, version)
        data = self.series.series(station_id, evse_id, now=now)
        self.data = data
        if key != self._shown:
            self._shown = key
            mask = ~np.isnan(data.power_w)
            self.power_item.setData(data.t[mask], data.power_w[mask] / 1000.0, skipFiniteCheck=True)
            soc_mask = ~np.isnan(data.soc)
            self.soc_item.setData(data.t[soc_mask], data.soc[soc_mask], skipFiniteCheck=True)
            self.power_item.opts["name"] = (
                "Delivered power (from energy register)" if data.power_from_energy else "Delivered power"
            )
        (px, py), (fx, fy) = step_xy(data.setpoint_t, data.setpoint_w, now)
        self.setpoint_item.setData(px, py)
        self.future_item.setData(fx, fy)
        self.now_line.setPos(now)
        self.title.setText(f"{station_id} · {'station' if evse_id == 0 else f'EVSE {evse_id}'}")
        self.ahead.setRegion((now, now + 10 * max(self.span, self.series.horizon_s)))

        if self.follow:
            self._setting_range = True
            try:
                self.viewbox.setXRange(now - self.span * (1 - AHEAD), now + self.span * AHEAD, padding=0)
            finally:
                self._setting_range = False
        (x0, x1), _ = self.viewbox.viewRange()
        self._fit_y(data, x0, x1)
        self._place_markers(data.events, x0, x1)
        self._update_summary(data, now)
        if data.empty:
            self.placeholder.setText(
                f"No meter values or charging profiles from {station_id} EVSE {evse_id} yet"
            )
            self.placeholder.setPos((x0 + x1) / 2, self.viewbox.viewRange()[1][1] / 2)
            self.placeholder.show()
        else:
            self.placeholder.hide()

    def _clear_items(self, message: str) -> None:
        for data_item in (self.power_item, self.soc_item, self.setpoint_item, self.future_item):
            data_item.setData([], [])
        for marker in self._markers:
            marker.hide()
        self._shown = (None, None, -1)
        self.summary.setText("")
        self.placeholder.setText(message)
        (x0, x1), (y0, y1) = self.viewbox.viewRange()
        self.placeholder.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        self.placeholder.show()

    def _fit_y(self, data: SeriesData, x0: float, x1: float) -> None:
        peaks = [1.0]
        lows = [0.0]
        if len(data.t):
            lo, hi = np.searchsorted(data.t, [x0, x1])
            window = data.power_w[max(0, lo - 1) : hi + 1]
            window = window[~np.isnan(window)]
            if len(window):
                peaks.append(float(window.max()) / 1000.0)
                lows.append(float(window.min()) / 1000.0)
        if len(data.setpoint_t):
            lo, hi = np.searchsorted(data.setpoint_t, [x0, x1])
            window = data.setpoint_w[max(0, lo - 1) : hi + 1]
            window = window[~np.isnan(window)]
            if len(window):
                peaks.append(float(window.max()) / 1000.0)
                lows.append(float(window.min()) / 1000.0)
        top = max(peaks) * 1.18
        bottom = min(lows) * 1.1 if min(lows) < 0 else 0.0
        self.viewbox.setYRange(bottom, top, padding=0)

    def _place_markers(self, events: list[SeriesEvent], x0: float, x1: float) -> None:
        visible = [e for e in events if x0 <= e.t <= x1][-MAX_MARKERS:]
        while len(self._markers) < len(visible):
            marker = EventMarker()
            self.plot.getPlotItem().addItem(marker, ignoreBounds=True)
            self._markers.append(marker)
        px_per_s = max(1.0, self.viewbox.width()) / max(1e-9, x1 - x0)
        last_x_at_level: list[float] = [-math.inf] * len(LABEL_LEVELS)
        for marker, event in zip(self._markers, visible, strict=False):
            x = event.t * px_per_s
            level = next(
                (i for i, last in enumerate(last_x_at_level) if x - last >= LABEL_MIN_PX),
                min(range(len(LABEL_LEVELS)), key=lambda i: last_x_at_level[i]),
            )
            last_x_at_level[level] = x
            marker.show_event(event, level)
        for marker in self._markers[len(visible) :]:
            marker.hide()

    def _update_summary(self, data: SeriesData, now: float) -> None:
        parts: list[str] = []
        power = _last_finite(data.power_w)
        if power is not None:
            parts.append(f"<b style='color:{POWER_COLOUR}'>{power / 1000:.1f} kW</b> delivered")
        setpoint = data.setpoint_at(now)
        if not math.isnan(setpoint):
            parts.append(f"<b style='color:{SETPOINT_COLOUR}'>{setpoint / 1000:.1f} kW</b> setpoint now")
        elif len(data.setpoint_t):
            parts.append("no setpoint in force now")
        upcoming = [
            (t, w) for t, w in zip(data.setpoint_t[:-1], data.setpoint_w[:-1], strict=False) if t > now
        ]
        if upcoming:
            t, w = upcoming[0]
            minutes = (t - now) / 60
            value = "no limit" if math.isnan(w) else f"{w / 1000:.1f} kW"
            ahead = f"{minutes:.0f} min" if minutes >= 1 else f"{t - now:.0f} s"
            parts.append(f"next: {value} in {ahead}")
        soc = _last_finite(data.soc)
        if soc is not None:
            parts.append(f"<b style='color:{SOC_COLOUR}'>{soc:.0f} %</b> SoC")
        if data.power_from_energy:
            parts.append("power derived from the energy register")
        self.summary.setText(" · ".join(parts) if parts else "Waiting for meter values or charging profiles")

    # ------------------------------------------------------------------ export

    def _ask_path(self, kind: str) -> QFileDialog:
        station = self.station_id or "station"
        dialog = QFileDialog(self, f"Export {kind.upper()}")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("PNG image (*.png)" if kind == "png" else "CSV table (*.csv)")
        dialog.setDefaultSuffix(kind)
        dialog.selectFile(f"{station}-evse{self.evse_id or 0}-power.{kind}")
        dialog.fileSelected.connect(
            lambda path: self.export_png(Path(path)) if kind == "png" else self.export_csv(Path(path))
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def export_png(self, path: Path) -> Path:
        """The plot as it is on screen (legend, markers, both axes) as a PNG file."""
        self.redraw()
        exporter = pg_exporters.ImageExporter(self.plot.getPlotItem())
        width = max(1200, int(self.plot.width()))
        exporter.parameters()["width"] = width
        exporter.export(str(path))
        return path

    def export_csv(self, path: Path) -> Path:
        """Samples, setpoint steps and events of the selected EVSE (see PowerSeries.to_csv)."""
        if self.station_id is None or self.evse_id is None:
            raise ValueError("no EVSE selected")
        path.write_text(self.series.to_csv(self.station_id, self.evse_id), encoding="utf-8")
        return path

    def stop(self) -> None:
        self._timer.stop()


def _last_finite(values: np.ndarray) -> float | None:
    finite = np.flatnonzero(~np.isnan(values))
    return float(values[finite[-1]]) if len(finite) else None
