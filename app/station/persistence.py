"""What an emulated station keeps across reboots: one SQLite file per station.

A real charger keeps its configuration, its offline queue, its open transactions, its
availability, its authorization cache and its local list in non-volatile memory (C10.FR.02,
D01.FR.10, E11–E13, G03/G04). The emulator does the same so that "reboot the station" in a
scenario means what it means on the road. `StationStore(None)` keeps everything in memory for
throwaway stations (headless load tests, previews).

Writes come from the asyncio thread and must stay well under a millisecond: WAL with
synchronous=NORMAL commits without an fsync (a power cut may lose the last commits, never
corrupt the file), and every method is one short statement or one short transaction.

A file that is not ours, or is damaged, raises `StateFileError` on open instead of being
replaced: silently starting from scratch would lose queued transaction events and a local list
the CSMS believes is installed.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

SCHEMA_VERSION: Final = 1

_SCHEMA_V1: Final = """
CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE device_model (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE transactions (evse_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE availability (
    evse_id INTEGER NOT NULL,
    connector_id INTEGER NOT NULL,
    operative INTEGER NOT NULL,
    PRIMARY KEY (evse_id, connector_id)
) WITHOUT ROWID;
CREATE TABLE auth_cache (
    token_key TEXT NOT NULL,
    type TEXT NOT NULL,
    id_token TEXT NOT NULL,
    info TEXT NOT NULL,
    status TEXT NOT NULL,
    expires REAL,
    last_used REAL NOT NULL,
    stored REAL NOT NULL,
    uses INTEGER NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (token_key, type)
) WITHOUT ROWID;
CREATE TABLE local_list (
    token_key TEXT NOT NULL,
    type TEXT NOT NULL,
    id_token TEXT NOT NULL,
    info TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (token_key, type)
) WITHOUT ROWID;
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

_TABLES: Final = frozenset(
    {"kv", "device_model", "queue", "transactions", "availability", "auth_cache", "local_list", "meta"}
)

# Eviction order per AuthCacheCtrlr.Policy, after "non-Accepted entries first" (the C10.FR.07
# suggestion). CUSTOM is ours to define: least recently used, like LRU.
_EVICTION_ORDER: Final = {
    "LRU": "last_used ASC, stored ASC",
    "LFU": "uses ASC, last_used ASC",
    "FIFO": "stored ASC, last_used ASC",
    "CUSTOM": "last_used ASC, stored ASC",
}


class StateFileError(Exception):
    """The station's state file cannot be used; the station must not start on it."""


def token_key(id_token: str) -> str:
    """idToken strings compare case-insensitively (C01.FR.25, §1.1); this is the stored form."""
    return id_token.casefold()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON: how big a payload is on the wire and on disk."""
    return len(_dumps(value).encode())


def stored_size(id_token: Any, info: Any) -> int:
    """Bytes an entry takes in the cache or local list: what AuthCacheCtrlr/LocalAuthListCtrlr
    .Storage report, and what their maxLimit is checked against before a write."""
    return json_size(id_token) + json_size(info)


@dataclass(slots=True)
class QueuedMessage:
    """An outgoing CALL waiting for its turn (offline queue, E11–E13)."""

    id: int
    action: str
    payload: dict[str, Any]
    attempts: int
    created: float  # epoch seconds


@dataclass(slots=True)
class CacheEntry:
    """One Authorization Cache entry (C10).

    `expires` is the absolute end of validity computed when the entry was stored (from
    cacheExpiryDateTime, else the LifeTime then in force); None means no end. `stored` (last
    update by the CSMS), `last_used` and `uses` feed the replacement policy (LRU/LFU/FIFO).
    """

    id_token: str
    type: str
    info: dict[str, Any]
    expires: float | None
    last_used: float
    stored: float = 0.0
    uses: int = 0

    @property
    def status(self) -> str:
        return str(self.info.get("status", ""))


class StationStore:
    """One station's persistent state. Not thread-safe: use it from the station's loop thread."""

    def __init__(self, path: str | Path | None) -> None:
        self.path: Path | None = None if path is None else Path(path)
        self._db: sqlite3.Connection | None = None
        self._db = self._open()

    # -- lifecycle ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        name = "in-memory store" if self.path is None else str(self.path)
        target = ":memory:" if self.path is None else str(self.path)
        if self.path is not None:
            if self.path.is_dir():
                raise StateFileError(f"station state file {name} is a directory")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StateFileError(
                    f"cannot create the folder for station state file {name}: {exc}"
                ) from exc
        try:
            # isolation_level=None: autocommit, so each single statement is its own commit and
            # multi-statement changes say BEGIN/COMMIT explicitly (see _transaction).
            db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateFileError(f"cannot open station state file {name}: {exc}") from exc
        try:
            self._prepare(db, name)
        except StateFileError:
            db.close()
            raise
        except sqlite3.Error as exc:
            db.close()
            raise StateFileError(
                f"station state file {name} is damaged or not a ChargeBench state file ({exc}); "
                "move it away to start this station afresh"
            ) from exc
        return db

    def _prepare(self, db: sqlite3.Connection, name: str) -> None:
        # The first statement reads the header: a non-SQLite file fails here.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateFileError(
                f"station state file {name} has schema version {version}, newer than this "
                f"ChargeBench understands ({SCHEMA_VERSION}); upgrade ChargeBench or move the file away"
            )
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise StateFileError(f"station state file {name} is damaged ({check}); move it away")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-256")  # KiB: stations are many and their stores small
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        tables.discard("sqlite_sequence")
        if version == 0:
            if tables:
                raise StateFileError(
                    f"{name} is an SQLite file of another application (tables: "
                    f"{', '.join(sorted(tables)[:5])}); choose another state file"
                )
            db.executescript(f"BEGIN; {_SCHEMA_V1} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        elif not _TABLES.issubset(tables):
            missing = ", ".join(sorted(_TABLES - tables))
            raise StateFileError(f"station state file {name} lacks tables ({missing}); move it away")

    def close(self) -> None:
        """Close the file (idempotent). WAL content is checkpointed by SQLite on close."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> StationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("station store is closed")
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing for changes of more than one row (local list, device model)."""
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- key/value ---------------------------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- device model ------------------------------------------------------------------------

    def save_device_model(self, values: dict[str, str]) -> None:
        """Replace the saved values with `values` (DeviceModel.to_persisted()), atomically."""
        with self._transaction() as db:
            db.execute("DELETE FROM device_model")
            db.executemany("INSERT INTO device_model (key, value) VALUES (?, ?)", values.items())

    def load_device_model(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._conn.execute("SELECT key, value FROM device_model")}

    # -- outgoing message queue --------------------------------------------------------------

    def queue_push(self, action: str, payload: dict[str, Any], created: float | None = None) -> int:
        """Append a message; ids grow strictly (AUTOINCREMENT), so id order is FIFO order.

        `created` is epoch seconds from the station's clock; wall-clock time when omitted.
        """
        if created is None:
            created = time.time()
        cursor = self._conn.execute(
            "INSERT INTO queue (action, payload, attempts, created) VALUES (?, ?, 0, ?)",
            (action, _dumps(payload), created),
        )
        return int(cursor.lastrowid or 0)

    def queue_peek(self) -> QueuedMessage | None:
        row = self._conn.execute(
            "SELECT id, action, payload, attempts, created FROM queue ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else _queued(row)

    def queue_all(self) -> list[QueuedMessage]:
        rows = self._conn.execute("SELECT id, action, payload, attempts, created FROM queue ORDER BY id")
        return [_queued(row) for row in rows]

    def queue_update(
        self, id: int, payload: dict[str, Any] | None = None, attempts: int | None = None
    ) -> None:
        """Change a queued message in place (e.g. set `offline: true`, count a failed attempt)."""
        if payload is not None:
            self._conn.execute("UPDATE queue SET payload = ? WHERE id = ?", (_dumps(payload), id))
        if attempts is not None:
            self._conn.execute("UPDATE queue SET attempts = ? WHERE id = ?", (attempts, id))

    def queue_pop(self, id: int) -> None:
        self._conn.execute("DELETE FROM queue WHERE id = ?", (id,))

    def queue_len(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0])

    def queue_oldest_created(self) -> float | None:
        row = self._conn.execute("SELECT created FROM queue ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    # -- open transactions -------------------------------------------------------------------

    def save_transaction(self, evse_id: int, data: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO transactions (evse_id, data) VALUES (?, ?) "
            "ON CONFLICT (evse_id) DO UPDATE SET data = excluded.data",
            (evse_id, _dumps(data)),
        )

    def delete_transaction(self, evse_id: int) -> None:
        self._conn.execute("DELETE FROM transactions WHERE evse_id = ?", (evse_id,))

    def load_transactions(self) -> dict[int, dict[str, Any]]:
        rows = self._conn.execute("SELECT evse_id, data FROM transactions ORDER BY evse_id")
        return {int(evse_id): json.loads(data) for evse_id, data in rows}

    # -- availability (G03/G04: survives reboots) --------------------------------------------

    def save_availability(self, evse_id: int, connector_id: int, operative: bool) -> None:
        """connector_id 0 means the whole EVSE; evse_id 0 the whole station."""
        self._conn.execute(
            "INSERT INTO availability (evse_id, connector_id, operative) VALUES (?, ?, ?) "
            "ON CONFLICT (evse_id, connector_id) DO UPDATE SET operative = excluded.operative",
            (evse_id, connector_id, int(operative)),
        )

    def load_availability(self) -> dict[tuple[int, int], bool]:
        rows = self._conn.execute("SELECT evse_id, connector_id, operative FROM availability")
        return {(int(e), int(c)): bool(o) for e, c, o in rows}

    # -- authorization cache (C10) -----------------------------------------------------------

    def cache_get(self, id_token: str, type: str) -> CacheEntry | None:
        row = self._conn.execute(
            f"SELECT {_CACHE_COLUMNS} FROM auth_cache WHERE token_key = ? AND type = ?",
            (token_key(id_token), type),
        ).fetchone()
        return None if row is None else _cache_entry(row)

    def cache_put(self, entry: CacheEntry) -> None:
        """Insert or replace the entry for (idToken case-insensitively, type)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO auth_cache (token_key, type, id_token, info, status, expires, "
            "last_used, stored, uses, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token_key(entry.id_token),
                entry.type,
                entry.id_token,
                _dumps(entry.info),
                entry.status,
                entry.expires,
                entry.last_used,
                entry.stored,
                entry.uses,
                stored_size({"idToken": entry.id_token, "type": entry.type}, entry.info),
            ),
        )

    def cache_touch(self, id_token: str, type: str, when: float) -> None:
        """Record a use of the entry (LRU/LFU bookkeeping) without rewriting it."""
        self._conn.execute(
            "UPDATE auth_cache SET last_used = ?, uses = uses + 1 WHERE token_key = ? AND type = ?",
            (when, token_key(id_token), type),
        )

    def cache_delete(self, id_token: str, type: str) -> None:
        self._conn.execute(
            "DELETE FROM auth_cache WHERE token_key = ? AND type = ?", (token_key(id_token), type)
        )

    def cache_clear(self) -> None:
        self._conn.execute("DELETE FROM auth_cache")

    def cache_entries(self) -> list[CacheEntry]:
        rows = self._conn.execute(f"SELECT {_CACHE_COLUMNS} FROM auth_cache ORDER BY stored, token_key")
        return [_cache_entry(row) for row in rows]

    def cache_len(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM auth_cache").fetchone()[0])

    def cache_bytes(self) -> int:
        """What AuthCacheCtrlr.Storage reports (see `stored_size`)."""
        return int(self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM auth_cache").fetchone()[0])

    def cache_victim(self, policy: str, keep: tuple[str, str] | None = None) -> CacheEntry | None:
        """The entry to evict next under `policy` (LRU, LFU, FIFO, CUSTOM; unknown -> LRU).

        Entries whose status is not Accepted go first, as C10.FR.07 suggests; `keep`
        (idToken, type) is never chosen (the entry about to be written).
        """
        order = _EVICTION_ORDER.get(policy.upper(), _EVICTION_ORDER["LRU"])
        keep_key, keep_type = ("", "") if keep is None else (token_key(keep[0]), keep[1])
        row = self._conn.execute(
            f"SELECT {_CACHE_COLUMNS} FROM auth_cache WHERE NOT (token_key = ? AND type = ?) "
            f"ORDER BY (status = 'Accepted') ASC, {order} LIMIT 1",
            (keep_key, keep_type),
        ).fetchone()
        return None if row is None else _cache_entry(row)

    # -- local authorization list (D01) ------------------------------------------------------

    def local_list_version(self) -> int:
        """0 while no SendLocalList was ever accepted (D02.FR.02)."""
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'local_list_version'").fetchone()
        return 0 if row is None else int(row[0])

    def local_list_get(self, id_token: str, type: str) -> dict[str, Any] | None:
        """The IdTokenInfo listed for (idToken case-insensitively, type), or None."""
        row = self._conn.execute(
            "SELECT info FROM local_list WHERE token_key = ? AND type = ?", (token_key(id_token), type)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def local_list_item(self, id_token: str, type: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The stored (idToken, idTokenInfo) pair, idToken as the CSMS sent it."""
        row = self._conn.execute(
            "SELECT id_token, info FROM local_list WHERE token_key = ? AND type = ?",
            (token_key(id_token), type),
        ).fetchone()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))

    def local_list_replace(
        self, version: int, entries: Iterable[tuple[dict[str, Any], dict[str, Any]]]
    ) -> None:
        """Full update: the list becomes `entries` (idToken, idTokenInfo), at `version`."""
        with self._transaction() as db:
            db.execute("DELETE FROM local_list")
            db.executemany(_LOCAL_UPSERT, (_local_row(token, info) for token, info in entries))
            _set_version(db, version)

    def local_list_update(
        self,
        version: int,
        upserts: Iterable[tuple[dict[str, Any], dict[str, Any]]],
        deletes: Iterable[dict[str, Any]],
    ) -> None:
        """Differential update: add/replace `upserts`, remove `deletes`, set `version`; atomic."""
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM local_list WHERE token_key = ? AND type = ?",
                ((token_key(str(t["idToken"])), str(t["type"])) for t in deletes),
            )
            db.executemany(_LOCAL_UPSERT, (_local_row(token, info) for token, info in upserts))
            _set_version(db, version)

    def local_list_len(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM local_list").fetchone()[0])

    def local_list_bytes(self) -> int:
        """What LocalAuthListCtrlr.Storage reports (see `stored_size`)."""
        return int(self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM local_list").fetchone()[0])

    def local_list_entries(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        rows = self._conn.execute("SELECT id_token, info FROM local_list ORDER BY type, token_key")
        return [(json.loads(token), json.loads(info)) for token, info in rows]


_CACHE_COLUMNS: Final = "id_token, type, info, expires, last_used, stored, uses"

_LOCAL_UPSERT: Final = (
    "INSERT OR REPLACE INTO local_list (token_key, type, id_token, info, size) VALUES (?, ?, ?, ?, ?)"
)


def _queued(row: tuple[Any, ...]) -> QueuedMessage:
    id_, action, payload, attempts, created = row
    return QueuedMessage(int(id_), str(action), json.loads(payload), int(attempts), float(created))


def _cache_entry(row: tuple[Any, ...]) -> CacheEntry:
    id_token, type_, info, expires, last_used, stored, uses = row
    return CacheEntry(
        id_token=str(id_token),
        type=str(type_),
        info=json.loads(info),
        expires=None if expires is None else float(expires),
        last_used=float(last_used),
        stored=float(stored),
        uses=int(uses),
    )


def _local_row(token: dict[str, Any], info: dict[str, Any]) -> tuple[str, str, str, str, int]:
    return (
        token_key(str(token["idToken"])),
        str(token["type"]),
        _dumps(token),
        _dumps(info),
        stored_size(token, info),
    )


def _set_version(db: sqlite3.Connection, version: int) -> None:
    db.execute(
        "INSERT INTO meta (name, value) VALUES ('local_list_version', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (str(int(version)),),
    )
