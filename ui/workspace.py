"""The workspace: which stations the window hosts, whether the built-in CSMS runs, the real
readers and meters assigned to them (Hardware tab), the layout.

Saved as one JSON file (QStandardPaths.AppConfigLocation/workspace.json, or the path in
$CHARGEBENCH_WORKSPACE) when the window closes and after every add / edit / remove, and
restored at the next start. Station entries hold every StationConfig field except the
password: a secret does not belong in a plain settings file, so a station that had one is
restored stopped and asks for it again. A station that talked to the built-in CSMS is saved
as such ("csms": "builtin"), so it follows the CSMS to whatever port it gets next time.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from app.hardware.modbus_meter import MeterConfig
from app.hardware.rfid import ReaderConfig
from app.hardware.uid_format import UidFormat
from app.protocol.schemas import OcppVersion
from app.station.config import ConnectorSpec, EvseSpec, StationConfig

ENV_VAR = "CHARGEBENCH_WORKSPACE"
FORMAT = 1
#: Never written to the workspace file.
SECRET_FIELDS = frozenset({"password"})
BUILTIN = "builtin"


class WorkspaceError(Exception):
    """The workspace file exists but cannot be used (message names the file)."""


def default_path() -> Path:
    """$CHARGEBENCH_WORKSPACE, else workspace.json in the per-user config folder of the app."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    from PySide6.QtCore import QStandardPaths

    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation)
    if not folder:
        folder = str(Path.home() / ".config" / "ChargeBench")
    return Path(folder) / "workspace.json"


@dataclass(slots=True)
class StationEntry:
    config: StationConfig
    running: bool = True
    builtin_csms: bool = False  # connect to the built-in CSMS, wherever it listens
    password_needed: bool = False  # had a password, which was not saved


@dataclass(slots=True)
class Workspace:
    stations: list[StationEntry] = field(default_factory=list)
    builtin_csms: bool = True
    builtin_port: int | None = None
    selected: str | None = None
    readers: list[ReaderConfig] = field(default_factory=list)
    meters: list[MeterConfig] = field(default_factory=list)
    proxy: dict[str, Any] = field(default_factory=dict)  # the Proxy tab's form (not started)
    #: Qt saveGeometry()/saveState() blobs by name, base64.
    layout: dict[str, str] = field(default_factory=dict)

    def blob(self, name: str) -> bytes | None:
        text = self.layout.get(name)
        if not text:
            return None
        try:
            return base64.b64decode(text)
        except ValueError:
            return None

    def set_blob(self, name: str, data: bytes) -> None:
        self.layout[name] = base64.b64encode(bytes(data)).decode("ascii")


# ---------------------------------------------------------------------- configs <-> JSON


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def config_to_dict(config: StationConfig) -> dict[str, Any]:
    """Every field of the config as JSON values, secrets left out (password fields, and
    device-model overrides of a password variable such as SecurityCtrlr.BasicAuthPassword)."""
    data = {
        f.name: _plain(getattr(config, f.name))
        for f in dataclasses.fields(config)
        if f.name not in SECRET_FIELDS
    }
    overrides = data.get("overrides")
    if isinstance(overrides, dict):
        data["overrides"] = {k: v for k, v in overrides.items() if "password" not in k.lower()}
    return data


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def config_from_dict(data: dict[str, Any]) -> StationConfig:
    """The inverse of `config_to_dict`; unknown keys (from a newer version) are ignored."""
    kwargs = _known(StationConfig, data)
    kwargs.pop("password", None)
    if "versions" in kwargs:
        kwargs["versions"] = tuple(OcppVersion(v) for v in kwargs["versions"])
    if kwargs.get("evses"):
        evses = []
        for spec in kwargs["evses"]:
            spec = _known(EvseSpec, dict(spec))
            spec["connectors"] = [
                ConnectorSpec(**_known(ConnectorSpec, c)) for c in spec.get("connectors", [])
            ]
            evses.append(EvseSpec(**spec))
        kwargs["evses"] = evses
    return StationConfig(**kwargs)


# ---------------------------------------------------------------------- file


def to_json(workspace: Workspace) -> dict[str, Any]:
    stations = []
    for entry in workspace.stations:
        item = config_to_dict(entry.config)
        item["running"] = entry.running
        if entry.builtin_csms:
            item["csms"] = BUILTIN
        if entry.password_needed or entry.config.password:
            item["password_needed"] = True
        stations.append(item)
    return {
        "format": FORMAT,
        "builtin_csms": {"enabled": workspace.builtin_csms, "port": workspace.builtin_port},
        "selected": workspace.selected,
        "stations": stations,
        "hardware": {
            "readers": [_plain(r) for r in workspace.readers],
            "meters": [_plain(m) for m in workspace.meters],
        },
        "proxy": dict(workspace.proxy),
        "layout": dict(workspace.layout),
    }


def from_json(data: dict[str, Any]) -> Workspace:
    csms = data.get("builtin_csms") or {}
    workspace = Workspace(
        builtin_csms=bool(csms.get("enabled", True)),
        builtin_port=csms.get("port"),
        selected=data.get("selected"),
        layout={k: v for k, v in (data.get("layout") or {}).items() if isinstance(v, str)},
    )
    for i, item in enumerate(data.get("stations") or []):
        try:
            config = config_from_dict(item)
        except (TypeError, ValueError, KeyError) as exc:
            raise WorkspaceError(f"station #{i + 1} ({item.get('station_id', '?')}): {exc}") from exc
        workspace.stations.append(
            StationEntry(
                config,
                running=bool(item.get("running", True)),
                builtin_csms=item.get("csms") == BUILTIN,
                password_needed=bool(item.get("password_needed")),
            )
        )
    proxy = data.get("proxy")
    if isinstance(proxy, dict):
        workspace.proxy = proxy
    hardware = data.get("hardware") or {}
    for i, item in enumerate(hardware.get("readers") or []):
        try:
            reader = _known(ReaderConfig, item)
            reader["uid"] = UidFormat(**_known(UidFormat, reader.get("uid") or {}))
            workspace.readers.append(ReaderConfig(**reader))
        except (TypeError, ValueError, AttributeError) as exc:
            raise WorkspaceError(f"hardware reader #{i + 1}: {exc}") from exc
    for i, item in enumerate(hardware.get("meters") or []):
        try:
            workspace.meters.append(MeterConfig(**_known(MeterConfig, item)))
        except (TypeError, ValueError, AttributeError) as exc:
            raise WorkspaceError(f"hardware meter #{i + 1}: {exc}") from exc
    return workspace


def load(path: Path) -> Workspace | None:
    """The saved workspace, None when there is none; WorkspaceError when it is unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkspaceError(f"{path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkspaceError(f"{path}: line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise WorkspaceError(f"{path}: not a workspace (expected a JSON object)")
    try:
        return from_json(data)
    except WorkspaceError as exc:
        raise WorkspaceError(f"{path}: {exc}") from exc


def save(workspace: Workspace, path: Path) -> None:
    """Write atomically: a crash mid-write leaves the previous workspace, not half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_json(workspace), indent=2, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=".workspace-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
