"""Captures in SQLite: a million frames stay searchable with bounded memory.

`CaptureDb.append(record)` only queues (a deque append, no lock, no disk); a writer thread
flushes the queue every ~50 ms, or as soon as 5,000 records wait, in one transaction (WAL,
synchronous=NORMAL), so the asyncio/UI thread never waits on the disk. Reads (`count`, `page`,
`get`) run on the caller's thread over a second connection and see what has been flushed;
`flush()` waits for the writer (tests, save, export).

Filters are app.inspector.filters strings (or parsed `Filter`s); their SQL is parameterized.
A capture file is the SQLite file itself (`save_as` uses the backup API, `open` checks it is
one of ours); JSON Lines (schemas/capture-line.schema.json) come in through `import_jsonl` and
go out through `export_jsonl`, which masks secrets like every other export.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sqlite3
import tempfile
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.inspector.filters import Filter, parse_filter
from app.inspector.jsonl import CaptureFileError, parse_time, record_to_line
from app.inspector.records import CaptureRecord
from app.inspector.store import CaptureStore

log = logging.getLogger(__name__)

FORMAT = "chargebench-capture"
FORMAT_VERSION = "1"
BATCH = 5_000
INTERVAL = 0.05

COLUMNS = (
    "seq",
    "time",
    "connection",
    "station",
    "sender",
    "observer",
    "version",
    "type",
    "action",
    "message_id",
    "raw",
    "problems",
    "notes",
    "latency_ms",
    "mirror",
    "size",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM frames"
INSERT_SQL = f"INSERT INTO frames ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    seq INTEGER PRIMARY KEY,
    time REAL NOT NULL,            -- epoch seconds (UTC)
    connection TEXT NOT NULL,
    station TEXT NOT NULL,
    sender TEXT NOT NULL,          -- station | csms
    observer TEXT NOT NULL,
    version TEXT NOT NULL,
    type INTEGER,                  -- 2..6, NULL when unreadable
    action TEXT,
    message_id TEXT,
    raw TEXT NOT NULL,             -- the frame as on the wire
    problems TEXT,                 -- JSON array of strings; NULL when none
    notes TEXT,                    -- JSON array of strings; NULL when none
    latency_ms REAL,
    mirror INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS frames_action ON frames (action);
CREATE INDEX IF NOT EXISTS frames_station_type ON frames (station, type);
CREATE INDEX IF NOT EXISTS frames_type ON frames (type);
CREATE INDEX IF NOT EXISTS frames_time ON frames (time);
CREATE INDEX IF NOT EXISTS frames_message_id ON frames (message_id);
CREATE INDEX IF NOT EXISTS frames_problems ON frames (seq) WHERE problems IS NOT NULL;
"""

Progress = Callable[[int, int], object]
FilterLike = Filter | str | None


def record_to_row(record: CaptureRecord, seq: int) -> tuple[Any, ...]:
    """The `frames` row for a record (columns in COLUMNS order)."""
    raw = record.raw
    return (
        seq,
        record.time.timestamp(),
        record.connection,
        record.station,
        record.sender,
        record.observer,
        record.version,
        record.message_type,
        record.action,
        record.message_id,
        raw,
        json.dumps(record.problems, ensure_ascii=False) if record.problems else None,
        json.dumps(record.notes, ensure_ascii=False) if record.notes else None,
        record.latency_ms,
        1 if record.mirror else 0,
        len(raw) if raw.isascii() else len(raw.encode("utf-8")),
    )


_PAYLOAD_INDEX = {2: 3, 6: 3, 3: 2, 4: 4, 5: 4}


def row_to_record(row: Sequence[Any]) -> CaptureRecord:
    (seq, time, connection, station, sender, observer, version, mtype, action, message_id, raw,
     problems, notes, latency_ms, mirror, _size) = row  # fmt: skip
    payload: Any = None
    try:
        frame = json.loads(raw)
        index = _PAYLOAD_INDEX.get(mtype, 3)
        if isinstance(frame, list) and len(frame) > index:
            payload = frame[index]
    except ValueError:
        pass
    return CaptureRecord(
        time=datetime.fromtimestamp(time, UTC),
        connection=connection,
        station=station,
        sender=sender,
        observer=observer,
        version=version,
        raw=raw,
        message_type=mtype,
        action=action,
        message_id=message_id,
        payload=payload,
        problems=json.loads(problems) if problems else [],
        notes=json.loads(notes) if notes else [],
        latency_ms=latency_ms,
        mirror=bool(mirror),
        seq=seq,
    )


