"""Station profiles: YAML or JSON files that describe one station, and the bundled templates.

A profile is what a tester edits by hand, so every mistake is reported with the file, the line
and the field it concerns (`station.yaml:12: evses[0].connectors[0].type: ...`), all at once
rather than one per attempt. The format is `schemas/station-profile.schema.json`; this module
adds what a schema cannot say: cross-field rules, environment variables, and device-model
overrides checked against the very model the station will build.

Files are read as data only: YAML through `yaml.safe_load` (no tags that construct Python
objects), JSON through `json.loads`.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Final

import jsonschema
import yaml

from app.clock import Clock
from app.protocol.schemas import OcppVersion
from app.station.config import ConnectorSpec, EvseSpec, StationConfig
from app.station.device_model import DeviceModel, OverrideValue, to_text

_ROOT: Final = Path(__file__).resolve().parents[2]
SCHEMA_PATH: Final = _ROOT / "schemas" / "station-profile.schema.json"
TEMPLATES_DIR: Final = _ROOT / "resources" / "templates"

PathPart = str | int
JsonPath = tuple[PathPart, ...]

_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENUM_TEXT_LIMIT: Final = 400  # characters of allowed values listed in one message


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a profile; `line` is 1-based, None when it cannot be placed."""

    line: int | None
    path: str  # "evses[0].connectors[0].type"; "" for the file as a whole
    message: str

    def render(self, file: str) -> str:
        where = file if self.line is None else f"{file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ProfileError(ValueError):
    """A profile cannot be used; `str()` lists every problem, one `file:line: field: why` each."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = tuple(problems)
        super().__init__("\n".join(problem.render(file) for problem in self.problems))


def format_path(path: Sequence[PathPart]) -> str:
    """`('evses', 0, 'type')` -> `evses[0].type`; keys that are not identifiers go in brackets.

    Device-model keys contain dots and brackets themselves, so `deviceModel["TxCtrlr.X"]` keeps
    the field path unambiguous.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part) or part == "$schema":
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


# ---------------------------------------------------------------------------------------------
# Reading: text -> data + a map from field paths to lines
# ---------------------------------------------------------------------------------------------


class _Lines:
    """Finds the line of a field in the composed YAML node tree (JSON is YAML enough for this)."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def line(self, path: Sequence[PathPart]) -> int | None:
        return yaml_line(self._root, path)


def yaml_line(root: yaml.Node | None, path: Sequence[PathPart]) -> int | None:
    """The line of the deepest node on `path` that exists; a mapping entry is its key's line
    (for error messages that point into a YAML or JSON file the user wrote)."""
    node = root
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _yaml_problem(error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(error, "problem", None) or str(error)
    tag = re.search(r"could not determine a constructor for the tag '([^']*)'", problem)
    if tag:
        shown = tag[1].replace("tag:yaml.org,2002:", "!!")
        return Problem(line, "", f"YAML tag {shown!r} is not allowed: a profile holds plain data only")
    context = getattr(error, "context", None)
    text = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return Problem(line, "", text)


def _duplicate_keys(root: yaml.Node | None) -> list[Problem]:
    """`safe_load` keeps the last of two equal keys silently; a profile author meant one of them."""
    problems: list[Problem] = []
    seen_nodes: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                stack.append(value_node)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key_node.start_mark.line + 1
                if key_node.value in first:
                    problems.append(
                        Problem(
                            line,
                            "",
                            f"duplicate key {key_node.value!r} (first given on line {first[key_node.value]})",
                        )
                    )
                else:
                    first[key_node.value] = line
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return problems


def _looks_like_json(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return True
    if suffix in (".yaml", ".yml"):
        return False
    return text.lstrip().startswith("{")


def _parse(path: Path, text: str) -> tuple[Any, _Lines]:
    """Data and line map of a profile's text; ProfileError for anything that is not plain data."""
    file = str(path)
    if _looks_like_json(path, text):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ProfileError(file, [Problem(error.lineno, "", f"JSON syntax error: {error.msg}")]) from None
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:  # valid JSON that YAML 1.1 cannot read: no line numbers, still usable
            root = None
        return data, _Lines(root)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ProfileError(file, [_yaml_problem(error)]) from None
    duplicates = _duplicate_keys(root)
    if duplicates:
        raise ProfileError(file, duplicates)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ProfileError(file, [_yaml_problem(error)]) from None
    return data, _Lines(root)


