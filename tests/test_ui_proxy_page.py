"""The Proxy tab: a proxy started from the window in front of the built-in CSMS, an emulated
station connected through it, listed with its version and forwarded frames; the usual failures
(port taken, upstream unreachable, bad certificate) said in words. Real loopback websockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from pathlib import Path

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402

from app.csms.csms import Csms  # noqa: E402
from app.session import Session  # noqa: E402
from app.station.config import StationConfig  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402

SHOTS = os.environ.get("CHARGEBENCH_SHOTS")


def run_window(qtbot, loop: asyncio.AbstractEventLoop, scenario) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()

    async def main() -> None:
        try:
            await scenario(qtbot, session, window)
        finally:
            await window.shutdown()

    loop.run_until_complete(main())
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    assert leftover == [], f"tasks still running after shutdown: {leftover}"


def rows(window: MainWindow) -> list[list[str]]:
    table = window.proxy_page.stations
    return [[table.topLevelItem(i).text(c) for c in range(5)] for i in range(table.topLevelItemCount())]


def test_station_through_a_proxy_started_from_the_window(
    qtbot, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    run_window(qtbot, loop, through_the_proxy)
    assert "Task was destroyed but it is pending" not in caplog.text


async def through_the_proxy(qtbot, session: Session, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    await window.start_builtin_csms()
    assert session.csms is not None
    page = window.proxy_page
    window.show_tab(page)
    page.port.setValue(0)
    qtbot.mouseClick(page.builtin_button, Qt.MouseButton.LeftButton)
    assert page.upstream.text() == session.csms.url
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: page.running, 5, "the proxy to listen")
    proxy = page.proxy
    assert proxy is not None and proxy in session.proxies
    assert f"{proxy.url}/<station id>" in page.status.text()
    assert page.start_button.text() == "Stop proxy" and not page.upstream.isEnabled()

    station = window.add_station(StationConfig("CB-PX-1", proxy.url, evse_count=1))
    await wait_until(lambda: station.online, 10, "the station to boot through the proxy")
    await wait_until(lambda: [r[0] for r in rows(window)] == ["CB-PX-1"], 5, "the station in the list")
    [row] = rows(window)
    assert row[1] == "ocpp2.1" and row[2] == "open"
    assert row[4].startswith("connected through")
    await wait_until(lambda: int(rows(window)[0][3]) >= 4, 5, "boot and status frames forwarded")
    assert "frames forwarded" in page.forwarded.text()
    # The inspector sees the proxy's vantage point too (session capture).
    assert any(r.observer == "proxy" and r.action == "BootNotification" for r in session.store)
    assert session.csms.stations["CB-PX-1"].boot_status == "Accepted"
    if SHOTS:
        page.grab().save(os.path.join(SHOTS, "proxy.png"))

    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: not page.running, 5, "the proxy to stop")
    assert proxy not in session.proxies
    await wait_until(lambda: not station.online, 5, "the station to lose its CSMS")
    assert page.upstream.isEnabled() and page.status.text() == "Not running."


def test_proxy_failures_are_said_in_words(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    async def scenario(qtbot, session: Session, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
        await window.start_builtin_csms()
        assert session.csms is not None
        page = window.proxy_page

        # The port is taken (the built-in CSMS listens there).
        page.upstream.setText(session.csms.url)
        page.port.setValue(session.csms.port)
        assert await page.start() is None
        assert f"Port {session.csms.port} on 127.0.0.1 is already in use" in page.status.text()
        assert not page.running and page.start_button.isEnabled()

        # Not a websocket URL.
        page.port.setValue(0)
        page.upstream.setText("http://example.com/ocpp")
        assert await page.start() is None
        assert "must start with ws:// or wss://" in page.status.text()

        # A certificate file that is not one.
        bogus = tmp_path / "cert.pem"
        bogus.write_text("not a certificate")
        page.upstream.setText(session.csms.url)
        page.cert.setText(str(bogus))
        assert await page.start() is None
        assert page.status.text().startswith("Cannot use the certificate or key")
        page.cert.clear()

        # Insecure upstream needs its own checkbox and says what it means.
        assert not page.insecure_warning.isVisibleTo(page)
        page.insecure.setChecked(True)
        assert page.insecure_warning.isVisibleTo(page) and "Insecure" in page.insecure_warning.text()
        page.insecure.setChecked(False)

        # The upstream is down: the proxy listens, the station is refused with the reason.
        page.upstream.setText("ws://127.0.0.1:1/ocpp")
        proxy = await page.start()
        assert proxy is not None
        station = window.add_station(StationConfig("CB-PX-2", proxy.url, evse_count=1))
        await wait_until(
            lambda: any("cannot reach upstream" in r[4] for r in rows(window)), 10, "the refusal in the list"
        )
        [row] = rows(window)
        assert row[0] == "CB-PX-2" and row[2] == "not connected" and "HTTP 502" in row[4]
        assert "cannot reach upstream CSMS ws://127.0.0.1:1/ocpp" in page.events.toPlainText()
        assert not station.online

    run_window(qtbot, loop, scenario)


def test_wss_on_both_legs_from_the_page(qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    issued.cert_chain_pems[0].write_to_path(str(cert_file))
    issued.private_key_pem.write_to_path(str(key_file))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    issued.configure_cert(server_ctx)

    async def scenario(qtbot, session: Session, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
        upstream = Csms(capture=session.capture)  # a wss CSMS, as a real one would be
        await upstream.start("127.0.0.1", 0, ssl_context=server_ctx)
        try:
            page = window.proxy_page
            page.port.setValue(0)
            page.upstream.setText(f"wss://127.0.0.1:{upstream.port}/ocpp")
            page.cert.setText(str(cert_file))
            page.key.setText(str(key_file))

            # Without the upstream's CA the upstream leg fails its TLS check: said as such.
            proxy = await page.start()
            assert proxy is not None and proxy.url.startswith("wss://")
            first = window.add_station(
                StationConfig("CB-TLS-1", proxy.url, evse_count=1, ca_file=str(ca_file))
            )
            await wait_until(
                lambda: any("certificate was not accepted" in r[4] for r in rows(window)),
                10,
                "the TLS refusal",
            )
            assert not first.online
            await window.remove_station(first)
            await page.stop()

            # With it, both legs are wss and the station boots through.
            page.upstream_ca.setText(str(ca_file))
            proxy = await page.start()
            assert proxy is not None
            station = window.add_station(
                StationConfig("CB-TLS-2", proxy.url, evse_count=1, ca_file=str(ca_file))
            )
            await wait_until(lambda: station.online, 10, "the station to boot over wss through the proxy")
            listed = lambda: any(r[0] == "CB-TLS-2" and r[2] == "open" for r in rows(window))  # noqa: E731
            await wait_until(listed, 5, "the station listed with its upstream leg open")
            assert upstream.stations["CB-TLS-2"].boot_status == "Accepted"
        finally:
            await upstream.stop()

    run_window(qtbot, loop, scenario)


def test_the_proxy_form_comes_back_with_the_workspace_without_secrets(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ui import workspace as ws

    path = tmp_path / "workspace.json"
    window = MainWindow(Session(), workspace_path=path)
    qtbot.addWidget(window)
    page = window.proxy_page
    page.host.setText("0.0.0.0")
    page.port.setValue(9443)
    page.upstream.setText("wss://ops:s3cret-pw@csms.example:443/ocpp")
    page.cert.setText("/etc/cb/proxy.pem")
    page.upstream_ca.setText("/etc/cb/csms-ca.pem")
    page.insecure.setChecked(True)
    assert window.save_workspace()
    text = path.read_text()
    assert "s3cret-pw" not in text  # a password in the URL stays out of the settings file
    window.model.close()

    again = MainWindow(Session(), workspace_path=path)
    qtbot.addWidget(again)
    saved = ws.load(path)
    assert saved is not None
    again.proxy_page.apply_settings(saved.proxy)
    page = again.proxy_page
    assert (page.host.text(), page.port.value()) == ("0.0.0.0", 9443)
    assert page.upstream.text() == "wss://ops@csms.example:443/ocpp"
    assert (page.cert.text(), page.upstream_ca.text()) == ("/etc/cb/proxy.pem", "/etc/cb/csms-ca.pem")
    assert not page.insecure.isChecked()  # "do not verify" is decided anew each session
    again.model.close()
