"""Read a scenario file: safe YAML only, checked against schemas/scenario.schema.json, every
mistake reported with its line.

YAML is composed into nodes first (which keep their line numbers) and loaded with the safe
loader, so a tag such as !!python/object is refused, never constructed. Schema error paths are
mapped back to lines through the node tree.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from app.inspector.filters import FilterError, parse_filter
from app.scenarios.model import STEP_KINDS, Scenario, StationSpec, Step
from app.station.profile import Problem, format_path, list_templates, yaml_line

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "scenario.schema.json"
LIBRARY_DIR = Path(__file__).resolve().parents[2] / "resources" / "scenarios"

PathPart = str | int


class ScenarioError(ValueError):
    """A scenario that cannot run; `str()` lists every problem as `file:line: field: why`."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = tuple(problems)
        super().__init__("\n".join(problem.render(file) for problem in self.problems))


def library() -> list[Path]:
    """The bundled scenarios, by file name."""
    return sorted(LIBRARY_DIR.glob("*.yaml"))


def load_scenario(path: str | Path) -> Scenario:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(str(path), [Problem(None, "", f"cannot read the scenario: {error}")]) from None
    return parse_scenario(text, file=str(path), base=file.parent)


def parse_scenario(text: str, *, file: str = "<scenario>", base: Path | None = None) -> Scenario:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScenarioError(file, [_yaml_problem(error)]) from None
    problems = _duplicate_keys(root)
    if not problems and not isinstance(data, dict):
        problems = [Problem(1, "", "a scenario is a mapping with name, stations and steps")]
    if not problems:
        problems = _schema_problems(data, root)
    if not problems:
        problems = _rule_problems(data, root, base)
    if problems:
        raise ScenarioError(file, sorted(problems, key=lambda p: (p.line or 0, p.path)))
    return _build(data, root, file, base)


# ---------------------------------------------------------------------------------------------


def _yaml_problem(error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(error, "problem", None) or str(error)
    if "could not determine a constructor" in problem:
        return Problem(line, "", "YAML tags are not allowed: a scenario holds plain data only")
    return Problem(line, "", f"YAML syntax error: {problem}")


def _duplicate_keys(root: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                stack.append(value)
                if not isinstance(key, yaml.ScalarNode):
                    continue
                line = key.start_mark.line + 1
                if key.value in first:
                    message = f"duplicate key {key.value!r} (first on line {first[key.value]})"
                    problems.append(Problem(line, "", message))
                first.setdefault(key.value, line)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return problems


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _schema_problems(data: Any, root: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(data):
        path = tuple(error.absolute_path)
        where = format_path(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key in known:
                    continue
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                message = f"unknown key {key!r}; {hint}expected one of: {', '.join(known)}"
                problems.append(Problem(yaml_line(root, (*path, key)), where, message))
            continue
        if error.validator == "oneOf" and len(path) == 2 and path[0] == "steps":
            kinds = [k for k in STEP_KINDS if k in error.instance]
            message = (
                f"one step does one thing: found {', '.join(kinds)}; split it into separate steps"
                if kinds
                else f"a step needs one of: {', '.join(STEP_KINDS)}"
            )
            problems.append(Problem(yaml_line(root, path), where, message))
            continue
        if error.validator == "anyOf":
            # Which alternative was meant is a guess; the deepest error names the real mistake.
            best = jsonschema.exceptions.best_match(error.context or [])
            message = best.message if best is not None else error.message
            problems.append(Problem(yaml_line(root, path), where, message))
            continue
        problems.append(Problem(yaml_line(root, path), where, error.message))
    return problems


def _rule_problems(data: dict[str, Any], root: yaml.Node | None, base: Path | None) -> list[Problem]:
    """What the schema cannot say: names that must refer to something that exists."""
    problems: list[Problem] = []
    ids: list[str] = []
    templates = {t.name for t in list_templates()}
    for index, station in enumerate(data["stations"]):
        path: tuple[PathPart, ...] = ("stations", index)
        if station["id"] in ids:
            where = format_path(path)
            problems.append(Problem(yaml_line(root, (*path, "id")), where, "station id used twice"))
        ids.append(station["id"])
        if "template" in station and "profile" in station:
            problems.append(_problem(root, path, "give template or profile, not both"))
        if "template" in station and station["template"] not in templates:
            message = f"no template {station['template']!r}; available: {', '.join(sorted(templates))}"
            problems.append(_problem(root, (*path, "template"), message))
        if "profile" in station and not ((base or Path.cwd()) / station["profile"]).is_file():
            message = f"profile file {station['profile']!r} not found next to the scenario"
            problems.append(_problem(root, (*path, "profile"), message))
    for index, step in enumerate(data["steps"]):
        for match_path in _match_paths(step):
            problems += _filter_problems(step, match_path, root, ("steps", index))
        if "station" in step and step["station"] not in ids:
            path = ("steps", index, "station")
            message = f"no station {step['station']!r} in this scenario; stations: {', '.join(ids)}"
            problems.append(Problem(yaml_line(root, path), format_path(path), message))
    return problems


def _problem(root: yaml.Node | None, path: tuple[PathPart, ...], message: str) -> Problem:
    return Problem(yaml_line(root, path), format_path(path), message)


def _match_paths(step: dict[str, Any]) -> list[tuple[str, ...]]:
    if "expect" in step:
        return [("expect",)]
    if isinstance(step.get("wait"), dict) and "until" in step["wait"]:
        return [("wait", "until")]
    return []


def _filter_problems(
    step: dict[str, Any], match_path: tuple[str, ...], root: yaml.Node | None, at: tuple[PathPart, ...]
) -> list[Problem]:
    match = step
    for part in match_path:
        match = match[part]
    if "filter" not in match:
        return []
    try:
        parse_filter(match["filter"])
    except FilterError as error:
        path = (*at, *match_path, "filter")
        return [Problem(yaml_line(root, path), format_path(path), f"filter: {error}")]
    return []


def _build(data: dict[str, Any], root: yaml.Node | None, file: str, base: Path | None) -> Scenario:
    stations = tuple(
        StationSpec(
            station_id=s["id"],
            template=s.get("template"),
            profile=str((base or Path.cwd()) / s["profile"]) if "profile" in s else None,
            evses=s.get("evses", 1),
            ocpp=s.get("ocpp"),
            settings={key: _setting(value) for key, value in (s.get("set") or {}).items()},
        )
        for s in data["stations"]
    )
    steps = []
    for index, raw in enumerate(data["steps"]):
        kind = next(k for k in STEP_KINDS if k in raw)
        steps.append(
            Step(
                kind=kind,
                args=raw[kind],
                line=yaml_line(root, ("steps", index)),
                station=raw.get("station"),
                label=raw.get("label"),
            )
        )
    csms = dict(data.get("csms") or {})
    return Scenario(
        name=data["name"],
        description=" ".join(str(data.get("description", "")).split()),
        stations=stations,
        steps=tuple(steps),
        speed=data.get("speed"),
        csms_url=csms.pop("url", None),
        csms=csms,
        path=file,
    )


def _setting(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