def _as_filter(flt: FilterLike) -> Filter:
    if flt is None:
        return Filter()
    if isinstance(flt, str):
        return parse_filter(flt)
    return flt


def _connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


class CaptureDb:
    """A capture in one SQLite file; `path=None` makes a temp file, removed by `close()`."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._temporary = path is None
        if path is None:
            fd, name = tempfile.mkstemp(prefix="chargebench-", suffix=".capture")
            os.close(fd)
            path = name
        self.path = Path(path)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        writer: sqlite3.Connection | None = None
        try:
            writer = self._writer = _connect(self.path, check_same_thread=False)
            if fresh:
                writer.executescript(SCHEMA)
                writer.execute(
                    "INSERT INTO meta VALUES ('format', ?), ('version', ?)", (FORMAT, FORMAT_VERSION)
                )
            self._check_format()  # before anything changes somebody else's file
            writer.execute("PRAGMA journal_mode = WAL")
            writer.execute("PRAGMA synchronous = NORMAL")
            last = writer.execute("SELECT max(seq) FROM frames").fetchone()[0] or 0
            self._existing: int = writer.execute("SELECT count(*) FROM frames").fetchone()[0]
        except (sqlite3.DatabaseError, CaptureFileError) as exc:
            if writer is not None:
                writer.close()
            if isinstance(exc, CaptureFileError):
                raise
            raise CaptureFileError(f"{self.path}: not a readable ChargeBench capture ({exc})") from None
        self._reader = _connect(self.path, check_same_thread=False)
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()  # the writer connection: flusher thread vs import
        self._seq = itertools.count(last + 1)
        self._last_seq = last
        self._queue: deque[tuple[int, CaptureRecord]] = deque()
        self._queued = 0  # appended so far (only the appending thread writes this)
        self._written = 0  # flushed so far (only under _cond)
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._closing = False
        self._urgent = False
        self._thread = threading.Thread(
            target=self._run, name=f"capture-writer {self.path.name}", daemon=True
        )
        self._thread.start()

    # --- opening / saving -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> CaptureDb:
        """An existing capture file; CaptureFileError (naming the file) when it is not one."""
        p = Path(path)
        if not p.is_file():
            raise CaptureFileError(f"{p}: no such capture file")
        with p.open("rb") as handle:
            head = handle.read(16)
        if head != b"SQLite format 3\x00":
            hint = " (JSON Lines? import it)" if head[:1] in (b"{", b"\n") else ""
            raise CaptureFileError(f"{p}: not a ChargeBench capture file{hint}")
        return cls(p)

    def _check_format(self) -> None:
        tables = {r[0] for r in self._writer.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"meta", "frames"} <= tables:
            raise CaptureFileError(f"{self.path}: an SQLite file, but not a ChargeBench capture")
        rows = dict(self._writer.execute("SELECT key, value FROM meta").fetchall())
        if rows.get("format") != FORMAT:
            raise CaptureFileError(f"{self.path}: an SQLite file, but not a ChargeBench capture")
        if rows.get("version") != FORMAT_VERSION:
            raise CaptureFileError(
                f"{self.path}: capture format {rows.get('version')!r}, this version reads {FORMAT_VERSION!r}"
            )
        columns = [r[1] for r in self._writer.execute("PRAGMA table_info(frames)")]
        if tuple(columns) != COLUMNS:
            raise CaptureFileError(f"{self.path}: the frames table has unexpected columns")

    def save_as(self, path: str | Path, progress: Progress | None = None) -> Path:
        """A consistent copy of the capture (flushed first) at `path`; this db stays where it is.

        The copy reads through a connection of its own (WAL lets it run beside the writer and
        the views' reads), page batch by page batch; `progress` gets (pages copied, pages).
        """
        target = Path(path)
        if target.resolve() == self.path.resolve():
            raise CaptureFileError(f"{target}: that is the capture being saved")
        self.flush()
        partial = target.with_name(target.name + ".part")
        partial.unlink(missing_ok=True)
        source = _connect(self.path)
        dest = sqlite3.connect(partial)
        try:

            def step(_status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            source.backup(dest, pages=2_048, progress=step)
            dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dest.close()
            source.close()
        partial.replace(target)  # never a half-written file under the user's name
        return target

    def close(self) -> None:
        if self._closing:
            return
        try:
            self.flush()
        finally:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join()
            self._writer.close()
            self._reader.close()
            if self._temporary:
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        Path(str(self.path) + suffix).unlink()

    def __enter__(self) -> CaptureDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ----------------------------------------------------------------------------------

    def append(self, record: CaptureRecord, seq: int | None = None) -> int:
        """Queue a record; returns its capture seq. Never touches the disk; never mutates `record`.

        `seq` keeps the number the live store gave the record (the window shows one numbering);
        it must be above every seq so far, else the next free one is used.
        """
        if seq is not None and seq > self._last_seq:
            self._seq = itertools.count(seq + 1)
        else:
            seq = next(self._seq)
        self._last_seq = seq
        self._queue.append((seq, record))
        self._queued += 1
        if len(self._queue) == BATCH:
            with self._cond:
                self._cond.notify()
        return seq

    def attach(self, store: CaptureStore) -> Callable[[], None]:
        """Append every record the live store emits from now on; returns the detach function."""
        store.added.connect(self.append)
        return lambda: store.added.disconnect(self.append)

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until everything appended so far is committed; re-raises a writer failure."""
        target = self._queued
        with self._cond:
            self._urgent = True
            self._cond.notify()
            if not self._cond.wait_for(
                lambda: self._written >= target or self._error is not None or self._closing, timeout
            ):
                raise TimeoutError("capture writer did not catch up")
            if self._error is not None:
                raise self._error

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._cond:
                if len(self._queue) < BATCH and not self._closing and not self._urgent:
                    self._cond.wait(INTERVAL)
                self._urgent = False
                if self._closing and not self._queue:
                    return
            while self._queue:
                batch: list[tuple[int, CaptureRecord]] = []
                with contextlib.suppress(IndexError):
                    for _ in range(BATCH):
                        batch.append(self._queue.popleft())
                try:
                    self._write_rows([record_to_row(record, seq) for seq, record in batch])
                except Exception as exc:
                    log.exception("capture writer failed; %d records lost", len(batch))
                    self._error = exc
                with self._cond:
                    self._written += len(batch)
                    self._cond.notify_all()

    def _write_rows(self, rows: list[tuple[Any, ...]]) -> None:
        with self._write_lock:
            self._writer.execute("BEGIN")
            try:
                self._writer.executemany(INSERT_SQL, rows)
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise

    # --- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Frames in the capture, including those still queued (no query)."""
        return self._existing + self._queued

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    def count(self, flt: FilterLike = None) -> int:
        f = _as_filter(flt)
        return int(self._query(f"SELECT count(*) FROM frames WHERE {f.sql}", f.params)[0][0])

    def page(self, flt: FilterLike = None, offset: int = 0, limit: int = 100) -> list[CaptureRecord]:
        """Matching records in seq order, `limit` of them from the `offset`-th match."""
        f = _as_filter(flt)
        rows = self._query(
            f"{_SELECT} WHERE {f.sql} ORDER BY seq LIMIT ? OFFSET ?", [*f.params, limit, offset]
        )
        return [row_to_record(r) for r in rows]

    def seqs(self, flt: FilterLike = None, after: int = 0, limit: int = 1000) -> list[int]:
        """Seqs of matching records above `after` (keyset paging; cheap to hold for a view)."""
        f = _as_filter(flt)
        rows = self._query(
            f"SELECT seq FROM frames WHERE seq > ? AND ({f.sql}) ORDER BY seq LIMIT ?",
            [after, *f.params, limit],
        )
        return [r[0] for r in rows]

    def all_seqs(self, flt: FilterLike = None, *, upto: int | None = None, apart: bool = False) -> array[int]:
        """Seqs of every committed matching record (up to seq `upto`), in order, as a compact
        array (a view's rows). `apart` reads through a connection of its own, so a long query in
        a worker thread leaves the shared reader to the views."""
        f = _as_filter(flt)
        sql, params = f.sql, list(f.params)
        if upto is not None:
            sql, params = f"seq <= ? AND ({sql})", [upto, *params]
        out = array("q")
        query = f"SELECT seq FROM frames WHERE {sql} ORDER BY seq"
        if apart:
            conn = _connect(self.path)
            try:
                cursor = conn.execute(query, params)
                while rows := cursor.fetchmany(50_000):
                    out.extend(r[0] for r in rows)
            finally:
                conn.close()
            return out
        with self._read_lock:
            cursor = self._reader.execute(query, params)
            while rows := cursor.fetchmany(50_000):
                out.extend(r[0] for r in rows)
        return out

    @property
    def last_seq(self) -> int:
        """The seq of the last record appended (committed once `flush()` returns)."""
        return self._last_seq

    def get_many(self, seqs: Sequence[int]) -> dict[int, CaptureRecord]:
        """The committed records among `seqs` (a page of a view), by seq."""
        found: dict[int, CaptureRecord] = {}
        for start in range(0, len(seqs), 500):
            chunk = list(seqs[start : start + 500])
            rows = self._query(f"{_SELECT} WHERE seq IN ({','.join('?' * len(chunk))})", chunk)
            for row in rows:
                found[row[0]] = row_to_record(row)
        return found

    def find_answer(
        self, connection: str, observer: str, message_id: str, after: int
    ) -> CaptureRecord | None:
        """The first CALLRESULT / CALLERROR with this id on this connection after seq `after`."""
        rows = self._query(
            f"{_SELECT} WHERE message_id = ? AND connection = ? AND observer = ? AND type IN (3, 4)"
            " AND seq > ? ORDER BY seq LIMIT 1",
            [message_id, connection, observer, after],
        )
        return row_to_record(rows[0]) if rows else None

    def find_call(
        self, connection: str, observer: str, message_id: str, before: int
    ) -> CaptureRecord | None:
        """The last CALL with this id on this connection before seq `before`."""
        rows = self._query(
            f"{_SELECT} WHERE message_id = ? AND connection = ? AND observer = ? AND type = 2"
            " AND seq < ? ORDER BY seq DESC LIMIT 1",
            [message_id, connection, observer, before],
        )
        return row_to_record(rows[0]) if rows else None

    def last_time(self) -> datetime | None:
        """When the last committed frame was captured."""
        span = self.time_span()
        return span[1] if span is not None else None

    def time_span(self) -> tuple[datetime, datetime] | None:
        """When the first and the last committed frames were captured."""
        first, last = self._query("SELECT min(time), max(time) FROM frames", [])[0]
        if first is None:
            return None
        return datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)

    def station_frames(
        self,
        station: str,
        *,
        before_seq: int,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1_000,
    ) -> tuple[list[CaptureRecord], int]:
        """(the newest `limit` frames of a station before `before_seq` in the time range, oldest
        first; how many matched in all). Capture-side copies (mirrors) are left out."""
        where = "station = ? AND mirror = 0 AND seq < ?"
        params: list[Any] = [station, before_seq]
        if start is not None:
            where += " AND time >= ?"
            params.append(start.timestamp())
        if end is not None:
            where += " AND time <= ?"
            params.append(end.timestamp())
        rows = self._query(f"{_SELECT} WHERE {where} ORDER BY seq DESC LIMIT ?", [*params, limit])
        total = len(rows)
        if total == limit:
            total = int(self._query(f"SELECT count(*) FROM frames WHERE {where}", params)[0][0])
        return [row_to_record(r) for r in reversed(rows)], total

    def stations(self) -> list[str]:
        """The stations the capture has frames of, sorted."""
        return [r[0] for r in self._query("SELECT DISTINCT station FROM frames ORDER BY station", [])]

    def get(self, seq: int) -> CaptureRecord | None:
        rows = self._query(f"{_SELECT} WHERE seq = ?", [seq])
        return row_to_record(rows[0]) if rows else None

    def iter_records(self, flt: FilterLike = None, batch: int = 2_000) -> Iterator[CaptureRecord]:
        """Every matching record in seq order, read `batch` rows at a time (bounded memory)."""
        f = _as_filter(flt)
        after = 0
        while True:
            rows = self._query(
                f"{_SELECT} WHERE seq > ? AND ({f.sql}) ORDER BY seq LIMIT ?", [after, *f.params, batch]
            )
            if not rows:
                return
            for row in rows:
                yield row_to_record(row)
            after = rows[-1][0]

    # --- JSON Lines -------------------------------------------------------------------------------

    def import_jsonl(self, path: str | Path, progress: Progress | None = None) -> int:
        """Append every line of a JSONL capture (committed when this returns); the number read.

        Lines follow schemas/capture-line.schema.json; a line that cannot be read raises
        CaptureFileError naming file and line, and nothing of the file is kept. `progress`
        gets (bytes read, file size) after each batch.
        """
        p = Path(path)
        total = p.stat().st_size
        self.flush()
        done_bytes = 0
        count = 0
        first_seq: int | None = None
        rows: list[tuple[Any, ...]] = []
        try:
            with p.open("rb") as handle:
                for number, data in enumerate(handle, start=1):
                    done_bytes += len(data)
                    if not data.strip():
                        continue
                    seq = next(self._seq)
                    if first_seq is None:
                        first_seq = seq
                    rows.append(_line_to_row(p, number, data, seq))
                    if len(rows) >= BATCH:
                        self._write_rows(rows)
                        count += len(rows)
                        rows = []
                        if progress is not None:
                            progress(done_bytes, total)
            if rows:
                self._write_rows(rows)
                count += len(rows)
            if first_seq is not None:
                self._last_seq = seq
        except BaseException:
            if first_seq is not None:
                with self._write_lock:
                    self._writer.execute("DELETE FROM frames WHERE seq >= ? AND seq <= ?", (first_seq, seq))
            raise
        self._existing += count
        if progress is not None:
            progress(total, total)
        return count

    def export_jsonl(self, path: str | Path, flt: FilterLike = None, progress: Progress | None = None) -> int:
        """Write matching frames as JSON Lines with secrets masked; the number written."""
        f = _as_filter(flt)
        self.flush()
        total = self.count(f)
        written = 0
        with Path(path).open("w", encoding="utf-8") as out:
            for record in self.iter_records(f):
                out.write(json.dumps(record_to_line(record), ensure_ascii=False) + "\n")
                written += 1
                if progress is not None and written % BATCH == 0:
                    progress(written, total)
        if progress is not None:
            progress(written, total)
        return written


