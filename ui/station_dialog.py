"""Add or edit a station: where its hardware comes from, who it is, how it reaches its CSMS.

The hardware (EVSEs, connectors, vendor, model, device-model settings) comes from a template
of a real charger model, from a profile file, or (when editing) stays as it is; identity,
CSMS URL, security profile, OCPP versions and password are set here. The dialog only builds a
`StationConfig`; the window decides what to do with it (add, or replace the edited station).
It is opened with `open()`, never `exec()`: a nested event loop would stall the asyncio side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.protocol.schemas import OcppVersion
from app.station.config import StationConfig
from ui import theme

V21, V201 = OcppVersion.V21, OcppVersion.V201

#: (label, versions offered in the websocket handshake, in order of preference)
VERSION_CHOICES: tuple[tuple[str, tuple[OcppVersion, ...]], ...] = (
    ("OCPP 2.1, else 2.0.1", (V21, V201)),
    ("OCPP 2.1 only", (V21,)),
    ("OCPP 2.0.1 only", (V201,)),
)

SECURITY_CHOICES: tuple[tuple[int, str, str], ...] = (
    (1, "1 · Basic auth", "HTTP Basic password, plain ws:// allowed (test labs)"),
    (2, "2 · TLS + Basic auth", "wss:// with the CSMS's server certificate checked, plus the password"),
    (3, "3 · TLS + client certificate", "wss:// and the station proves itself with a client certificate"),
)

MIN_PASSWORD = 16  # BasicAuthPassword, A00.FR.205
PASSWORD_NOTE = "Not saved in the workspace: after a restart the station waits until you enter it again."

SOURCE_CURRENT, SOURCE_TEMPLATE, SOURCE_FILE = "current", "template", "file"

_CONNECTOR_NAMES = {
    "cType2": "Type 2",
    "sType2": "Type 2 socket",
    "cCCS2": "CCS2",
    "cCCS1": "CCS1",
    "cType1": "Type 1",
    "cChaoJi": "ChaoJi",
    "cG105": "CHAdeMO",
    "cGBT": "GB/T",
}


def connector_name(connector_type: str) -> str:
    return _CONNECTOR_NAMES.get(connector_type, connector_type)


def describe_hardware(config: StationConfig) -> str:
    """'Vendor Model · 2 EVSEs · Type 2 · 22 kW each' — what the template or profile builds."""
    evses = config.evses
    kinds = sorted({connector_name(c.connector_type) for e in evses for c in e.connectors})
    powers = sorted({round(e.rated_power_w / 1000, 1) for e in evses})
    power = (
        f"{powers[0]:g} kW" + (" each" if len(evses) > 1 else "")
        if len(powers) == 1
        else " / ".join(f"{p:g}" for p in powers) + " kW"
    )
    count = len(evses)
    evse_text = f"{count} EVSE{'s' if count != 1 else ''}"
    return f"{config.vendor} {config.model} · {evse_text} · {', '.join(kinds)} · {power}"


def next_free_id(base: str, taken: Collection[str]) -> str:
    """CB-0001 -> CB-0002 (first free), keeping the digit width; 'Foo' -> 'Foo-2'."""
    stem = base.rstrip("0123456789")
    digits = base[len(stem) :]
    if digits:
        width, n = len(digits), int(digits)
        while True:
            n += 1
            candidate = f"{stem}{n:0{width}d}"
            if candidate not in taken:
                return candidate
    n = 1
    while True:
        n += 1
        candidate = f"{base}-{n}"
        if candidate not in taken:
            return candidate


def with_identity(
    base: StationConfig,
    *,
    station_id: str,
    csms_url: str,
    security_profile: int,
    versions: tuple[OcppVersion, ...],
    password: str | None,
    ca_file: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
    keep_state: bool = True,
) -> StationConfig:
    """`base` with a new identity; a serial number derived from the old id is derived anew."""
    serial = base.serial_number
    if serial == f"CB-{base.station_id}"[:25]:
        serial = None
    return dataclasses.replace(
        base,
        station_id=station_id,
        csms_url=csms_url,
        security_profile=security_profile,
        versions=versions,
        password=password or None,
        serial_number=serial,
        ca_file=ca_file or None,
        client_cert=client_cert or None,
        client_key=client_key or None,
        state_path=base.state_path if keep_state else None,
    )


class StationDialog(QDialog):
    """Build a StationConfig; `config` holds it once the dialog was accepted."""

    def __init__(
        self,
        *,
        taken_ids: Collection[str],
        default_id: str,
        builtin_url: Callable[[], str | None],
        current: StationConfig | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.editing = current is not None
        self.current = current
        self.taken_ids = set(taken_ids)
        self.builtin_url = builtin_url
        self.config: StationConfig | None = None
        self._templates: list[object] = []
        self._file_config: StationConfig | None = None
        self.setWindowTitle(f"Edit station {current.station_id}" if current else "Add a station")
        self.setStyleSheet(theme.STYLESHEET)
        self.setMinimumWidth(620)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)

        # -------------------------------------------------------------- hardware source
        source_box = QGroupBox("Hardware")
        source_layout = QVBoxLayout(source_box)
        radios = QHBoxLayout()
        self.source_group = QButtonGroup(self)
        self.keep_radio = QRadioButton("Keep as it is")
        self.template_radio = QRadioButton("From a template")
        self.file_radio = QRadioButton("From a profile file")
        for i, radio in enumerate((self.keep_radio, self.template_radio, self.file_radio)):
            self.source_group.addButton(radio, i)
            radios.addWidget(radio)
        radios.addStretch(1)
        self.keep_radio.setVisible(self.editing)
        source_layout.addLayout(radios)

        keep_page = QLabel(describe_hardware(current) if current else "")
        keep_page.setObjectName("muted")
        keep_page.setWordWrap(True)
        source_layout.addWidget(keep_page)

        template_page = QWidget()
        tp = QVBoxLayout(template_page)
        tp.setContentsMargins(0, 0, 0, 0)
        self.templates = QListWidget()
        self.templates.setMinimumHeight(130)
        self.templates.currentRowChanged.connect(self._on_template)
        self.template_info = QLabel()
        self.template_info.setWordWrap(True)
        self.template_info.setTextFormat(Qt.TextFormat.RichText)
        self.template_info.setMinimumHeight(72)  # room for a 3-line description + hardware
        self.template_info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        tp.addWidget(self.templates)
        tp.addWidget(self.template_info)
        source_layout.addWidget(template_page)

        file_page = QWidget()
        fp = QVBoxLayout(file_page)
        fp.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.profile_path = QLineEdit()
        self.profile_path.setPlaceholderText("station profile (.json / .yaml)")
        self.profile_path.editingFinished.connect(self._load_file)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.profile_path, 1)
        row.addWidget(browse)
        self.file_info = QLabel("Identity fields below override what the file says.")
        self.file_info.setObjectName("muted")
        self.file_info.setWordWrap(True)
        fp.addLayout(row)
        fp.addWidget(self.file_info)
        fp.addStretch(1)
        source_layout.addWidget(file_page)
        # Pages shown one at a time (hidden widgets take no room, and wrapped text gets the
        # height it needs, which a QStackedWidget does not give it).
        self.source_pages = (keep_page, template_page, file_page)
        self.source_group.idToggled.connect(self._on_source)
        layout.addWidget(source_box)

        # -------------------------------------------------------------- identity and link
        link_box = QGroupBox("Identity and connection")
        form = QFormLayout(link_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.station_id = QLineEdit(current.station_id if current else default_id)
        self.station_id.setToolTip("Charging station identity: the last part of the websocket URL")
        form.addRow("Station id", self.station_id)

        url_row = QHBoxLayout()
        self.csms_url = QLineEdit(current.csms_url if current else (builtin_url() or ""))
        self.csms_url.setPlaceholderText("ws://host:port/path")
        self.csms_url.setToolTip("Websocket URL of the CSMS; the station id is appended to it")
        self.builtin_button = QPushButton("Built-in CSMS")
        self.builtin_button.setToolTip("Use the CSMS running inside ChargeBench")
        self.builtin_button.clicked.connect(self._use_builtin)
        self.builtin_button.setEnabled(builtin_url() is not None)
        url_row.addWidget(self.csms_url, 1)
        url_row.addWidget(self.builtin_button)
        form.addRow("CSMS URL", url_row)

        self.security = QComboBox()
        for level, label, tip in SECURITY_CHOICES:
            self.security.addItem(label, level)
            self.security.setItemData(self.security.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.security.currentIndexChanged.connect(self._on_security)
        form.addRow("Security profile", self.security)

        self.versions = QComboBox()
        for label, versions in VERSION_CHOICES:
            self.versions.addItem(label, versions)
        self.versions.setToolTip("Subprotocols offered in the websocket handshake, preferred first")
        form.addRow("OCPP version", self.versions)

        self.password = QLineEdit((current.password or "") if current else "")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("HTTP Basic password (empty: none)")
        self.password.setToolTip("SecurityCtrlr.BasicAuthPassword: sent as HTTP Basic auth")
        reveal = QAction(QIcon(), "Show", self.password)
        reveal.setCheckable(True)
        reveal.setToolTip("Show the password while typing")
        reveal.toggled.connect(
            lambda on: self.password.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        self.reveal_password = reveal
        self.password.addAction(reveal, QLineEdit.ActionPosition.TrailingPosition)
        form.addRow("Password", self.password)
        note = QLabel(PASSWORD_NOTE)
        note.setObjectName("muted")
        note.setWordWrap(True)
        form.addRow("", note)

        self.tls_box = QWidget()
        tls = QFormLayout(self.tls_box)
        tls.setContentsMargins(0, 0, 0, 0)
        self.ca_file = QLineEdit((current.ca_file or "") if current else "")
        self.ca_file.setPlaceholderText("CA bundle (empty: system trust store)")
        self.client_cert = QLineEdit((current.client_cert or "") if current else "")
        self.client_cert.setPlaceholderText("client certificate, PEM")
        self.client_key = QLineEdit((current.client_key or "") if current else "")
        self.client_key.setPlaceholderText("client private key, PEM")
        tls.addRow("CA file", self.ca_file)
        tls.addRow("Client certificate", self.client_cert)
        tls.addRow("Client key", self.client_key)
        form.addRow(self.tls_box)
        layout.addWidget(link_box)

        self.error = QLabel()
        self.error.setObjectName("problems")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Apply and restart" if self.editing else "Add station")
        ok.setProperty("primary", True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        if current is not None:
            self._show_identity(current, include_id=False)
        else:
            self.security.setCurrentIndex(0)
        self._on_security()
        self._fill_templates()
        (self.keep_radio if self.editing else self.template_radio).setChecked(True)
        self._on_source(self.source_group.checkedId(), True)
        if not self.editing:
            self._on_template(self.templates.currentRow())

    # ------------------------------------------------------------------ sources

    def _fill_templates(self) -> None:
        from app.station import profile

        try:
            self._templates = list(profile.list_templates())
        except Exception as exc:  # a broken template folder must not break the dialog
            self._templates = []
            self.template_info.setText(f"Templates unavailable: {exc}")
        for template in self._templates:
            item = QListWidgetItem(str(getattr(template, "title", "")) or str(getattr(template, "name", "")))
            item.setToolTip(str(getattr(template, "name", "")))
            self.templates.addItem(item)
        if self._templates:
            self.templates.setCurrentRow(0)

    def template_names(self) -> list[str]:
        return [str(getattr(t, "name", "")) for t in self._templates]

    def select_template(self, name: str) -> None:
        """Choose a template by name (what a click in the list does)."""
        self.template_radio.setChecked(True)
        self.templates.setCurrentRow(self.template_names().index(name))

    def _template_config(self) -> StationConfig | None:
        from app.station import profile

        row = self.templates.currentRow()
        if not 0 <= row < len(self._templates):
            return None
        name = str(getattr(self._templates[row], "name", ""))
        return profile.config_from_template(
            name, station_id=self.station_id.text().strip() or "preview", csms_url=self._url_or_placeholder()
        )

    def _on_template(self, row: int) -> None:
        if not 0 <= row < len(self._templates):
            self.template_info.setText("")
            return
        template = self._templates[row]
        description = str(getattr(template, "description", "") or "")
        try:
            config = self._template_config()
        except Exception as exc:
            self.template_info.setText(f"<span style='color:{theme.INVALID.name()}'>{exc}</span>")
            return
        hardware = describe_hardware(config) if config else ""
        self.template_info.setText(f"{description}<br><span style='color:#6b7280'>{hardware}</span>")
        if self.isVisible() and self.sizeHint().height() > self.height():
            self.resize(self.width(), self.sizeHint().height())
        if config is not None and self.template_radio.isChecked():
            self._show_identity(config, include_id=False, include_url=False)

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Open a station profile")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(["Station profiles (*.json *.yaml *.yml *.toml)", "All files (*)"])
        dialog.fileSelected.connect(self.use_profile_file)
        dialog.open()

    def use_profile_file(self, path: str) -> None:
        """Take the hardware (and, where the file has them, identity fields) from a profile."""
        self.file_radio.setChecked(True)
        self.profile_path.setText(path)
        self._load_file()

    def _load_file(self) -> StationConfig | None:
        from app.station import profile

        path = self.profile_path.text().strip()
        self._file_config = None
        if not path:
            self.file_info.setText("Choose a profile file.")
            return None
        try:
            config = profile.load_profile(Path(path))
        except Exception as exc:  # ProfileError names file and line; anything else too
            try:
                config = profile.load_profile(
                    Path(path),
                    station_id=self.station_id.text().strip() or "preview",
                    csms_url=self._url_or_placeholder(),
                )
            except Exception:
                self.file_info.setText(f"<span style='color:{theme.INVALID.name()}'>{exc}</span>")
                return None
        self._file_config = config
        self.file_info.setText(describe_hardware(config))
        self._show_identity(config, include_id=not self.editing)
        return config

    def _on_source(self, button_id: int, checked: bool) -> None:
        if checked:
            for i, page in enumerate(self.source_pages):
                page.setVisible(i == button_id)

    @property
    def source(self) -> str:
        return {0: SOURCE_CURRENT, 1: SOURCE_TEMPLATE, 2: SOURCE_FILE}.get(
            self.source_group.checkedId(), SOURCE_TEMPLATE
        )

    @property
    def profile_file(self) -> str | None:
        """The profile the station was built from, when it was (its hardware section applies too)."""
        path = self.profile_path.text().strip()
        return path if self.source == SOURCE_FILE and path else None

    # ------------------------------------------------------------------ identity fields

    def _show_identity(self, config: StationConfig, *, include_id: bool, include_url: bool = True) -> None:
        if include_id and config.station_id not in ("", "preview"):
            self.station_id.setText(config.station_id)
        if include_url and config.csms_url and not config.csms_url.startswith("ws://placeholder"):
            self.csms_url.setText(config.csms_url)
        self.security.setCurrentIndex(max(0, self.security.findData(config.security_profile)))
        self.set_versions(tuple(config.versions))

    def set_versions(self, versions: tuple[OcppVersion, ...]) -> None:
        index = next((i for i, (_, v) in enumerate(VERSION_CHOICES) if v == versions), -1)
        if index < 0:
            label = "As in the profile: " + ", ".join(str(v).replace("ocpp", "") for v in versions)
            index = self.versions.findText(label)
            if index < 0:
                self.versions.addItem(label, versions)
                index = self.versions.count() - 1
        self.versions.setCurrentIndex(index)

    def _use_builtin(self) -> None:
        url = self.builtin_url()
        if url:
            self.csms_url.setText(url)

    def _url_or_placeholder(self) -> str:
        url = self.csms_url.text().strip()
        return url if url.startswith(("ws://", "wss://")) else "ws://placeholder.invalid/ocpp"

    def _on_security(self, *_: object) -> None:
        level = int(self.security.currentData() or 1)
        self.tls_box.setVisible(level >= 2)
        self.client_cert.setEnabled(level == 3)
        self.client_key.setEnabled(level == 3)
        self.security.setToolTip(SECURITY_CHOICES[level - 1][2])

    # ------------------------------------------------------------------ result

    def build_config(self) -> StationConfig:
        """The config the fields describe; ValueError (or the profile's error) with a message."""
        station_id = self.station_id.text().strip()
        url = self.csms_url.text().strip()
        if not station_id:
            raise ValueError("Enter a station id.")
        if station_id in self.taken_ids:
            raise ValueError(f"A station named {station_id} already exists: choose another id.")
        if not url.startswith(("ws://", "wss://")):
            raise ValueError("The CSMS URL must start with ws:// or wss://.")
        level = int(self.security.currentData() or 1)
        if level >= 2 and not url.startswith("wss://"):
            raise ValueError(f"Security profile {level} uses TLS: the CSMS URL must start with wss://.")
        if level == 3 and not (self.client_cert.text().strip() and self.client_key.text().strip()):
            raise ValueError("Security profile 3 needs a client certificate and its key.")
        password = self.password.text()
        if password and len(password) < MIN_PASSWORD:
            raise ValueError(
                f"The password needs at least {MIN_PASSWORD} characters (OCPP A00.FR.205); "
                f"it has {len(password)}."
            )
        if self.source == SOURCE_CURRENT and self.current is not None:
            base = self.current
        elif self.source == SOURCE_TEMPLATE:
            base_or_none = self._template_config()
            if base_or_none is None:
                raise ValueError("Choose a template.")
            base = base_or_none
        else:
            base_or_none = self._file_config or self._load_file()
            if base_or_none is None:
                raise ValueError(self.file_info.text() or "Choose a profile file.")
            base = base_or_none
        config = with_identity(
            base,
            station_id=station_id,
            csms_url=url,
            security_profile=level,
            versions=tuple(self.versions.currentData()),
            password=self.password.text(),
            ca_file=self.ca_file.text().strip() if level >= 2 else None,
            client_cert=self.client_cert.text().strip() if level == 3 else None,
            client_key=self.client_key.text().strip() if level == 3 else None,
        )
        # Build the device model the station will build, so its refusals (a password shorter
        # than 16 characters, an override out of range) show here, not as a failed start.
        from app.station import profile

        try:
            profile.build_device_model(config)
        except ValueError as exc:
            message = str(exc).replace("invalid station parameters:", "").strip(" \n-")
            raise ValueError(message) from exc
        return config

    def accept(self) -> None:
        try:
            self.config = self.build_config()
        except Exception as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.adjustSize()
            return
        self.error.hide()
        super().accept()