# ---------------------------------------------------------------------------------------------
# Schema validation with messages a profile author can act on
# ---------------------------------------------------------------------------------------------


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


_PATTERN_HINTS: Final = {
    "id": "must not contain ':' (it becomes part of the CSMS URL)",
    "url": "must be a WebSocket URL: ws://host:port/path or wss://host:port/path",
    "passwordEnv": "must be an environment variable name (letters, digits and _, not starting with a digit)",
    "dataTransfer": (
        "keys are 'vendorId' (1..255 characters) or 'vendorId/messageId' (messageId 1..50 characters)"
    ),
}
_JSON_TYPES: Final = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping of keys to values",
    "array": "a list",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _enum_message(value: Any, allowed: Sequence[Any]) -> str:
    if not isinstance(value, str) and str(value) in allowed:
        return f"{_shown(value)} is read as a number here; write it in quotes: '{value}'"
    choices = ", ".join(str(choice) for choice in allowed)
    if len(choices) > _ENUM_TEXT_LIMIT:
        choices = choices[:_ENUM_TEXT_LIMIT] + "..."
    hint = ""
    if isinstance(value, str):
        folded = {str(choice).casefold(): str(choice) for choice in allowed}
        close = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean {folded[close[0]]!r}?"
    return f"{_shown(value)} is not one of {choices}{hint}"


def _schema_problems(data: Any, lines: _Lines) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(data):
        path: JsonPath = tuple(error.absolute_path)
        kind = error.validator
        instance = error.instance
        field = next((part for part in reversed(path) if isinstance(part, str)), "")
        if kind == "additionalProperties" and isinstance(instance, Mapping):
            known = list(error.schema.get("properties", {}))
            for key in instance:
                if key in known:
                    continue
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                message = (
                    f"unknown key; {hint}expected one of: {', '.join(k for k in known if k != '$schema')}"
                )
                problems.append(Problem(lines.line((*path, key)), format_path((*path, key)), message))
            continue
        if "propertyNames" in error.schema_path:  # `instance` is a key of the mapping at `path`
            key_path = (*path, str(instance))
            message = f"invalid key {_shown(instance)}: " + _PATTERN_HINTS.get(field, error.message)
            problems.append(Problem(lines.line(key_path), format_path(key_path), message))
            continue
        if kind == "enum":
            message = _enum_message(instance, error.validator_value)
        elif kind == "type":
            wanted = error.validator_value
            names = [wanted] if isinstance(wanted, str) else list(wanted)
            expected = " or ".join(_JSON_TYPES.get(name, name) for name in names)
            if instance is None:
                message = f"no value given; expected {expected}"
            elif "string" in names and isinstance(instance, int | float):
                message = f"{_shown(instance)} is read as a {type(instance).__name__}; write it in quotes"
            else:
                message = f"{_shown(instance)} is not {expected}"
        elif kind == "pattern":
            message = f"{_shown(instance)}: " + _PATTERN_HINTS.get(
                field, f"does not match {error.validator_value}"
            )
        elif kind == "minLength":
            message = f"{_shown(instance)} is too short: at least {error.validator_value} characters"
        elif kind == "maxLength":
            message = (
                f"{_shown(instance)} is too long: {len(instance)} characters, at most {error.validator_value}"
            )
        elif kind == "exclusiveMinimum":
            message = f"{_shown(instance)} must be greater than {error.validator_value}"
        elif kind == "anyOf" and path[:1] == ("deviceModel",):
            message = f"{_shown(instance)} is not text, a number, true/false or a list of those"
        else:
            message = error.message
        problems.append(Problem(lines.line(path), format_path(path), message))
    return problems