def _line_to_row(path: Path, number: int, data: bytes, seq: int) -> tuple[Any, ...]:
    where = f"{path}:{number}"
    try:
        line = json.loads(data)
    except ValueError as exc:
        raise CaptureFileError(f"{where}: not a JSON line: {exc}") from None
    if not isinstance(line, dict):
        raise CaptureFileError(f"{where}: a capture line must be a JSON object")
    raw = line.get("frame")
    if not isinstance(raw, str):
        raise CaptureFileError(f"{where}: 'frame' must be the frame text")
    sender = line.get("from")
    if sender not in ("station", "csms"):
        raise CaptureFileError(f"{where}: 'from' must be station or csms")
    try:
        when = parse_time(str(line["time"])).timestamp()
    except (KeyError, ValueError):
        raise CaptureFileError(f"{where}: 'time' must be an RFC 3339 time") from None
    problems = line.get("problems") or []
    notes = line.get("notes") or []
    if not isinstance(problems, list) or not isinstance(notes, list):
        raise CaptureFileError(f"{where}: 'problems' and 'notes' must be lists")
    mtype, message_id, action = line.get("type"), line.get("messageId"), line.get("action")
    if "type" not in line:  # older lines: take what the frame says
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if isinstance(frame, list) and frame and isinstance(frame[0], int):
            mtype = frame[0]
            message_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else None
            if mtype in (2, 6) and len(frame) > 2 and isinstance(frame[2], str):
                action = frame[2]
    station = str(line.get("station", ""))
    latency = line.get("latencyMs")
    return (
        seq,
        when,
        str(line.get("connection", station)),
        station,
        sender,
        str(line.get("observer", "")),
        str(line.get("version", "")),
        mtype if isinstance(mtype, int) else None,
        action if isinstance(action, str) else None,
        message_id if isinstance(message_id, str) else None,
        raw,
        json.dumps([str(p) for p in problems], ensure_ascii=False) if problems else None,
        json.dumps([str(n) for n in notes], ensure_ascii=False) if notes else None,
        float(latency) if isinstance(latency, int | float) else None,
        1 if line.get("mirror") else 0,
        len(raw.encode("utf-8")),
    )


__all__ = ["COLUMNS", "INSERT_SQL", "CaptureDb", "CaptureFileError", "record_to_row", "row_to_record"]
