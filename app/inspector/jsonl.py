"""Captures as JSON Lines: one frame per line, described by schemas/capture-line.schema.json.

Secrets stay out of captures by construction: Basic-auth credentials travel in the HTTP
upgrade, which is not a frame, and every capture point (our connections, the proxy) and every
export passes the frame text through `mask_secrets`: write-only device-model values
(BasicAuthPassword) and PEM private keys are masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from app.clock import utc_timestamp
from app.inspector.records import CaptureRecord

MASK = "********"
_SECRET_VARIABLES = {"basicauthpassword"}


def mask_secrets(raw: str, payload: Any) -> str:
    """The frame text with secrets replaced (write-only variables, PEM private keys: a key that
    leaves a station by mistake, A02.FR.05); the frame is left as-is otherwise."""
    if "PRIVATE KEY-----" in raw:
        raw = _PRIVATE_KEY.sub(MASK, raw)
    if "asicAuthPassword" not in raw and "asicauthpassword" not in raw.lower():
        return raw
    try:
        frame = json.loads(raw)
    except ValueError:
        return raw
    changed = _mask(frame)
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False) if changed else raw


# A PEM private key block inside a JSON string (newlines escaped or not).
_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL)


def _mask(node: Any) -> bool:
    changed = False
    if isinstance(node, dict):
        variable = node.get("variable")
        if isinstance(variable, dict) and str(variable.get("name", "")).lower() in _SECRET_VARIABLES:
            for key in ("attributeValue", "value"):
                if key in node:
                    node[key] = MASK
                    changed = True
        for key, value in node.items():
            if key.lower() == "basicauthpassword" and isinstance(value, str):
                node[key] = MASK
                changed = True
            else:
                changed |= _mask(value)
    elif isinstance(node, list):
        for item in node:
            changed |= _mask(item)
    return changed


def record_to_line(record: CaptureRecord) -> dict[str, Any]:
    return {
        "time": utc_timestamp(record.time),
        "station": record.station,
        "from": record.sender,
        "frame": mask_secrets(record.raw, record.payload),
        "valid": record.valid,
        "problems": record.problems,
        "notes": record.notes,
        "version": record.version,
        "connection": record.connection,
        "observer": record.observer,
        "type": record.message_type,
        "action": record.action,
        "messageId": record.message_id,
        "latencyMs": None if record.latency_ms is None else round(record.latency_ms, 3),
        "mirror": record.mirror,
    }


class JsonlWriter:
    """Appends records to a file as they come; flushed per line so a crash loses nothing."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        self.count = 0

    def write(self, record: CaptureRecord) -> None:
        self._file.write(json.dumps(record_to_line(record), ensure_ascii=False) + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        self._file.close()


class CaptureFileError(Exception):
    """A capture file that cannot be read; the message names the line."""


def read_lines(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, parsed line) for every non-blank line; CaptureFileError on unreadable JSON."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except ValueError as exc:
                raise CaptureFileError(f"{path}:{number}: not a JSON line: {exc}") from None
            if not isinstance(line, dict):
                raise CaptureFileError(f"{path}:{number}: a capture line must be a JSON object")
            yield number, line


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