# ---------------------------------------------------------------------------------------------
# Profile data -> StationConfig
# ---------------------------------------------------------------------------------------------


def _resolve_file(base: Path, value: str | None) -> str | None:
    """Paths in a profile are relative to the profile, so a profile directory can be moved."""
    if value is None:
        return None
    return str((base / Path(value).expanduser()).resolve())


def _check_rules(
    data: Mapping[str, Any], lines: _Lines, *, station_id: str | None, csms_url: str | None
) -> list[Problem]:
    """Rules across fields that the schema states only in words."""
    problems: list[Problem] = []

    def add(path: JsonPath, message: str) -> None:
        problems.append(Problem(lines.line(path), format_path(path), message))

    csms = data.get("csms", {})
    if station_id is None and "id" not in data:
        add((), "no station id: add 'id: ...' or give one when loading")
    if station_id is not None and (not 1 <= len(station_id) <= 48 or ":" in station_id):
        problems.append(
            Problem(None, "", f"station id {station_id!r} (given when loading): 1..48 characters without ':'")
        )
    url = csms_url if csms_url is not None else csms.get("url")
    if url is None:
        add(
            ("csms",) if "csms" in data else (),
            "no CSMS URL: add 'csms: {url: ws://...}' or give one when loading",
        )
    elif csms_url is not None and not re.fullmatch(r"wss?://\S+", url):
        problems.append(Problem(None, "", f"CSMS URL {url!r} (given when loading) {_PATTERN_HINTS['url']}"))
    profile = csms.get("securityProfile", 1)
    if url is not None and profile in (2, 3) and not url.lower().startswith("wss://"):
        where: JsonPath = ("csms", "url") if csms_url is None else ("csms", "securityProfile")
        add(where, f"security profile {profile} runs over TLS: the CSMS URL must start with wss://")
    if "password" in csms and "passwordEnv" in csms:
        add(("csms", "passwordEnv"), "give either password or passwordEnv, not both")
    if profile == 3:
        for key in ("clientCert", "clientKey"):
            if key not in csms:
                add(("csms",), f"security profile 3 needs {key} (the station's client certificate)")
    elif ("clientCert" in csms) != ("clientKey" in csms):
        add(("csms",), "clientCert and clientKey go together")
    for n, evse in enumerate(data.get("evses", [])):
        phases = evse.get("phases", 3)
        if phases == 0 and "dcMaxPower" not in evse:
            add(("evses", n), "a DC EVSE (phases: 0) needs dcMaxPower, its rated power in W")
        if phases != 0 and "dcMaxPower" in evse:
            add(("evses", n, "dcMaxPower"), "dcMaxPower is for DC EVSEs only: set phases: 0 or remove it")
        evse_current = evse.get("maxCurrent", 32)
        for m, connector in enumerate(evse.get("connectors", [])):
            current = connector.get("maxCurrent")
            if current is not None and current > evse_current:
                add(
                    ("evses", n, "connectors", m, "maxCurrent"),
                    f"{current} A exceeds the EVSE's maxCurrent of {evse_current} A",
                )
    evse_count = len(data.get("evses", [])) or 1
    for kind in ("readers", "meters"):
        for n, device in enumerate(data.get("hardware", {}).get(kind, [])):
            if device.get("evse", 1) > evse_count:
                add(("hardware", kind, n, "evse"), f"the station has EVSEs 1..{evse_count}")
    return problems


def _password(csms: Mapping[str, Any], lines: _Lines) -> tuple[str | None, list[Problem]]:
    name = csms.get("passwordEnv")
    if name is None:
        return csms.get("password"), []
    path: JsonPath = ("csms", "passwordEnv")
    value = os.environ.get(name)
    if value is None:
        message = f"environment variable {name} is not set; it should hold the station's basic-auth password"
    elif not 16 <= len(value) <= 40:
        message = f"the password in {name} has {len(value)} characters; OCPP needs 16 to 40 (A00.FR.205)"
    else:
        return value, []
    return None, [Problem(lines.line(path), format_path(path), message)]


