"""`chargebench`: the window by default, or headless commands for terminals and CI.

    chargebench [gui]                          the window, with a station on the built-in CSMS
    chargebench station --csms URL --id ID ... a headless emulated station
    chargebench csms --listen HOST:PORT ...    the built-in CSMS, headless
    chargebench proxy --listen HOST:PORT --upstream URL   record stations talking to another CSMS
    chargebench validate FILE                  judge a capture, a frame or a payload
    chargebench run SCENARIO.yaml... [--csms URL] [--junit FILE]   run scenarios headless

Exit codes: 0 success, 1 problems found (validate) or run failed, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import ssl
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from app.clock import AcceleratedClock, Clock, utc_timestamp
from app.csms.ca import TestPki, default_pki_dir
from app.csms.csms import CsmsConfig
from app.csms.schema_form import authorization_statuses
from app.hardware.console import start_profile_hardware
from app.inspector.jsonl import CaptureFileError
from app.inspector.offline import check_capture, check_document
from app.inspector.records import CaptureRecord
from app.protocol.schemas import OcppVersion
from app.scenarios.console import run_files
from app.session import Session
from app.station.config import StationConfig
from app.station.profile import ProfileError, config_from_template, list_templates, load_profile
from app.station.station import Station

VERSION_CHOICES = {"2.1": OcppVersion.V21, "2.0.1": OcppVersion.V201, "1.6": OcppVersion.V16}
DEFAULT_TOKEN = "CB-DEMO-0001"


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _template_names() -> list[str]:
    return [t.name for t in list_templates()]


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"speed must be a number in (0, 3600], got {text!r}")
    return value


def _token(text: str) -> tuple[str, str]:
    token, sep, status = text.rpartition("=")
    statuses = authorization_statuses(OcppVersion.V21)
    if not sep or not token or status not in statuses:
        raise argparse.ArgumentTypeError(f"expected ID_TOKEN=STATUS with STATUS one of {', '.join(statuses)}")
    return token, status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chargebench", description="OCPP 2.1 workbench")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the window (default)")
    gui.add_argument("--evses", type=int, default=2, help="EVSEs of the first station (default 2)")
    gui.add_argument("--csms", metavar="URL", help="use this CSMS instead of the built-in one")
    gui.add_argument("--id", default="CB-0001", help="identity of the first station")
    gui.add_argument(
        "--speed", type=_speed, default=1.0, help="simulated seconds per real second (demos: 60)"
    )

    st = sub.add_parser("station", help="run an emulated station headless")
    st.add_argument("--csms", metavar="URL", help="CSMS endpoint, e.g. ws://127.0.0.1:9000/ocpp")
    st.add_argument("--id", help="station identity (appended to the URL)")
    st.add_argument(
        "--profile", metavar="FILE", help="station profile (YAML/JSON, schemas/station-profile.schema.json)"
    )
    st.add_argument(
        "--template", metavar="NAME", help="a bundled charger template: " + ", ".join(_template_names())
    )
    st.add_argument("--state", metavar="FILE", help="SQLite file keeping the station's state across restarts")
    st.add_argument(
        "--ocpp", choices=["2.1", "2.0.1"], help="offer only this version (default: 2.1 then 2.0.1)"
    )
    st.add_argument("--password", help="HTTP Basic password (security profile 1/2); never printed")
    st.add_argument("--evses", type=int, default=1, help="number of EVSEs without a profile (default 1)")
    st.add_argument(
        "--plugged",
        type=int,
        action="append",
        metavar="EVSE_ID",
        help="an EV is connected to this EVSE from the start and is authorized with --id-token (repeatable)",
    )
    st.add_argument(
        "--id-token", default=DEFAULT_TOKEN, help=f"card used for --plugged EVSEs (default {DEFAULT_TOKEN})"
    )
    st.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    st.add_argument("--capture", metavar="FILE", help="write every frame to this JSON Lines file")
    st.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="device-model override, e.g. OCPPCommCtrlr.HeartbeatInterval=60",
    )
    st.add_argument("--ca-file", help="CA bundle to verify a wss:// CSMS")
    st.add_argument(
        "--security-profile",
        type=int,
        choices=[1, 2, 3],
        help="1 ws+Basic, 2 wss+Basic, 3 wss+client certificate",
    )
    st.add_argument("--client-cert", metavar="PEM", help="client certificate (chain) for security profile 3")
    st.add_argument("--client-key", metavar="PEM", help="its private key (if not in --client-cert)")
    st.add_argument("--insecure", action="store_true", help="do not verify the CSMS certificate (wss)")
    st.add_argument("--quiet", action="store_true", help="print only transaction and connection events")
    st.add_argument("--speed", type=_speed, default=1.0, help="simulated seconds per real second (default 1)")

    cs = sub.add_parser("csms", help="run the built-in CSMS headless")
    cs.add_argument(
        "--listen",
        type=_host_port,
        default=("127.0.0.1", 9000),
        metavar="HOST:PORT",
        help="default 127.0.0.1:9000",
    )
    cs.add_argument("--capture", metavar="FILE", help="write every frame to this JSON Lines file")
    cs.add_argument("--boot-status", choices=["Accepted", "Pending", "Rejected"], default="Accepted")
    cs.add_argument("--heartbeat-interval", type=int, default=300)
    cs.add_argument(
        "--reject-token",
        action="append",
        default=[],
        metavar="ID_TOKEN",
        help="answer Invalid for this idToken",
    )
    cs.add_argument(
        "--token",
        action="append",
        default=[],
        type=_token,
        metavar="ID_TOKEN=STATUS",
        help="answer STATUS (Blocked, Expired, …) for this idToken (repeatable)",
    )
    cs.add_argument(
        "--security-profile",
        type=int,
        choices=[1, 2, 3],
        default=1,
        help="1 ws, 2 wss with the PKI's server certificate, 3 wss and client certificates (mutual TLS)",
    )
    cs.add_argument(
        "--pki",
        metavar="DIR",
        help="test CA (created on first use) that signs station CSRs and the server certificate; "
        "default ~/.local/share/chargebench/pki with profile 2/3",
    )
    cs.add_argument("--duration", type=float, help="stop after this many seconds")
    cs.add_argument("--quiet", action="store_true", help="do not print every frame")

    px = sub.add_parser("proxy", help="stand between stations and a CSMS, recording every frame")
    px.add_argument(
        "--listen",
        type=_host_port,
        default=("127.0.0.1", 9000),
        metavar="HOST:PORT",
        help="where stations connect (default 127.0.0.1:9000; port 0 picks one)",
    )
    px.add_argument(
        "--upstream", required=True, metavar="URL", help="the real CSMS, e.g. wss://csms.example/ocpp"
    )
    px.add_argument("--capture", metavar="FILE", help="write every frame to this JSON Lines file")
    px.add_argument("--cert", metavar="PEM", help="certificate (chain) for wss on the listening side")
    px.add_argument("--key", metavar="PEM", help="private key of --cert (if not in the same file)")
    px.add_argument("--upstream-ca", metavar="PEM", help="CA bundle to verify a wss:// upstream")
    px.add_argument(
        "--insecure-upstream", action="store_true", help="do not verify the upstream certificate (wss)"
    )
    px.add_argument("--duration", type=float, help="stop after this many seconds")
    px.add_argument("--quiet", action="store_true", help="print only transaction events and invalid frames")

    va = sub.add_parser("validate", help="validate a capture (JSONL), a frame or a payload file")
    va.add_argument("file")
    va.add_argument(
        "--ocpp",
        choices=list(VERSION_CHOICES),
        default="2.1",
        help="version when the file does not say (default 2.1)",
    )
    va.add_argument("--action", help="action of a bare payload or of a lone CALLRESULT")
    va.add_argument("--response", action="store_true", help="the bare payload is a response")

    run = sub.add_parser("run", help="run scenario files headless (exit 0 passed, 1 failed, 2 bad file)")
    run.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml")
    run.add_argument("--csms", metavar="URL", help="run against this CSMS instead of the built-in one")
    run.add_argument("--junit", metavar="FILE", help="write JUnit XML results here (for CI)")
    run.add_argument("--speed", type=_speed, help="simulated seconds per real second (default: the file's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    command = args.command or "gui"
    if command == "gui":
        # The window lives in ui/, which imports Qt; the core only knows its entry point by name.
        gui_main: Callable[[argparse.Namespace], int] = importlib.import_module("ui.main").main
        return gui_main(args)
    if command == "validate":
        return run_validate(args, sys.stdout)
    if command == "run":
        options = {"csms_url": args.csms, "junit": args.junit, "speed": args.speed}
        return asyncio.run(run_files(args.scenarios, sys.stdout, sys.stderr, **options))
    try:
        return asyncio.run(_run_async(args))
    except KeyboardInterrupt:
        return 0


# ---------------------------------------------------------------------- headless runs


async def _run_async(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    speed = getattr(args, "speed", 1.0)
    session = Session(capture_path=args.capture, clock=AcceleratedClock(speed) if speed != 1.0 else Clock())
    printer = FramePrinter(sys.stdout, quiet=args.quiet)
    session.store.added.connect(printer)
    try:
        if args.command == "csms":
            code = await _csms(args, session)
            if code:
                return code
        elif args.command == "proxy":
            code = await _proxy(args, session)
            if code:
                return code
        else:
            code = await _station(args, session)
            if code:
                return code
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.duration)
        return 0
    finally:
        await session.stop()
        print("chargebench: stopped", flush=True)


async def _csms(args: argparse.Namespace, session: Session) -> int:
    host, port = args.listen
    config = CsmsConfig(
        boot_status=args.boot_status,
        heartbeat_interval=args.heartbeat_interval,
        token_status={t.upper(): "Invalid" for t in args.reject_token} | dict(args.token),
    )
    try:
        pki = TestPki(args.pki) if args.pki or args.security_profile >= 2 else None
    except (OSError, ValueError) as exc:
        where = args.pki or default_pki_dir()
        print(f"chargebench: cannot use the test CA in {where}: {exc}", file=sys.stderr)
        return 2
    try:
        csms = await session.start_csms(host, port, config, pki=pki, security_profile=args.security_profile)
    except OSError as exc:
        print(f"chargebench: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"chargebench: CSMS listening on {csms.url}/<station-id>", flush=True)
    if pki is not None:
        print(f"chargebench: test CA {pki.files.root_cert} (stations: --ca-file); signs CSRs", flush=True)
    return 0


async def _proxy(args: argparse.Namespace, session: Session) -> int:
    host, port = args.listen
    server_ctx = None
    if args.key and not args.cert:
        print("chargebench: --key needs --cert", file=sys.stderr)
        return 2
    try:
        if args.cert:
            server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            server_ctx.load_cert_chain(args.cert, args.key)
        proxy = await session.start_proxy(
            host,
            port,
            args.upstream,
            ssl_context=server_ctx,
            upstream_ca_file=args.upstream_ca,
            upstream_verify=not args.insecure_upstream,
        )
    except ValueError as exc:
        print(f"chargebench: {exc}", file=sys.stderr)
        return 2
    except ssl.SSLError as exc:
        print(f"chargebench: cannot use the certificate: {exc.reason or exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        what = f"read {exc.filename}" if exc.filename else f"listen on {host}:{port}"
        print(f"chargebench: cannot {what}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    proxy.connection_event.connect(
        lambda station_id, text: print(f"chargebench: {station_id} {text}", flush=True)
    )
    print(
        f"chargebench: proxy listening on {proxy.url}/<station-id> -> {proxy.shown_upstream}/<station-id>",
        flush=True,
    )
    return 0


def _station_config(args: argparse.Namespace, overrides: dict[str, str]) -> StationConfig:
    """From a profile, a template, or the command line alone; command-line values win."""
    if args.profile and args.template:
        raise ValueError("give --profile or --template, not both")
    if args.profile:
        config = load_profile(args.profile, station_id=args.id, csms_url=args.csms)
    elif args.template:
        if not args.id or not args.csms:
            raise ValueError("--template needs --id and --csms")
        config = config_from_template(args.template, station_id=args.id, csms_url=args.csms)
    else:
        if not args.id or not args.csms:
            raise ValueError("a station needs --csms URL and --id ID (or a --profile)")
        config = StationConfig(station_id=args.id, csms_url=args.csms, evse_count=args.evses)
    if args.ocpp:
        config.versions = (VERSION_CHOICES[args.ocpp],)
    if args.password:
        config.password = args.password
    if args.ca_file:
        config.ca_file = args.ca_file
    if args.security_profile:
        config.security_profile = args.security_profile
    if args.client_cert:
        config.client_cert, config.client_key = args.client_cert, args.client_key
    if args.insecure:
        config.verify_tls = False
    if args.state:
        config.state_path = args.state
    config.overrides = {**config.overrides, **overrides}
    return config


async def _station(args: argparse.Namespace, session: Session) -> int:
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"chargebench: --set expects VAR=VALUE, got {item!r}", file=sys.stderr)
            return 2
        overrides[key] = value
    try:
        config = _station_config(args, overrides)
        station = session.add_station(config, start=False)
    except ProfileError as exc:
        print(f"chargebench: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"chargebench: {exc}", file=sys.stderr)
        return 2
    for evse_id in args.plugged or []:
        if evse_id not in station.evses:
            print(f"chargebench: --plugged {evse_id}: the station has EVSEs 1..{args.evses}", file=sys.stderr)
            return 2
    if args.profile:  # its readers and meters (a denied USB device prints the udev rule to add)
        code = start_profile_hardware(session, args.profile, station.station_id, sys.stdout, sys.stderr)
        if code:
            return code
    station.state_changed.connect(_StatePrinter(sys.stdout))
    station.start()
    if args.plugged:
        _background.add(asyncio.ensure_future(_plug_and_authorize(station, args.plugged, args.id_token)))
    return 0


_background: set[asyncio.Future[None]] = set()  # keeps fire-and-forget tasks referenced


async def _plug_and_authorize(station: Station, evse_ids: list[int], token: str) -> None:
    """Plug the EVs in once the station is online, then present the card for each."""
    while not station.online:
        await asyncio.sleep(0.05)
    for evse_id in evse_ids:
        await station.plug(evse_id)
        status = await station.tap(token, evse_id)
        print(f"chargebench: EVSE {evse_id}: EV plugged in, card {token}: {status}", flush=True)


class _StatePrinter:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last: tuple[str, str | None] | None = None

    def __call__(self, station: Station) -> None:
        now = (station.state.value, station.boot_status)
        if now == self.last:
            return
        self.last = now
        detail = f" (boot {station.boot_status})" if station.boot_status else ""
        error = f": {station.last_error}" if station.last_error and station.state.value == "Offline" else ""
        print(
            f"chargebench: {station.station_id} {station.state.value}{detail}{error}",
            file=self.out,
            flush=True,
        )


class FramePrinter:
    """One line per captured frame: time, who to whom, type, action, id, validity."""

    def __init__(self, out: TextIO, *, quiet: bool = False) -> None:
        self.out = out
        self.quiet = quiet

    def __call__(self, record: CaptureRecord) -> None:
        if record.mirror:
            return
        if self.quiet and record.action != "TransactionEvent" and record.valid:
            return
        arrow = "station -> csms" if record.sender == "station" else "csms -> station"
        latency = f" {record.latency_ms:.1f}ms" if record.latency_ms is not None else ""
        extra = ""
        if (
            record.action == "TransactionEvent"
            and record.message_type == 2
            and isinstance(record.payload, dict)
        ):
            extra = f" {record.payload.get('eventType')}/{record.payload.get('triggerReason')}"
        flag = "" if record.valid else "  INVALID: " + "; ".join(record.problems)
        print(
            f"{utc_timestamp(record.time)} {record.station} {arrow} {record.frame_type} "
            f"{record.action or '-'}{extra} id={record.message_id}{latency}{flag}",
            file=self.out,
            flush=True,
        )


# ---------------------------------------------------------------------- validate


def run_validate(args: argparse.Namespace, out: TextIO) -> int:
    version = VERSION_CHOICES[args.ocpp]
    try:
        if _looks_like_jsonl(args.file):
            findings, frames = check_capture(args.file, version)
        else:
            findings, frames = (
                check_document(args.file, version=version, action=args.action, response=args.response),
                1,
            )
    except (OSError, UnicodeDecodeError) as exc:
        print(f"chargebench: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    except CaptureFileError as exc:
        print(f"chargebench: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding, file=out)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    infos = len(findings) - errors - warnings
    summary = f"{frames} frame(s) checked: {errors} error(s), {warnings} warning(s)"
    print(summary + (f", {infos} info" if infos else ""), file=out)
    return 1 if errors or warnings else 0  # informational findings alone do not fail CI


def _looks_like_jsonl(path: str) -> bool:
    if path.endswith((".jsonl", ".ndjson")):
        return True
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().strip()
        rest = handle.readline().strip()
    return first.startswith("{") and (bool(rest) or '"frame"' in first)


if __name__ == "__main__":
    sys.exit(main())
