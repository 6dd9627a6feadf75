"""StationStore on real SQLite files: what a station keeps must come back after a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.station.persistence import SCHEMA_VERSION, CacheEntry, StateFileError, StationStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "station" / "CS001.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[StationStore]:
    s = StationStore(path)
    yield s
    s.close()


def reopen(store: StationStore) -> StationStore:
    """A station reboot: close the file and open it again."""
    assert store.path is not None
    store.close()
    return StationStore(store.path)


# ------------------------------------------------------------------------------ file handling


def test_creates_file_and_parent_folder_with_wal_and_schema_version(path: Path) -> None:
    store = StationStore(path)
    try:
        assert path.exists()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.close()
    finally:
        store.close()


def test_in_memory_store_works_without_a_file() -> None:
    with StationStore(None) as store:
        store.put("a", "1")
        assert store.get("a") == "1"
        assert store.path is None


@pytest.mark.parametrize("content", [b"this is not a database\n" * 50, bytes(range(256)) * 20])
def test_non_sqlite_file_raises_state_file_error_naming_it(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=r"CS001\.sqlite"):
        StationStore(path)
    assert path.read_bytes() == content  # never overwritten


def test_damaged_sqlite_file_raises_state_file_error(path: Path) -> None:
    store = StationStore(path)
    for i in range(500):
        store.queue_push("TransactionEvent", {"seqNo": i, "pad": "x" * 300})
    store.close()
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 5] = b"\xab" * (4096 * 2)
    path.write_bytes(bytes(data))
    with pytest.raises(StateFileError, match="CS001"):
        StationStore(path)


def test_foreign_sqlite_database_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(StateFileError, match="another application"):
        StationStore(path)


def test_newer_schema_version_is_refused(path: Path) -> None:
    StationStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StateFileError, match="newer"):
        StationStore(path)


def test_directory_as_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="directory"):
        StationStore(tmp_path)


def test_close_is_idempotent_and_use_after_close_fails(store: StationStore) -> None:
    store.close()
    store.close()
    with pytest.raises(RuntimeError):
        store.get("x")


# ------------------------------------------------------------------------------ key/value, device model


def test_key_value_round_trip_across_restart(store: StationStore) -> None:
    assert store.get("missing") is None
    assert store.get("missing", "fallback") == "fallback"
    store.put("boot.reason", "PowerUp")
    store.put("boot.reason", "RemoteReset")
    store = reopen(store)
    assert store.get("boot.reason") == "RemoteReset"
    store.close()


def test_device_model_save_replaces_and_survives_restart(store: StationStore) -> None:
    store.save_device_model({"OCPPCommCtrlr/HeartbeatInterval": "60", "AuthCtrlr/Enabled": "true"})
    store.save_device_model({"OCPPCommCtrlr/HeartbeatInterval": "120"})
    store = reopen(store)
    assert store.load_device_model() == {"OCPPCommCtrlr/HeartbeatInterval": "120"}
    store.close()


def test_device_model_round_trip_with_real_model(store: StationStore) -> None:
    from app.clock import ManualClock
    from app.station.device_model import DeviceModel

    def model() -> DeviceModel:
        return DeviceModel.standard([1], vendor="V", model="M", serial="S", firmware="1", clock=ManualClock())

    dm = model()
    dm.set_actual("OCPPCommCtrlr", "HeartbeatInterval", 42)
    store.save_device_model(dm.to_persisted())
    store = reopen(store)
    fresh = model()
    assert fresh.load_persisted(store.load_device_model()) == []
    assert fresh.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 42
    store.close()


# ------------------------------------------------------------------------------ message queue


def test_queue_is_fifo_and_survives_restart(store: StationStore) -> None:
    ids = [store.queue_push("TransactionEvent", {"seqNo": i}, created=1000.0 + i) for i in range(5)]
    assert ids == sorted(ids)
    store.queue_pop(ids[0])
    store = reopen(store)
    assert [m.payload["seqNo"] for m in store.queue_all()] == [1, 2, 3, 4]
    # New messages after the restart still go to the back, even after the newest was popped.
    store.queue_pop(ids[4])
    new_id = store.queue_push("StatusNotification", {"n": 1}, created=2000.0)
    assert new_id > ids[4]
    assert [m.action for m in store.queue_all()] == [
        "TransactionEvent",
        "TransactionEvent",
        "TransactionEvent",
        "StatusNotification",
    ]
    store.close()


def test_queue_peek_update_pop_len_oldest(store: StationStore) -> None:
    assert store.queue_peek() is None
    assert store.queue_len() == 0
    assert store.queue_oldest_created() is None
    first = store.queue_push("TransactionEvent", {"seqNo": 0}, created=100.5)
    store.queue_push("TransactionEvent", {"seqNo": 1}, created=101.0)
    head = store.queue_peek()
    assert head is not None
    assert (head.id, head.action, head.payload, head.attempts, head.created) == (
        first,
        "TransactionEvent",
        {"seqNo": 0},
        0,
        100.5,
    )
    store.queue_update(first, payload={"seqNo": 0, "offline": True}, attempts=2)
    store = reopen(store)
    head = store.queue_peek()
    assert head is not None
    assert head.payload == {"seqNo": 0, "offline": True}
    assert head.attempts == 2
    assert store.queue_len() == 2
    assert store.queue_oldest_created() == 100.5
    store.queue_pop(first)
    assert store.queue_oldest_created() == 101.0
    store.close()


def test_queue_push_without_created_uses_wall_clock(store: StationStore) -> None:
    import time

    before = time.time()
    store.queue_push("Heartbeat", {})
    created = store.queue_oldest_created()
    assert created is not None
    assert before <= created <= time.time()


# ------------------------------------------------------------------------------ transactions, availability


def test_transactions_round_trip(store: StationStore) -> None:
    store.save_transaction(1, {"transactionId": "a", "seqNo": 3})
    store.save_transaction(2, {"transactionId": "b", "seqNo": 0})
    store.save_transaction(1, {"transactionId": "a", "seqNo": 4})
    store.delete_transaction(2)
    store = reopen(store)
    assert store.load_transactions() == {1: {"transactionId": "a", "seqNo": 4}}
    store.close()


def test_availability_round_trip(store: StationStore) -> None:
    store.save_availability(0, 0, True)
    store.save_availability(1, 0, False)
    store.save_availability(2, 1, False)
    store.save_availability(2, 1, True)
    store = reopen(store)
    assert store.load_availability() == {(0, 0): True, (1, 0): False, (2, 1): True}
    store.close()


# ------------------------------------------------------------------------------ authorization cache


def entry(token: str, status: str = "Accepted", **kw: float) -> CacheEntry:
    return CacheEntry(token, "ISO14443", {"status": status}, kw.get("expires"), kw.get("last_used", 1.0))


def test_cache_round_trip_case_insensitive(store: StationStore) -> None:
    store.cache_put(
        CacheEntry(
            "AbCd01", "ISO14443", {"status": "Blocked"}, expires=5.0, last_used=2.0, stored=1.0, uses=3
        )
    )
    store = reopen(store)
    got = store.cache_get("abcd01", "ISO14443")
    assert got == CacheEntry("AbCd01", "ISO14443", {"status": "Blocked"}, 5.0, 2.0, 1.0, 3)
    assert store.cache_get("ABCD01", "ISO15693") is None  # the type compares exactly
    store.cache_put(entry("ABCD01", "Accepted"))  # same token, other case: replaces
    assert store.cache_len() == 1
    assert store.cache_entries()[0].info == {"status": "Accepted"}
    store.close()


def test_cache_touch_delete_clear_bytes(store: StationStore) -> None:
    store.cache_put(entry("a"))
    store.cache_put(entry("b"))
    store.cache_touch("A", "ISO14443", 50.0)
    touched = store.cache_get("a", "ISO14443")
    assert touched is not None
    assert (touched.last_used, touched.uses) == (50.0, 1)
    assert store.cache_bytes() > 0
    store.cache_delete("B", "ISO14443")
    assert [e.id_token for e in store.cache_entries()] == ["a"]
    store.cache_clear()
    assert store.cache_len() == 0
    assert store.cache_bytes() == 0


@pytest.mark.parametrize(
    ("policy", "victim"),
    [("LRU", "used-long-ago"), ("LFU", "rarely-used"), ("FIFO", "stored-first"), ("bogus", "used-long-ago")],
)
def test_cache_victim_per_policy(store: StationStore, policy: str, victim: str) -> None:
    store.cache_put(CacheEntry("stored-first", "Local", {"status": "Accepted"}, None, 30.0, 1.0, 5))
    store.cache_put(CacheEntry("used-long-ago", "Local", {"status": "Accepted"}, None, 2.0, 5.0, 9))
    store.cache_put(CacheEntry("rarely-used", "Local", {"status": "Accepted"}, None, 40.0, 6.0, 1))
    chosen = store.cache_victim(policy)
    assert chosen is not None
    assert chosen.id_token == victim


def test_cache_victim_prefers_non_accepted_and_skips_keep(store: StationStore) -> None:
    store.cache_put(CacheEntry("old", "Local", {"status": "Accepted"}, None, 1.0, 1.0, 1))
    store.cache_put(CacheEntry("blocked", "Local", {"status": "Blocked"}, None, 99.0, 99.0, 99))
    first = store.cache_victim("LRU")
    assert first is not None
    assert first.id_token == "blocked"
    kept = store.cache_victim("LRU", keep=("BLOCKED", "Local"))
    assert kept is not None
    assert kept.id_token == "old"


# ------------------------------------------------------------------------------ local list


def tok(value: str, type_: str = "ISO14443") -> dict[str, str]:
    return {"idToken": value, "type": type_}


def test_local_list_replace_and_update_survive_restart(store: StationStore) -> None:
    assert store.local_list_version() == 0
    store.local_list_replace(3, [(tok("AA"), {"status": "Accepted"}), (tok("BB"), {"status": "Blocked"})])
    store.local_list_update(4, upserts=[(tok("cc"), {"status": "Accepted"})], deletes=[tok("aa")])
    store = reopen(store)
    assert store.local_list_version() == 4
    assert store.local_list_len() == 2
    assert store.local_list_get("Bb", "ISO14443") == {"status": "Blocked"}
    assert store.local_list_get("AA", "ISO14443") is None
    assert store.local_list_get("CC", "ISO15693") is None
    assert store.local_list_item("CC", "ISO14443") == (tok("cc"), {"status": "Accepted"})
    assert sorted(t["idToken"] for t, _ in store.local_list_entries()) == ["BB", "cc"]
    assert store.local_list_bytes() > 0
    store.local_list_replace(5, [])
    assert (store.local_list_version(), store.local_list_len(), store.local_list_bytes()) == (5, 0, 0)
    store.close()


def test_local_list_update_is_atomic(store: StationStore) -> None:
    store.local_list_replace(1, [(tok("AA"), {"status": "Accepted"})])

    def bad_upserts():  # fails halfway: nothing of this update may remain
        yield tok("BB"), {"status": "Accepted"}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.local_list_update(2, upserts=bad_upserts(), deletes=[tok("AA")])
    assert store.local_list_version() == 1
    assert store.local_list_get("AA", "ISO14443") == {"status": "Accepted"}
    assert store.local_list_get("BB", "ISO14443") is None
