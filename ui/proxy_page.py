"""The proxy from the window: stand between real (or emulated) stations and a CSMS, recording.

The same `OcppProxy` as `chargebench proxy`, started through `Session.start_proxy`, so the
inspector shows its traffic like any other. The page says where stations must connect, lists
the stations connected through with their negotiated version and upstream leg, counts the
frames forwarded, and turns the usual failures into sentences: port taken, certificate not
loadable, upstream unreachable or refusing, TLS verification failing.
"""

from __future__ import annotations

import errno
import ssl
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.proxy import OcppProxy
from app.session import Session
from ui.tasks import TaskRunner

DEFAULT_PORT = 9100
REFRESH_MS = 500
_COLUMNS = ("Station", "Version", "Upstream", "Frames forwarded", "Last event")


def start_error(exc: BaseException, host: str, port: int) -> str:
    """A sentence for a proxy that could not start."""
    if isinstance(exc, ssl.SSLError):
        return f"Cannot use the certificate or key: {exc.reason or exc}"
    if isinstance(exc, OSError):
        if exc.filename:
            return f"Cannot read {exc.filename}: {exc.strerror or exc}"
        if exc.errno == errno.EADDRINUSE:
            return f"Port {port} on {host} is already in use: pick another port (0 picks a free one)"
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            return f"Cannot listen on {host}:{port}: {exc.strerror or exc}"
        return f"Cannot listen on {host}:{port}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


