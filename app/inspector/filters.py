"""The inspector's filter language: parsed once, answered by SQLite or by Python.

    station:CP1 action:TransactionEvent dir:station->csms type:CALL problems
    since:2026-01-01T00:00 until:2026-01-02 "free text"
    TransactionEvent where eventType = Ended and seqNo > 3

Terms are ANDed. `key:value` terms (values may be quoted, `a,b` means either):

    station / conn / id   exact station id, connection name, message id
    action                exact action (a CALLRESULT carries the action of the CALL it answers)
    dir / from            `station->csms`, `csms->station`, or just the sender `station` / `csms`
    type                  CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND (or 2..6)
    since / until         ISO 8601 time; `since` inclusive, `until` exclusive; naive means UTC

`problems` alone keeps frames with validation problems. Any other word, or a quoted string, is
free text: a case-insensitive (ASCII) substring of the raw frame, its problems or its notes.

`[Action] where <field> <op> <value> [and|or ...]` runs to the end of the filter and tests the
frame's payload (element 3 of a CALL/SEND, element 2 of a CALLRESULT, the error details of an
error frame). A field is a path like `eventType`, `transactionInfo.chargingState` or
`meterValue[0].sampledValue[0].value`; ops are = != < <= > >=; values are numbers, true/false,
bare words or quoted strings. `and` binds tighter than `or`. A missing field matches nothing.

`parse_filter(text)` gives a `Filter` with `sql` (a WHERE expression over the `frames` table of
app.inspector.capture_db) and `params` — user text only ever travels as parameters — and
`matches(record)`, the same test for live records in Python. Comparisons follow SQLite's rules
(numbers sort before text, no type conversion) so both answer alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.inspector.records import FRAME_TYPE_NAMES, CaptureRecord


class FilterError(ValueError):
    """A filter that cannot be parsed; `position` is the 0-based offset of the culprit."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        self.message = message
        self.position = position
        self.text = text
        super().__init__(f"{message} (at column {position + 1})")


Predicate = Callable[[CaptureRecord], bool]

_TYPE_NUMBERS = {name.lower(): number for number, name in FRAME_TYPE_NAMES.items()}
_KEYS = ("station", "action", "dir", "from", "type", "since", "until", "conn", "id")
_COLUMNS = {"station": "station", "action": "action", "conn": "connection", "id": "message_id"}
_ATTRS = {"station": "station", "action": "action", "conn": "connection", "id": "message_id"}
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# SQL for "the payload element" of a frame, by message type; the path suffix is a parameter.
PAYLOAD_SQL = (
    "json_extract(raw, (CASE type WHEN 3 THEN '$[2]' WHEN 4 THEN '$[4]' WHEN 5 THEN '$[4]' ELSE '$[3]' END)"
    " || ?)"
)
_PAYLOAD_INDEX = {2: 3, 6: 3, 3: 2, 4: 4, 5: 4}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(slots=True)
class Filter:
    text: str = ""
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    predicates: list[Predicate] = field(default_factory=list)

    @property
    def sql(self) -> str:
        """A WHERE expression ("1" for the empty filter)."""
        return " AND ".join(f"({c})" for c in self.clauses) if self.clauses else "1"

    @property
    def empty(self) -> bool:
        return not self.clauses

    def matches(self, record: CaptureRecord) -> bool:
        return all(p(record) for p in self.predicates)

    def _add(self, clause: str, params: list[Any], predicate: Predicate) -> None:
        self.clauses.append(clause)
        self.params.extend(params)
        self.predicates.append(predicate)


def parse_filter(text: str) -> Filter:
    return _Parser(text).parse()


# --- tokens -----------------------------------------------------------------------------------