def _evse_spec(data: Mapping[str, Any]) -> EvseSpec:
    connectors = [
        ConnectorSpec(
            c.get("type", "cType2"), float(c["maxCurrent"]) if c.get("maxCurrent") is not None else None
        )
        for c in data["connectors"]
    ]
    return EvseSpec(
        connectors=connectors,
        phases=int(data.get("phases", 3)),
        max_current_a=float(data.get("maxCurrent", 32.0)),
        dc_max_power_w=float(data["dcMaxPower"]) if data.get("dcMaxPower") is not None else None,
        nominal_voltage_v=float(data.get("nominalVoltage", 230.0)),
    )


def _config_kwargs(
    data: Mapping[str, Any], base: Path, *, station_id: str, csms_url: str, password: str | None
) -> dict[str, Any]:
    csms = data.get("csms", {})
    kwargs: dict[str, Any] = {
        "station_id": station_id,
        "csms_url": csms_url,
        "password": password,
        "security_profile": csms.get("securityProfile", 1),
        "verify_tls": csms.get("verifyTls", True),
        "ca_file": _resolve_file(base, csms.get("caFile")),
        "client_cert": _resolve_file(base, csms.get("clientCert")),
        "client_key": _resolve_file(base, csms.get("clientKey")),
        "state_path": _resolve_file(base, data.get("statePath")),
        "overrides": {key: to_text(value) for key, value in data.get("deviceModel", {}).items()},
        "data_transfer": {key: dict(value) for key, value in data.get("dataTransfer", {}).items()},
    }
    if "ocpp" in data:
        kwargs["versions"] = tuple(OcppVersion(f"ocpp{version}") for version in data["ocpp"])
    for key, attribute in (
        ("vendor", "vendor"),
        ("model", "model"),
        ("serialNumber", "serial_number"),
        ("firmwareVersion", "firmware_version"),
    ):
        if key in data:
            kwargs[attribute] = data[key]
    if "evses" in data:
        evses = [_evse_spec(evse) for evse in data["evses"]]
        # The quick-shape fields describe the station to code that predates per-EVSE specs.
        ac = [spec for spec in evses if spec.phases > 0]
        kwargs["evses"] = evses
        kwargs["phases"] = max(spec.phases for spec in evses)
        kwargs["max_current_a"] = (ac or evses)[0].max_current_a
        kwargs["connector_type"] = evses[0].connectors[0].connector_type
    return kwargs


def build_device_model(config: StationConfig, *, clock: Clock | None = None) -> DeviceModel:
    """The standard device model of `config`'s hardware with its overrides applied.

    `DeviceModel.standard` describes identical EVSEs; the per-EVSE phases, rated power and
    per-connector types are set afterwards through the override syntax, so a mixed AC/DC
    station reports each EVSE and connector as it is. ValueError if an override is invalid.
    """
    evses = config.evses
    dm = DeviceModel.standard(
        [len(spec.connectors) for spec in evses],
        vendor=config.vendor,
        model=config.model,
        serial=config.serial_number or config.station_id,
        firmware=config.firmware_version,
        supply_phases=max(spec.phases for spec in evses),
        evse_max_power_w=max(spec.rated_power_w for spec in evses),
        connector_type=evses[0].connectors[0].connector_type,
        security_profile=config.security_profile,
        identity=config.station_id,
        csms_url=config.csms_url,
        basic_auth_password=config.password,
        clock=clock,
    )
    shape: dict[str, OverrideValue] = {}
    for n, spec in enumerate(evses, start=1):
        shape[f"EVSE({n}).SupplyPhases"] = spec.phases
        shape[f"EVSE({n}).Power:maxLimit"] = spec.rated_power_w
        for m, connector in enumerate(spec.connectors, start=1):
            shape[f"Connector({n},{m}).ConnectorType"] = connector.connector_type
            shape[f"Connector({n},{m}).SupplyPhases"] = spec.phases
    dm.apply_overrides(shape)
    if config.overrides:
        dm.apply_overrides(config.overrides)
    return dm


