"""How the built-in CSMS answers on its own: boot verdict, intervals, card verdicts, passwords.

The panel edits one `CsmsConfig` in place. The CSMS reads its config on every message, so a
change holds from the next message on, without a restart. The window starts a new `Csms` each
time the built-in CSMS is switched on; `apply_to` hands that one the same config, so what the
engineer set here survives a Stop / Start.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.csms.csms import Csms, CsmsConfig
from app.csms.schema_form import authorization_statuses
from app.protocol.schemas import OcppVersion

BOOT_STATUSES = ("Accepted", "Pending", "Rejected")
# The 2.1 list is a superset of 2.0.1's; 1.6 stations understand the first five of them.
TOKEN_STATUSES = authorization_statuses(OcppVersion.V21)
MAX_INTERVAL = 86_400


class AutoAnswersPanel(QWidget):
    #: Something in the config changed (already applied).
    changed = Signal()

    def __init__(self, config: CsmsConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config or CsmsConfig()
        self._loading = True
        layout = QVBoxLayout(self)

        boot = QGroupBox("BootNotification")
        boot_form = QFormLayout(boot)
        self.boot_status = QComboBox()
        self.boot_status.addItems(list(BOOT_STATUSES))
        self.boot_status.setToolTip(
            "Pending or Rejected: the station may only boot again (B02 / B03) and retries "
            "after the retry interval"
        )
        self.heartbeat = self._seconds("Heartbeat interval sent with Accepted")
        self.retry = self._seconds("Interval sent with Pending / Rejected: when the station boots again")
        boot_form.addRow("Answer", self.boot_status)
        boot_form.addRow("Heartbeat interval", self.heartbeat)
        boot_form.addRow("Retry interval", self.retry)
        layout.addWidget(boot)

        tokens = QGroupBox("Authorization (Authorize, TransactionEvent idTokenInfo)")
        tokens_layout = QVBoxLayout(tokens)
        default_row = QHBoxLayout()
        default_row.addWidget(QLabel("Any other card"))
        self.default_status = self._status_combo()
        self.default_status.setToolTip("The answer for a card not in the list below")
        default_row.addWidget(self.default_status, 1)
        tokens_layout.addLayout(default_row)
        self.tokens = QTableWidget(0, 2)
        self.tokens.setHorizontalHeaderLabels(["idToken (case-insensitive)", "Answer"])
        self.tokens.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tokens.setColumnWidth(1, 170)
        self.tokens.verticalHeader().setVisible(False)
        self.tokens.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tokens.setMinimumHeight(110)
        self.tokens.itemChanged.connect(lambda _: self._apply_tokens())
        tokens_layout.addWidget(self.tokens)
        token_buttons = QHBoxLayout()
        self.new_token = QLineEdit()
        self.new_token.setPlaceholderText("card id, e.g. 04A2B3C4D5")
        self.new_token.returnPressed.connect(self.add_token_from_field)
        self.add_token_button = QPushButton("+ Add card")
        self.add_token_button.clicked.connect(self.add_token_from_field)
        self.remove_token_button = QPushButton("Remove")
        self.remove_token_button.clicked.connect(self.remove_selected_tokens)
        token_buttons.addWidget(self.new_token, 1)
        token_buttons.addWidget(self.add_token_button)
        token_buttons.addWidget(self.remove_token_button)
        tokens_layout.addLayout(token_buttons)
        layout.addWidget(tokens)

        passwords = QGroupBox("Station passwords (HTTP Basic, security profiles 1 and 2)")
        pw_layout = QVBoxLayout(passwords)
        self.require_password = QCheckBox("Only stations listed here, with their password")
        self.require_password.setToolTip(
            "Off: any station id, any password. Passwords are kept in memory only."
        )
        pw_layout.addWidget(self.require_password)
        self.passwords = QTableWidget(0, 2)
        self.passwords.setHorizontalHeaderLabels(["Station id", "Password"])
        self.passwords.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.passwords.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.passwords.verticalHeader().setVisible(False)
        self.passwords.setMinimumHeight(80)
        self.passwords.itemChanged.connect(lambda _: self._apply_passwords())
        pw_layout.addWidget(self.passwords)
        pw_buttons = QHBoxLayout()
        self.add_password_button = QPushButton("+ Add station")
        self.add_password_button.clicked.connect(lambda: self.add_password("", ""))
        self.remove_password_button = QPushButton("Remove")
        self.remove_password_button.clicked.connect(self.remove_selected_passwords)
        pw_buttons.addStretch(1)
        pw_buttons.addWidget(self.add_password_button)
        pw_buttons.addWidget(self.remove_password_button)
        pw_layout.addLayout(pw_buttons)
        layout.addWidget(passwords)
        note = QLabel("Changes apply from the next message; no restart needed.")
        note.setObjectName("muted")
        layout.addWidget(note)
        layout.addStretch(1)

        self.load(self.config)
        self.boot_status.currentTextChanged.connect(lambda _: self._apply())
        self.heartbeat.valueChanged.connect(lambda _: self._apply())
        self.retry.valueChanged.connect(lambda _: self._apply())
        self.default_status.currentTextChanged.connect(lambda _: self._apply())
        self.require_password.toggled.connect(lambda _: self._apply_passwords())
        self.require_password.toggled.connect(self._enable_passwords)
        self._enable_passwords(self.require_password.isChecked())

    def _enable_passwords(self, on: bool) -> None:
        for widget in (self.passwords, self.add_password_button, self.remove_password_button):
            widget.setEnabled(on)

    @staticmethod
    def _seconds(tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(0, MAX_INTERVAL)
        spin.setSuffix(" s")
        spin.setToolTip(tip)
        return spin

    @staticmethod
    def _status_combo() -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(TOKEN_STATUSES))
        return combo

    # ------------------------------------------------------------------ config <-> widgets

    def load(self, config: CsmsConfig) -> None:
        """Show (and from now on edit) `config`."""
        self._loading = True
        try:
            self.config = config
            self.boot_status.setCurrentText(config.boot_status)
            self.heartbeat.setValue(config.heartbeat_interval)
            self.retry.setValue(config.boot_retry_interval)
            self.default_status.setCurrentText(config.default_token_status)
            self.tokens.setRowCount(0)
            for token, status in config.token_status.items():
                self.add_token(token, status)
            self.passwords.setRowCount(0)
            for station_id, password in (config.passwords or {}).items():
                self.add_password(station_id, password)
            self.require_password.setChecked(config.passwords is not None)
        finally:
            self._loading = False

    def apply_to(self, csms: Csms | None) -> None:
        """Make `csms` answer by this panel's config (a new CSMS after Stop / Start)."""
        if csms is not None and csms.config is not self.config:
            csms.config = self.config

    def _apply(self) -> None:
        if self._loading:
            return
        self.config.boot_status = self.boot_status.currentText()
        self.config.heartbeat_interval = self.heartbeat.value()
        self.config.boot_retry_interval = self.retry.value()
        self.config.default_token_status = self.default_status.currentText()
        self.changed.emit()

    def _apply_tokens(self) -> None:
        if self._loading:
            return
        tokens: dict[str, str] = {}
        for row in range(self.tokens.rowCount()):
            item = self.tokens.item(row, 0)
            combo = self.tokens.cellWidget(row, 1)
            token = item.text().strip() if item is not None else ""
            if token and isinstance(combo, QComboBox):
                tokens[token] = combo.currentText()
        self.config.token_status = tokens
        self.changed.emit()

    def _apply_passwords(self) -> None:
        if self._loading:
            return
        if not self.require_password.isChecked():
            self.config.passwords = None
        else:
            table: dict[str, str] = {}
            for row in range(self.passwords.rowCount()):
                item = self.passwords.item(row, 0)
                field = self.passwords.cellWidget(row, 1)
                station_id = item.text().strip() if item is not None else ""
                if station_id and isinstance(field, QLineEdit):
                    table[station_id] = field.text()
            self.config.passwords = table
        self.changed.emit()

    # ------------------------------------------------------------------ table rows

    def add_token(self, token: str, status: str = "Blocked") -> None:
        row = self.tokens.rowCount()
        self.tokens.insertRow(row)
        self.tokens.setItem(row, 0, QTableWidgetItem(token))
        combo = self._status_combo()
        combo.setCurrentText(status)
        combo.currentTextChanged.connect(lambda _: self._apply_tokens())
        self.tokens.setCellWidget(row, 1, combo)
        self._apply_tokens()

    def add_token_from_field(self) -> None:
        token = self.new_token.text().strip()
        if not token:
            self.new_token.setFocus()
            return
        self.new_token.clear()
        for row in range(self.tokens.rowCount()):
            item = self.tokens.item(row, 0)
            if item is not None and item.text().strip().upper() == token.upper():
                self.tokens.selectRow(row)
                return
        self.add_token(token)
        self.tokens.selectRow(self.tokens.rowCount() - 1)

    def token_status_combo(self, token: str) -> QComboBox | None:
        for row in range(self.tokens.rowCount()):
            item = self.tokens.item(row, 0)
            widget = self.tokens.cellWidget(row, 1)
            if item is not None and item.text() == token and isinstance(widget, QComboBox):
                return widget
        return None

    def remove_selected_tokens(self) -> None:
        for row in sorted({i.row() for i in self.tokens.selectedIndexes()}, reverse=True):
            self.tokens.removeRow(row)
        self._apply_tokens()

    def add_password(self, station_id: str, password: str) -> None:
        row = self.passwords.rowCount()
        self.passwords.insertRow(row)
        self.passwords.setItem(row, 0, QTableWidgetItem(station_id))
        field = QLineEdit(password)
        field.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        field.textChanged.connect(lambda _: self._apply_passwords())
        self.passwords.setCellWidget(row, 1, field)
        if not station_id:
            self.passwords.editItem(self.passwords.item(row, 0))
        self._apply_passwords()

    def remove_selected_passwords(self) -> None:
        for row in sorted({i.row() for i in self.passwords.selectedIndexes()}, reverse=True):
            self.passwords.removeRow(row)
        self._apply_passwords()


class AutoAnswersDialog(QDialog):
    """Non-modal, like the validator: keep it open next to the console while testing."""

    def __init__(self, panel: AutoAnswersPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Built-in CSMS — automatic answers")
        self.setModal(False)
        self.resize(520, 640)
        layout = QVBoxLayout(self)
        layout.addWidget(panel)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
