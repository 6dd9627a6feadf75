"""Capture database: ingest through append+flush, and filter time over a million frames.

Run: .venv/bin/python bench/bench_capture.py [--frames 1000000] [--ingest 100000]

Ingest: realistic CaptureRecords (TransactionEvent with sampled values and its result,
MeterValues, StatusNotification, Heartbeat) go through CaptureDb.append(); the time until
flush() returns gives frames/s, and the worst single append() shows what the caller's
(asyncio/UI) thread pays. Filters: a capture of --frames frames is written straight into the
file, then count() and the first page() are timed for each filter (DESIGN budget: < 1 s).
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.inspector.capture_db import INSERT_SQL, CaptureDb, record_to_row
from app.inspector.records import CaptureRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def frame(i: int) -> tuple[str, list[object], str]:
    """(action, frame, sender) for the i-th frame of a busy site."""
    ts = (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kind = i % 8
    if kind in (0, 2):
        event = ("Started", "Updated", "Updated", "Ended")[(i // 8) % 4]
        sampled = [
            {"value": 7400.0 + i % 300, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
            {
                "value": 12.5 + i % 40,
                "measurand": "Energy.Active.Import.Register",
                "unitOfMeasure": {"unit": "kWh"},
            },
            {"value": 32.0, "measurand": "Current.Import", "phase": "L1"},
            {"value": 231.0, "measurand": "Voltage", "phase": "L1-N"},
            {"value": 55 + i % 40, "measurand": "SoC"},
        ]
        payload = {
            "eventType": event,
            "timestamp": ts,
            "triggerReason": "MeterValuePeriodic",
            "seqNo": (i // 8) % 50,
            "transactionInfo": {"transactionId": f"TX-{i // 400}", "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": ts, "sampledValue": sampled}],
        }
        return "TransactionEvent", [2, f"m{i}", "TransactionEvent", payload], "station"
    if kind in (1, 3):
        return "TransactionEvent", [3, f"m{i - 1}", {"idTokenInfo": {"status": "Accepted"}}], "csms"
    if kind == 4:
        payload = {"evseId": 1, "meterValue": [{"timestamp": ts, "sampledValue": [{"value": 7400.0}]}]}
        return "MeterValues", [2, f"v{i}", "MeterValues", payload], "station"
    if kind == 5:
        return "MeterValues", [3, f"v{i - 1}", {}], "csms"
    if kind == 6:
        payload = {"timestamp": ts, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}
        return "StatusNotification", [2, f"s{i}", "StatusNotification", payload], "station"
    return "Heartbeat", [3, f"h{i}", {"currentTime": ts}], "csms"


def record(i: int, stations: int = 100) -> CaptureRecord:
    action, fr, sender = frame(i)
    station = f"CP{(i // 8) % stations:03d}"
    return CaptureRecord(
        time=T0 + timedelta(milliseconds=10 * i),
        connection=station,
        station=station,
        sender=sender,  # type: ignore[arg-type]
        observer="csms",
        version="ocpp2.1",
        raw=json.dumps(fr, separators=(",", ":")),
        message_type=int(fr[0]),  # type: ignore[call-overload]
        action=action,
        message_id=str(fr[1]),
        payload=fr[-1],
        problems=["$.seqNo: gap (expected 4)"] if i % 5000 == 0 else [],
        latency_ms=3.5 if fr[0] == 3 else None,
    )


def bench_ingest(n: int, directory: Path) -> None:
    records = [record(i) for i in range(n)]
    db = CaptureDb(directory / "ingest.capture")
    worst = 0.0
    started = time.perf_counter()
    for r in records:
        t = time.perf_counter()
        db.append(r)
        worst = max(worst, time.perf_counter() - t)
    queued = time.perf_counter() - started
    db.flush()
    total = time.perf_counter() - started
    db.close()
    print(f"ingest {n:,} frames: append() {n / queued:,.0f}/s on the caller's thread "
          f"(worst single append {worst * 1e6:.0f} µs); committed {n / total:,.0f} frames/s")  # fmt: skip


def rows(n: int) -> Iterator[tuple[object, ...]]:
    template = [record(i) for i in range(8 * 400)]  # one pattern cycle; time/ids vary below
    for i in range(n):
        base = template[i % len(template)]
        base.time = T0 + timedelta(milliseconds=10 * i)
        base.station = base.connection = f"CP{(i // 8) % 100:03d}"
        yield record_to_row(base, i + 1)


def bench_filters(n: int, directory: Path) -> None:
    path = directory / "million.capture"
    CaptureDb(path).close()
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    conn.executemany(INSERT_SQL, rows(n))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"wrote {n:,} frames straight into SQLite in {time.perf_counter() - started:.1f} s; "
          f"file {path.stat().st_size / 1e6:.0f} MB ({path.stat().st_size / n:.0f} B/frame)")  # fmt: skip
    filters = [
        ("action", "action:StatusNotification"),
        ("station+type", "station:CP042 type:CALL"),
        ("free text", '"TX-5"'),
        ("free text, no hit", '"no such text"'),
        ("payload condition", "TransactionEvent where eventType = Ended"),
        ("payload, two conds", "TransactionEvent where eventType = Updated and seqNo > 40"),
        ("problems", "problems"),
        ("time range", "since:2026-01-01T01:00 until:2026-01-01T01:30"),
    ]
    with CaptureDb.open(path) as db:
        # all_seqs() is what the window's table runs when the filter changes (its rows).
        print(f"{'filter':20} {'matches':>9} {'count()':>9} {'page()':>8} {'rows':>8}  text")
        for name, text in [("everything", ""), *filters]:
            t = time.perf_counter()
            count = db.count(text)
            counted = time.perf_counter() - t
            t = time.perf_counter()
            db.page(text, offset=0, limit=200)
            paged = time.perf_counter() - t
            t = time.perf_counter()
            db.all_seqs(text)
            listed = time.perf_counter() - t
            print(
                f"{name:20} {count:9,} {counted * 1000:7.0f}ms {paged * 1000:6.1f}ms "
                f"{listed * 1000:6.0f}ms  {text}"
            )
        t = time.perf_counter()
        db.save_as(directory / "copy.capture")
        print(f"save as (SQLite backup): {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        db.page("action:Heartbeat", offset=n // 4, limit=200)
        print(f"deep page (offset {n // 4:,}, action filter): {(time.perf_counter() - t) * 1000:.0f} ms")
        out = directory / "export.jsonl"
        t = time.perf_counter()
        exported = db.export_jsonl(out, "station:CP042")
        print(f"export {exported:,} frames to JSONL: {exported / (time.perf_counter() - t):,.0f} frames/s")
    with CaptureDb(directory / "import.capture") as again:
        t = time.perf_counter()
        imported = again.import_jsonl(out)
        print(f"import {imported:,} frames from JSONL: {imported / (time.perf_counter() - t):,.0f} frames/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--ingest", type=int, default=100_000)
    args = parser.parse_args()
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        bench_ingest(args.ingest, Path(tmp))
        bench_filters(args.frames, Path(tmp))


if __name__ == "__main__":
    main()
