"""In-memory capture store: an append-only list of records with an `added` signal.

Kept deliberately simple for now (issue 5 moves it onto SQLite for million-frame captures);
its interface — append, len, index, slice, `added` — is what the window and CLI rely on.
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
