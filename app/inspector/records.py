"""One captured frame: what the inspector table, the JSONL export and the lints work on."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

Sender = Literal["station", "csms"]
FRAME_TYPE_NAMES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR", 5: "CALLRESULTERROR", 6: "SEND"}


_UNPARSED: Any = object()  # payload released: parse it from `raw` when asked


class CaptureRecord:
    """A frame as seen at one observation point.

    `observer` says where it was captured ("station" = our emulated station's socket,
    "csms" = the built-in CSMS's socket, "proxy"). When both ends are ours the same frame
    is seen twice; the copy at the far end is marked `mirror` so views can hide it.

    A stored record keeps the raw text, not the parsed payload: a TransactionEvent parses into
    dozens of dicts and lists, and holding them for every frame of a long capture cost ~2 KiB
    a frame and made the garbage collector's full passes stall the window for hundreds of
    milliseconds. Whoever sees the record live (lints, plots, exports) gets the parsed payload;
    `release_payload()` drops it once they are done, and `payload` re-parses `raw` on demand
    (the detail pane, filters on payload fields).
    """

    #: The constructor's keywords, in order (copies, exports).
    FIELDS = (
        "time",
        "connection",
        "station",
        "sender",
        "observer",
        "version",
        "raw",
        "message_type",
        "action",
        "message_id",
        "payload",
        "problems",
        "notes",
        "latency_ms",
        "mirror",
        "seq",
    )
    __slots__ = (
        "_payload",
        "action",
        "connection",
        "latency_ms",
        "message_id",
        "message_type",
        "mirror",
        "notes",
        "observer",
        "problems",
        "raw",
        "sender",
        "seq",
        "station",
        "time",
        "version",
    )

    def __init__(
        self,
        time: datetime,
        connection: str,
        station: str,
        sender: Sender,
        observer: str,
        version: str,
        raw: str,
        message_type: int | None = None,
        action: str | None = None,
        message_id: str | None = None,
        payload: Any = None,
        problems: list[str] | None = None,
        notes: list[str] | None = None,
        latency_ms: float | None = None,
        mirror: bool = False,
        seq: int = 0,  # assigned by the store
    ) -> None:
        self.time = time
        self.connection = connection
        self.station = station
        self.sender = sender
        self.observer = observer
        self.version = version
        self.raw = raw
        self.message_type = message_type
        self.action = action
        self.message_id = message_id
        self._payload = payload
        self.problems = problems if problems is not None else []
        self.notes = notes if notes is not None else []
        self.latency_ms = latency_ms
        self.mirror = mirror
        self.seq = seq

    @property
    def payload(self) -> Any:
        payload = self._payload
        return payload_from_raw(self.raw, self.message_type) if payload is _UNPARSED else payload

    @payload.setter
    def payload(self, value: Any) -> None:
        self._payload = value

    def release_payload(self) -> None:
        """Forget the parsed payload; it is rebuilt from `raw` when read again."""
        self._payload = _UNPARSED

    def replace(self, **changes: Any) -> CaptureRecord:
        """A copy with some fields changed (the store assigns the copy its own `seq`)."""
        fields = {name: getattr(self, name) for name in self.FIELDS}
        fields.update(changes)
        return CaptureRecord(**fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CaptureRecord):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"CaptureRecord(#{self.seq} {self.time.isoformat()} {self.station} {self.sender}->"
            f"{self.observer} {self.raw[:60]!r})"
        )

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


def payload_from_raw(raw: str, message_type: int | None) -> Any:
    """The payload a frame's text carries, as the capture point derived it: the object of a
    CALL / SEND / CALLRESULT, code + description + details of an error, None when unreadable."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(frame, list) or not frame:
        return frame
    if message_type in (4, 5) and len(frame) >= 4:
        return {
            "errorCode": frame[2],
            "errorDescription": frame[3],
            "errorDetails": frame[4] if len(frame) > 4 else {},
        }
    return frame[-1]
