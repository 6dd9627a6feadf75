"""What the CSMS console needs to offer a form for any CSMS→station action.

The console must cover every action a CSMS may send (54 in 2.1) without a hand-made form per
action, so the form is generated from the action's OCA request schema: this module turns the
schema into a tree of `FieldSpec` ($ref resolved, descriptions cleaned for tooltips), builds a
starting payload that already passes the schema, and validates payloads with the validator
the inspector uses, so the console and the inspector never disagree about a frame.
Pure Python: the Qt form in ui/csms_console.py is one reader of it, tests are another.
"""

from __future__ import annotations

import html
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from app.clock import utc_timestamp
from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion, Problem

KINDS = ("string", "integer", "number", "boolean", "object", "array")

# Vendor extension points: real chargers rarely need them from a console, and they would add
# a group box to nearly every object of 2.x forms. Raw JSON still carries them.
_HIDDEN = frozenset({"customData"})

# Enum values a starting payload prefers over the first one: the harmless choice, so a Send
# pressed too early neither takes a real charger out of service nor cuts a running charge.
_PREFERRED_ENUM_VALUES = ("Operative", "OnIdle", "TxDefaultProfile")
_EXAMPLE_URI = "https://example.com/"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a request: what the form shows and what its value must satisfy."""

    name: str  # property name; "" for the payload itself and for array items
    kind: str  # one of KINDS
    required: bool = False
    description: str = ""
    type_name: str = ""  # the schema definition it came from, e.g. "EVSEType"
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    min_items: int = 0
    max_items: int | None = None
    format: str = ""  # "date-time", "uri"
    default: Any = None
    children: tuple[FieldSpec, ...] = ()  # object properties, schema order
    item: FieldSpec | None = None  # array items

    @property
    def date_time(self) -> bool:
        return self.format == "date-time"

    def child(self, name: str) -> FieldSpec:
        return next(c for c in self.children if c.name == name)


@cache
def form_spec(version: OcppVersion, action: str, kind: Kind = Kind.REQUEST) -> FieldSpec:
    """The field tree of an action's payload; KeyError if the version has no such schema."""
    doc = schemas.schema(version, action, kind)
    if doc is None:
        raise KeyError(f"{action} has no {kind} schema in {version}")
    return _spec("", doc, doc, required=True, depth=0)



def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _spec(name: str, node: dict[str, Any], root: dict[str, Any], *, required: bool, depth: int) -> FieldSpec:
    if depth > 20:  # no OCA schema nests this deep; a cycle would otherwise never end
        raise ValueError(f"schema nests deeper than 20 levels at {name!r}")
    described = node.get("description", "")
    node, type_name = schemas.resolve_ref(node, root)
    kind = node.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k in KINDS), "string")
    if kind not in KINDS:
        raise ValueError(f"unsupported schema type {kind!r} at {name!r}")
    description = _clean(described or node.get("description", ""))
    children: tuple[FieldSpec, ...] = ()
    item = None
    if kind == "object":
        wanted = set(node.get("required", []))
        children = tuple(
            _spec(child, sub, root, required=child in wanted, depth=depth + 1)
            for child, sub in node.get("properties", {}).items()
            if child not in _HIDDEN
        )
    elif kind == "array":
        item = _spec("", node.get("items", {}), root, required=True, depth=depth + 1)
    return FieldSpec(
        name=name,
        kind=kind,
        required=required,
        description=description,
        type_name=type_name or node.get("title", ""),
        enum=tuple(node.get("enum", ())),
        minimum=node.get("minimum"),
        maximum=node.get("maximum"),
        max_length=node.get("maxLength"),
        min_items=node.get("minItems", 0),
        max_items=node.get("maxItems"),
        format=node.get("format", ""),
        default=node.get("default"),
        children=children,
        item=item,
    )


def starting_value(spec: FieldSpec, now: datetime) -> Any:
    """A value that passes the schema: required fields only, schema defaults where given.

    Like the built-in CSMS's minimal answers (app/csms/responses.py), but for requests: the
    engineer edits from here, so plain zeros and empty strings beat invented data.
    """
    if spec.kind == "object":
        return {c.name: starting_value(c, now) for c in spec.children if c.required}
    if spec.kind == "array":
        assert spec.item is not None
        return [starting_value(spec.item, now) for _ in range(spec.min_items)]
    if spec.default is not None:
        return spec.default
    if spec.enum:
        return next((v for v in _PREFERRED_ENUM_VALUES if v in spec.enum), spec.enum[0])
    if spec.kind == "string":
        if spec.date_time:
            return utc_timestamp(now)
        return _EXAMPLE_URI if spec.format == "uri" else ""
    if spec.kind == "boolean":
        return False
    low = spec.minimum if spec.minimum is not None and spec.minimum > 0 else 0
    return int(low) if spec.kind == "integer" else float(low)


def starting_payload(version: OcppVersion, action: str, now: datetime) -> dict[str, Any]:
    value = starting_value(form_spec(version, action), now)
    assert isinstance(value, dict)
    return value


def validate(version: OcppVersion, action: str, payload: Any) -> list[Problem]:
    """Schema problems of a request payload, as the inspector reports them for the frame."""
    return schemas.validate(version, action, Kind.REQUEST, payload)


def enum_of(version: OcppVersion, action: str, kind: Kind, *path: str) -> tuple[str, ...]:
    """The enum values at a field path, e.g. the idToken statuses a CSMS may answer."""
    spec = form_spec(version, action, kind)
    for name in path:
        spec = spec.child(name)
    return spec.enum


def authorization_statuses(version: OcppVersion) -> tuple[str, ...]:
    if version is OcppVersion.V16:
        return enum_of(version, "Authorize", Kind.RESPONSE, "idTagInfo", "status")
    return enum_of(version, "Authorize", Kind.RESPONSE, "idTokenInfo", "status")


@dataclass(slots=True)
class RecentSends:
    """The last payloads sent per action, newest first, without repeats: what an engineer
    reaches for when repeating a test against a charger."""

    per_action: int = 10
    _by_action: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)

    def add(self, action: str, payload: dict[str, Any]) -> None:
        recent = self._by_action.setdefault(action, deque(maxlen=self.per_action))
        if payload in recent:
            recent.remove(payload)
        recent.appendleft(payload)

    def of(self, action: str) -> list[dict[str, Any]]:
        return list(self._by_action.get(action, ()))
