"""Protocol lints: behaviour a JSON schema cannot see (ocpp21-notes §5, R2–R27).

A `Linter` is fed frames in capture order, keeps a small state machine per station (outstanding
CALL per side, boot state, transactions, report chains, meter registers) and returns
`LintFinding`s. It works on `CaptureRecord`s, so the live session and `chargebench validate`
share it. Per-frame work is O(payload size); every per-station table is bounded.

Rules are data (`RULES`): name, severity, the requirement id it enforces and a one-line summary.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from app.inspector.appendix import (
    ADDITIONAL_INFO_TYPES,
    ADDITIONAL_INFO_TYPES_ADHOC,
    CHARGING_LIMIT_SOURCES,
    CONNECTOR_TYPES,
    ID_TOKEN_TYPES,
    SIGNING_METHODS,
    UNITS_OF_MEASURE,
)
from app.inspector.records import CaptureRecord
from app.protocol.directions import CSMS_TO_STATION_2X, STATION_TO_CSMS_2X
from app.protocol.errors import CODES_2X

Severity = Literal["error", "warning", "info"]
V21 = "ocpp2.1"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    name: str
    severity: Severity
    requirement: str
    summary: str
    basis: str = ""  # the row of ocpp21-notes §5


def _rules(*infos: RuleInfo) -> dict[str, RuleInfo]:
    return {info.name: info for info in infos}


RULES: dict[str, RuleInfo] = _rules(
    RuleInfo("message-id-length", "error", "OCPP-J 4.1.4", "message id longer than 36 characters", "R2"),
    RuleInfo("duplicate-message-id", "error", "OCPP-J 4.1.4", "CALL/SEND id reused by the same sender", "R2"),
    RuleInfo("outstanding-call", "error", "OCPP-J 4.1.1", "second CALL while the previous one is open", "R3"),
    RuleInfo("unknown-result-id", "warning", "OCPP-J 4.1.1", "result/error for no outstanding CALL", "R4"),
    RuleInfo("late-result", "warning", "OCPP-J 4.1.1", "result after the caller's timeout", "R4"),
    RuleInfo("frame-type-version", "error", "OCPP-J 4.1.3", "type 5/6 frame on a non-2.1 connection", "R5"),
    RuleInfo("reply-to-send", "error", "N15.FR.02", "CALLRESULT/CALLERROR answering a SEND", "R5"),
    RuleInfo(
        "callresulterror-unmatched", "error", "OCPP-J 4.2.3", "CALLRESULTERROR not for a CALLRESULT", "R5"
    ),
    RuleInfo(
        "callerror-to-callresult", "error", "OCPP-J 4.2.3", "CALLERROR sent in reply to a CALLRESULT", "R5"
    ),
    RuleInfo(
        "wrong-direction", "error", "OCPP-J 4.1.6", "action sent by the side that must not send it", "R6"
    ),
    RuleInfo("action-request-suffix", "error", "OCPP-J 4.1.6", "action name carries a Request suffix", "R6"),
    RuleInfo(
        "before-boot-accepted", "error", "B02.FR.09", "station CALL before BootNotification Accepted", "R7"
    ),
    RuleInfo("call-to-rejected-station", "error", "B03.FR.08", "CSMS CALL to a station it rejected", "R7"),
    RuleInfo("boot-too-early", "warning", "B02.FR.04", "BootNotification again before the interval", "R8"),
    RuleInfo("timestamp-format", "error", "Part 2 §3.1", "not RFC 3339 or more than 3 fraction digits", "R9"),
    RuleInfo("timestamp-not-utc", "warning", "Part 2 §3.1", "timestamp not in UTC with Z", "R9"),
    RuleInfo("placeholder-value", "error", "OCPP-J 4.1.5", "null, {} or [] as a placeholder", "R10"),
    RuleInfo("tx-not-started", "error", "E §1.3.2", "first TransactionEvent of an id is not Started", "R11"),
    RuleInfo("tx-after-ended", "error", "E §1.3.2", "TransactionEvent after Ended", "R11"),
    RuleInfo("tx-seqno-gap", "warning", "E01.FR.07", "seqNo skips values within a transaction", "R11"),
    RuleInfo("tx-seqno-repeat", "error", "E01.FR.07", "seqNo repeated or going back", "R11"),
    RuleInfo("tx-concurrent-on-evse", "error", "E01.FR.14", "second transaction on a busy EVSE", "R11"),
    RuleInfo(
        "tx-charging-state-missing", "error", "E §1.5", "ChargingStateChanged without chargingState", "R13"
    ),
    RuleInfo("tx-evse-missing", "error", "E01.FR.16", "first event of a transaction without evse", "R13"),
    RuleInfo(
        "tx-stopped-reason-missing",
        "error",
        "E06.FR.08",
        "Ended for a non-local reason, no stoppedReason",
        "R13",
    ),
    RuleInfo("tx-idtoken-repeated", "warning", "E §1.5", "idToken repeated in every event", "R13"),
    RuleInfo(
        "tx-operation-mode-missing",
        "error",
        "K01.FR.110",
        "OperationModeChanged without operationMode",
        "R13",
    ),
    RuleInfo(
        "trigger-boot-accepted",
        "error",
        "F06.FR.17",
        "TriggerMessage(BootNotification) Accepted after boot",
        "R8",
    ),
    RuleInfo(
        "remote-start-id-missing", "error", "F02.FR.01", "remote start without its remoteStartId", "R13"
    ),
    RuleInfo("energy-register-decreasing", "warning", "J §2", "Energy.*.Register value went down", "R14"),
    RuleInfo(
        "result-before-response", "error", "F06.FR.04", "result message before the request's response", "R16"
    ),
    RuleInfo(
        "result-after-rejection", "error", "B07/B08", "result message for a request not Accepted", "R16"
    ),
    RuleInfo("report-seqno", "error", "B07.FR.10", "report seqNo not 0, 1, 2, ... per requestId", "R16"),
    RuleInfo("report-after-last", "error", "K09.FR.02", "report part after the one with tbc false", "R16"),
    RuleInfo(
        "variables-result-mismatch",
        "error",
        "B05.FR.01",
        "Get/SetVariables results do not mirror request",
        "R17",
    ),
    RuleInfo(
        "status-notification-deprecated",
        "info",
        "G01 (2.1)",
        "StatusNotification on 2.1 is deprecated",
        "R20",
    ),
    RuleInfo("status-repeated", "warning", "G01", "same connector status reported twice in a row", "R20"),
    RuleInfo("local-list-version", "error", "D01.FR.18", "SendLocalList versionNumber <= 0", "R21"),
    RuleInfo("heartbeat-too-often", "warning", "G02.FR.01", "Heartbeat well before the interval", "R23"),
    RuleInfo("error-code-spelling", "info", "OCPP-J 4.3", "1.6 spelling of an error code on 2.x", "R24"),
    RuleInfo("error-code-unknown", "warning", "OCPP-J 4.3", "error code not defined in the version", "R24"),
    RuleInfo("error-description-length", "warning", "OCPP-J 4.2.3", "errorDescription over 255 chars", "R24"),
    RuleInfo("appendix-value", "warning", "Appendices", "value outside the appendix list (2.1)", "R26"),
    RuleInfo("energy-unit", "warning", "Appendices", "Energy measurand with a unit that is no energy", "R15"),
    RuleInfo("profile-first-period", "error", "K01.FR.31", "first startPeriod of a schedule is not 0", "R18"),
    RuleInfo("profile-periods-unsorted", "error", "K01.FR.35", "startPeriod values not increasing", "R18"),
    RuleInfo("profile-tx-without-id", "error", "K01.FR.03", "TxProfile set without transactionId", "R18"),
    RuleInfo(
        "profile-start-schedule",
        "error",
        "K01.FR.40",
        "startSchedule missing (Absolute) or set (Relative)",
        "R18",
    ),
    RuleInfo(
        "firmware-request-id", "error", "L01.FR.20", "FirmwareStatusNotification without requestId", "R22"
    ),
    RuleInfo("event-stream-data", "error", "N15", "periodic event stream data empty or t not rising", "R27"),
    RuleInfo(
        "certificate-request-id",
        "error",
        "A02.FR.25",
        "2.1 CertificateSigned without the requestId of the SignCertificate it answers",
    ),
    RuleInfo(
        "monitor-notification-type",
        "error",
        "N02.FR.22",
        "2.1 NotifyMonitoringReport monitor without eventNotificationType",
    ),
)


@dataclass(frozen=True, slots=True)
class LintFinding:
    rule: str
    severity: Severity
    requirement: str
    message: str
    record_index: int = -1  # position in the fed sequence (or CaptureRecord.seq)
    location: str = ""

    def __str__(self) -> str:
        where = self.location or f"#{self.record_index}"
        return f"{where}: {self.severity}: [{self.rule}] {self.message} ({self.requirement})"


# --- static tables -----------------------------------------------------------------------------

_CS_TO_CSMS = STATION_TO_CSMS_2X
_CSMS_TO_CS = CSMS_TO_STATION_2X
_ALL_2X = _CS_TO_CSMS | _CSMS_TO_CS
# request -> the result message the station sends after its response (same requestId)
_RESULT_OF = {
    "GetBaseReport": "NotifyReport",
    "GetReport": "NotifyReport",
    "GetMonitoringReport": "NotifyMonitoringReport",
    "GetDisplayMessages": "NotifyDisplayMessages",
    "CustomerInformation": "NotifyCustomerInformation",
    "GetChargingProfiles": "ReportChargingProfiles",
    "GetLog": "LogStatusNotification",
    "UpdateFirmware": "FirmwareStatusNotification",
    "PublishFirmware": "PublishFirmwareStatusNotification",
    "GetDERControl": "ReportDERControl",
    "RequestBatterySwap": "BatterySwap",
}
_RESULT_ACTIONS = frozenset(_RESULT_OF.values())
_SEQ_CHAINS = frozenset({"NotifyReport", "NotifyMonitoringReport", "NotifyCustomerInformation"})
_TBC_CHAINS = _SEQ_CHAINS | {"ReportChargingProfiles", "ReportDERControl", "NotifyDisplayMessages"}
_ACCEPTED = frozenset({"Accepted", "AcceptedCanceled"})
# messages a Pending station may send (B02.FR.09 allows triggered ones and report results)
_PENDING_ALLOWED = frozenset({"BootNotification", "NotifyReport", "NotifyMonitoringReport"})
_NON_LOCAL_STOPS = frozenset(
    {
        "RemoteStop",
        "ResetCommand",
        "EnergyLimitReached",
        "TimeLimitReached",
        "CostLimitReached",
        "SoCLimitReached",
        "Deauthorized",
        "EVDeparted",
        "EVCommunicationLost",
        "AbnormalCondition",
    }
)
_ERROR_CODES_2X = frozenset(CODES_2X)
_MISSPELLED = {
    "FormationViolation": "FormatViolation",
    "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
}
_DATE_PREFIX = re.compile(r"\d{4}-\d\d-\d\dT")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)")
# required objects whose fields are all optional, and required arrays without minItems, in the
# 2.0.1/2.1 schemas: {} / [] there is the value, not a placeholder (tests/test_lints.py recomputes it)
_EMPTY_OK_KEYS = frozenset({"customData", "chargingProfile", "params", "scheduleUpdate", "total"})
_LOCAL_STATUS_TRIGGERS = frozenset({"StatusNotification"})

_MAX_IDS = 512  # remembered CALL/SEND ids per sender and station
_MAX_TX = 64  # remembered transactions per station
_MAX_REQUESTS = 64  # remembered report chains / rejected requests per station


def _bounded_put(table: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    table[key] = value
    if len(table) > limit:
        del table[next(iter(table))]


def _other(sender: str) -> str:
    return "csms" if sender == "station" else "station"


@dataclass(slots=True)
class _Call:
    message_id: str
    action: str
    time: datetime | None
    payload: Any


@dataclass(slots=True)
class _Tx:
    last_seq: int | None = None
    last_event: Any = None  # the last payload (compared only when a seqNo comes again)
    evse_id: int | None = None
    id_token: Any = None
    ended: bool = False


@dataclass(slots=True)
class _Chain:
    next_seq: int = 0
    done: bool = False


@dataclass(slots=True)
class _State:
    """Everything the linter remembers about one station (connection-scoped parts reset on reconnect)."""

    connection: str = ""
    # connection scope
    outstanding: dict[str, _Call | None] = field(default_factory=lambda: {"station": None, "csms": None})
    expired: dict[str, dict[str, _Call]] = field(default_factory=lambda: {"station": {}, "csms": {}})
    answered: dict[str, dict[str, bool]] = field(default_factory=lambda: {"station": {}, "csms": {}})
    last_result: dict[str, str | None] = field(default_factory=lambda: {"station": None, "csms": None})
    boot: str | None = None  # None = unknown (no BootNotification seen on this connection)
    boot_time: datetime | None = None
    boot_interval: float = 0.0
    triggered: set[str] = field(default_factory=set)
    tx_on_connection: set[str] = field(default_factory=set)
    statuses: dict[tuple[Any, Any], str] = field(default_factory=dict)
    # station scope
    saw_boot: bool = False
    ids: dict[str, dict[str, int]] = field(default_factory=lambda: {"station": {}, "csms": {}})
    sends: dict[str, dict[str, bool]] = field(default_factory=lambda: {"station": {}, "csms": {}})
    txs: dict[str, _Tx] = field(default_factory=dict)
    evse_tx: dict[Any, str] = field(default_factory=dict)
    registers: dict[tuple[Any, ...], float] = field(default_factory=dict)
    chains: dict[tuple[str, Any], _Chain] = field(default_factory=dict)
    rejected: dict[tuple[str, Any], bool] = field(default_factory=dict)
    heartbeat_interval: float = 0.0
    last_heartbeat: datetime | None = None
    sign_request_ids: dict[Any, bool] = field(default_factory=dict)  # requestIds of 2.1 SignCertificates
    remote_start: tuple[Any, Any] | None = (
        None  # (remoteStartId, evseId) of an accepted RequestStartTransaction
    )

    def new_connection(self, connection: str) -> None:
        self.connection = connection
        self.outstanding = {"station": None, "csms": None}
        self.expired = {"station": {}, "csms": {}}
        self.answered = {"station": {}, "csms": {}}
        self.last_result = {"station": None, "csms": None}
        self.boot = None
        self.boot_time = None
        self.triggered = set()
        self.tx_on_connection = set()
        self.statuses = {}
        self.last_heartbeat = None


class Linter:
    """Feed frames in order with `check`; findings come back per frame."""

    def __init__(self, *, timeout: float = 30.0, disabled: frozenset[str] = frozenset()) -> None:
        self.timeout = timeout
        self.disabled = disabled
        self._states: dict[tuple[str, str], _State] = {}  # (observer, station): one machine per vantage point
        self._index = 0

    # -- entry points ------------------------------------------------------------------------

    def check(self, record: CaptureRecord, *, location: str = "") -> list[LintFinding]:
        """Findings for one frame; mirror copies (the far end of our own loopback) are skipped."""
        index = self._index
        self._index += 1
        if record.mirror:
            return []
        message_type, message_id, action, payload, frame = (
            record.message_type,
            record.message_id,
            record.action,
            record.payload,
            None,
        )
        if message_type is None or message_id is None:
            try:
                frame = json.loads(record.raw)
            except ValueError:
                return []
            if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[0], int):
                return []
            message_type, message_id = frame[0], frame[1]
            if message_type in (2, 6) and len(frame) >= 4:
                action, payload = frame[2], frame[3]
            elif message_type == 3:
                payload = frame[2]
            if not isinstance(message_id, str):
                return []
        out = _Out(self, index if not record.seq else record.seq, location)
        self._frame(record, message_type, message_id, action, payload, frame, out)
        return out.findings

    # -- the state machine -------------------------------------------------------------------

    def _state(self, record: CaptureRecord) -> _State:
        key = (record.observer, record.station)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State(connection=record.connection)
        elif record.connection and record.connection != state.connection:
            state.new_connection(record.connection)
        return state

    def _frame(
        self,
        record: CaptureRecord,
        message_type: int,
        message_id: str,
        action: str | None,
        payload: Any,
        frame: list[Any] | None,
        out: _Out,
    ) -> None:
        st = self._state(record)
        version = record.version
        if message_type in (5, 6) and version and version != V21:
            out.add("frame-type-version", f"message type {message_type} on a {version} connection")
        if len(message_id) > 36:
            out.add("message-id-length", f"message id is {len(message_id)} characters long")
        if message_type in (2, 6) and isinstance(action, str):
            self._call(st, record, message_type, message_id, action, payload, out)
        elif message_type in (3, 4, 5):
            if message_type != 3 and frame is None:
                try:
                    frame = json.loads(record.raw)
                except ValueError:
                    frame = None
            self._result(st, record, message_type, message_id, payload, frame, out)
        else:
            return
        if message_type in (2, 3, 6) and isinstance(payload, dict) and payload:
            _walk(payload, "", version == V21 or not version, out)

    # CALL / SEND ------------------------------------------------------------------------------

    def _call(
        self,
        st: _State,
        record: CaptureRecord,
        message_type: int,
        message_id: str,
        action: str,
        payload: Any,
        out: _Out,
    ) -> None:
        sender = record.sender
        now = record.time
        # R2: ids per sender and station, across connections; an exact retransmission is fine
        seen = st.ids[sender]
        previous = seen.get(message_id)
        digest = hash(record.raw)  # a digest, not the text: memory stays small per id
        retransmission = previous is not None and previous == digest
        if previous is not None and not retransmission:
            out.add("duplicate-message-id", f"message id {message_id} already used by the {sender}")
        elif previous is None:
            _bounded_put(seen, message_id, digest, _MAX_IDS)
        if action.endswith("Request") and action[:-7] in _ALL_2X:
            out.add("action-request-suffix", f"action {action} should be {action[:-7]}")
        wrong = (sender == "station" and action in _CSMS_TO_CS) or (
            sender == "csms" and action in _CS_TO_CSMS
        )
        if wrong:
            out.add("wrong-direction", f"{action} is not sent by the {sender}")
        if message_type == 6:
            _bounded_put(st.sends[sender], message_id, True, _MAX_IDS)
            if action == "NotifyPeriodicEventStream" and isinstance(payload, dict):
                _event_stream(payload, out)
            if sender == "station":
                self._before_boot(st, action, out)
            return
        # R3 / timeouts
        open_call = st.outstanding[sender]
        if open_call is not None and not retransmission:
            if _elapsed(open_call.time, now) > self.timeout:
                _bounded_put(st.expired[sender], open_call.message_id, open_call, 16)
            else:
                out.add(
                    "outstanding-call",
                    f"{action} while {open_call.action} ({open_call.message_id}) is still unanswered",
                )
        st.outstanding[sender] = _Call(message_id, action, now, payload)
        if not isinstance(payload, dict):
            return
        if sender == "station":
            self._before_boot(st, action, out)
            self._station_call(st, record, action, payload, out)
        else:
            if st.boot == "Rejected":
                out.add("call-to-rejected-station", f"{action} sent to a station whose boot was Rejected")
            self._csms_call(st, record, action, payload, out)

    def _before_boot(self, st: _State, action: str, out: _Out) -> None:
        if st.boot in (None, "Accepted") or action == "BootNotification":
            return
        if st.boot == "Pending" and (action in _PENDING_ALLOWED or action in st.triggered):
            st.triggered.discard(action)
            return
        out.add("before-boot-accepted", f"{action} sent while the boot is {st.boot}")

    def _station_call(
        self, st: _State, record: CaptureRecord, action: str, p: dict[str, Any], out: _Out
    ) -> None:
        if action != "Heartbeat":
            st.last_heartbeat = None  # R23 judges heartbeats of an otherwise idle link only
        if action == "BootNotification":
            if (
                st.boot in ("Pending", "Rejected")
                and st.boot_interval > 0
                and "BootNotification" not in st.triggered
                and _elapsed(st.boot_time, record.time) < st.boot_interval * 0.95
            ):
                out.add(
                    "boot-too-early",
                    f"BootNotification {_elapsed(st.boot_time, record.time):.0f} s after a "
                    f"{st.boot} response with interval {st.boot_interval:.0f} s",
                )
            st.triggered.discard("BootNotification")
            st.saw_boot = True
            st.statuses.clear()
        elif action == "TransactionEvent":
            self._transaction(st, record, p, out)
        elif action == "MeterValues":
            _registers(st, p.get("evseId"), p.get("meterValue"), out)
        elif action == "NotifyMonitoringReport" and record.version == V21:
            _monitor_types(p, out)
        elif action == "SignCertificate" and record.version == V21 and "requestId" in p:
            _bounded_put(st.sign_request_ids, p["requestId"], True, _MAX_REQUESTS)
        elif action == "FirmwareStatusNotification":
            if p.get("status") not in ("Idle", None) and "requestId" not in p:
                out.add(
                    "firmware-request-id", f"FirmwareStatusNotification {p.get('status')} without requestId"
                )
        elif action == "Heartbeat":
            last = st.last_heartbeat
            if (
                last is not None
                and st.heartbeat_interval > 0
                and "Heartbeat" not in st.triggered
                and _elapsed(last, record.time) < st.heartbeat_interval * 0.5
            ):
                out.add(
                    "heartbeat-too-often",
                    f"Heartbeat {_elapsed(last, record.time):.1f} s after the previous one "
                    f"(interval {st.heartbeat_interval:.0f} s)",
                )
            st.triggered.discard("Heartbeat")
            st.last_heartbeat = record.time
        elif action == "StatusNotification":
            if record.version == V21:
                out.add(
                    "status-notification-deprecated",
                    "StatusNotification is deprecated in 2.1 (use NotifyEvent)",
                )
            key = (p.get("evseId"), p.get("connectorId"))
            status = p.get("connectorStatus")
            if isinstance(status, str):
                if "StatusNotification" in st.triggered:
                    st.triggered.discard("StatusNotification")
                elif st.statuses.get(key) == status:
                    out.add(
                        "status-repeated", f"connector {key[0]}/{key[1]} reported {status} twice in a row"
                    )
                st.statuses[key] = status
        if action in _RESULT_ACTIONS:
            self._result_message(st, action, p, out)

    def _csms_call(
        self, st: _State, record: CaptureRecord, action: str, p: dict[str, Any], out: _Out
    ) -> None:
        if action == "CertificateSigned" and record.version == V21 and st.sign_request_ids:
            # A02.FR.25 / A03.FR.21: judged only when the SignCertificate was seen with a requestId.
            sent = ", ".join(str(k) for k in list(st.sign_request_ids)[-3:])
            if "requestId" not in p:
                message = f"CertificateSigned without requestId (SignCertificate: {sent})"
                out.add("certificate-request-id", message)
            elif p["requestId"] not in st.sign_request_ids:
                out.add(
                    "certificate-request-id",
                    f"CertificateSigned requestId {p['requestId']} answers no SignCertificate ({sent})",
                )
        elif action == "TriggerMessage":
            requested = p.get("requestedMessage")
            if isinstance(requested, str):
                st.triggered.add(
                    {
                        "SignChargingStationCertificate": "SignCertificate",
                        "SignV2GCertificate": "SignCertificate",
                        "SignV2G20Certificate": "SignCertificate",
                        "SignCombinedCertificate": "SignCertificate",
                        "MeterValues": "MeterValues",
                    }.get(requested, requested)
                )
        elif action == "SetChargingProfile":
            profile = p.get("chargingProfile")
            if isinstance(profile, dict):
                if profile.get("chargingProfilePurpose") == "TxProfile" and "transactionId" not in profile:
                    out.add("profile-tx-without-id", f"TxProfile {profile.get('id')} has no transactionId")
                _profile(profile, out)
        elif action == "RequestStartTransaction":
            profile = p.get("chargingProfile")
            if isinstance(profile, dict):
                _profile(profile, out)
        elif action == "SendLocalList":
            version = p.get("versionNumber")
            if isinstance(version, int) and version <= 0:
                out.add("local-list-version", f"versionNumber {version} (must be greater than 0)")
        elif action == "SetVariables":
            for item in p.get("setVariableData") or ():
                if (
                    isinstance(item, dict)
                    and _name(item.get("component")) == "OCPPCommCtrlr"
                    and _name(item.get("variable")) == "HeartbeatInterval"
                ):
                    with contextlib.suppress(ValueError):
                        st.heartbeat_interval = float(item.get("attributeValue", ""))

    # results ---------------------------------------------------------------------------------

    def _result(
        self,
        st: _State,
        record: CaptureRecord,
        message_type: int,
        message_id: str,
        payload: Any,
        frame: list[Any] | None,
        out: _Out,
    ) -> None:
        sender = record.sender
        caller = _other(sender)
        if message_type in (4, 5) and frame is not None and len(frame) >= 4:
            _error_fields(frame, record.version, out)
        if message_type == 5:
            if st.last_result[caller] != message_id:
                out.add(
                    "callresulterror-unmatched",
                    f"CALLRESULTERROR {message_id} answers no CALLRESULT just received",
                )
            return
        open_call = st.outstanding[caller]
        if open_call is not None and open_call.message_id == message_id:
            st.outstanding[caller] = None
            _bounded_put(st.answered[caller], message_id, True, 16)
            if _elapsed(open_call.time, record.time) > self.timeout:
                out.add(
                    "late-result",
                    f"answer to {open_call.action} after {_elapsed(open_call.time, record.time):.1f} s "
                    f"(timeout {self.timeout:.0f} s)",
                )
            if message_type == 3:
                st.last_result[sender] = message_id
                if isinstance(payload, dict):
                    self._response(st, record, open_call, payload, out)
            return
        late = st.expired[caller].pop(message_id, None)
        if late is not None:
            out.add(
                "late-result", f"answer to {late.action} {message_id} after the {self.timeout:.0f} s timeout"
            )
        elif message_id in st.sends[caller]:
            out.add(
                "reply-to-send",
                f"{'CALLRESULT' if message_type == 3 else 'CALLERROR'} answers SEND {message_id}",
            )
        elif message_type == 4 and st.last_result[caller] == message_id:
            out.add("callerror-to-callresult", f"CALLERROR {message_id} replies to a CALLRESULT")
        elif message_type == 4 and message_id == "-1":
            pass
        elif message_id in st.answered[caller]:
            out.add("unknown-result-id", f"second answer to message id {message_id}")
        else:
            out.add("unknown-result-id", f"answer to unknown message id {message_id}")

    def _response(self, st: _State, record: CaptureRecord, call: _Call, p: dict[str, Any], out: _Out) -> None:
        action = call.action
        if action == "BootNotification":
            status = p.get("status")
            st.boot = status if isinstance(status, str) else None
            st.boot_time = record.time
            interval = p.get("interval")
            if isinstance(interval, int | float):
                st.boot_interval = float(interval)
                if status == "Accepted":
                    st.heartbeat_interval = float(interval)
        elif action in ("GetVariables", "SetVariables"):
            _variables(action, call.payload, p, out)
        elif action == "TriggerMessage" and isinstance(call.payload, dict):
            if (
                call.payload.get("requestedMessage") == "BootNotification"
                and p.get("status") == "Accepted"
                and st.boot == "Accepted"
            ):
                out.add(
                    "trigger-boot-accepted",
                    "TriggerMessage(BootNotification) Accepted after an Accepted boot",
                )
        elif action == "RequestStartTransaction" and isinstance(call.payload, dict):
            if p.get("status") == "Accepted":
                st.remote_start = (call.payload.get("remoteStartId"), call.payload.get("evseId"))
        elif action in _RESULT_OF and isinstance(call.payload, dict):
            status = p.get("status")
            request_id = call.payload.get("requestId")
            if status not in _ACCEPTED and isinstance(status, str):
                _bounded_put(st.rejected, (_RESULT_OF[action], request_id), True, _MAX_REQUESTS)
            else:
                st.chains.pop((_RESULT_OF[action], request_id), None)

    def _result_message(self, st: _State, action: str, p: dict[str, Any], out: _Out) -> None:
        request_id = p.get("requestId")
        if request_id is None:
            return
        pending = st.outstanding["csms"]
        if (
            pending is not None
            and _RESULT_OF.get(pending.action) == action
            and isinstance(pending.payload, dict)
            and pending.payload.get("requestId") == request_id
        ):
            out.add(
                "result-before-response",
                f"{action} for requestId {request_id} before the {pending.action} response",
            )
        if (action, request_id) in st.rejected:
            out.add(
                "result-after-rejection",
                f"{action} for requestId {request_id} whose request was not Accepted",
            )
        if action not in _TBC_CHAINS:
            return
        chain = st.chains.get((action, request_id))
        if chain is None:
            chain = _Chain()
            _bounded_put(st.chains, (action, request_id), chain, _MAX_REQUESTS)
        if chain.done:
            out.add(
                "report-after-last", f"{action} for requestId {request_id} after its last part (tbc false)"
            )
        if action in _SEQ_CHAINS:
            seq = p.get("seqNo")
            if isinstance(seq, int):
                if seq != chain.next_seq:
                    out.add(
                        "report-seqno",
                        f"{action} requestId {request_id} seqNo {seq}, expected {chain.next_seq}",
                    )
                chain.next_seq = seq + 1
        if not p.get("tbc", False):
            chain.done = True

    # transactions ----------------------------------------------------------------------------

    def _transaction(self, st: _State, record: CaptureRecord, p: dict[str, Any], out: _Out) -> None:
        info = p.get("transactionInfo")
        if not isinstance(info, dict):
            return
        tx_id = info.get("transactionId")
        if not isinstance(tx_id, str):
            return
        event = p.get("eventType")
        seq = p.get("seqNo")
        trigger = p.get("triggerReason")
        evse = p.get("evse")
        evse_id = evse.get("id") if isinstance(evse, dict) else None
        tx = st.txs.get(tx_id)
        if tx is None:
            tx = _Tx()
            _bounded_put(st.txs, tx_id, tx, _MAX_TX)
            if event != "Started" and (seq == 0 or st.saw_boot):
                out.add("tx-not-started", f"first TransactionEvent of {tx_id} is {event}")
        else:
            if tx.ended and not (seq == tx.last_seq and _same_event(p, tx.last_event)):
                out.add("tx-after-ended", f"{event} for {tx_id} after it Ended")
            elif event == "Started" and not (seq == tx.last_seq and _same_event(p, tx.last_event)):
                out.add("tx-not-started", f"second Started for {tx_id}")
        fresh = tx.last_seq is None
        if isinstance(seq, int):
            last = tx.last_seq
            if last is not None:
                if seq == last and _same_event(p, tx.last_event):
                    return  # a retransmission
                if seq <= last:
                    out.add("tx-seqno-repeat", f"{tx_id} seqNo {seq} after {last}")
                elif seq > last + 1:
                    out.add("tx-seqno-gap", f"{tx_id} seqNo jumps from {last} to {seq}")
            tx.last_seq = seq if last is None else max(seq, last)
            tx.last_event = p
        if st.remote_start is not None:
            remote_id, remote_evse = st.remote_start
            here = evse_id if evse_id is not None else tx.evse_id
            if (remote_evse is not None and here == remote_evse) or (remote_evse is None and fresh):
                st.remote_start = None
                if info.get("remoteStartId") != remote_id:
                    out.add("remote-start-id-missing", f"{tx_id} {event} lacks remoteStartId {remote_id}")
        if tx_id not in st.tx_on_connection:
            st.tx_on_connection.add(tx_id)
            if evse_id is None and not tx.ended:
                out.add(
                    "tx-evse-missing", f"first TransactionEvent of {tx_id} on this connection has no evse"
                )
        if evse_id is not None:
            tx.evse_id = evse_id
            busy = st.evse_tx.get(evse_id)
            if event == "Started" and busy is not None and busy != tx_id:
                busy_tx = st.txs.get(busy)
                if busy_tx is not None and not busy_tx.ended:
                    out.add(
                        "tx-concurrent-on-evse", f"{tx_id} started on EVSE {evse_id} while {busy} is running"
                    )
            st.evse_tx[evse_id] = tx_id
        if trigger == "ChargingStateChanged" and "chargingState" not in info:
            out.add("tx-charging-state-missing", "triggerReason ChargingStateChanged without chargingState")
        if trigger == "OperationModeChanged" and "operationMode" not in info:
            out.add("tx-operation-mode-missing", "triggerReason OperationModeChanged without operationMode")
        token = p.get("idToken")
        if token is not None:
            if token == tx.id_token and trigger not in ("Authorized", "StopAuthorized", "Deauthorized"):
                out.add("tx-idtoken-repeated", f"idToken repeated in {tx_id} seqNo {seq}")
            tx.id_token = token
        if event == "Ended":
            if "stoppedReason" not in info and trigger in _NON_LOCAL_STOPS:
                out.add("tx-stopped-reason-missing", f"Ended by {trigger} without stoppedReason")
            tx.ended = True
        _registers(st, tx.evse_id, p.get("meterValue"), out)


class _Out:
    """Collects findings for one frame (skipping disabled rules)."""

    __slots__ = ("findings", "index", "linter", "location")

    def __init__(self, linter: Linter, index: int, location: str) -> None:
        self.linter = linter
        self.index = index
        self.location = location
        self.findings: list[LintFinding] = []

    def add(self, rule: str, message: str) -> None:
        if rule in self.linter.disabled:
            return
        info = RULES[rule]
        self.findings.append(
            LintFinding(rule, info.severity, info.requirement, message, self.index, self.location)
        )


# --- helpers over payloads ---------------------------------------------------------------------


def _same_event(new: dict[str, Any], old: Any) -> bool:
    """A retry of the same TransactionEvent: it may carry a new message id and, replayed from the
    offline queue, offline=true (E11/E13); everything else must be equal."""
    if not isinstance(old, dict):
        return False
    return {k: v for k, v in new.items() if k != "offline"} == {
        k: v for k, v in old.items() if k != "offline"
    }


def _elapsed(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return (end - start).total_seconds()


def _dict(node: Any) -> dict[str, Any]:
    return node if isinstance(node, dict) else {}


def _name(node: Any) -> Any:
    return node.get("name") if isinstance(node, dict) else None


def _walk(node: dict[str, Any], parent: str, v21: bool, out: _Out) -> None:
    """R9 timestamps, R10 placeholders, R26 appendix values in one pass over a payload.

    Runs on every live frame: a date is recognised by its shape before any regex runs, and
    only the few keys that carry appendix values are looked up.
    """
    for key, value in node.items():
        kind = type(value)
        if kind is str:
            if len(value) > 10 and value[4] == "-" and value[10] == "T" and _DATE_PREFIX.match(value):
                _timestamp(key, value, out)
            elif v21 and key in _APPENDIX_KEYS:
                _appendix(parent, key, value, out)
        elif kind is dict:
            if not value and key not in _EMPTY_OK_KEYS:
                out.add("placeholder-value", f"{key} is {{}}")
            else:
                _walk(value, key, v21, out)
        elif kind is list:
            if not value:
                out.add("placeholder-value", f"{key} is []")
            for item in value:
                if type(item) is dict:
                    _walk(item, key, v21, out)
        elif value is None:
            out.add("placeholder-value", f"{key} is null")


_APPENDIX_KEYS = frozenset({"type", "connectorType", "unit", "chargingLimitSource", "signingMethod"})


def _timestamp(key: str, value: str, out: _Out) -> None:
    match = _RFC3339.fullmatch(value)
    if match is None:
        out.add("timestamp-format", f"{key} {value!r} is not an RFC 3339 date-time")
        return
    fraction, offset = match.group(1), match.group(2)
    if fraction is not None and len(fraction) > 3:
        out.add("timestamp-format", f"{key} {value!r} has {len(fraction)} fraction digits (at most 3)")
    if offset not in ("Z", "z"):
        out.add("timestamp-not-utc", f"{key} {value!r} is not UTC (Z)")


def _appendix(parent: str, key: str, value: str, out: _Out) -> None:
    allowed: frozenset[str] | None = None
    if key == "type" and parent in ("idToken", "groupIdToken"):
        allowed = ID_TOKEN_TYPES
    elif key == "connectorType":
        allowed = CONNECTOR_TYPES
    elif key == "unit" and parent == "unitOfMeasure":
        allowed = UNITS_OF_MEASURE
    elif key == "chargingLimitSource":
        allowed = CHARGING_LIMIT_SOURCES
    elif key == "signingMethod":
        allowed = SIGNING_METHODS
    elif key == "type" and parent == "additionalInfo":
        if value in ADDITIONAL_INFO_TYPES or value in ADDITIONAL_INFO_TYPES_ADHOC:
            return
        allowed = ADDITIONAL_INFO_TYPES
    if allowed is not None and value not in allowed:
        where = f"{parent}.{key}" if parent else key
        out.add("appendix-value", f"{where} {value!r} is not in the appendix list")


def _monitor_types(p: dict[str, Any], out: _Out) -> None:
    """Every monitor of a 2.1 report says who defined it; a 2.0.1 payload does not (and may not)."""
    for entry in p.get("monitor") or []:
        if not isinstance(entry, dict):
            continue
        component = (entry.get("component") or {}).get("name")
        variable = (entry.get("variable") or {}).get("name")
        for monitor in entry.get("variableMonitoring") or []:
            if isinstance(monitor, dict) and "eventNotificationType" not in monitor:
                out.add(
                    "monitor-notification-type",
                    f"monitor {monitor.get('id')} on {component}.{variable} has no eventNotificationType",
                )


def _error_fields(frame: list[Any], version: str, out: _Out) -> None:
    code, description = frame[2], frame[3] if len(frame) > 3 else ""
    if isinstance(code, str):
        if code in _MISSPELLED and version != "ocpp1.6":
            out.add("error-code-spelling", f"{code} is the 1.6 spelling of {_MISSPELLED[code]}")
        elif code not in _ERROR_CODES_2X and version != "ocpp1.6":
            out.add("error-code-unknown", f"error code {code} is not defined in {version or 'OCPP 2.x'}")
    if isinstance(description, str) and len(description) > 255:
        out.add(
            "error-description-length", f"errorDescription has {len(description)} characters (at most 255)"
        )


def _variables(action: str, request: Any, response: dict[str, Any], out: _Out) -> None:
    asked_key, result_key = (
        ("getVariableData", "getVariableResult")
        if action == "GetVariables"
        else ("setVariableData", "setVariableResult")
    )
    asked = request.get(asked_key) if isinstance(request, dict) else None
    results = response.get(result_key)
    if not isinstance(asked, list) or not isinstance(results, list):
        return
    if len(asked) != len(results):
        out.add("variables-result-mismatch", f"{len(results)} {result_key} for {len(asked)} {asked_key}")
        return
    wanted = sorted(_variable_key(item) for item in asked)
    got = sorted(_variable_key(item) for item in results)
    if wanted != got:
        out.add(
            "variables-result-mismatch",
            f"{result_key} component/variable/attributeType differ from the request",
        )
    if action == "GetVariables":
        for item in results:
            if (
                isinstance(item, dict)
                and item.get("attributeStatus") != "Accepted"
                and "attributeValue" in item
            ):
                out.add(
                    "variables-result-mismatch", "attributeValue on a GetVariableResult that is not Accepted"
                )
                break


def _variable_key(item: Any) -> tuple[str, str, str, str, str]:
    if not isinstance(item, dict):
        return ("", "", "", "", "")
    component = _dict(item.get("component"))
    variable = _dict(item.get("variable"))
    evse = _dict(component.get("evse"))
    return (
        str(component.get("name", "")),
        str(component.get("instance", ""))
        + "/"
        + str(evse.get("id", ""))
        + "/"
        + str(evse.get("connectorId", "")),
        str(variable.get("name", "")),
        str(variable.get("instance", "")),
        str(item.get("attributeType", "Actual")),
    )


_ENERGY_SCALE = {"Wh": 1.0, "kWh": 1000.0, "varh": 1.0, "kvarh": 1000.0, "VAh": 1.0, "kVAh": 1000.0}


def _registers(st: _State, evse_id: Any, meter_values: Any, out: _Out) -> None:
    if not isinstance(meter_values, list):
        return
    for meter_value in meter_values:
        if not isinstance(meter_value, dict):
            continue
        for sample in meter_value.get("sampledValue") or ():
            if not isinstance(sample, dict):
                continue
            measurand = sample.get("measurand", "Energy.Active.Import.Register")
            if not (
                isinstance(measurand, str)
                and measurand.startswith("Energy")
                and measurand.endswith("Register")
            ):
                continue
            value = sample.get("value")
            if not isinstance(value, int | float):
                continue
            unit = sample.get("unitOfMeasure")
            scale = 1.0
            if isinstance(unit, dict):
                name = str(unit.get("unit", "Wh"))
                if name not in _ENERGY_SCALE:
                    out.add("energy-unit", f"{measurand} in {name}")
                    continue
                multiplier = unit.get("multiplier", 0)
                scale = _ENERGY_SCALE[name] * 10.0 ** (multiplier if isinstance(multiplier, int) else 0)
            key = (evse_id, measurand, sample.get("phase"), sample.get("location", "Outlet"))
            reading = float(value) * scale
            last = st.registers.get(key)
            if last is not None and reading < last - 1e-6 * max(1.0, abs(last)):
                out.add(
                    "energy-register-decreasing",
                    f"{measurand} on EVSE {evse_id} went from {last:g} Wh to {reading:g} Wh",
                )
            _bounded_put(st.registers, key, reading, 64)


def _profile(profile: dict[str, Any], out: _Out) -> None:
    kind = profile.get("chargingProfileKind")
    schedules = profile.get("chargingSchedule")
    if isinstance(schedules, dict):  # 1.6 shape; 2.x sends a list
        schedules = [schedules]
    if not isinstance(schedules, list):
        return
    for schedule in schedules:
        if not isinstance(schedule, dict):
            continue
        has_start = "startSchedule" in schedule
        if kind in ("Absolute", "Recurring") and not has_start:
            out.add("profile-start-schedule", f"{kind} profile {profile.get('id')} without startSchedule")
        elif kind == "Relative" and has_start:
            out.add("profile-start-schedule", f"Relative profile {profile.get('id')} with a startSchedule")
        periods = schedule.get("chargingSchedulePeriod")
        if not isinstance(periods, list) or not periods:
            continue
        starts = [q.get("startPeriod") for q in periods if isinstance(q, dict)]
        if starts and starts[0] != 0:
            out.add(
                "profile-first-period", f"schedule {schedule.get('id')} starts at startPeriod {starts[0]}"
            )
        numbers = [x for x in starts if isinstance(x, int | float)]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            out.add("profile-periods-unsorted", f"schedule {schedule.get('id')} startPeriods {numbers}")


def _event_stream(p: dict[str, Any], out: _Out) -> None:
    data = p.get("data")
    if not isinstance(data, list) or not data:
        out.add("event-stream-data", f"stream {p.get('id')} sent no data")
        return
    previous: float | None = None
    for item in data:
        t = item.get("t") if isinstance(item, dict) else None
        if not isinstance(t, int | float):
            out.add("event-stream-data", f"stream {p.get('id')}: t {t!r} is not a number")
            return
        if previous is not None and t < previous:
            out.add("event-stream-data", f"stream {p.get('id')}: t goes back from {previous:g} to {t:g}")
            return
        previous = t


def lint_records(records: list[CaptureRecord], *, timeout: float = 30.0) -> list[LintFinding]:
    """All findings for a list of records, in order (a fresh Linter)."""
    linter = Linter(timeout=timeout)
    findings: list[LintFinding] = []
    for record in records:
        findings += linter.check(record)
    return findings


__all__ = ["RULES", "LintFinding", "Linter", "RuleInfo", "lint_records"]