def _override_problems(config: StationConfig, lines: _Lines) -> list[Problem]:
    """Each bad override on its own line: applied one by one to a fresh model to tell them apart."""
    try:
        build_device_model(config)
    except ValueError as error:
        combined = str(error)
    else:
        return []
    problems: list[Problem] = []
    bare = StationConfig(**{**_fields(config), "overrides": {}})
    try:
        build_device_model(bare)
    except ValueError as error:  # not the overrides: the station itself (e.g. the password)
        return [Problem(None, "", _strip_heading(str(error)))]
    for key, value in config.overrides.items():
        single = StationConfig(**{**_fields(config), "overrides": {key: value}})
        try:
            build_device_model(single)
        except ValueError as error:
            path: JsonPath = ("deviceModel", key)
            message = _strip_heading(str(error)).removeprefix(f"{key}: ")
            problems.append(Problem(lines.line(path), format_path(path), message))
    if not problems:  # only the combination fails, e.g. a value and a new maxLimit
        problems.append(Problem(lines.line(("deviceModel",)), "deviceModel", _strip_heading(combined)))
    return problems


def _strip_heading(message: str) -> str:
    """apply_overrides lists problems under a heading; one problem reads better inline."""
    _, _, rest = message.partition(":\n  - ")
    if not rest:
        return message
    items = rest.split("\n  - ")
    return items[0] if len(items) == 1 else "; ".join(items)


def _fields(config: StationConfig) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(config) if f.init}


def load_profile(
    path: str | os.PathLike[str], *, station_id: str | None = None, csms_url: str | None = None
) -> StationConfig:
    """Read, check and convert a profile; `station_id`/`csms_url` replace the file's values.

    Every problem found is reported in one ProfileError (a ValueError), so fixing a profile
    takes one round trip, not one per mistake.
    """
    file = Path(path)
    shown = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(shown, [Problem(None, "", f"cannot read the profile: {error}")]) from None
    data, lines = _parse(file, text)
    if data is None:
        raise ProfileError(shown, [Problem(None, "", "the profile is empty")])
    problems = _schema_problems(data, lines)
    if problems:
        raise ProfileError(shown, sorted(problems, key=lambda p: (p.line or 0, p.path)))
    problems = _check_rules(data, lines, station_id=station_id, csms_url=csms_url)
    password, password_problems = _password(data.get("csms", {}), lines)
    problems += password_problems
    if problems:
        raise ProfileError(shown, sorted(problems, key=lambda p: (p.line or 0, p.path)))
    kwargs = _config_kwargs(
        data,
        file.parent,
        station_id=station_id if station_id is not None else data["id"],
        csms_url=csms_url if csms_url is not None else data["csms"]["url"],
        password=password,
    )
    if "passwordEnv" in data.get("csms", {}) and _has_field("password_env"):
        kwargs["password_env"] = data["csms"]["passwordEnv"]
    try:
        config = StationConfig(**kwargs)
    except ValueError as error:
        where = None if station_id is not None else lines.line(("id",))
        raise ProfileError(shown, [Problem(where, "", str(error))]) from None
    problems = _override_problems(config, lines)
    if problems:
        raise ProfileError(shown, problems)
    return config


