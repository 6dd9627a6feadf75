"""The inspector table: a Qt model over a SQLite capture, with the filters a tester needs.

Rows are seqs of the capture (`app/inspector/capture_db.py`); the cell text is built in
`data()` only when a cell is painted, so ingesting tens of thousands of frames a second costs
a queue append and an array append per frame and one `beginInsertRows` per batch (Wireshark's
packet list works the same way). Filtering is done here rather than in a
QSortFilterProxyModel: a proxy maps every row through Python on each insert, which is what the
~50 ms batch budget cannot afford; a new filter is one SQL query over the capture.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.inspector.capture_db import CaptureDb
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
log = logging.getLogger(__name__)
#: A CALL with no CALLRESULT / CALLERROR after this long is flagged "no answer".
ANSWER_TIMEOUT_S = 30.0
_CALL, _RESULT, _ERROR = 2, 3, 4
CACHE_RECORDS = 20_000  # record objects kept: the live tail and the pages on screen
PAGE = 256  # rows read from the capture around a row that is not cached
BACKGROUND_FROM = 200_000  # frames in the capture from which a new filter runs in a thread
PAIRS_KEPT = 100_000  # CALL/answer pairs indexed in memory; older ones are looked up in SQLite
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
    """A view over a capture database: the rows passing the current filter, as seqs.

    Every record handed to `append_records` goes into the SQLite capture (`db`, a temp file
    unless given); the model itself holds an array of 8-byte seqs per visible row, a bounded
    cache of record objects (the live tail and the pages being looked at), and the CALL/answer
    pairing of the recent part of the capture. Memory stays bounded on a million-frame
    capture, and the garbage collector has little to walk. Changing a filter asks SQLite;
    live records are judged by the same filter's Python predicates.

    On a big capture a new filter runs in a worker thread (a payload condition over a million
    frames takes most of a second): the table keeps showing the old rows, `filter_running`
    says so, and live records arriving meanwhile are judged when the answer comes.
    """

    #: A filter over the capture started (True) or its rows are in (False).
    filteringChanged = Signal(bool)
    _filtered = Signal(int, object)  # (generation, rows): from the worker thread

    def __init__(self, parent: Any = None, *, db: CaptureDb | None = None, live: bool = True) -> None:
        super().__init__(parent)
        self.background_from = BACKGROUND_FROM  # captures at least this big filter in a thread
        self._generation = 0  # of the latest filter; older answers are dropped
        self._upto = 0  # the latest filter's query covers seqs up to here
        self._arrived: list[CaptureRecord] | None = None  # live records while a filter runs
        self._filtered.connect(self._on_filtered)
        self._db = db if db is not None else CaptureDb()
        self._owns_db = db is None
        self._rows: array[int] = array("q")
        self._total = len(self._db)
        self._mirrors = self._count_mirrors() if self._total else 0
        self._cache: OrderedDict[int, CaptureRecord] = OrderedDict()
        self._texts: dict[int, tuple[str, ...]] = {}  # seq -> the fixed cells of its row
        self._show_mirrors = False
        self._only_problems = False
        self._text = ""
        self._query: Filter | None = None  # the parsed filter language, when the text is one
        self._station: str | None = None
        # Pairing CALL <-> answer for the recent part of the capture (seqs); older or opened
        # captures ask the database.
        self._calls: dict[PairKey, int] = {}
        self._answers: dict[PairKey, tuple[int, float | None]] = {}
        self._paired_from = self._total + 1 if live else 1 << 62  # first seq the dicts cover
        # connection name -> when it last closed (a station reconnects under the same name)
        self._closed: dict[str, datetime] = {}
        end = None if live else self._db.last_time()  # a capture file: its own end is "now"
        self.now: Callable[[], datetime] = (lambda: end) if end is not None else (lambda: datetime.now(UTC))
        if self._total:
            self._refilter()

    @property
    def db(self) -> CaptureDb:
        return self._db

    def close(self) -> None:
        """Release the capture (a temp capture file is deleted)."""
        if self._owns_db:
            self._db.close()

    def _count_mirrors(self) -> int:
        self._db.flush()
        return self._db.count(Filter(clauses=["mirror = 1"]))

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

    def current_filter(self) -> Filter:
        """What the table shows, as a filter over its capture (exports use it)."""
        return self._sql_filter()

    def _sql_filter(self) -> Filter:
        """The model's whole filter (mirrors, station, problems, words, query) as SQL."""
        clauses = list(self._query.clauses) if self._query is not None else []
        params = list(self._query.params) if self._query is not None else []
        if not self._show_mirrors:
            clauses.append("mirror = 0")
        if self._station is not None:
            clauses.append("station = ?")
            params.append(self._station)
        if self._only_problems:
            clauses.append("problems IS NOT NULL OR notes IS NOT NULL")
        if self._text:
            clauses.append(
                "instr(lower(coalesce(action, '') || char(10) || station || char(10)"
                " || coalesce(message_id, '')), ?) > 0"
            )
            params.append(self._text)
        return Filter(clauses=clauses, params=params)

    def _refilter(self) -> None:
        self._db.flush()
        flt = self._sql_filter()
        self._generation += 1
        if self._total < self.background_from:
            rows = self._db.all_seqs(flt)
            self._arrived = None
            self._reset_rows(rows)
            return
        generation, upto, db = self._generation, self._db.last_seq, self._db
        self._upto = upto
        if self._arrived is None:
            self._arrived = []
            self.filteringChanged.emit(True)

        def work() -> None:
            try:
                rows = db.all_seqs(flt, upto=upto, apart=True)
            except Exception:  # the capture closed under us: nothing to show
                log.exception("filtering the capture failed")
                rows = None
            with contextlib.suppress(RuntimeError):  # the model went away meanwhile
                self._filtered.emit(generation, rows)

        threading.Thread(target=work, name="inspector-filter", daemon=True).start()

    def _on_filtered(self, generation: int, rows: array[int] | None) -> None:
        if generation != self._generation or self._arrived is None:
            return  # a newer filter is on its way
        arrived, self._arrived = self._arrived, None
        if rows is None:
            rows = array("q")
        accepts = self.accepts
        rows.extend(r.seq for r in arrived if r.seq > self._upto and accepts(r))
        self._reset_rows(rows)
        self.filteringChanged.emit(False)

    @property
    def filter_running(self) -> bool:
        """A filter over a big capture is still running in the background."""
        return self._arrived is not None

    def _reset_rows(self, rows: array[int]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    # ------------------------------------------------------------------ feeding

    def append_records(self, batch: Sequence[CaptureRecord]) -> None:
        """Add a batch: one insert notification for all rows of it that pass the filter."""
        if not batch:
            return
        db, cache = self._db, self._cache
        # While a new filter runs, its answer decides which of these are shown.
        accepts = self.accepts if self._arrived is None else None
        visible = array("q")
        for r in batch:
            seq = db.append(r, r.seq or None)
            cache[seq] = r
            if r.mirror:
                self._mirrors += 1
            if accepts is not None and accepts(r):
                visible.append(seq)
        self._total += len(batch)
        self._trim_cache()
        self._index_pairs(batch)
        if self._arrived is not None:
            self._arrived.extend(batch)
            return
        if not visible:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(visible) - 1)
        self._rows.extend(visible)
        self.endInsertRows()

    def set_records(self, records: Sequence[CaptureRecord]) -> None:
        """Start a fresh capture from these records (the window opening on a running session,
        or the live store emptied on purpose)."""
        self.beginResetModel()
        if self._owns_db and self._total:
            self._db.close()
            self._db = CaptureDb()
        self._rows = array("q")
        self._total = self._mirrors = 0
        self._generation += 1  # a filter still running belongs to the old capture
        if self._arrived is not None:
            self._arrived = None
            self.filteringChanged.emit(False)
        self._cache.clear()
        self._texts.clear()
        self._calls.clear()
        self._answers.clear()
        self._paired_from = 1
        self.endResetModel()
        self.append_records(records)

    def _trim_cache(self) -> None:
        cache = self._cache
        excess = len(cache) - CACHE_RECORDS
        if excess > 0:
            for _ in range(excess + CACHE_RECORDS // 10):
                cache.popitem(last=False)

    # ------------------------------------------------------------------ records

    def record(self, row: int) -> CaptureRecord:
        return self.record_at_seq(self._rows[row], row)

    def record_at_seq(self, seq: int, row: int | None = None) -> CaptureRecord:
        record = self._cache.get(seq)
        if record is not None:
            return record
        # A page around the row, so scrolling reads the database once per screenful or two.
        if row is None:
            seqs: Sequence[int] = [seq]
        else:
            seqs = [s for s in self._rows[max(0, row - PAGE // 2) : row + PAGE // 2] if s not in self._cache]
        found = self._db.get_many(seqs)
        if seq not in found:  # not committed yet: wait for the writer once
            self._db.flush()
            found = self._db.get_many(seqs)
        self._cache.update(found)
        self._trim_cache()
        return found[seq]

    def records(self) -> list[CaptureRecord]:
        """The visible records, in order (reads them all: for tests and small captures)."""
        return [self.record(row) for row in range(len(self._rows))]

    def row_of(self, record: CaptureRecord) -> int:
        """Row of a record, or -1 when it is filtered out."""
        row = bisect_left(self._rows, record.seq)
        return row if row < len(self._rows) and self._rows[row] == record.seq else -1

    # ------------------------------------------------------------------ pairing

    def _index_pairs(self, records: Iterable[CaptureRecord]) -> None:
        calls, answers = self._calls, self._answers
        for r in records:
            key = pair_key(r)
            if key is None:
                continue
            if r.message_type == _CALL:
                calls[key] = r.seq
            elif key not in answers:
                answers[key] = (r.seq, r.latency_ms)
        if len(calls) + len(answers) > PAIRS_KEPT:
            self._forget_old_pairs()

    def _forget_old_pairs(self) -> None:
        """Keep the newest half of the pairing; older pairs are found through the database."""
        keep = PAIRS_KEPT // 4
        self._calls = dict(list(self._calls.items())[-keep:])
        self._answers = dict(list(self._answers.items())[-keep:])
        oldest_call = next(iter(self._calls.values()), self._paired_from)
        oldest_answer = next(iter(self._answers.values()), (self._paired_from, None))[0]
        # A CALL from here on has its answer (if any) in `_answers`.
        self._paired_from = max(self._paired_from, oldest_call, oldest_answer)

    def pair_of(self, record: CaptureRecord) -> CaptureRecord | None:
        """The answer of a CALL, or the CALL a CALLRESULT / CALLERROR answers."""
        key = pair_key(record)
        if key is None:
            return None
        if record.message_type == _CALL:
            answer = self._answers.get(key)
            if answer is not None and answer[0] > record.seq:
                return self.record_at_seq(answer[0])
            if record.seq >= self._paired_from:
                return None
            return self._cached(self._db.find_answer(*key, after=record.seq))
        call = self._calls.get(key)
        if call is not None and call < record.seq:
            return self.record_at_seq(call)
        return self._cached(self._db.find_call(*key, before=record.seq))

    def _answer_latency(self, record: CaptureRecord) -> tuple[bool, float | None]:
        """(answered, latency) of a CALL, without building the answer's record when recent."""
        key = pair_key(record)
        if key is not None:
            answer = self._answers.get(key)
            if answer is not None and answer[0] > record.seq:
                return True, answer[1]
        if record.seq >= self._paired_from:
            return False, None
        pair = self.pair_of(record)
        return (pair is not None), (pair.latency_ms if pair is not None else None)

    def _cached(self, record: CaptureRecord | None) -> CaptureRecord | None:
        if record is None:
            return None
        return self._cache.setdefault(record.seq, record)

    def mark_connection_closed(self, connection: str, at: datetime | None = None) -> None:
        """Calls still unanswered when their connection closed will never be answered."""
        self._closed[connection] = at or self.now()
        self._repaint_latency()

    def unanswered(self, record: CaptureRecord) -> bool:
        """A CALL with no answer after ANSWER_TIMEOUT_S, or on a connection that closed."""
        if record.message_type != _CALL or self._answer_latency(record)[0]:
            return False
        closed = self._closed.get(record.connection)
        if closed is not None and record.time <= closed:
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
        return self._total

    @property
    def mirror_count(self) -> int:
        return self._mirrors

    @property
    def filtering(self) -> bool:
        """True when a filter beyond the default mirror hiding is active."""
        return self._only_problems or bool(self._text) or self._query is not None or self._station is not None

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
        # The view asks for a dozen roles per painted cell; most are answered before any lookup.
        if role not in _ROLES or not index.isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._rows):
            return None
        record = self.record(row)
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col in _FIXED_TEXT:
                texts = self._texts.get(record.seq)
                if texts is None:
                    texts = self._fixed_texts(record)
                return texts[col]
            return self._text_of(row, record, col)
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

    def _fixed_texts(self, r: CaptureRecord) -> tuple[str, ...]:
        """The cells of a row that never change, built once per row while it is on screen."""
        texts = self._texts
        if len(texts) >= 4_096:
            texts.clear()
        valid = "✗" if r.problems else "⚠" if r.notes else "✓"
        time = r.time.astimezone().strftime("%H:%M:%S.%f")[:-3]
        row = (str(r.seq), time, "", r.station, direction_text(r), r.frame_type, r.action or "",
               r.message_id or "", "", str(r.size), valid)  # fmt: skip
        texts[r.seq] = row
        return row

    def _text_of(self, row: int, r: CaptureRecord, col: int) -> str:
        if col == COL_SEQ:
            return str(r.seq)
        if col == COL_TIME:
            return r.time.astimezone().strftime("%H:%M:%S.%f")[:-3]
        if col == COL_DELTA:
            if row == 0:
                return ""
            delta = (r.time - self.record(row - 1).time).total_seconds() * 1000
            if abs(delta) >= 10_000:
                return f"+{delta / 1000:.0f} s"
            if abs(delta) >= 1_000:
                return f"+{delta / 1000:.1f} s"
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
                answered, latency = self._answer_latency(r)
                if answered:
                    return "" if latency is None else f"→ {latency:.1f} ms"
                return "no answer" if self.unanswered(r) else ""
            return ""
        if col == COL_SIZE:
            return str(r.size)
        if col == COL_VALID:
            if r.problems:
                return "✗"
            return "⚠" if r.notes else "✓"
        return ""


_FIXED_TEXT = frozenset(range(len(COLUMNS))) - {COL_DELTA, COL_LATENCY}
_ROLES = frozenset(
    int(role)
    for role in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.DecorationRole,
        RecordRole,
    )
)

_HEADER_TIPS = {
    COL_DELTA: "Milliseconds since the row above",
    COL_LATENCY: "For a reply: milliseconds since its CALL; for a CALL: how long its answer took\n"
    "('no answer': none after 30 s, or the connection closed)",
    COL_SIZE: "Frame size in bytes",
    COL_VALID: "✓ valid against the OCPP schema, ✗ schema problems, ⚠ protocol notes",
}
