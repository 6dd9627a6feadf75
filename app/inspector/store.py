"""The live capture: every record goes through `append` and out through the `added` signal.

It keeps only the newest records in memory (a tail, for live views such as the sequence
diagram); the whole capture lives in SQLite (app/inspector/capture_db.py: the window's
inspector) or in a JSON Lines file (`--capture` on the command line).
"""

from __future__ import annotations

from collections.abc import Iterator

from app.inspector.records import CaptureRecord
from app.signals import Signal


class CaptureStore:
    def __init__(self, limit: int | None = 20_000) -> None:
        self._records: list[CaptureRecord] = []
        self._next_seq = 1
        self.limit = limit
        self.added: Signal[[CaptureRecord]] = Signal()
        self.cleared: Signal[[]] = Signal()

    def append(self, record: CaptureRecord) -> None:
        record.seq = self._next_seq
        self._next_seq += 1
        self._records.append(record)
        if self.limit is not None and len(self._records) > self.limit:
            del self._records[: len(self._records) // 10]  # drop the oldest tenth at once
            self.cleared.emit()
        self.added.emit(record)

    def clear(self) -> None:
        self._records.clear()
        self.cleared.emit()

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> CaptureRecord:
        return self._records[index]

    def __iter__(self) -> Iterator[CaptureRecord]:
        return iter(self._records)

    def records(self) -> list[CaptureRecord]:
        return list(self._records)
