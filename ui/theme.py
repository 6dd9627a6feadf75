"""Colours and the stylesheet: one place, so a status means the same colour everywhere.

Status colours carry meaning (green = ready, blue = in use, red = broken); widgets look them up
here instead of choosing their own, so the station card, the pill and the inspector agree.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QPainter, QPixmap

# Link state of a station -> (background, text) of its pill.
LINK_COLOURS: dict[str, tuple[str, str]] = {
    "Online": ("#1e9e4a", "#ffffff"),
    "Connecting": ("#e0a100", "#ffffff"),
    "Connected": ("#e0a100", "#ffffff"),
    "Offline": ("#d13438", "#ffffff"),
    "Network cut": ("#a4262c", "#ffffff"),
    "Rebooting": ("#8a4fd0", "#ffffff"),
    "Stopped": ("#8a8f98", "#ffffff"),
}

# Connector status (plus the derived "Charging") -> fill colour of the glyph and badge.
CONNECTOR_COLOURS: dict[str, str] = {
    "Available": "#1e9e4a",
    "Occupied": "#2f6fd6",
    "Charging": "#0a84ff",
    "Reserved": "#8a4fd0",
    "Unavailable": "#8a8f98",
    "Faulted": "#d13438",
}

# Last authorization outcome (AuthorizationStatusEnumType) -> badge colour.
AUTH_COLOURS: dict[str, str] = {
    "Accepted": "#1e9e4a",
    "Blocked": "#d13438",
    "Invalid": "#d13438",
    "Expired": "#c76a00",
    "NoCredit": "#c76a00",
    "ConcurrentTx": "#c76a00",
    "NotAllowedTypeEVSE": "#c76a00",
    "NotAtThisLocation": "#c76a00",
    "NotAtThisTime": "#c76a00",
    "Unknown": "#8a8f98",
}

# SetVariables outcome in the device-model browser -> text colour.
SET_STATUS_COLOURS: dict[str, str] = {
    "Accepted": "#1e7a3c",
    "RebootRequired": "#a86400",
    "Rejected": "#c62828",
    "UnknownComponent": "#c62828",
    "UnknownVariable": "#c62828",
    "NotSupportedAttributeType": "#c62828",
}

QUEUE = "#c76a00"  # unsent messages waiting for the CSMS
LOCAL_LIMIT = "#c76a00"  # a limit set in this window (grid signal, load manager)
CSMS_LIMIT = "#2f6fd6"  # a limit from the CSMS's charging profiles

INVALID = QColor("#c62828")
NOTE = QColor("#a86400")
MUTED = QColor("#6b7280")
CSMS_ROW = QColor("#f3f6fb")  # background of frames the CSMS sent, so direction reads at a glance

ACCENT = "#2f6fd6"

STYLESHEET = f"""
QMainWindow, QWidget#central {{ background: #f4f5f7; }}
QWidget {{ font-size: 10pt; color: #1f2430; }}
QLineEdit, QPlainTextEdit, QTreeWidget, QTreeView, QTableView, QComboBox {{
    background: #ffffff; border: 1px solid #d5d9e0; border-radius: 4px;
    selection-background-color: #cfe0fb; selection-color: #1f2430;
}}
QLineEdit {{ padding: 3px 6px; }}
QLineEdit:focus {{ border-color: {ACCENT}; }}
QPushButton {{
    background: #ffffff; border: 1px solid #c3c9d3; border-radius: 4px; padding: 4px 12px;
}}
QPushButton:hover {{ background: #eef3fc; border-color: {ACCENT}; }}
QPushButton:pressed {{ background: #dce7fa; }}
QPushButton:disabled {{ color: #a0a6b0; background: #f4f5f7; border-color: #dde1e6; }}
QPushButton[primary="true"] {{ background: {ACCENT}; color: #ffffff; border-color: {ACCENT}; }}
QPushButton[primary="true"]:hover {{ background: #255fbd; }}
QPushButton[primary="true"]:disabled {{ background: #9fb8e3; border-color: #9fb8e3; }}
QHeaderView::section {{
    background: #eceff3; border: none; border-right: 1px solid #d5d9e0;
    border-bottom: 1px solid #d5d9e0; padding: 3px 6px; font-weight: 600;
}}
QFrame#connectionBar {{ background: #ffffff; border-bottom: 1px solid #d5d9e0; }}
QFrame#stationHeader {{ background: #ffffff; border: 1px solid #d5d9e0; border-radius: 8px; }}
QFrame#evseCard {{ background: #ffffff; border: 1px solid #d5d9e0; border-radius: 8px; }}
QLabel#display {{
    background: #10261c; color: #7dffb0; border-radius: 5px; padding: 6px 10px;
    font-family: "DejaVu Sans Mono", monospace; font-size: 11pt;
}}
QLabel#bigNumber {{ font-size: 20pt; font-weight: 600; color: #1f2430; }}
QLabel#unit {{ color: #6b7280; font-size: 9pt; }}
QLabel#muted {{ color: #6b7280; }}
QLabel#sectionTitle {{ font-size: 11pt; font-weight: 600; color: #1f2430; }}
QLabel#problems {{
    color: #c62828; background: #fdecec; border: 1px solid #f3b8b8; border-radius: 4px;
    padding: 4px 8px;
}}
QLabel#notes {{
    color: #7a4a00; background: #fff6e0; border: 1px solid #f0d48a; border-radius: 4px;
    padding: 4px 8px;
}}
QLabel#frameTitle {{ font-weight: 600; }}
QScrollArea {{ border: none; background: transparent; }}
QStatusBar {{ background: #ffffff; border-top: 1px solid #d5d9e0; }}
QSplitter::handle {{ background: #e3e6eb; }}
QFrame#stationList {{ background: #ffffff; border: 1px solid #d5d9e0; border-radius: 8px; }}
QListView#stationRows {{ background: #ffffff; border: none; }}
QToolButton {{
    background: #ffffff; border: 1px solid #c3c9d3; border-radius: 4px; padding: 3px 7px;
}}
QToolButton:hover {{ background: #eef3fc; border-color: {ACCENT}; }}
QToolButton:disabled {{ color: #a0a6b0; background: #f4f5f7; border-color: #dde1e6; }}
QLabel#notice {{
    color: #7a4a00; background: #fff6e0; border: 1px solid #f0d48a; border-radius: 4px;
    padding: 4px 8px;
}}
QLabel#queue {{ color: #1f2430; }}
QListWidget {{ background: #ffffff; border: 1px solid #d5d9e0; border-radius: 4px; }}
QListWidget::item {{ padding: 4px 2px; }}
QListWidget::item:selected {{ background: #cfe0fb; color: #1f2430; }}
"""


def monospace() -> QFont:
    """The system fixed-width font: raw frames and ids must line up character by character."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(10)
    return font


@cache
def _dot(rgb: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(rgb))
    painter.drawEllipse(1, 1, 8, 8)
    painter.end()
    return QIcon(pixmap)


def status_dot(colour: QColor) -> QIcon:
    """A small filled circle; cached, since the table asks for it on every paint."""
    return _dot(colour.name())
