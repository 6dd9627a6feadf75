"""The standalone validator: paste a frame or a bare payload, pick the version, see every problem.

The checks are the core's (app/inspector/offline.py and app/protocol/schemas.py), the same the
`chargebench validate` command runs, so the window and CI never disagree about a frame.
"""

from __future__ import annotations

import contextlib
import json
from html import escape
from typing import Any

from PySide6.QtCore import Qt
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

from app.inspector.offline import FrameChecker
from app.inspector.records import CaptureRecord
from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion
from ui import theme

VERSIONS = (("2.1", OcppVersion.V21), ("2.0.1", OcppVersion.V201), ("1.6", OcppVersion.V16))
KINDS = (("Request", Kind.REQUEST), ("Response", Kind.RESPONSE), ("SEND", Kind.SEND))


def validate_text(text: str, version: OcppVersion, action: str | None, kind: Kind) -> list[str]:
    """Every problem of a pasted frame (a JSON array) or bare payload (a JSON object).

    `action` / `kind` say which schema a bare payload follows; for a lone CALLRESULT `action`
    says which CALL it answers. An empty list means valid.
    """
    try:
        doc = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        where = f"line {line}, column {col}: " if line is not None else ""
        message = getattr(exc, "msg", str(exc))
        return [f"(text): not JSON — {where}{message}"]
    if isinstance(doc, list):
        checker = FrameChecker(version)
        if doc[:1] == [3] and len(doc) > 1 and action:
            checker.expect_result(str(doc[1]), action)
        return [
            _finding_text(f.severity, f.rule, f.message, f.requirement)
            for f in checker.check(text, location="")
        ]
    if isinstance(doc, dict):
        if not action:
            return ["(payload): pick the action whose schema this payload follows"]
        if not schemas.is_known(version, action, kind):
            return [f"(payload): {action} has no {kind} schema in {version}"]
        return [str(p) for p in schemas.validate(version, action, kind, doc)]
    return ["(text): expected a frame (JSON array) or a payload (JSON object)"]


def _finding_text(severity: str, rule: str, message: str, requirement: str) -> str:
    text = f"{message} [{rule}]" if severity == "error" else f"{severity}: {message} [{rule}]"
    return f"{text} ({requirement})" if requirement else text


class ValidatorDialog(QDialog):
    """Non-modal: open it with open() and keep working in the window behind."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Validate a frame")
        self.setModal(False)
        self.resize(720, 560)
        layout = QVBoxLayout(self)

        hint = QLabel(
            'Paste a frame like <code>[2,"id","Heartbeat",{}]</code> or a bare payload <code>{…}</code>'
        )
        hint.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(hint)
        self.text = QPlainTextEdit()
        self.text.setFont(theme.monospace())
        self.text.setPlaceholderText('[2,"19223201","BootNotification",{"reason":"PowerUp"}]')
        layout.addWidget(self.text, 2)

        row = QHBoxLayout()
        self.version = QComboBox()
        for label, version in VERSIONS:
            self.version.addItem(f"OCPP {label}", version)
        self.version.setToolTip("The OCPP version whose schemas apply")
        self.action = QComboBox()
        self.action.setEditable(True)
        self.action.setMinimumContentsLength(24)
        self.action.setToolTip(
            "For a bare payload: the action whose schema it follows.\n"
            "For a lone CALLRESULT: the action it answers."
        )
        self.kind = QComboBox()
        for label, kind in KINDS:
            self.kind.addItem(label, kind)
        self.kind.setToolTip("For a bare payload: the request (CALL) or response (CALLRESULT) schema")
        self.validate_button = QPushButton("Validate")
        self.validate_button.setDefault(True)
        self.validate_button.clicked.connect(self.validate)
        row.addWidget(QLabel("Version"))
        row.addWidget(self.version)
        row.addWidget(QLabel("Action"))
        row.addWidget(self.action, 1)
        row.addWidget(self.kind)
        row.addWidget(self.validate_button)
        layout.addLayout(row)

        self.result = QLabel()
        self.result.setObjectName("validatorResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.result, 1)

        self.problems: list[str] = []
        self.version.currentIndexChanged.connect(self._fill_actions)
        self._fill_actions()

    def open(self) -> None:
        """Show without blocking and without modality (QDialog.open() would be window-modal):
        the tester keeps reading the inspector while checking a frame here."""
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.show()
        self.raise_()
        self.activateWindow()

    def _fill_actions(self, *_: Any) -> None:
        current = self.action.currentText()
        version = self.current_version()
        names = sorted(schemas.actions(version) | schemas.send_actions(version))
        self.action.blockSignals(True)
        self.action.clear()
        self.action.addItem("")
        self.action.addItems(names)
        self.action.setCurrentText(current if current in names else "")
        self.action.blockSignals(False)

    def current_version(self) -> OcppVersion:
        data = self.version.currentData()  # Qt hands a StrEnum back as a plain str
        return OcppVersion(data) if data in {str(v) for v in OcppVersion} else OcppVersion.V21

    def set_version(self, version: OcppVersion) -> None:
        index = self.version.findData(version)
        if index >= 0:
            self.version.setCurrentIndex(index)

    def set_payload_schema(self, action: str, kind: Kind = Kind.REQUEST) -> None:
        self.action.setCurrentText(action)
        self.kind.setCurrentIndex(max(self.kind.findData(kind), 0))

    def load_record(self, record: CaptureRecord) -> None:
        """Start from a captured frame (its raw text, version and action)."""
        self.text.setPlainText(record.raw)
        with contextlib.suppress(ValueError):
            self.set_version(OcppVersion(record.version))
        if record.action:
            self.action.setCurrentText(record.action)

    def validate(self) -> list[str]:
        action = self.action.currentText().strip() or None
        data = self.kind.currentData()
        kind = Kind(data) if data in {str(k) for k in Kind} else Kind.REQUEST
        self.problems = validate_text(
            self.text.toPlainText(),
            self.current_version(),
            action,
            kind if isinstance(kind, Kind) else Kind.REQUEST,
        )
        if not self.problems:
            self.result.setText("<span style='color:#2e7d32;font-weight:bold'>Valid ✓</span>")
        else:
            count = len(self.problems)
            items = "".join(f"<li>{_problem_html(p)}</li>" for p in self.problems)
            self.result.setText(
                f"<b style='color:{theme.INVALID.name()}'>✗ {count} problem{'s' if count != 1 else ''}</b>"
                f"<ul style='margin:2px 0 0 -20px'>{items}</ul>"
            )
        return self.problems

    def result_text(self) -> str:
        return "Valid ✓" if not self.problems else "\n".join(self.problems)


def _problem_html(text: str) -> str:
    path, sep, message = text.partition(": ")
    if not sep or " " in path.strip():
        return escape(text)
    return f"<code><b>{escape(path)}</b></code> — {escape(message)}"
