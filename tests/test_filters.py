"""The filter language: each term, payload conditions, errors; SQL and Python answer alike."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from app.inspector.capture_db import COLUMNS, SCHEMA, record_to_row
from app.inspector.filters import FilterError, parse_filter
from app.inspector.records import CaptureRecord

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def rec(
    frame: list[object],
    *,
    station: str = "CP1",
    sender: str = "station",
    action: str | None = None,
    minutes: int = 0,
    problems: list[str] | None = None,
    notes: list[str] | None = None,
) -> CaptureRecord:
    mtype = frame[0]
    assert isinstance(mtype, int)
    if action is None and mtype in (2, 6):
        action = str(frame[2])
    return CaptureRecord(
        time=T0 + timedelta(minutes=minutes),
        connection=f"{station}-conn",
        station=station,
        sender=sender,  # type: ignore[arg-type]
        observer="csms",
        version="ocpp2.1",
        raw=json.dumps(frame, separators=(",", ":"), ensure_ascii=False),
        message_type=mtype,
        action=action,
        message_id=str(frame[1]),
        problems=problems or [],
        notes=notes or [],
    )


def tx_event(mid: str, event: str, seq_no: int, **kw: object) -> CaptureRecord:
    payload = {
        "eventType": event,
        "seqNo": seq_no,
        "timestamp": "2026-01-01T12:00:00Z",
        "offline": False,
        "transactionInfo": {"transactionId": "TX-9", "chargingState": "Charging"},
        "meterValue": [{"sampledValue": [{"value": 7400.5}]}],
    }
    return rec([2, mid, "TransactionEvent", payload], **kw)  # type: ignore[arg-type]


RECORDS = [
    tx_event("a1", "Started", 0, minutes=0),
    rec(
        [3, "a1", {"idTokenInfo": {"status": "Accepted"}}],
        sender="csms",
        action="TransactionEvent",
        minutes=1,
    ),
    tx_event("a2", "Updated", 1, station="CP2", minutes=2),
    tx_event("a3", "Ended", 2, minutes=3),
    tx_event("a4", "Ended", 7, station="CP2", minutes=4, problems=["$.seqNo: gap in sequence"]),
    rec([2, "h1", "Heartbeat", {}], minutes=5, notes=["Late reply 3 s"]),
    rec([3, "h1", {"currentTime": "2026-01-01T12:05:00Z"}], sender="csms", action="Heartbeat", minutes=6),
    rec([4, "x1", "FormationViolation", "bad 100% thing_", {}], sender="csms", minutes=7),
    rec(
        [6, "n1", "NotifyPeriodicEventStream", {"id": 1, "pending": 0, "basetime": "x", "data": []}],
        minutes=8,
    ),
    rec([2, "u1", "DataTransfer", {"vendorId": "Ünïcode", "data": "ABC def"}], station="CP 3", minutes=9),
]


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    placeholders = ",".join("?" * len(COLUMNS))
    conn.executemany(
        f"INSERT INTO frames VALUES ({placeholders})",
        [record_to_row(r, i + 1) for i, r in enumerate(RECORDS)],
    )
    return conn


def answer(db: sqlite3.Connection, text: str) -> list[str]:
    """Message ids (with type) the filter keeps; SQL and matches() must agree."""
    flt = parse_filter(text)
    sql_ids = [
        f"{t}:{m}"
        for t, m in db.execute(
            f"SELECT type, message_id FROM frames WHERE {flt.sql} ORDER BY seq", flt.params
        )
    ]
    py_ids = [f"{r.message_type}:{r.message_id}" for r in RECORDS if flt.matches(r)]
    assert sql_ids == py_ids, text
    return sql_ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [f"{r.message_type}:{r.message_id}" for r in RECORDS]),
        ("station:CP2", ["2:a2", "2:a4"]),
        ('station:"CP 3"', ["2:u1"]),
        ("station:CP2,CP3", ["2:a2", "2:a4"]),
        ("action:Heartbeat", ["2:h1", "3:h1"]),
        ("action:TransactionEvent type:CALLRESULT", ["3:a1"]),
        ("dir:csms->station", ["3:a1", "3:h1", "4:x1"]),
        ("dir:station->csms type:CALL", ["2:a1", "2:a2", "2:a3", "2:a4", "2:h1", "2:u1"]),
        ("from:csms type:4", ["4:x1"]),
        ("type:send", ["6:n1"]),
        ("type:CALLERROR,CALLRESULTERROR", ["4:x1"]),
        ("problems", ["2:a4"]),
        ("id:h1", ["2:h1", "3:h1"]),
        ("conn:CP2-conn action:TransactionEvent", ["2:a2", "2:a4"]),
        ("since:2026-01-01T12:05 until:2026-01-01T12:08", ["2:h1", "3:h1", "4:x1"]),
        ("since:2026-01-01T13:05:00+01:00 until:2026-01-01T12:06:00Z", ["2:h1"]),
        ('"accepted"', ["3:a1"]),  # case-insensitive
        ("TX-9 station:CP2", ["2:a2", "2:a4"]),  # a bare word is free text too
        ('"100% thing_"', ["4:x1"]),  # LIKE wildcards are literal
        ('"100%"', ["4:x1"]),
        ('"th_ng"', []),
        ('"seqNo: gap"', ["2:a4"]),  # problems are searched
        ('"late reply"', ["2:h1"]),  # notes too
        ('"ABC DEF"', ["2:u1"]),
        ('"ünïcode"', []),  # case folding is ASCII only, in SQLite and here
        ('"Ünïcode"', ["2:u1"]),
        ("TransactionEvent where eventType = Ended", ["2:a3", "2:a4"]),
        ("TransactionEvent where eventType = Ended and seqNo > 3", ["2:a4"]),
        ("TransactionEvent where eventType = Started or seqNo >= 7", ["2:a1", "2:a4"]),
        ("TransactionEvent where eventType != Ended", ["2:a1", "2:a2"]),  # missing field: no match
        ("where transactionInfo.chargingState = Charging", ["2:a1", "2:a2", "2:a3", "2:a4"]),
        (
            "TransactionEvent where meterValue[0].sampledValue[0].value >= 7400.5",
            ["2:a1", "2:a2", "2:a3", "2:a4"],
        ),
        ("TransactionEvent where meterValue[0].sampledValue[0].value < 7400", []),
        ("TransactionEvent where offline = false", ["2:a1", "2:a2", "2:a3", "2:a4"]),
        ("TransactionEvent where idTokenInfo.status = Accepted", ["3:a1"]),  # a CALLRESULT's payload
        ('TransactionEvent where eventType = "Ended"', ["2:a3", "2:a4"]),
        ("TransactionEvent where seqNo = 1", ["2:a2"]),
        ('TransactionEvent where seqNo = "1"', []),  # text is not a number, as in SQLite
        (
            "TransactionEvent where eventType > 5",
            ["2:a1", "2:a2", "2:a3", "2:a4"],
        ),  # text sorts after numbers
        ("Heartbeat where currentTime < 2026", []),
        ("Heartbeat where currentTime >= 2026-01-01T12:05", ["3:h1"]),
        ("station:CP2 TransactionEvent where seqNo < 5", ["2:a2"]),
    ],
)
def test_filter_terms(db: sqlite3.Connection, text: str, expected: list[str]) -> None:
    assert answer(db, text) == expected


def test_user_text_is_never_sql(db: sqlite3.Connection) -> None:
    nasty = "x' OR 1=1; DROP TABLE frames; --"
    flt = parse_filter(f'station:"{nasty}" "{nasty}" TransactionEvent where eventType = "{nasty}"')
    assert nasty not in flt.sql
    assert "DROP" not in flt.sql
    assert answer(db, f'station:"{nasty}"') == []
    assert db.execute("SELECT count(*) FROM frames").fetchone()[0] == len(RECORDS)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('station:CP1 "unclosed', 12, "unterminated"),
        ("colour:red", 0, "unknown filter 'colour'"),
        ("type:PING", 5, "not a frame type"),
        ("since:yesterday", 6, "not an ISO 8601 time"),
        ("dir:up", 4, "station->csms"),
        ("station:", 8, "value is missing"),
        ("TransactionEvent where", 22, "field name"),
        ("TransactionEvent where eventType Ended", 33, "operator"),
        ("TransactionEvent where eventType =", 34, "value after"),
        ("TransactionEvent where seqNo > 3 seqNo < 5", 33, "'and', 'or'"),
        ("TransactionEvent where 3 = 3", 23, "field name"),
        (
            "where transactionInfo.chargingState = Charging station:CP1",
            47,
            "'and', 'or'",
        ),  # `where` runs to the end
        ('""', 0, "empty"),
    ],
)
def test_parse_errors_say_where(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    assert info.value.position == position, str(info.value)
    assert fragment in str(info.value)
    assert f"column {position + 1}" in str(info.value)
