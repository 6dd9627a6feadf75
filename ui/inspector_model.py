"""The inspector table: a Qt model over capture records, with the filters a tester needs.

Rows are references to `CaptureRecord`s; the cell text is built in `data()` only when a cell is
painted, so ingesting tens of thousands of frames a second costs a list append per frame and
one `beginInsertRows` per batch (Wireshark's packet list works the same way). Filtering is
done here rather than in a QSortFilterProxyModel: a proxy maps every row through Python on
each insert, which is what the ~50 ms batch budget cannot afford on a million-frame capture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.inspector.filters import Filter, parse_filter
from app.inspector.records import CaptureRecord
from ui import theme

COLUMNS = (
    "#",
    "Time",
    "Δt",
    "Station",
    "Direction",
    "Type",
    "Action",
    "Message id",
    "Latency",
    "Size",
    "Valid",
)
(
    COL_SEQ,
    COL_TIME,
    COL_DELTA,
    COL_STATION,
    COL_DIRECTION,
    COL_TYPE,
    COL_ACTION,
    COL_ID,
    COL_LATENCY,
    COL_SIZE,
    COL_VALID,
) = range(len(COLUMNS))

_NUMERIC = frozenset({COL_SEQ, COL_DELTA, COL_LATENCY, COL_SIZE})
RecordRole = Qt.ItemDataRole.UserRole + 1

AnyIndex = QModelIndex | QPersistentModelIndex
#: A CALL with no CALLRESULT / CALLERROR after this long is flagged "no answer".
ANSWER_TIMEOUT_S = 30.0
_CALL, _RESULT, _ERROR = 2, 3, 4
PairKey = tuple[str, str, str]  # (connection, observer, message id)


def pair_key(record: CaptureRecord) -> PairKey | None:
    """What a CALL and its answer share: the connection, the capture point and the id."""
    if record.message_id is None or record.message_type not in (_CALL, _RESULT, _ERROR):
        return None
    return (record.connection, record.observer, record.message_id)


def uses_filter_language(text: str) -> bool:
    """Plain words filter on action / station / id as they always did; anything with a
    `key:`, a quote, `where` or `problems` is read as the filter language."""
    if ":" in text or '"' in text:
        return True
    words = {w.lower() for w in text.split()}
    return "where" in words or "problems" in words


def direction_text(record: CaptureRecord) -> str:
    return "station → CSMS" if record.sender == "station" else "CSMS → station"


def version_label(version: object) -> str:
    """'ocpp2.1' (the subprotocol name) -> 'OCPP 2.1', as people say it."""
    text = str(version or "")
    return f"OCPP {text[4:]}" if text.lower().startswith("ocpp") else text or "—"


class InspectorModel(QAbstractTableModel):
    """All captured records, and the subset the current filter lets through."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._all: list[CaptureRecord] = []
        self._rows: list[CaptureRecord] = []
        self._mirrors = 0  # how many of _all are CSMS-side copies (the count label says so)
        self._show_mirrors = False
        self._only_problems = False
        self._text = ""
        self._query: Filter | None = None  # the parsed filter language, when the text is one
        self._station: str | None = None
        # Pairing CALL <-> answer: one dict lookup per record on append, none per painted cell.
        self._calls: dict[PairKey, CaptureRecord] = {}
        self._answers: dict[PairKey, CaptureRecord] = {}
        self._closed: set[str] = set()  # connections known to be closed
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    # ------------------------------------------------------------------ filter

    @property
    def station_filter(self) -> str | None:
        return self._station

    def set_station_filter(self, station_id: str | None) -> None:
        """Show only frames of this station (None: all stations)."""
        station_id = station_id or None
        if station_id != self._station:
            self._station = station_id
            self._refilter()

    @property
    def show_mirrors(self) -> bool:
        return self._show_mirrors

    def set_show_mirrors(self, show: bool) -> None:
        if show != self._show_mirrors:
            self._show_mirrors = show
            self._refilter()

    @property
    def only_problems(self) -> bool:
        return self._only_problems

    def set_only_problems(self, only: bool) -> None:
        if only != self._only_problems:
            self._only_problems = only
            self._refilter()

    def set_text_filter(self, text: str) -> None:
        """Plain words, or the filter language (app/inspector/filters.py).

        Raises FilterError for text that does not parse; the previous filter then stays.
        """
        text = text.strip()
        query = parse_filter(text) if uses_filter_language(text) else None
        if query is not None and query.empty:
            query = None
        plain = "" if query is not None else text.lower()
        if (
            plain != self._text
            or (query is None) != (self._query is None)
            or (query is not None and self._query is not None and query.text != self._query.text)
        ):
            self._text = plain
            self._query = query
            self._refilter()

    @property
    def query(self) -> Filter | None:
        return self._query

    def accepts(self, record: CaptureRecord) -> bool:
        if record.mirror and not self._show_mirrors:
            return False
        if self._station is not None and record.station != self._station:
            return False
        if self._only_problems and not (record.problems or record.notes):
            return False
        if self._text:
            hay = f"{record.action or ''}\n{record.station}\n{record.message_id or ''}".lower()
            if self._text not in hay:
                return False
        return self._query is None or self._query.matches(record)

    def _refilter(self) -> None:
        self.beginResetModel()
        self._rows = self._filtered(self._all)
        self.endResetModel()

    def _filtered(self, records: Iterable[CaptureRecord]) -> list[CaptureRecord]:
        if not self._show_mirrors and not self._only_problems and not self._text and self._query is None:
            if self._station is None:
                return [r for r in records if not r.mirror]
            station = self._station
            return [r for r in records if not r.mirror and r.station == station]
        accepts = self.accepts
        return [r for r in records if accepts(r)]

    # ------------------------------------------------------------------ feeding

    def append_records(self, batch: Sequence[CaptureRecord]) -> None:
        """Add a batch: one insert notification for all rows of it that pass the filter."""
        if not batch:
            return
        self._all.extend(batch)
        self._mirrors += sum(1 for r in batch if r.mirror)
        self._index_pairs(batch)
        visible = self._filtered(batch)
        if not visible:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(visible) - 1)
        self._rows.extend(visible)
        self.endInsertRows()

    def set_records(self, records: Sequence[CaptureRecord]) -> None:
        """Replace everything (the store was cleared or trimmed)."""
        self.beginResetModel()
        self._all = list(records)
        self._mirrors = sum(1 for r in self._all if r.mirror)
        self._calls.clear()
        self._answers.clear()
        self._index_pairs(self._all)
        self._rows = self._filtered(self._all)
        self.endResetModel()

    # ------------------------------------------------------------------ pairing

    def _index_pairs(self, records: Iterable[CaptureRecord]) -> None:
        calls, answers = self._calls, self._answers
        for r in records:
            key = pair_key(r)
            if key is None:
                continue
            if r.message_type == _CALL:
                calls[key] = r
            else:
                answers.setdefault(key, r)

    def pair_of(self, record: CaptureRecord) -> CaptureRecord | None:
        """The answer of a CALL, or the CALL a CALLRESULT / CALLERROR answers."""
        key = pair_key(record)
        if key is None:
            return None
        return self._answers.get(key) if record.message_type == _CALL else self._calls.get(key)

    def mark_connection_closed(self, connection: str) -> None:
        """Calls still unanswered on a closed connection will never be answered."""
        self._closed.add(connection)
        self._repaint_latency()

    def unanswered(self, record: CaptureRecord) -> bool:
        """A CALL with no answer after ANSWER_TIMEOUT_S, or on a connection that closed."""
        if record.message_type != _CALL or self.pair_of(record) is not None:
            return False
        if record.connection in self._closed:
            return True
        return (self.now() - record.time).total_seconds() >= ANSWER_TIMEOUT_S

    def _repaint_latency(self) -> None:
        if self._rows:
            top = self.index(0, COL_LATENCY)
            self.dataChanged.emit(top, self.index(len(self._rows) - 1, COL_LATENCY))

    def refresh_unanswered(self) -> None:
        """Repaint the latency column so calls that just passed the timeout show as such."""
        self._repaint_latency()

    @property
    def total_count(self) -> int:
        return len(self._all)

    @property
    def mirror_count(self) -> int:
        return self._mirrors

    @property
    def filtering(self) -> bool:
        """True when a filter beyond the default mirror hiding is active."""
        return self._only_problems or bool(self._text) or self._query is not None or self._station is not None

    def record(self, row: int) -> CaptureRecord:
        return self._rows[row]

    def records(self) -> list[CaptureRecord]:
        """The visible records, in order (a copy)."""
        return list(self._rows)

    def row_of(self, record: CaptureRecord) -> int:
        """Row of a record, or -1 when it is filtered out; linear, for tests and selection."""
        for row, candidate in enumerate(self._rows):
            if candidate is record:
                return row
        return -1

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return _HEADER_TIPS.get(section)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        record = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text_of(index.row(), record, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if record.problems:
                return theme.INVALID
            if col == COL_VALID and record.notes:
                return theme.NOTE
            if col == COL_LATENCY and self.unanswered(record):
                return theme.INVALID
            if col in (COL_SEQ, COL_TIME, COL_DELTA, COL_ID):
                return theme.MUTED
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return theme.CSMS_ROW if record.sender == "csms" else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in _NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if col == COL_VALID:
                return int(Qt.AlignmentFlag.AlignCenter)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if record.problems or record.notes:
                return "\n".join([*record.problems, *record.notes])
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_VALID:
            # An icon keeps an invalid row recognisable while it is selected (text colour is not).
            if record.problems:
                return theme.status_dot(theme.INVALID)
            if record.notes:
                return theme.status_dot(theme.NOTE)
            return None
        if role == RecordRole:
            return record
        return None

    def _text_of(self, row: int, r: CaptureRecord, col: int) -> str:
        if col == COL_SEQ:
            return str(r.seq)
        if col == COL_TIME:
            return r.time.astimezone().strftime("%H:%M:%S.%f")[:-3]
        if col == COL_DELTA:
            if row == 0:
                return ""
            delta = (r.time - self._rows[row - 1].time).total_seconds() * 1000
            if abs(delta) >= 10_000:
                return f"+{delta / 1000:.0f} s"
            return f"+{delta:.0f} ms" if abs(delta) >= 10 else f"+{delta:.1f} ms"
        if col == COL_STATION:
            return r.station
        if col == COL_DIRECTION:
            return direction_text(r)
        if col == COL_TYPE:
            return r.frame_type
        if col == COL_ACTION:
            return r.action or ""
        if col == COL_ID:
            return r.message_id or ""
        if col == COL_LATENCY:
            if r.latency_ms is not None:
                return f"{r.latency_ms:.1f} ms"
            if r.message_type == _CALL:
                answer = self.pair_of(r)
                if answer is not None:
                    return "" if answer.latency_ms is None else f"→ {answer.latency_ms:.1f} ms"
                return "no answer" if self.unanswered(r) else ""
            return ""
        if col == COL_SIZE:
            return str(r.size)
        if col == COL_VALID:
            if r.problems:
                return "✗"
            return "⚠" if r.notes else "✓"
        return ""


_HEADER_TIPS = {
    COL_DELTA: "Milliseconds since the row above",
    COL_LATENCY: "For a reply: milliseconds since its CALL; for a CALL: how long its answer took\n"
    "('no answer': none after 30 s, or the connection closed)",
    COL_SIZE: "Frame size in bytes",
    COL_VALID: "✓ valid against the OCPP schema, ✗ schema problems, ⚠ protocol notes",
}
