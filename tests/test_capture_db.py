"""CaptureDb on a real SQLite file: batched appends, pages, filters, files, JSON Lines."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.inspector.capture_db import INSERT_SQL, CaptureDb
from app.inspector.filters import parse_filter
from app.inspector.jsonl import MASK, CaptureFileError, JsonlWriter, read_lines
from app.inspector.records import CaptureRecord
from app.inspector.store import CaptureStore

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cr3t-Pa55word"


def frame_record(i: int, *, station: str | None = None) -> CaptureRecord:
    """A realistic mix: TransactionEvent CALL/CALLRESULT, Heartbeat, SetVariables with a secret."""
    station = station or f"CP{i % 3}"
    kind = i % 4
    if kind == 0:
        payload: object = {
            "eventType": ["Started", "Updated", "Ended"][i % 3],
            "seqNo": i,
            "timestamp": "2026-01-01T12:00:00Z",
            "triggerReason": "MeterValuePeriodic",
            "transactionInfo": {"transactionId": f"TX{i}"},
        }
        frame: list[object] = [2, f"m{i}", "TransactionEvent", payload]
        sender, action = "station", "TransactionEvent"
    elif kind == 1:
        payload = {"idTokenInfo": {"status": "Accepted"}}
        frame = [3, f"m{i - 1}", payload]
        sender, action = "csms", "TransactionEvent"
    elif kind == 2:
        payload = {}
        frame = [2, f"h{i}", "Heartbeat", payload]
        sender, action = "station", "Heartbeat"
    else:
        payload = {
            "setVariableData": [
                {
                    "attributeValue": SECRET,
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "BasicAuthPassword"},
                }
            ]
        }
        frame = [2, f"v{i}", "SetVariables", payload]
        sender, action = "csms", "SetVariables"
    return CaptureRecord(
        time=T0 + timedelta(seconds=i),
        connection=f"{station}-conn",
        station=station,
        sender=sender,  # type: ignore[arg-type]
        observer="csms",
        version="ocpp2.1",
        raw=json.dumps(frame, separators=(",", ":")),
        message_type=int(frame[0]),  # type: ignore[call-overload]
        action=action,
        message_id=str(frame[1]),
        payload=payload,
        problems=["$.seqNo: gap"] if i == 8 else [],
        notes=["late"] if i == 9 else [],
        latency_ms=12.5 if kind == 1 else None,
        mirror=i == 10,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[CaptureDb]:
    capture = CaptureDb(tmp_path / "live.capture")
    yield capture
    capture.close()


def test_append_flush_page_count_get(db: CaptureDb) -> None:
    records = [frame_record(i) for i in range(1, 13)]
    seqs = [db.append(r) for r in records]
    assert seqs == list(range(1, 13))
    assert len(db) == 12
    db.flush()
    assert db.pending == 0
    assert db.count() == 12
    page = db.page(offset=2, limit=3)
    assert [r.seq for r in page] == [3, 4, 5]
    got = db.get(8)
    assert got is not None
    original = records[7]
    assert (got.time, got.station, got.sender, got.raw, got.action, got.message_id) == (
        original.time,
        original.station,
        original.sender,
        original.raw,
        original.action,
        original.message_id,
    )
    assert got.problems == ["$.seqNo: gap"] and not got.valid
    assert got.payload == original.payload
    assert db.get(9).notes == ["late"]  # type: ignore[union-attr]
    assert db.get(10).mirror  # type: ignore[union-attr]
    assert db.get(5).latency_ms == 12.5  # type: ignore[union-attr]
    assert db.get(99) is None
    assert original.seq == 0  # the caller's record is left alone


def test_writer_flushes_on_its_own(db: CaptureDb) -> None:
    db.append(frame_record(1))
    deadline = time.monotonic() + 5
    while db.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert db.count() == 1


def test_filters_through_the_db(db: CaptureDb) -> None:
    for i in range(1, 41):
        db.append(frame_record(i))
    db.flush()
    assert db.count("action:Heartbeat") == 10
    assert db.count("station:CP1 type:CALL") == len([i for i in range(1, 41) if i % 3 == 1 and i % 4 != 1])
    assert db.count("problems") == 1
    assert db.count('"TX12"') == 1
    assert db.count("TransactionEvent where eventType = Ended") == len(
        [i for i in range(1, 41) if i % 4 == 0 and i % 3 == 2]
    )
    assert [r.seq for r in db.page("dir:csms->station action:TransactionEvent", offset=1, limit=2)] == [5, 9]
    assert db.seqs("action:Heartbeat", after=10, limit=3) == [14, 18, 22]
    assert [r.seq for r in db.iter_records("action:SetVariables", batch=3)] == list(range(3, 41, 4))


def test_attach_follows_the_live_store(db: CaptureDb) -> None:
    store = CaptureStore()
    detach = db.attach(store)
    for i in range(1, 6):
        store.append(frame_record(i))
    detach()
    store.append(frame_record(6))
    db.flush()
    assert db.count() == 5
    assert [r.seq for r in store] == [1, 2, 3, 4, 5, 6]


def test_save_as_and_open(db: CaptureDb, tmp_path: Path) -> None:
    for i in range(1, 21):
        db.append(frame_record(i))
    saved = db.save_as(tmp_path / "saved.capture")
    db.append(frame_record(21))  # later frames stay in the live capture only
    db.flush()
    with CaptureDb.open(saved) as reopened:
        assert reopened.count() == 20
        assert len(reopened) == 20
        assert reopened.count("action:SetVariables") == 5
        assert reopened.append(frame_record(22)) == 21  # seqs continue
        reopened.flush()
        assert reopened.count() == 21
    assert db.count() == 21


def test_temporary_capture_is_removed(tmp_path: Path) -> None:
    db = CaptureDb()
    db.append(frame_record(1))
    db.flush()
    path = db.path
    assert path.exists()
    db.close()
    assert not path.exists()


def test_corrupt_files_are_named(tmp_path: Path, db: CaptureDb) -> None:
    junk = tmp_path / "junk.capture"
    junk.write_bytes(b"\x00garbage" * 500)
    with pytest.raises(CaptureFileError, match=r"junk\.capture"):
        CaptureDb.open(junk)
    with pytest.raises(CaptureFileError, match=r"junk\.capture"):
        CaptureDb(junk)

    jsonl = tmp_path / "frames.jsonl"
    jsonl.write_text('{"time": "2026-01-01T00:00:00Z"}\n')
    with pytest.raises(CaptureFileError, match=r"frames\.jsonl.*JSON Lines"):
        CaptureDb.open(jsonl)

    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(
        CaptureFileError, match=r"other\.sqlite: an SQLite file, but not a ChargeBench capture"
    ):
        CaptureDb.open(other)
    assert [r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master")] == ["t"]

    for i in range(1, 2001):
        db.append(frame_record(i))
    saved = db.save_as(tmp_path / "damaged.capture")
    data = bytearray(saved.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # keep the header page, wreck the rest
    saved.write_bytes(bytes(data))
    with pytest.raises(CaptureFileError, match=r"damaged\.capture"):
        opened = CaptureDb.open(saved)
        opened.count("action:Heartbeat")  # pragma: no cover - open already fails

    with pytest.raises(CaptureFileError, match="no such capture file"):
        CaptureDb.open(tmp_path / "missing.capture")


def test_jsonl_round_trip_masks_secrets(db: CaptureDb, tmp_path: Path) -> None:
    source = tmp_path / "source.jsonl"
    writer = JsonlWriter(source)
    records = [frame_record(i) for i in range(1, 13)]
    for r in records:
        writer.write(r)
    writer.close()
    assert SECRET not in source.read_text()  # JsonlWriter masks already

    # A line written by someone else, secret included and without the optional fields.
    unmasked = [2, "v99", "SetVariables", json.loads(records[2].raw)[3]]
    with source.open("a") as handle:
        handle.write(
            json.dumps(
                {
                    "time": "2026-01-01T13:00:00.000Z",
                    "station": "CP9",
                    "from": "csms",
                    "frame": json.dumps(unmasked),
                    "valid": True,
                    "problems": [],
                }
            )
            + "\n\n"
        )
    assert SECRET in source.read_text()

    progress: list[tuple[int, int]] = []
    assert db.import_jsonl(source, progress=lambda done, total: progress.append((done, total))) == 13
    assert progress[-1][0] == progress[-1][1] == source.stat().st_size
    assert db.count() == 13
    assert len(db) == 13
    imported = db.get(13)
    assert imported is not None
    assert (imported.action, imported.message_id, imported.message_type) == ("SetVariables", "v99", 2)
    assert SECRET in imported.raw  # the capture keeps what it was given; exports mask
    assert db.count("station:CP9 action:SetVariables") == 1

    out = tmp_path / "export.jsonl"
    export_progress: list[tuple[int, int]] = []
    assert db.export_jsonl(out, progress=lambda d, t: export_progress.append((d, t))) == 13
    assert export_progress[-1] == (13, 13)
    text = out.read_text()
    assert SECRET not in text
    assert text.count(MASK) == 4
    lines = [line for _, line in read_lines(out)]
    assert [line["frame"] for line in lines[:12:4]] == [r.raw for r in records[:12:4]]
    assert lines[7]["problems"] == ["$.seqNo: gap"] and lines[7]["valid"] is False
    assert lines[4]["latencyMs"] == 12.5
    assert lines[0]["time"] == "2026-01-01T12:00:01.000Z"

    assert db.export_jsonl(tmp_path / "some.jsonl", "action:SetVariables") == 4
    again = CaptureDb(tmp_path / "again.capture")
    try:
        assert again.import_jsonl(tmp_path / "some.jsonl") == 4
        assert again.count("action:SetVariables") == 4
        assert SECRET not in "".join(r.raw for r in again.page())
    finally:
        again.close()


def test_import_error_names_the_line_and_keeps_nothing(db: CaptureDb, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    frame = '[2,"a","Heartbeat",{}]'
    good_line = {"time": "2026-01-01T12:00:00Z", "station": "CP1", "from": "station", "frame": frame,
                 "valid": True, "problems": []}  # fmt: skip
    bad.write_text(json.dumps(good_line) + "\n" + json.dumps(good_line) + "\n{not json\n")
    with pytest.raises(CaptureFileError, match=r"bad\.jsonl:3"):
        db.import_jsonl(bad)
    assert db.count() == 0
    bad.write_text(json.dumps({**good_line, "from": "nobody"}) + "\n")
    with pytest.raises(CaptureFileError, match=r"bad\.jsonl:1: 'from'"):
        db.import_jsonl(bad)


def synthetic_rows(n: int) -> Iterator[tuple[object, ...]]:
    base = T0.timestamp()
    for i in range(n):
        station = f"CP{i % 50}"
        kind = i % 4
        if kind == 0:
            event = ("Started", "Updated", "Ended")[i % 3]
            raw = (
                f'[2,"m{i}","TransactionEvent",{{"eventType":"{event}","seqNo":{i % 20},'
                f'"timestamp":"2026-01-01T12:00:00Z","triggerReason":"MeterValuePeriodic",'
                f'"transactionInfo":{{"transactionId":"TX{i}"}}}}]'
            )
            row = (2, "TransactionEvent", "station", f"m{i}", None)
        elif kind == 1:
            raw = f'[3,"m{i - 1}",{{}}]'
            row = (3, "TransactionEvent", "csms", f"m{i - 1}", 3.0)
        elif kind == 2:
            raw = f'[2,"h{i}","Heartbeat",{{}}]'
            row = (2, "Heartbeat", "station", f"h{i}", None)
        else:
            raw = f'[3,"h{i - 1}",{{"currentTime":"2026-01-01T12:00:00Z"}}]'
            row = (3, "Heartbeat", "csms", f"h{i - 1}", 2.0)
        mtype, action, sender, mid, latency = row
        problems = '["$.seqNo: gap"]' if i % 10_000 == 0 else None
        yield (i + 1, base + i * 0.01, station, station, sender, "csms", "ocpp2.1", mtype, action, mid, raw,
               problems, None, latency, 0, len(raw))  # fmt: skip


def test_large_capture_answers_filters(tmp_path: Path) -> None:
    """A million frames written straight into the file (~15 s here; CHARGEBENCH_BIG_CAPTURE=200000
    for less); times are printed, not asserted: bench/bench_capture.py measures them."""
    n = int(os.environ.get("CHARGEBENCH_BIG_CAPTURE", "1000000"))
    path = tmp_path / "big.capture"
    CaptureDb(path).close()
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany(INSERT_SQL, synthetic_rows(n))
    conn.execute("COMMIT")
    conn.close()
    print(f"\n{n} rows written in {time.perf_counter() - started:.1f} s")
    frames = [(row[2], row[7], row[8], row[10], row[11]) for row in synthetic_rows(n)]
    with CaptureDb.open(path) as db:
        assert len(db) == n
        for text, expected in [
            ("action:Heartbeat", n // 2),
            ("station:CP8 type:CALL", len([f for f in frames if f[0] == "CP8" and f[1] == 2])),
            ('"TX4000"', len([f for f in frames if "TX4000" in f[3]])),
            (
                "TransactionEvent where eventType = Ended and seqNo > 3",
                len(
                    [
                        f
                        for f in frames
                        if '"Ended"' in f[3] and int(f[3].split('"seqNo":')[1].split(",")[0]) > 3
                    ]
                ),
            ),
            ("problems", n // 10_000),
            ("since:2026-01-01T12:10 until:2026-01-01T12:20", 60_000),
        ]:
            started = time.perf_counter()
            count = db.count(text)
            page = db.page(text, offset=0, limit=100)
            print(f"{text!r}: {count} in {1000 * (time.perf_counter() - started):.0f} ms")
            assert expected > 0
            assert count == expected, text
            assert len(page) == min(100, expected)
            assert all(parse_filter(text).matches(r) for r in page)


def _seq_no(raw: str) -> int:
    return int(json.loads(raw)[3]["seqNo"])
