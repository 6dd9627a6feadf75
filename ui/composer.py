"""The raw composer: type any frame, valid or not, and put exactly that text on one connection.

From an emulated station to its CSMS, or from the built-in CSMS to a station connected to it.
Templates give a valid skeleton to start from (a CALL of any action with a fresh message id,
the answer frames, SEND) and the usual deliberate breakages; a live line says whether the text
is a valid frame and, if not, why, with the same checks the inspector and `chargebench
validate` use. When the peer answers (same message id on the same connection), the answer is
shown under the editor with its latency.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.clock import new_message_id, utc_timestamp
from app.inspector.records import FRAME_TYPE_NAMES, CaptureRecord
from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion
from app.session import Session
from app.transport.connection import OcppConnection
from ui import theme
from ui.inspector_model import version_label
from ui.tasks import TaskRunner
from ui.validator_dialog import validate_text

# ---------------------------------------------------------------------- templates (no Qt)

VALID_TEMPLATES = ("CALL", "CALLRESULT", "CALLERROR", "CALLRESULTERROR", "SEND")
BROKEN_TEMPLATES = ("Broken JSON", "Unknown action", "Wrong type", "Missing field", "Duplicate message id")


def skeleton(version: OcppVersion, action: str, kind: Kind, now: datetime | None = None) -> dict[str, Any]:
    """The smallest payload the action's schema accepts: required fields only, first enum
    value, the current time for date-times, minimal strings and numbers."""
    doc = schemas.schema(version, action, kind)
    if doc is None:
        raise KeyError(f"{action} has no {kind} schema in {version}")
    value = _fill(doc, doc, utc_timestamp(now or datetime.now(UTC)))
    return value if isinstance(value, dict) else {}


# Free-text fields whose values come from an appendix list (lints check them): a real value.
_SAMPLES = {"IdToken.type": "ISO14443", "AdditionalInfo.type": "ISO14443"}


def _fill(node: dict[str, Any], root: dict[str, Any], now: str) -> Any:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        owner = node.get("javaType", "")
        return {
            k: _SAMPLES.get(f"{owner}.{k}") or _fill(props[k], root, now)
            for k in node.get("required", [])
            if k in props
        }
    if kind == "array":
        return [_fill(node.get("items", {}), root, now) for _ in range(node.get("minItems", 0))]
    if kind == "string":
        if node.get("format") == "date-time":
            return now
        if node.get("format") == "uri":
            return "https://example.com/x"
        return "x" * max(1, node.get("minLength", 1))
    if kind in ("integer", "number"):
        return node.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


def frame_text(frame: list[Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def template(
    name: str, version: OcppVersion, action: str, *, reply_to: str | None = None, last_id: str | None = None
) -> str:
    """The text of template `name` (one of VALID_TEMPLATES or BROKEN_TEMPLATES).

    `reply_to` is the message id an answer template uses; `last_id` the id a duplicate repeats.
    """
    fresh = new_message_id()
    if name == "CALL":
        return frame_text([2, fresh, action, skeleton(version, action, Kind.REQUEST)])
    if name == "CALLRESULT":
        return frame_text([3, reply_to or fresh, skeleton(version, action, Kind.RESPONSE)])
    if name == "CALLERROR":
        return frame_text([4, reply_to or fresh, "GenericError", "raised by hand", {}])
    if name == "CALLRESULTERROR":
        return frame_text([5, reply_to or fresh, "GenericError", "raised by hand", {}])
    if name == "SEND":
        sends = sorted(schemas.send_actions(version))
        if not sends:
            raise ValueError(f"SEND frames exist only on OCPP 2.1, not {version}")
        send = action if action in sends else sends[0]
        return frame_text([6, fresh, send, skeleton(version, send, Kind.SEND)])
    payload = skeleton(version, action, Kind.REQUEST)
    if name == "Broken JSON":
        return frame_text([2, fresh, action, payload])[:-2]  # the closing braces are missing
    if name == "Unknown action":
        return frame_text([2, fresh, "NoSuchAction", {}])
    if name == "Wrong type":
        field = next(iter(payload), None)
        if field is None:
            return frame_text([2, fresh, action, []])  # the payload itself is not an object
        value = payload[field]
        payload[field] = 12345 if isinstance(value, str) else "not-a-" + type(value).__name__
        return frame_text([2, fresh, action, payload])
    if name == "Missing field":
        if payload:
            payload.pop(next(iter(payload)))
            return frame_text([2, fresh, action, payload])
        return frame_text([2, fresh, action])  # nothing required: drop the payload element
    if name == "Duplicate message id":
        return frame_text([2, last_id or fresh, action, payload])
    raise ValueError(f"no template named {name!r}")


def judge(text: str, version: OcppVersion, action: str | None) -> tuple[bool, str]:
    """(valid, one line for the tester) for the composed text."""
    if not text.strip():
        return False, "Type a frame, or pick a template"
    problems = validate_text(text, version, action, Kind.REQUEST)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        problems = ["(text): a bare payload; a frame is a JSON array like [2, id, action, {…}]"]
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return False, f"Not valid {version_label(version)}: {problems[0]}{more}"
    kind = FRAME_TYPE_NAMES.get(doc[0], "frame") if isinstance(doc, list) and doc else "frame"
    named = doc[2] if isinstance(doc, list) and len(doc) > 3 and doc[0] in (2, 6) else ""
    return True, f"Valid {version_label(version)} {kind} {named}".rstrip()


# ---------------------------------------------------------------------- the dialog


class ComposerDialog(QDialog):
    """Non-modal: compose, send, watch the answer; the window behind keeps working."""

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.setWindowTitle("Compose a raw frame")
        self.setModal(False)
        self.resize(760, 600)
        self._sent_id: str | None = None
        self._sent_on: str | None = None
        self._last_id: str | None = None
        self.answer_record: CaptureRecord | None = None

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Send from"))
        self.target = QComboBox()
        self.target.setMinimumContentsLength(36)
        self.target.setToolTip(
            "An emulated station (to its CSMS), or the built-in CSMS (to a station connected to it)"
        )
        self.target.currentIndexChanged.connect(self._on_target_changed)
        top.addWidget(self.target, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("List the connections open right now")
        self.refresh_button.clicked.connect(self.refresh_targets)
        top.addWidget(self.refresh_button)
        layout.addLayout(top)

        row = QHBoxLayout()
        row.addWidget(QLabel("Template"))
        self.template = QComboBox()
        for name in VALID_TEMPLATES:
            self.template.addItem(name, name)
        self.template.insertSeparator(len(VALID_TEMPLATES))
        for name in BROKEN_TEMPLATES:
            self.template.addItem(f"Break: {name}", name)
        self.template.setToolTip("A valid skeleton to start from, or a deliberately broken frame")
        row.addWidget(self.template)
        row.addWidget(QLabel("Action"))
        self.action = QComboBox()
        self.action.setEditable(True)
        self.action.setMinimumContentsLength(26)
        self.action.setToolTip("The action of a CALL, or the action a CALLRESULT answers")
        row.addWidget(self.action, 1)
        self.insert_button = QPushButton("Use template")
        self.insert_button.setToolTip("Replace the text below with the template (fresh message id)")
        self.insert_button.clicked.connect(self.apply_template)
        row.addWidget(self.insert_button)
        layout.addLayout(row)

        self.editor = QPlainTextEdit()
        self.editor.setFont(theme.monospace())
        self.editor.setPlaceholderText('[2,"19223201","Heartbeat",{}]')
        self.editor.textChanged.connect(self._revalidate)
        layout.addWidget(self.editor, 3)

        self.verdict = QLabel()
        self.verdict.setObjectName("composerVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdict)

        send_row = QHBoxLayout()
        self.status = QLabel("Send puts exactly this text on the wire, valid or not.")
        self.status.setWordWrap(True)
        send_row.addWidget(self.status, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        send_row.addWidget(self.send_button)
        layout.addLayout(send_row)

        layout.addWidget(QLabel("Answer"))
        self.answer = QPlainTextEdit()
        self.answer.setReadOnly(True)
        self.answer.setFont(theme.monospace())
        self.answer.setPlaceholderText("The peer's answer to the frame you sent shows here.")
        layout.addWidget(self.answer, 2)

        session.store.added.connect(self._on_record)
        self._poll = QTimer(self)  # connections come and go without a signal here
        self._poll.setInterval(1000)
        self._poll.timeout.connect(self._refresh_if_gone)
        self._poll.start()
        self.refresh_targets()

    # ------------------------------------------------------------------ targets

    def connections(self) -> list[tuple[str, OcppConnection]]:
        """(label, connection) of every open connection we own an end of."""
        found: list[tuple[str, OcppConnection]] = []
        for station in self.session.stations.values():
            conn = station.connection
            if conn is not None and not conn.closed:
                found.append((f"Station {station.station_id} → its CSMS", conn))
        csms = self.session.csms
        if csms is not None:
            for link in csms.stations.values():
                if link.connected:
                    found.append((f"Built-in CSMS → station {link.station_id}", link.connection))
        return found

    def refresh_targets(self) -> None:
        current = self.connection()
        self.target.blockSignals(True)
        self.target.clear()
        for label, conn in self.connections():
            self.target.addItem(label, conn)
        if self.target.count() == 0:
            self.target.addItem("No open connection: start a station first", None)
        index = self.target.findData(current) if current is not None else -1
        self.target.setCurrentIndex(max(0, index))
        self.target.blockSignals(False)
        self._on_target_changed()

    def select(self, station_id: str, *, from_csms: bool = False) -> bool:
        """Pick the connection of `station_id` (its own end, or the built-in CSMS's)."""
        self.refresh_targets()
        for i in range(self.target.count()):
            conn = self.target.itemData(i)
            at_csms = conn is not None and conn.local_role == "csms"
            if conn is not None and conn.station_id == station_id and at_csms == from_csms:
                self.target.setCurrentIndex(i)
                return True
        return False

    def connection(self) -> OcppConnection | None:
        conn = self.target.currentData()
        return conn if isinstance(conn, OcppConnection) else None

    def _refresh_if_gone(self) -> None:
        conn = self.connection()
        if (conn is None or conn.closed) or self.target.count() != len(self.connections()):
            self.refresh_targets()

    def _version(self) -> OcppVersion:
        conn = self.connection()
        return conn.version if conn is not None else OcppVersion.V21

    def _on_target_changed(self) -> None:
        conn = self.connection()
        self.send_button.setEnabled(conn is not None)
        wanted = self.action.currentText()
        self.action.blockSignals(True)
        self.action.clear()
        self.action.addItems(sorted(schemas.actions(self._version())))
        self.action.setCurrentText(wanted or "Heartbeat")
        self.action.blockSignals(False)
        self._revalidate()

    # ------------------------------------------------------------------ composing

    def apply_template(self) -> None:
        name = self.template.currentData()
        reply_to = self._last_call_id(ours=False)
        last_id = self._last_id or self._last_call_id(ours=True)
        try:
            action = self.action.currentText()
            text = template(name, self._version(), action, reply_to=reply_to, last_id=last_id)
        except (KeyError, ValueError) as exc:
            self.status.setText(f"No template: {exc}")
            return
        self.editor.setPlainText(text)

    def _last_call_id(self, *, ours: bool) -> str | None:
        """The id of the latest CALL on this connection: the peer's (what an answer answers) or
        our own (what a duplicate repeats)."""
        conn = self.connection()
        if conn is None:
            return None
        sender = conn.local_role if ours else conn.remote_role
        store = self.session.store
        for i in range(len(store) - 1, max(-1, len(store) - 2000), -1):
            r = store[i]
            if r.connection == conn.name and r.sender == sender and r.message_type == 2:
                return r.message_id
        return None

    def _revalidate(self) -> None:
        ok, line = judge(self.editor.toPlainText(), self._version(), self.action.currentText() or None)
        colour = "#1e7a3c" if ok else "#c62828"
        self.verdict.setText(f'<span style="color:{colour}">{"✔" if ok else "✘"} {escape(line)}</span>')

    # ------------------------------------------------------------------ sending

    def send(self) -> None:
        conn = self.connection()
        text = self.editor.toPlainText()
        if conn is None or conn.closed:
            self.status.setText("That connection is closed: pick another one.")
            self.refresh_targets()
            return
        sent_id: str | None = None
        try:
            doc = json.loads(text)
            if isinstance(doc, list) and len(doc) > 1 and isinstance(doc[1], str):
                sent_id = doc[1]
        except ValueError:
            pass
        self._sent_id, self._sent_on = sent_id or "-1", conn.name  # an unreadable id is answered as "-1"
        self._last_id = sent_id or self._last_id
        self.answer_record = None
        self.answer.setPlainText("")
        self.status.setText(f"Sending on {conn.name}…")
        self.runner.run(self._send(conn, text), f"Send a raw frame on {conn.name}")

    async def _send(self, conn: OcppConnection, text: str) -> None:
        try:
            await conn.send_raw(text)
        except Exception as exc:
            self.status.setText(f"Not sent: {exc}")
            raise
        self.status.setText(f"Sent {len(text)} characters on {conn.name} at {datetime.now():%H:%M:%S}.")

    def _on_record(self, record: CaptureRecord) -> None:
        if (
            self._sent_id is None
            or record.connection != self._sent_on
            or record.message_id != self._sent_id
            or record.message_type not in (3, 4, 5)
            or record.observer not in ("station", "csms")
            or record.sender == ("station" if self._sent_on.endswith("@station") else "csms")
        ):
            return
        self.answer_record = record
        kind = FRAME_TYPE_NAMES.get(record.message_type or 0, "frame")
        latency = f" after {record.latency_ms:.0f} ms" if record.latency_ms is not None else ""
        lines = [f"{kind}{latency}:", record.raw]
        lines += [f"problem: {p}" for p in record.problems]
        self.answer.setPlainText("\n".join(lines))

    def done(self, result: int) -> None:
        self._poll.stop()
        self.session.store.added.disconnect(self._on_record)
        super().done(result)
