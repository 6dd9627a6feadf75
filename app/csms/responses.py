"""Valid answers for any action, built from the action's own response schema.

The built-in CSMS must answer every station-initiated action of a version with a payload that
passes that version's schema. Rather than one hand-written builder per action (36 in 2.1),
the minimal valid payload is derived from the schema: required fields only, "Accepted" where an
enum offers it, the current time for date-times. Actions with meaning beyond that (boot
interval, token verdicts, transaction ids) are filled in by the CSMS on top.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from app.clock import utc_timestamp
from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion

_PREFERRED_ENUM_VALUES = ("Accepted", "Unlocked", "Succeeded")


def minimal_response(version: OcppVersion, action: str, now: datetime) -> dict[str, Any]:
    doc = schemas.schema(version, action, Kind.RESPONSE)
    if doc is None:
        raise KeyError(f"{action} has no response schema in {version}")
    return _fill(_template(version, action), utc_timestamp(now))


@cache
def _template(version: OcppVersion, action: str) -> Any:
    doc = schemas.schema(version, action, Kind.RESPONSE)
    assert doc is not None
    return _build(doc, doc)


_NOW = object()  # placeholder for "current time", substituted per answer



def _build(node: dict[str, Any], root: dict[str, Any]) -> Any:
    node = schemas.resolve_ref(node, root)[0]
    if "enum" in node:
        values = node["enum"]
        return next((v for v in _PREFERRED_ENUM_VALUES if v in values), values[0])
    kind = node.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        return {name: _build(props[name], root) for name in node.get("required", []) if name in props}
    if kind == "array":
        count = node.get("minItems", 0)
        return [_build(node.get("items", {}), root) for _ in range(count)]
    if kind == "string":
        if node.get("format") == "date-time":
            return _NOW
        return "x" * node.get("minLength", 0)
    if kind in ("integer", "number"):
        return node.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


def _fill(template: Any, now: str) -> Any:
    if template is _NOW:
        return now
    if isinstance(template, dict):
        return {k: _fill(v, now) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, now) for v in template]
    return template
