"""The OCA JSON schemas, loaded as data from the `ocpp` package, and compiled validators.

Validation runs on every frame in and out, so it is the hot path: jsonschema-rs is used here
(bench/bench_validation.py measures it against jsonschema: ~300x faster with equally precise
error paths). Validators are compiled lazily and cached per (version, action, kind).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import ocpp


class OcppVersion(StrEnum):
    """WebSocket subprotocol names, which are also how a connection's version is named."""

    V16 = "ocpp1.6"
    V201 = "ocpp2.0.1"
    V21 = "ocpp2.1"


class Kind(StrEnum):
    REQUEST = "request"  # CALL payload
    RESPONSE = "response"  # CALLRESULT payload
    SEND = "send"  # SEND payload (2.1)


_DIRS = {OcppVersion.V16: "v16", OcppVersion.V201: "v201", OcppVersion.V21: "v21"}

# Which RPC error code a kind of schema failure maps to. OCPP does not fix this mapping; this
# one follows the code descriptions of Part 4 §4.3 (see ocpp21-notes §1.5).
_CODE_BY_KIND = {
    "Required": "OccurrenceConstraintViolation",
    "MinItems": "OccurrenceConstraintViolation",
    "MaxItems": "OccurrenceConstraintViolation",
    "Type": "TypeConstraintViolation",
    "AdditionalProperties": "FormatViolation",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One schema violation: where (dotted path into the payload), what, and the RPC code."""

    path: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.path or '(payload)'}: {self.message}"


def schema_dir(version: OcppVersion) -> Path:
    return Path(ocpp.__file__).parent / _DIRS[version] / "schemas"


def _file_name(version: OcppVersion, action: str, kind: Kind) -> str:
    if kind is Kind.SEND:
        return f"{action}.json"
    if version is OcppVersion.V16:
        return f"{action}.json" if kind is Kind.REQUEST else f"{action}Response.json"
    return f"{action}{'Request' if kind is Kind.REQUEST else 'Response'}.json"


@cache
def actions(version: OcppVersion) -> frozenset[str]:
    """Every CALL action the version defines (SEND actions excluded)."""
    names = set()
    for path in schema_dir(version).glob("*Response.json"):
        names.add(path.name.removesuffix("Response.json"))
    return frozenset(names)


@cache
def send_actions(version: OcppVersion) -> frozenset[str]:
    if version is not OcppVersion.V21:
        return frozenset()
    calls = actions(version)
    found = set()
    for path in schema_dir(version).glob("*.json"):
        stem = path.stem
        if not stem.endswith(("Request", "Response")) and stem not in calls:
            found.add(stem)
    return frozenset(found)


@cache
def schema(version: OcppVersion, action: str, kind: Kind) -> dict[str, Any] | None:
    path = schema_dir(version) / _file_name(version, action, kind)
    if not path.is_file():
        return None
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def resolve_ref(node: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Follow a node's local `$ref`s to the definition (keys next to a `$ref`, such as the
    property's own description, win over the definition's); also the definition's name."""
    name = ""
    for _ in range(20):  # a cycle of references ends here rather than hanging
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            break
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            break
        name = ref.rsplit("/", 1)[-1]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node, name


@cache
def _validator(version: OcppVersion, action: str, kind: Kind) -> Any:
    doc = schema(version, action, kind)
    if doc is None:
        return None
    return jsonschema_rs.validator_for(doc, validate_formats=True)


def _dotted(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(version: OcppVersion, action: str, kind: Kind, payload: Any) -> list[Problem]:
    """All schema problems of one payload; an unknown action yields no problems (caller decides)."""
    validator = _validator(version, action, kind)
    if validator is None:
        return []
    problems = []
    for err in validator.iter_errors(payload):
        kind_name = type(err.kind).__name__
        problems.append(
            Problem(
                _dotted(list(err.instance_path)),
                err.message,
                _CODE_BY_KIND.get(kind_name, "PropertyConstraintViolation"),
            )
        )
    return problems


def is_known(version: OcppVersion, action: str, kind: Kind = Kind.REQUEST) -> bool:
    if kind is Kind.SEND:
        return action in send_actions(version)
    return action in actions(version)