class ProxyPage(QWidget):
    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.proxy: OcppProxy | None = None
        self._events: dict[str, str] = {}  # station id -> last connection event
        self._busy = False
        self._asked_port = DEFAULT_PORT

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        box = QGroupBox("Proxy: stations → ChargeBench → a CSMS, every frame recorded")
        form = QFormLayout(box)
        listen = QHBoxLayout()
        self.host = QLineEdit("127.0.0.1")
        self.host.setToolTip("Address to listen on (0.0.0.0: every interface, for real chargers)")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.port.setToolTip("0 picks a free port")
        listen.addWidget(self.host, 2)
        listen.addWidget(QLabel("port"))
        listen.addWidget(self.port, 1)
        form.addRow("Listen on", listen)
        upstream = QHBoxLayout()
        self.upstream = QLineEdit()
        self.upstream.setPlaceholderText("ws://csms.example:9000/ocpp  or  wss://…")
        self.upstream.setToolTip("The CSMS; each station is connected through to <URL>/<station id>")
        self.builtin_button = QPushButton("Built-in CSMS")
        self.builtin_button.setToolTip("Use the built-in CSMS as the upstream")
        self.builtin_button.clicked.connect(self.use_builtin)
        upstream.addWidget(self.upstream, 1)
        upstream.addWidget(self.builtin_button)
        form.addRow("Upstream CSMS", upstream)

        self.cert = self._file_row(
            form, "Certificate (wss)", "PEM certificate (chain) for wss on the listening side"
        )
        self.key = self._file_row(form, "Private key", "PEM key of the certificate, if not in the same file")
        self.upstream_ca = self._file_row(form, "Upstream CA", "PEM CA bundle to verify a wss:// upstream")
        self.insecure = QCheckBox("Do not verify the upstream certificate")
        self.insecure.toggled.connect(self._on_insecure)
        form.addRow("", self.insecure)
        self.insecure_warning = QLabel(
            "⚠ Insecure: anyone between ChargeBench and the CSMS can read and change the traffic, "
            "credentials included. Use it only against a test CSMS."
        )
        self.insecure_warning.setWordWrap(True)
        self.insecure_warning.setStyleSheet("color:#c62828; font-weight:600")
        self.insecure_warning.setVisible(False)
        form.addRow("", self.insecure_warning)

        row = QHBoxLayout()
        self.start_button = QPushButton("Start proxy")
        self.start_button.clicked.connect(self.toggle)
        row.addWidget(self.start_button)
        self.status = QLabel("Not running.")
        self.status.setObjectName("proxyStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.status, 1)
        form.addRow(row)
        outer.addWidget(box)

        counts = QHBoxLayout()
        counts.addWidget(QLabel("Stations connected through"))
        counts.addStretch(1)
        self.forwarded = QLabel("0 frames forwarded")
        counts.addWidget(self.forwarded)
        outer.addLayout(counts)
        self.stations = QTreeWidget()
        self.stations.setHeaderLabels(list(_COLUMNS))
        self.stations.setRootIsDecorated(False)
        outer.addWidget(self.stations, 2)
        outer.addWidget(QLabel("Events"))
        self.events = QPlainTextEdit()
        self.events.setReadOnly(True)
        self.events.setMaximumBlockCount(500)
        self.events.setPlaceholderText("Connections, refusals and disconnections show here.")
        outer.addWidget(self.events, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def _file_row(self, form: QFormLayout, label: str, tip: str) -> QLineEdit:
        row = QHBoxLayout()
        edit = QLineEdit()
        edit.setPlaceholderText("optional: a PEM file")
        edit.setToolTip(tip)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit, label))
        row.addWidget(edit, 1)
        row.addWidget(browse)
        form.addRow(label, row)
        return edit

    def _browse(self, edit: QLineEdit, label: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, label, "", "PEM files (*.pem *.crt *.key);;All files (*)")
        if path:
            edit.setText(path)

    def _on_insecure(self, checked: bool) -> None:
        self.insecure_warning.setVisible(checked)

    def settings(self) -> dict[str, Any]:
        """What the workspace keeps of the form: never the "do not verify" switch (each session
        decides that anew), never a password written into the upstream URL."""
        return {
            "host": self.host.text().strip(),
            "port": self.port.value(),
            "upstream": _without_password(self.upstream.text().strip()),
            "cert": self.cert.text().strip(),
            "key": self.key.text().strip(),
            "upstream_ca": self.upstream_ca.text().strip(),
        }

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Fill the form from a saved workspace (the proxy is not started)."""
        if isinstance(settings.get("host"), str) and settings["host"]:
            self.host.setText(settings["host"])
        if isinstance(settings.get("port"), int):
            self.port.setValue(settings["port"])
        for key, field in (
            ("upstream", self.upstream),
            ("cert", self.cert),
            ("key", self.key),
            ("upstream_ca", self.upstream_ca),
        ):
            if isinstance(settings.get(key), str):
                field.setText(settings[key])

    def use_builtin(self) -> None:
        csms = self.session.csms
        if csms is None:
            self.status.setText("The built-in CSMS is not running: start it in the bar above first.")
            return
        self.upstream.setText(csms.url)

    # ------------------------------------------------------------------ start / stop

    @property
    def running(self) -> bool:
        return self.proxy is not None

    def toggle(self) -> None:
        if self._busy:
            return
        if self.proxy is None:
            self.runner.run(self.start(), "Start the proxy")
        else:
            self.runner.run(self.stop(), "Stop the proxy")

    async def start(self) -> OcppProxy | None:
        host, port = self.host.text().strip() or "127.0.0.1", self.port.value()
        upstream = self.upstream.text().strip()
        if not upstream:
            self._fail("Give the upstream CSMS URL (ws://… or wss://…).")
            return None
        if self.key.text().strip() and not self.cert.text().strip():
            self._fail("A private key needs its certificate.")
            return None
        self._set_busy(True, "Starting…")
        try:
            server_ctx = None
            if self.cert.text().strip():
                server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                server_ctx.load_cert_chain(self.cert.text().strip(), self.key.text().strip() or None)
            proxy = await self.session.start_proxy(
                host,
                port,
                upstream,
                ssl_context=server_ctx,
                upstream_ca_file=self.upstream_ca.text().strip() or None,
                upstream_verify=not self.insecure.isChecked(),
            )
        except (OSError, ValueError, ssl.SSLError) as exc:
            self._set_busy(False)
            self._fail(start_error(exc, host, port))
            return None
        self._set_busy(False)
        self.proxy = proxy
        self._asked_port = port
        self.port.setValue(proxy.listen_port)  # the real one, when 0 asked for any free port
        self._events.clear()
        proxy.connection_event.connect(self._on_event)
        self.start_button.setText("Stop proxy")
        self._set_editable(False)
        self.status.setStyleSheet("color:#1e7a3c")
        self.status.setText(
            f"Listening. Stations connect to {proxy.url}/<station id>; "
            f"each goes through to {proxy.shown_upstream}/<station id>."
        )
        self._log(f"listening on {proxy.url}, upstream {proxy.shown_upstream}")
        return proxy

    async def stop(self) -> None:
        proxy = self.proxy
        if proxy is None:
            return
        self._set_busy(True, "Stopping…")
        try:
            await proxy.stop()
        finally:
            proxy.connection_event.disconnect(self._on_event)
            if proxy in self.session.proxies:
                self.session.proxies.remove(proxy)
            self.proxy = None
            self.port.setValue(self._asked_port)
            self._set_busy(False)
            self._set_editable(True)
            self.start_button.setText("Start proxy")
            self.status.setStyleSheet("")
            self.status.setText("Not running.")
            self._log("stopped")
            self.refresh()

    def _fail(self, message: str) -> None:
        self.status.setStyleSheet("color:#c62828; font-weight:600")
        self.status.setText(message)
        self._log(message)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.start_button.setEnabled(not busy)
        if text:
            self.status.setStyleSheet("")
            self.status.setText(text)

    def _set_editable(self, editable: bool) -> None:
        for w in (self.host, self.port, self.upstream, self.cert, self.key, self.upstream_ca, self.insecure):
            w.setEnabled(editable)
        self.builtin_button.setEnabled(editable)

    # ------------------------------------------------------------------ live view

    def _on_event(self, station_id: str, what: str) -> None:
        self._events[station_id] = what
        self._log(f"{station_id} {what}")
        self.refresh()

    def _log(self, line: str) -> None:
        self.events.appendPlainText(f"{datetime.now():%H:%M:%S}  {line}")

    def connected_ids(self) -> list[str]:
        return [link.station_id for link in self.proxy.stations.values()] if self.proxy else []

    def refresh(self) -> None:
        proxy = self.proxy
        links = {link.station_id: link for link in proxy.stations.values()} if proxy else {}
        rows = []
        for station_id, link in sorted(links.items()):
            upstream = "open" if link.upstream.close_code is None else f"closed ({link.upstream.close_code})"
            event = self._events.get(station_id, "")
            rows.append([station_id, link.subprotocol or "—", upstream, str(link.forwarded), event])
        for station_id, what in sorted(self._events.items()):  # refused or gone: still worth a line
            if station_id not in links and proxy is not None:
                rows.append([station_id, "—", "not connected", "—", what])
        shown = [
            [self.stations.topLevelItem(i).text(c) for c in range(len(_COLUMNS))]
            for i in range(self.stations.topLevelItemCount())
        ]
        if shown != rows:
            self.stations.clear()
            for values in rows:
                self.stations.addTopLevelItem(QTreeWidgetItem(values))
            for col in range(len(_COLUMNS) - 1):
                self.stations.resizeColumnToContents(col)
        total = proxy.forwarded if proxy else 0
        self.forwarded.setText(f"{total:,} frame{'s' if total != 1 else ''} forwarded")

    def close_page(self) -> None:
        self._timer.stop()
        if self.proxy is not None:
            self.proxy.connection_event.disconnect(self._on_event)


def _without_password(url: str) -> str:
    """`url` with any password in its user part removed (it would land in a settings file)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))
