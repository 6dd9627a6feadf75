"""One captured frame: what the inspector table, the JSONL export and the lints work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Sender = Literal["station", "csms"]
FRAME_TYPE_NAMES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR", 5: "CALLRESULTERROR", 6: "SEND"}


@dataclass(slots=True)
class CaptureRecord:
    """A frame as seen at one observation point.

    `observer` says where it was captured ("station" = our emulated station's socket,
    "csms" = the built-in CSMS's socket, "proxy" later). When both ends are ours the same frame
    is seen twice; the copy at the far end is marked `mirror` so views can hide it.
    """

    time: datetime
    connection: str
    station: str
    sender: Sender
    observer: str
    version: str
    raw: str
    message_type: int | None = None
    action: str | None = None
    message_id: str | None = None
    payload: Any = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    latency_ms: float | None = None
    mirror: bool = False
    seq: int = 0  # assigned by the store

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def frame_type(self) -> str:
        if self.message_type is None:
            return "?"
        return FRAME_TYPE_NAMES.get(self.message_type, str(self.message_type))

    @property
    def size(self) -> int:
        return len(self.raw.encode("utf-8"))