_WORD = re.compile(r'[^\s"]+')
_KEY = re.compile(r"([A-Za-z]+):")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![^\s])")
_OP = re.compile(r"==|!=|<>|<=|>=|=|<|>")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.filter = Filter(text=text)

    def error(self, message: str, position: int | None = None) -> FilterError:
        return FilterError(message, self.pos if position is None else position, self.text)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise self.error("unterminated quoted text", start)

    def value(self) -> tuple[str, int, bool]:
        start = self.pos
        if self.pos < len(self.text) and self.text[self.pos] == '"':
            return self.quoted(), start, True
        m = _WORD.match(self.text, self.pos)
        if not m:
            raise self.error("a value is missing")
        self.pos = m.end()
        return m.group(), start, False

    def peek_word(self) -> tuple[str, int, int] | None:
        m = _WORD.match(self.text, self.pos)
        return (m.group(), m.start(), m.end()) if m else None

    def parse(self) -> Filter:
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                return self.filter
            if self.text[self.pos] == '"':
                start = self.pos
                needle = self.quoted()
                if not needle:
                    raise self.error("empty quoted text", start)
                self.free_text(needle)
                continue
            key = _KEY.match(self.text, self.pos)
            if key:
                name = key.group(1).lower()
                if name not in _KEYS:
                    raise self.error(
                        f"unknown filter {key.group(1)!r} (known: {', '.join(_KEYS)}); "
                        'put text with a colon in quotes: "a:b"'
                    )
                self.pos = key.end()
                value, at, quoted = self.value()
                self.term(name, [value] if quoted else [v for v in value.split(",") if v], at)
                continue
            word, start, end = self.peek_word() or ("", self.pos, self.pos)
            self.pos = end
            if word.lower() == "problems":
                self.filter._add("problems IS NOT NULL", [], lambda r: bool(r.problems))
                continue
            if word.lower() == "where":
                self.where(None)
                return self.filter
            self.skip_space()
            after = self.peek_word()
            if after and after[0].lower() == "where":
                self.pos = after[2]
                self.where(word)
                return self.filter
            self.free_text(word)

    # --- terms --------------------------------------------------------------------------------

    def term(self, name: str, values: list[str], at: int) -> None:
        if not values:
            raise self.error(f"{name}: a value is missing", at)
        if name in _COLUMNS:
            self.column_in(_COLUMNS[name], _ATTRS[name], values)
        elif name in ("dir", "from"):
            senders: list[str] = []
            for v in values:
                sender = v.lower().split("->")[0].strip()
                if sender not in ("station", "csms"):
                    raise self.error(f"{name}: expected station->csms, csms->station, station or csms", at)
                senders.append(sender)
            self.column_in("sender", "sender", senders)
        elif name == "type":
            numbers: list[int] = []
            for v in values:
                if v.isdigit() and int(v) in FRAME_TYPE_NAMES:
                    numbers.append(int(v))
                elif v.lower() in _TYPE_NUMBERS:
                    numbers.append(_TYPE_NUMBERS[v.lower()])
                else:
                    names = ", ".join(FRAME_TYPE_NAMES.values())
                    raise self.error(f"type: {v!r} is not a frame type ({names})", at)
            wanted_types = set(numbers)
            self.filter._add(
                f"type IN ({','.join('?' * len(numbers))})",
                list(numbers),
                lambda r: r.message_type in wanted_types,
            )
        else:  # since / until
            if len(values) != 1:
                raise self.error(f"{name}: one time only", at)
            try:
                moment = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
            except ValueError:
                raise self.error(f"{name}: {values[0]!r} is not an ISO 8601 time", at) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            epoch = moment.timestamp()
            if name == "since":
                self.filter._add("time >= ?", [epoch], lambda r: r.time.timestamp() >= epoch)
            else:
                self.filter._add("time < ?", [epoch], lambda r: r.time.timestamp() < epoch)

    def column_in(self, column: str, attribute: str, values: list[str]) -> None:
        wanted = set(values)
        clause = f"{column} = ?" if len(values) == 1 else f"{column} IN ({','.join('?' * len(values))})"
        self.filter._add(clause, list(values), lambda r: getattr(r, attribute) in wanted)

    def free_text(self, needle: str) -> None:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        lowered = needle.translate(_ASCII_LOWER)

        def predicate(r: CaptureRecord) -> bool:
            return (
                lowered in r.raw.translate(_ASCII_LOWER)
                or (bool(r.problems) and lowered in _lowered_json(r.problems))
                or (bool(r.notes) and lowered in _lowered_json(r.notes))
            )

        self.filter._add(
            "raw LIKE ? ESCAPE '\\' OR problems LIKE ? ESCAPE '\\' OR notes LIKE ? ESCAPE '\\'",
            [pattern, pattern, pattern],
            predicate,
        )

    # --- where --------------------------------------------------------------------------------

    def where(self, action: str | None) -> None:
        if action is not None:
            self.column_in("action", "action", [action])
        alternatives: list[tuple[list[str], list[Any], list[Callable[[Any], bool]]]] = []
        clauses: list[str] = []
        params: list[Any] = []
        preds: list[Callable[[Any], bool]] = []
        while True:
            c, p, pred = self.condition()
            clauses.append(c)
            params.extend(p)
            preds.append(pred)
            self.skip_space()
            if self.pos >= len(self.text):
                break
            word = self.peek_word()
            joiner = word[0].lower() if word else ""
            if joiner not in ("and", "or"):
                raise self.error("expected 'and', 'or' or the end of the filter after a condition")
            self.pos = word[2] if word else self.pos
            if joiner == "or":
                alternatives.append((clauses, params, preds))
                clauses, params, preds = [], [], []
        alternatives.append((clauses, params, preds))
        sql = " OR ".join("(" + " AND ".join(cs) + ")" for cs, _, _ in alternatives)
        all_params = [p for _, ps, _ in alternatives for p in ps]
        groups = [ps for _, _, ps in alternatives]

        def predicate(r: CaptureRecord) -> bool:
            payload = _payload(r)
            return any(all(p(payload) for p in group) for group in groups)

        self.filter._add(sql, all_params, predicate)

    def condition(self) -> tuple[str, list[Any], Callable[[Any], bool]]:
        self.skip_space()
        m = _PATH.match(self.text, self.pos)
        if not m:
            raise self.error("expected a payload field name (like eventType or meterValue[0].timestamp)")
        path_text = m.group()
        if path_text.lower() in ("and", "or"):
            raise self.error("expected a payload field name, not a keyword")
        self.pos = m.end()
        self.skip_space()
        op_m = _OP.match(self.text, self.pos)
        if not op_m:
            raise self.error(f"expected an operator (= != < <= > >=) after {path_text!r}")
        op = _OPS[op_m.group()]
        self.pos = op_m.end()
        self.skip_space()
        if self.pos >= len(self.text):
            raise self.error(f"expected a value after {path_text} {op}")
        operand: Any
        if self.text[self.pos] == '"':
            operand = self.quoted()
        else:
            num = _NUMBER.match(self.text, self.pos)
            word, _, end = self.peek_word() or ("", self.pos, self.pos)
            if num:
                operand = float(num.group()) if any(c in num.group() for c in ".eE") else int(num.group())
                self.pos = num.end()
            elif word.lower() in ("true", "false"):
                operand = 1 if word.lower() == "true" else 0
                self.pos = end
            else:
                operand = word
                self.pos = end
        steps = _steps(path_text)
        json_path = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
        sql = f"{PAYLOAD_SQL} {op} ?"

        def predicate(payload: Any) -> bool:
            found, value = _walk(payload, steps)
            return found and _compare(_sql_value(value), op, operand)

        return sql, [json_path, operand], predicate


