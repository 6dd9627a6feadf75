"""Run a scenario over a Session: headless for the CLI and CI, or in the window's own session
so the inspector and plot follow along.

Each step reports through signals (started, finished, caption) after its state changed; the
window listens, the CLI prints. Expectations look at frames captured since the last step that
changed the world, on the station's own socket, so the order in which concurrent messages
happen to arrive does not matter; a frame satisfies at most one expectation.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.clock import AcceleratedClock, Clock
from app.csms.csms import Csms, CsmsConfig
from app.inspector.filters import parse_filter
from app.inspector.records import CaptureRecord
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.protocol.schemas import OcppVersion
from app.scenarios.model import ACTION_KINDS, Match, Scenario, Step, duration_text, seconds
from app.session import Session
from app.signals import Signal
from app.station.config import StationConfig
from app.station.ev import EVModel
from app.station.profile import ProfileError, config_from_template, load_profile
from app.station.station import Station

# The network is not accelerated: however short a window is in simulated time, a frame gets at
# least this many real seconds to arrive.
MIN_REAL_WAIT_S = 2.5
ACTION_LIMIT_S = 120.0  # real seconds any single action may take before the step fails
DEFAULT_WAIT_WITHIN_S = 60.0
_VERSIONS = {"2.1": OcppVersion.V21, "2.0.1": OcppVersion.V201}
_EV_PRESETS = {"typical": EVModel.typical_ac, "city": EVModel.city_car, "large": EVModel.large_ac}
_CSMS_FIELDS = ("boot_status", "heartbeat_interval", "boot_retry_interval", "default_token_status")


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(slots=True)
class StepResult:
    index: int  # 1-based, as shown
    step: Step
    status: StepStatus = StepStatus.PENDING
    reason: str = ""  # why it failed, or what it found (e.g. the card's status)
    seconds: float = 0.0  # real seconds

    @property
    def title(self) -> str:
        return f'step {self.index} "{self.step.describe()}"'


@dataclass(slots=True)
class RunResult:
    scenario: Scenario
    steps: list[StepResult]
    setup_error: str = ""
    seconds: float = 0.0
    stopped: bool = False

    @property
    def passed(self) -> bool:
        return not self.setup_error and not self.stopped and all(
            s.status is StepStatus.PASSED for s in self.steps
        )

    @property
    def failure(self) -> str:
        """The first failure as one readable message ('' when the run passed)."""
        if self.setup_error:
            return f"setup: {self.setup_error}"
        for step in self.steps:
            if step.status is StepStatus.FAILED:
                return f"{step.title}: {step.reason}"
        return "stopped by the user" if self.stopped else ""


class StepFailed(Exception):
    pass


@dataclass(slots=True)
class _Gate:
    """Pause and single-step: the runner waits on `open` before each step."""

    open: asyncio.Event = field(default_factory=asyncio.Event)
    single: bool = False


class ScenarioRunner:
    def __init__(
        self,
        scenario: Scenario,
        session: Session | None = None,
        *,
        csms_url: str | None = None,
        speed: float | None = None,
    ) -> None:
        self.scenario = scenario
        self._owns_session = session is None
        factor = speed or scenario.speed or 1.0
        self.session = session or Session(clock=AcceleratedClock(factor) if factor != 1.0 else Clock())
        self.csms_url = csms_url or scenario.csms_url
        self.result = RunResult(scenario, [StepResult(n, s) for n, s in enumerate(scenario.steps, start=1)])
        self.step_started: Signal[[StepResult]] = Signal()
        self.step_finished: Signal[[StepResult]] = Signal()
        self.caption_shown: Signal[[str]] = Signal()
        self.paused_changed: Signal[[bool]] = Signal()
        self.finished: Signal[[RunResult]] = Signal()
        self._gate = _Gate()
        self._gate.open.set()
        self._stopping = False
        self._current: asyncio.Task[str] | None = None
        self._frames: list[CaptureRecord] = []
        self._arrived = asyncio.Event()
        self._mark = 0
        self._used: set[int] = set()
        self._csms_saved: dict[str, Any] | None = None
        self._station_ids = {spec.station_id for spec in scenario.stations}

    @property
    def clock(self) -> Clock:
        return self.session.clock

    @property
    def paused(self) -> bool:
        return not self._gate.open.is_set()

    # ------------------------------------------------------------------ control

    def pause(self) -> None:
        self._gate.open.clear()
        self.paused_changed.emit(True)

    def resume(self) -> None:
        self._gate.single = False
        self._gate.open.set()
        self.paused_changed.emit(False)

    def step_once(self) -> None:
        """Run the next step, then pause again."""
        self._gate.single = True
        self._gate.open.set()

    def stop(self) -> None:
        self._stopping = True
        self._gate.open.set()
        if self._current is not None:
            self._current.cancel()

    # ------------------------------------------------------------------ run

    async def run(self) -> RunResult:
        began = time.monotonic()
        self.session.store.added.connect(self._on_frame)
        try:
            try:
                await self._setup()
            except (ProfileError, ValueError, OSError) as exc:
                self.result.setup_error = str(exc)
            else:
                await self._run_steps()
        finally:
            self.session.store.added.disconnect(self._on_frame)
            self._restore_csms()
            if self._owns_session:
                await self.session.stop()
            self.result.seconds = time.monotonic() - began
            self.finished.emit(self.result)
        return self.result

    async def _run_steps(self) -> None:
        for result in self.result.steps:
            await self._gate.open.wait()
            if self._gate.single:
                self._gate.open.clear()
                self.paused_changed.emit(True)
            if self._stopping:
                self.result.stopped = True
                break
            await self._run_step(result)
            if result.status is not StepStatus.PASSED:
                break
        for result in self.result.steps:
            if result.status is StepStatus.PENDING:
                result.status = StepStatus.SKIPPED
                self.step_finished.emit(result)

    async def _run_step(self, result: StepResult) -> None:
        step = result.step
        if step.kind in ACTION_KINDS:
            self._mark = len(self._frames)
        result.status = StepStatus.RUNNING
        self.step_started.emit(result)
        began = time.monotonic()
        self._current = asyncio.ensure_future(self._perform(step))
        try:
            result.reason = await self._current
            result.status = StepStatus.PASSED
        except StepFailed as exc:
            result.status, result.reason = StepStatus.FAILED, str(exc)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            result.status, result.reason = StepStatus.FAILED, "stopped by the user"
            self.result.stopped = True
        except (OcppError, CallTimeout, ConnectionLost, ValueError, KeyError) as exc:
            result.status, result.reason = StepStatus.FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            self._current = None
        result.seconds = time.monotonic() - began
        self.step_finished.emit(result)

    # ------------------------------------------------------------------ setup

    async def _setup(self) -> None:
        session = self.session
        url = self.csms_url
        if url is None:
            if session.csms is None:
                await session.start_csms(config=CsmsConfig())
            csms = self._builtin()
            self._csms_saved = {name: getattr(csms.config, name) for name in _CSMS_FIELDS}
            self._csms_saved["token_status"] = dict(csms.config.token_status)
            self._configure_csms(self.scenario.csms)
            url = csms.url
        for spec in self.scenario.stations:
            if spec.station_id in session.stations:  # a previous run of this scenario in the window
                await session.remove_station(spec.station_id)
            if spec.template:
                config = config_from_template(spec.template, station_id=spec.station_id, csms_url=url)
            elif spec.profile:
                config = load_profile(spec.profile, station_id=spec.station_id, csms_url=url)
            else:
                config = StationConfig(station_id=spec.station_id, csms_url=url, evse_count=spec.evses)
            if spec.ocpp:
                config.versions = (_VERSIONS[spec.ocpp],)
            config.overrides = {**config.overrides, **spec.settings}
            session.add_station(config)

    def _builtin(self) -> Csms:
        csms = self.session.csms
        if self.csms_url is not None or csms is None:
            raise StepFailed(f"this step drives the built-in CSMS; the scenario runs against {self.csms_url}")
        return csms

    def _configure_csms(self, settings: dict[str, Any]) -> None:
        config = self._builtin().config
        for name in _CSMS_FIELDS:
            if name in settings:
                setattr(config, name, settings[name])
        if "tokens" in settings:
            config.token_status = {**config.token_status, **settings["tokens"]}

    def _restore_csms(self) -> None:
        csms = self.session.csms
        if self._csms_saved is None or csms is None:
            return
        for name, value in self._csms_saved.items():
            setattr(csms.config, name, value)

    # ------------------------------------------------------------------ frames

    def _on_frame(self, record: CaptureRecord) -> None:
        if record.mirror or record.station not in self._station_ids:
            return
        self._frames.append(record)
        self._arrived.set()

    def _station(self, step: Step) -> Station:
        station_id = step.station or self.scenario.stations[0].station_id
        return self.session.stations[station_id]

    async def _await_match(self, match: Match, station_id: str, within_s: float) -> CaptureRecord:
        loop = asyncio.get_running_loop()
        start = 0 if match.since_start else self._mark
        deadline = loop.time() + max(self.clock.real_seconds(within_s), MIN_REAL_WAIT_S)
        checked = start
        extra = parse_filter(match.filter) if match.filter else None
        while True:
            for position in range(checked, len(self._frames)):
                record = self._frames[position]
                if (
                    position not in self._used
                    and _matches(match, station_id, record)
                    and (extra is None or extra.matches(record))
                ):
                    self._used.add(position)
                    return record
            checked = len(self._frames)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise StepFailed(self._missed(match, station_id, start, within_s))
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def _missed(self, match: Match, station_id: str, start: int, within_s: float) -> str:
        seen = [r for r in self._frames[start:] if r.station == station_id]
        same = [r for r in seen if r.action == match.action and r.frame_type == match.frame_type]
        expected = f"expected {match.describe()} within {duration_text(within_s)}"
        if same:
            # Closest first: the frames that meet most of the conditions.
            ranked = sorted(same, key=lambda r: -_conditions_met(match, r))[:3]
            shown = "; ".join(_frame_text(r, list(match.where)) for r in ranked)
            return f"{expected}; saw {shown}"
        if seen:
            actions = list(dict.fromkeys(f"{r.action or '?'} {r.frame_type}" for r in seen))
            return f"{expected}; saw no {match.action} {match.frame_type}, only: {', '.join(actions[-8:])}"
        return f"{expected}; saw no frames at all from {station_id}"

    # ------------------------------------------------------------------ steps

    async def _perform(self, step: Step) -> str:
        kind, args = step.kind, step.args
        if kind == "caption":
            self.caption_shown.emit(str(args))
            return ""
        if kind == "expect":
            match = Match.from_data(args)
            record = await self._await_match(match, self._station(step).station_id, match.within_s)
            return _frame_text(record, list(match.where))
        if kind == "wait":
            return await self._wait(step)
        if kind == "csms_config":
            self._configure_csms(args)
            return ""
        return await asyncio.wait_for(self._act(step), ACTION_LIMIT_S)

    async def _wait(self, step: Step) -> str:
        args = step.args
        station = self._station(step)
        if not isinstance(args, dict):
            await self.clock.sleep(seconds(args))
            return ""
        within = seconds(args["within"]) if "within" in args else DEFAULT_WAIT_WITHIN_S
        if "until" in args:
            match = Match.from_data(args["until"], default_within=within)
            record = await self._await_match(match, station.station_id, within)
            return _frame_text(record, list(match.where))
        deadline = time.monotonic() + max(self.clock.real_seconds(within), MIN_REAL_WAIT_S)
        while station.state.value != args["state"]:
            if time.monotonic() > deadline:
                why = f" ({station.last_error})" if station.last_error else ""
                raise StepFailed(
                    f"expected the station {args['state']} within {duration_text(within)}; "
                    f"it is {station.state.value}{why}"
                )
            await asyncio.sleep(0.02)
        return ""

    async def _act(self, step: Step) -> str:
        kind, args = step.kind, step.args
        station = self._station(step)
        if kind == "plug":
            evse_id = args if isinstance(args, int) else args["evse"]
            spec = {} if isinstance(args, int) else args
            self._check_evse(station, evse_id)
            await station.plug(evse_id, spec.get("connector", 1), ev=_ev(spec.get("ev") or {}))
            return ""
        if kind == "unplug":
            self._check_evse(station, args)
            await station.unplug(args)
            return ""
        if kind == "tap":
            token, spec = (args, {}) if isinstance(args, str) else (args["token"], args)
            if "evse" in spec:
                self._check_evse(station, spec["evse"])
            status = await station.tap(token, spec.get("evse"), spec.get("type", "ISO14443"))
            return f"card {token}: {status}"
        if kind == "ev":
            self._check_evse(station, args["evse"])
            evse = station.evse(args["evse"])
            if evse.ev is None:
                raise StepFailed(f"no EV is plugged in at EVSE {args['evse']}")
            changes = {
                name: float(args[key])
                for key, name in (
                    ("soc", "soc_percent"),
                    ("target_soc", "target_soc_percent"),
                    ("max_current_a", "ac_max_current_a"),
                )
                if key in args
            }
            evse.ev = evse.ev.copy(**changes)
            return ""
        if kind == "send":
            if station.connection is None:
                raise StepFailed(f"{station.station_id} is not connected: nothing to send on")
            await station.connection.send_raw(args)
            return ""
        if kind == "network":
            await station.set_network(args == "online")
            return ""
        if kind == "fault":
            self._check_evse(station, args["evse"])
            await station.set_fault(args["evse"], not args.get("clear", False), args.get("connector"))
            return ""
        if kind == "limit":
            watts = None if args["kw"] is None else float(args["kw"]) * 1000
            await station.smart.set_external_limit(int(args.get("evse", 0)), watts)
            return ""
        if kind == "reboot":
            await station.reboot(args)
            return ""
        if kind == "csms_call":
            return await self._csms_call(station, args)
        raise StepFailed(f"unknown step kind {kind}")

    async def _csms_call(self, station: Station, args: dict[str, Any]) -> str:
        csms = self._builtin()
        timeout = seconds(args["timeout"]) if "timeout" in args else 30.0
        real = max(self.clock.real_seconds(timeout), MIN_REAL_WAIT_S)
        link = csms.stations.get(station.station_id)
        if link is None or not link.connected:
            raise StepFailed(f"{station.station_id} is not connected to the CSMS")
        payload = copy.deepcopy(args.get("payload") or {})
        if "use_transaction" in args:
            _put_transaction_id(station, payload, args["use_transaction"])
        try:
            response = await asyncio.wait_for(link.connection.call(args["action"], payload), real)
        except TimeoutError:
            raise StepFailed(f"no answer to {args['action']} within {duration_text(timeout)}") from None
        except OcppError as exc:
            raise StepFailed(f"{args['action']} answered with an error: {exc}") from None
        for path, wanted in (args.get("expect") or {}).items():
            found, actual = walk(response, path)
            if not found or not _equal(actual, wanted):
                got = _compact(response, [path])
                raise StepFailed(f"expected the answer to have {path} = {wanted}; got {args['action']} {got}")
        return f"answer {_compact(response, list(args.get('expect') or {}))}"

    @staticmethod
    def _check_evse(station: Station, evse_id: int) -> None:
        if evse_id not in station.evses:
            raise StepFailed(f"{station.station_id} has no EVSE {evse_id} (it has {len(station.evses)})")


# ---------------------------------------------------------------------- matching helpers


def _put_transaction_id(station: Station, payload: dict[str, Any], where: dict[str, Any]) -> None:
    evse_id = where["evse"]
    ScenarioRunner._check_evse(station, evse_id)
    transaction = station.evse(evse_id).transaction
    if transaction is None:
        raise StepFailed(f"no transaction is open at EVSE {evse_id} of {station.station_id}")
    *parents, last = where.get("field", "transactionId").split(".")
    node = payload
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise StepFailed(f"payload field {part} is not an object; cannot put the transaction id there")
    node[last] = transaction.transaction_id


def walk(payload: Any, path: str) -> tuple[bool, Any]:
    """`transactionInfo.chargingState`, `meterValue[0].sampledValue[1].value` -> (found, value)."""
    node = payload
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part.strip("[]"))
            if not isinstance(node, list) or index >= len(node):
                return False, None
            node = node[index]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False, None
    return True, node


def _equal(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted
    if isinstance(wanted, int | float) and isinstance(actual, int | float):
        return float(actual) == float(wanted)
    return bool(actual == wanted)


def _matches(match: Match, station_id: str, record: CaptureRecord) -> bool:
    if record.station != station_id or record.action != match.action or record.frame_type != match.frame_type:
        return False
    if match.sender is not None and record.sender != match.sender:
        return False
    for path, wanted in match.where.items():
        found, actual = walk(record.payload, path)
        if not found or not _equal(actual, wanted):
            return False
    return True


def _conditions_met(match: Match, record: CaptureRecord) -> int:
    met = 0
    for path, wanted in match.where.items():
        found, actual = walk(record.payload, path)
        met += found and _equal(actual, wanted)
    return met


def _compact(payload: Any, first: list[str]) -> str:
    """`{eventType: Started, triggerReason: Authorized, ...}`: the asked-for fields first."""
    if not isinstance(payload, dict):
        return str(payload)[:120]
    parts: list[str] = []
    for path in first:
        found, value = walk(payload, path)
        parts.append(f"{path}: {_scalar(value) if found else '(absent)'}")
    for key, value in payload.items():
        if key not in first and not isinstance(value, dict | list):
            parts.append(f"{key}: {_scalar(value)}")
    text = ", ".join(parts)
    if len(text) > 160:
        text = text[:157] + "..."
    return "{" + text + ", ...}" if len(payload) > len(parts) else "{" + text + "}"


def _scalar(value: Any) -> str:
    if isinstance(value, dict | list):
        return "{...}" if isinstance(value, dict) else "[...]"
    return str(value)


def _frame_text(record: CaptureRecord, fields: list[str]) -> str:
    kind = "" if record.frame_type == "CALL" else f" {record.frame_type}"
    return f"{record.action}{kind} {_compact(record.payload, fields)}"


def _ev(spec: dict[str, Any]) -> EVModel:
    values: dict[str, Any] = {}
    for key, name, scale in (
        ("soc", "soc_percent", 1.0),
        ("target_soc", "target_soc_percent", 1.0),
        ("capacity_kwh", "capacity_wh", 1000.0),
        ("max_current_a", "ac_max_current_a", 1.0),
        ("dc_max_kw", "dc_max_power_w", 1000.0),
    ):
        if key in spec:
            values[name] = float(spec[key]) * scale
    if "phases" in spec:
        values["ac_phases"] = int(spec["phases"])
    if "bidirectional" in spec:
        values["bidirectional"] = bool(spec["bidirectional"])
    return _EV_PRESETS[spec.get("preset", "typical")](**values)