def _has_field(name: str) -> bool:
    return name in StationConfig.__dataclass_fields__


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _relative(path: str | None, base: Path) -> str | None:
    if path is None:
        return None
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return path


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, like the bundled templates are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def profile_data(config: StationConfig, *, base: Path, password_env: str | None = None) -> dict[str, Any]:
    """`config` as profile data (what `save_profile` writes), file paths relative to `base`."""
    unsupported = [v for v in config.versions if v not in (OcppVersion.V21, OcppVersion.V201)]
    if unsupported:
        raise ValueError(f"profiles express OCPP 2.1 and 2.0.1 only, not {', '.join(unsupported)}")
    csms: dict[str, Any] = {"url": config.csms_url, "securityProfile": config.security_profile}
    if password_env:
        csms["passwordEnv"] = password_env
    for key, value in (
        ("caFile", config.ca_file),
        ("clientCert", config.client_cert),
        ("clientKey", config.client_key),
    ):
        if value is not None:
            csms[key] = _relative(value, base)
    csms["verifyTls"] = config.verify_tls
    data: dict[str, Any] = {
        "id": config.station_id,
        "csms": csms,
        "ocpp": [version.value.removeprefix("ocpp") for version in config.versions],
        "vendor": config.vendor,
        "model": config.model,
    }
    if config.serial_number is not None:
        data["serialNumber"] = config.serial_number
    data["firmwareVersion"] = config.firmware_version
    evses = []
    for spec in config.evses:
        evse: dict[str, Any] = {"phases": spec.phases, "maxCurrent": _number(spec.max_current_a)}
        if spec.dc_max_power_w is not None:
            evse["dcMaxPower"] = _number(spec.dc_max_power_w)
        evse["nominalVoltage"] = _number(spec.nominal_voltage_v)
        evse["connectors"] = [
            {"type": c.connector_type}
            | ({"maxCurrent": _number(c.max_current_a)} if c.max_current_a is not None else {})
            for c in spec.connectors
        ]
        evses.append(evse)
    data["evses"] = evses
    if config.overrides:
        data["deviceModel"] = dict(config.overrides)
    if config.data_transfer:
        data["dataTransfer"] = {key: dict(value) for key, value in config.data_transfer.items()}
    if config.state_path is not None:
        data["statePath"] = _relative(config.state_path, base)
    return data


def save_profile(
    config: StationConfig, path: str | os.PathLike[str], *, password_env: str | None = None
) -> None:
    """Write `config` as a YAML profile; the password itself is never written.

    `password_env` (or the config's `password_env`, once StationConfig has one) is written as
    `csms.passwordEnv`; without it a comment says the password was left out.
    """
    file = Path(path)
    env = password_env or getattr(config, "password_env", None)
    data = profile_data(config, base=file.parent.resolve(), password_env=env)
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
    lines = text.splitlines()
    if config.password is not None and not env:
        at = lines.index("csms:") + 1
        lines.insert(
            at,
            "  # The password is not saved here. Put it in an environment variable and name that "
            "variable here as passwordEnv: VARIABLE_NAME",
        )
    header = [
        "# ChargeBench station profile (schemas/station-profile.schema.json).",
        "# Relative file paths are relative to this file.",
    ]
    file.write_text("\n".join([*header, *lines]) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    """A bundled profile of a typical charger shape, listed in the window and by the CLI."""

    name: str  # file stem, what `config_from_template` takes
    title: str
    description: str
    path: Path


def list_templates() -> list[Template]:
    """Bundled templates by name; only their title and description are read here."""
    templates = []
    for path in sorted(TEMPLATES_DIR.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        data = data if isinstance(data, dict) else {}
        title = str(data.get("title") or path.stem)
        description = " ".join(str(data.get("description") or "").split())
        templates.append(Template(path.stem, title, description, path))
    return templates


def config_from_template(name: str, *, station_id: str, csms_url: str) -> StationConfig:
    """A station of a bundled template's shape with the given identity and CSMS."""
    for template in list_templates():
        if template.name == name:
            return load_profile(template.path, station_id=station_id, csms_url=csms_url)
    known = ", ".join(t.name for t in list_templates()) or "none"
    raise ProfileError(name, [Problem(None, "", f"no such template; available: {known}")])