def _lowered_json(items: list[str]) -> str:
    """How the database stores problems / notes, lowered as LIKE compares."""
    return json.dumps(items, ensure_ascii=False).translate(_ASCII_LOWER)


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path):
        steps.append(part.group(1) if part.group(1) else int(part.group(2)))
    return steps


def _payload(record: CaptureRecord) -> Any:
    """The payload element as SQL sees it: always taken from the raw frame."""
    index = _PAYLOAD_INDEX.get(record.message_type or 0, 3)
    try:
        frame = json.loads(record.raw)
    except ValueError:
        return None
    if isinstance(frame, list) and len(frame) > index:
        return frame[index]
    return None


def _walk(node: Any, steps: list[str | int]) -> tuple[bool, Any]:
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return False, None
        elif not isinstance(node, dict) or step not in node:
            return False, None
        node = node[step]
    return True, node


def _sql_value(value: Any) -> Any:
    """What json_extract returns for a JSON value (None for null)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return False  # NULL compares to nothing
    # SQLite without affinity: numbers sort before text; equal classes compare by value.
    lrank = 2 if isinstance(left, str) else 1
    rrank = 2 if isinstance(right, str) else 1
    a: Any = left
    b: Any = right
    if lrank != rrank:
        a, b = lrank, rrank
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


__all__ = ["PAYLOAD_SQL", "Filter", "FilterError", "parse_filter"]
