"""Judging frames after the fact: a capture file, one frame, or one payload.

Used by `chargebench validate` so CI can judge a capture of a real charger. Results are
correlated to their CALL by message id per station, so a CALLRESULT is checked against the
response schema of the action it answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from app.inspector.jsonl import CaptureFileError, read_lines
from app.inspector.lints import Linter
from app.inspector.records import CaptureRecord
from app.protocol import schemas
from app.protocol.errors import known_codes
from app.protocol.frames import Call, CallError, CallResult, CallResultError, FrameError, Send, parse
from app.protocol.schemas import Kind, OcppVersion

_VERSIONS = frozenset(str(v) for v in OcppVersion)
_LINE_SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "capture-line.schema.json"


@dataclass(frozen=True, slots=True)
class Finding:
    location: str  # "file:line" or "payload"
    severity: str  # error | warning | info
    rule: str  # schema | rpc | correlation | capture | a lint rule name (app/inspector/lints.py)
    message: str
    requirement: str = ""  # requirement id the finding is about, when one applies

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: [{self.rule}] {self.message}"
        return f"{text} ({self.requirement})" if self.requirement else text


class FrameChecker:
    """Stateful checker over a sequence of frames of one or more stations."""

    def __init__(self, default_version: OcppVersion = OcppVersion.V21) -> None:
        self.default_version = default_version
        self._calls: dict[tuple[str, str, str], str] = {}  # (station, caller, id) -> action

    def expect_result(self, message_id: str, action: str, *, station: str = "", caller: str = "") -> None:
        """Declare that a result with `message_id` answers a CALL of `action` not seen here."""
        self._calls[(station, caller, message_id)] = action

    def check(
        self, text: str, *, location: str, station: str = "", sender: str = "", version: str | None = None
    ) -> list[Finding]:
        ver = OcppVersion(version) if version in _VERSIONS else self.default_version
        out: list[Finding] = []
        try:
            frame = parse(text, allow_21=ver is OcppVersion.V21)
        except FrameError as exc:
            return [Finding(location, "error", "rpc", f"{exc.error.code}: {exc.error.description}")]
        other = "csms" if sender == "station" else "station" if sender == "csms" else ""
        if isinstance(frame, Call | Send):
            kind = Kind.REQUEST if isinstance(frame, Call) else Kind.SEND
            if not schemas.is_known(ver, frame.action, kind):
                out.append(Finding(location, "error", "rpc", f"{frame.action} is not a {ver} action"))
            else:
                out += _schema_findings(location, ver, frame.action, kind, frame.payload)
            if isinstance(frame, Call):
                self._calls[(station, sender, frame.message_id)] = frame.action
        elif isinstance(frame, CallResult):
            action = self._calls.pop((station, other, frame.message_id), None)
            if action is None:
                out.append(
                    Finding(
                        location,
                        "warning",
                        "correlation",
                        f"result for unknown message id {frame.message_id}",
                        "OCPP-J 4.1.1",
                    )
                )
            else:
                out += _schema_findings(location, ver, action, Kind.RESPONSE, frame.payload)
        elif isinstance(frame, CallError | CallResultError):
            if isinstance(frame, CallError):
                self._calls.pop((station, other, frame.message_id), None)
            if frame.error_code not in known_codes(ver) and frame.message_id != "-1":
                out.append(
                    Finding(
                        location,
                        "warning",
                        "rpc",
                        f"error code {frame.error_code} is not defined in {ver}",
                        "OCPP-J 4.3",
                    )
                )
        return out


def _schema_findings(
    location: str, version: OcppVersion, action: str, kind: Kind, payload: Any
) -> list[Finding]:
    label = f"{action}{'Response' if kind is Kind.RESPONSE else ''}"
    return [
        Finding(location, "error", "schema", f"{label} {p.path or '(payload)'}: {p.message} [{p.code}]")
        for p in schemas.validate(version, action, kind, payload)
    ]


def _line_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(_LINE_SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


# Lint rules whose finding FrameChecker already reports (as rpc/correlation) for a capture.
_COVERED_BY_FRAME_CHECKER = frozenset({"unknown-result-id", "error-code-unknown", "frame-type-version"})


def check_capture(
    path: str | Path, default_version: OcppVersion = OcppVersion.V21, *, timeout: float = 30.0
) -> tuple[list[Finding], int]:
    """Findings for every line of a JSONL capture, and the number of frames checked.

    Each frame gets the schema/RPC checks of FrameChecker and then the protocol lints
    (app/inspector/lints.py; `timeout` is the CALL timeout the lints assume).
    Mirror lines (the second copy of a frame captured at both ends) are skipped, so each frame
    is judged once. Raises CaptureFileError when the file cannot be read at all.
    """
    checker = FrameChecker(default_version)
    linter = Linter(timeout=timeout, disabled=_COVERED_BY_FRAME_CHECKER)
    last_time = datetime(1970, 1, 1, tzinfo=UTC)
    line_validator = _line_validator()
    findings: list[Finding] = []
    frames = 0
    for number, line in read_lines(path):
        location = f"{path}:{number}"
        shape = [e.message for e in line_validator.iter_errors(line)]
        if shape:
            findings.append(Finding(location, "error", "capture", "; ".join(shape)))
            if not isinstance(line.get("frame"), str):
                continue
        if line.get("mirror"):
            continue
        frames += 1
        station = str(line.get("station", ""))
        sender = str(line.get("from", ""))
        version = line.get("version")
        checked = checker.check(
            line["frame"], location=location, station=station, sender=sender, version=version
        )
        findings += checked
        if any(f.rule == "rpc" and f.severity == "error" for f in checked):
            continue  # not a frame of this version at all: nothing for the protocol lints
        last_time = _line_time(line.get("time"), last_time)
        record = CaptureRecord(
            time=last_time,
            connection=str(line.get("connection") or ""),
            station=station,
            sender="csms" if sender == "csms" else "station",
            observer=str(line.get("observer") or ""),
            version=version if version in _VERSIONS else str(default_version),
            raw=line["frame"],
        )
        findings += [
            Finding(location, lint.severity, lint.rule, lint.message, lint.requirement)
            for lint in linter.check(record, location=location)
        ]
    return findings, frames


def _line_time(value: Any, fallback: datetime) -> datetime:
    if not isinstance(value, str):
        return fallback
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return fallback
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_document(
    path: str | Path, *, version: OcppVersion, action: str | None = None, response: bool = False
) -> list[Finding]:
    """A file holding one frame (JSON array) or one payload (JSON object, needs `action`)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CaptureFileError(f"{path}: not JSON: {exc}") from None
    location = str(path)
    if isinstance(doc, list):
        checker = FrameChecker(version)
        if action is not None and doc[:1] == [3] and len(doc) > 1:  # a lone CALLRESULT: say what it answers
            checker.expect_result(str(doc[1]), action)
        return checker.check(text, location=location)
    if isinstance(doc, dict):
        if action is None:
            raise CaptureFileError(f"{path}: a bare payload needs --action to know its schema")
        kind = Kind.RESPONSE if response else Kind.REQUEST
        if not schemas.is_known(version, action, kind):
            raise CaptureFileError(f"{action} is not a {version} action")
        return _schema_findings(location, version, action, kind, doc)
    raise CaptureFileError(f"{path}: expected a frame (JSON array) or a payload (JSON object)")


__all__ = ["CaptureFileError", "Finding", "FrameChecker", "check_capture", "check_document"]
