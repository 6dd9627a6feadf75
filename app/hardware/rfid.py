"""USB RFID desk readers: find them, read them in worker threads, turn reads into card taps.

Most desk readers are HID boot keyboards that type the UID and press Enter. Reading them
through pyusb (not as keyboard input) keeps their keystrokes out of whatever window has
focus and tells readers apart, so each one can be assigned to a station and EVSE.

Threads: a blocking interrupt read per reader lives in its own daemon thread; a complete line
goes to the asyncio loop with `call_soon_threadsafe`, where the tap happens. Hot-plug is a
scan every `scan_interval` seconds (enumeration runs in a worker thread too): a new device
with a configured vendor:product id starts reading, one that disappears is marked unplugged,
and nothing else is touched. Devices without a configuration are listed but never opened:
the list contains the user's own keyboard too.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import usb.backend.libusb1
import usb.core
import usb.util

from app.hardware.hid_keys import KeyReportDecoder
from app.hardware.uid_format import UidFormat, format_uid
from app.hardware.usb_access import DENIED_ERRNOS, GONE_ERRNOS, no_backend_hint, permission_hint
from app.signals import Signal

log = logging.getLogger(__name__)

HID_CLASS = 0x03
BOOT_KEYBOARD_PROTOCOL = 1
#: How long one blocking read waits before the thread checks whether it should stop.
READ_TIMEOUT_MS = 200

TapHandler = Callable[["ReaderConfig", str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    """One reader as the user configured it, by vendor:product id."""

    vendor_id: int
    product_id: int
    name: str = ""
    station_id: str | None = None
    evse_id: int | None = None  # None: the station picks the EVSE, as for a tap on its one reader
    token_type: str = "ISO14443"
    uid: UidFormat = field(default_factory=UidFormat)

    @property
    def ident(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"

    @property
    def target(self) -> str:
        """"CB-0001 / EVSE 1", or what is missing."""
        if self.station_id is None:
            return "not assigned"
        return f"{self.station_id} / EVSE {self.evse_id}" if self.evse_id else f"{self.station_id} / any EVSE"


class ReaderStatus(StrEnum):
    ABSENT = "Not plugged in"
    DETECTED = "Detected: assign it to use it"
    OPENING = "Opening"
    READY = "Ready: hold a card to it"
    DENIED = "Access denied"
    GONE = "Unplugged"
    FAILED = "Error"


@dataclass(slots=True)
class ReaderState:
    """What the window and the CLI show about one reader (present or only configured)."""

    key: str  # "bus-address" while plugged in, "config:vvvv:pppp" while not
    vendor_id: int
    product_id: int
    config: ReaderConfig | None = None
    status: ReaderStatus = ReaderStatus.ABSENT
    detail: str = ""  # the permission hint, the error, the reason a read was not used
    last_read: str | None = None  # what the reader typed
    last_token: str | None = None  # the idToken presented
    last_result: str | None = None  # the station's authorization status
    last_read_at: float | None = None  # time.time()

    @property
    def ident(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


class UsbHidReader:
    """Reads one HID boot-keyboard device in a thread, until stopped or unplugged.

    The kernel's keyboard driver is detached while reading and attached again afterwards,
    so the reader types into the desktop again once ChargeBench lets go of it.
    """

    def __init__(
        self,
        device: usb.core.Device,
        *,
        on_line: Callable[[str], None],
        on_status: Callable[[ReaderStatus, str], None],
    ) -> None:
        self._device = device
        self._on_line = on_line
        self._on_status = on_status
        self._stop = threading.Event()
        self._detached: list[int] = []
        self._claimed: int | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"rfid-{device.idVendor:04x}:{device.idProduct:04x}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Blocks until the thread let go of the device (or `timeout`): call it off the loop."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        vid, pid = self._device.idVendor, self._device.idProduct
        try:
            endpoint, size = self._open()
        except usb.core.USBError as exc:
            self._report(exc, vid, pid)
            self._close()
            return
        except (ValueError, LookupError) as exc:
            self._on_status(ReaderStatus.FAILED, str(exc))
            self._close()
            return
        self._on_status(ReaderStatus.READY, "")
        decoder = KeyReportDecoder()
        try:
            while not self._stop.is_set():
                try:
                    report = self._device.read(endpoint, size, timeout=READ_TIMEOUT_MS)
                except usb.core.USBTimeoutError:
                    continue
                except usb.core.USBError as exc:
                    if exc.errno == errno.ETIMEDOUT:
                        continue
                    self._report(exc, vid, pid)
                    return
                line = decoder.feed(report)
                if line is not None:
                    self._on_line(line)
        finally:
            self._close()

    def _open(self) -> tuple[int, int]:
        """Claim the keyboard interface; the interrupt IN endpoint and its packet size."""
        dev = self._device
        config = dev.get_active_configuration()
        interfaces = [i for i in config if i.bInterfaceClass == HID_CLASS]
        if not interfaces:
            raise LookupError("the device has no HID interface: it is not a keyboard-type reader")
        interfaces.sort(key=lambda i: i.bInterfaceProtocol != BOOT_KEYBOARD_PROTOCOL)
        interface = interfaces[0]
        endpoint = usb.util.find_descriptor(
            interface,
            custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN
            and usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_INTR,
        )
        if endpoint is None:
            raise LookupError("the HID interface has no interrupt IN endpoint")
        number = interface.bInterfaceNumber
        if dev.is_kernel_driver_active(number):
            dev.detach_kernel_driver(number)
            self._detached.append(number)
        usb.util.claim_interface(dev, number)
        self._claimed = number
        return endpoint.bEndpointAddress, endpoint.wMaxPacketSize

    def _close(self) -> None:
        dev = self._device
        if self._claimed is not None:
            with contextlib.suppress(usb.core.USBError):
                usb.util.release_interface(dev, self._claimed)
            self._claimed = None
        for number in self._detached:
            with contextlib.suppress(usb.core.USBError):
                dev.attach_kernel_driver(number)
        self._detached.clear()
        with contextlib.suppress(usb.core.USBError):
            usb.util.dispose_resources(dev)

    def _report(self, exc: usb.core.USBError, vid: int, pid: int) -> None:
        if exc.errno in DENIED_ERRNOS:
            self._on_status(ReaderStatus.DENIED, permission_hint(vid, pid))
        elif exc.errno in GONE_ERRNOS or exc.errno == errno.EIO:
            self._on_status(ReaderStatus.GONE, "unplugged while in use")
        else:
            self._on_status(ReaderStatus.FAILED, f"USB error: {exc.strerror or exc}")


def _key(device: Any) -> str:
    return f"{device.bus}-{device.address}"


def _is_hid(device: usb.core.Device) -> bool:
    """A HID device by its class or (usual for keyboards) one of its interfaces' class."""
    if device.bDeviceClass == HID_CLASS:
        return True
    try:
        return any(i.bInterfaceClass == HID_CLASS for cfg in device for i in cfg)
    except (usb.core.USBError, IndexError, ValueError):
        return False


class ReaderManager:
    """All readers of a session: hot-plug scanning, reading, and taps on the assigned stations.

    `on_tap(config, id_token)` presents a card and returns the authorization status; the
    caller decides which station that is (the session knows its stations, this class not).
    """

    def __init__(
        self,
        configs: list[ReaderConfig] | None = None,
        *,
        on_tap: TapHandler,
        backend: Any = None,
        scan_interval: float = 1.0,
    ) -> None:
        self.configs: list[ReaderConfig] = list(configs or [])
        self._on_tap = on_tap
        self._backend = backend
        self._backend_checked = backend is not None
        self.scan_interval = scan_interval
        self.error = ""  # why nothing can be scanned at all (no libusb)
        self._states: dict[str, ReaderState] = {}
        self._readers: dict[str, UsbHidReader] = {}
        self._devices: dict[str, usb.core.Device] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._scanner: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.changed: Signal[[ReaderState]] = Signal()
        #: One complete read turned into a tap: state, idToken, authorization status.
        self.tapped: Signal[[ReaderState, str, str]] = Signal()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._resolve_backend()  # says at once when there is no USB library
        if self._scanner is None:
            self._scanner = asyncio.ensure_future(self._scan_forever())

    async def stop(self) -> None:
        if self._scanner is not None:
            self._scanner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scanner
            self._scanner = None
        readers = list(self._readers.values())
        self._readers.clear()
        await asyncio.gather(*(asyncio.to_thread(r.stop) for r in readers))
        for task in list(self._tasks):
            task.cancel()

    async def _scan_forever(self) -> None:
        while True:
            await self.scan()
            await asyncio.sleep(self.scan_interval)

    # ------------------------------------------------------------------ what there is

    def rows(self) -> list[ReaderState]:
        """Plugged-in devices first, then configured readers that are not plugged in."""
        present = [s for s in self._states.values() if not s.key.startswith("config:")]
        present_ids = {(s.vendor_id, s.product_id) for s in present if s.config is not None}
        absent = []
        for config in self.configs:
            if (config.vendor_id, config.product_id) in present_ids:
                continue
            key = f"config:{config.ident}"  # kept, so a Test read on it is remembered too
            blank = ReaderState(key, config.vendor_id, config.product_id, config)
            state = self._states.setdefault(key, blank)
            absent.append(state)
        return present + absent

    def state(self, key: str) -> ReaderState:
        for row in self.rows():
            if row.key == key:
                return row
        raise KeyError(f"no reader {key}")

    def config_for(self, vendor_id: int, product_id: int) -> ReaderConfig | None:
        return next((c for c in self.configs if (c.vendor_id, c.product_id) == (vendor_id, product_id)), None)

    # ------------------------------------------------------------------ hot-plug

    def _resolve_backend(self) -> Any:
        if not self._backend_checked:
            self._backend_checked = True
            self._backend = usb.backend.libusb1.get_backend()
            if self._backend is None:
                self.error = no_backend_hint()
                log.warning("%s", self.error)
        return self._backend

    def _enumerate(self) -> dict[str, usb.core.Device]:
        backend = self._resolve_backend()
        if backend is None:
            return {}
        found = usb.core.find(find_all=True, backend=backend)
        return {_key(d): d for d in found if self.config_for(d.idVendor, d.idProduct) or _is_hid(d)}

    async def scan(self) -> None:
        """Compare what is plugged in with what was: start new readers, mark vanished ones."""
        try:
            devices = await asyncio.to_thread(self._enumerate)
        except usb.core.USBError as exc:
            self.error = f"cannot list USB devices: {exc.strerror or exc}"
            return
        for key in [k for k in self._devices if k not in devices]:
            self._vanished(key)
        for key, device in devices.items():
            if key not in self._devices:
                self._devices[key] = device
                self._appeared(key, device)

    def _appeared(self, key: str, device: usb.core.Device) -> None:
        vid, pid = device.idVendor, device.idProduct
        config = self.config_for(vid, pid)
        state = ReaderState(key, vid, pid, config, ReaderStatus.DETECTED)
        old = self._states.pop(f"config:{vid:04x}:{pid:04x}", None)
        if old is not None:  # the same reader back again: keep what it read last
            state.last_read, state.last_token = old.last_read, old.last_token
            state.last_result, state.last_read_at = old.last_result, old.last_read_at
        self._states[key] = state
        if config is not None:
            self._open_reader(key, device)
        self.changed.emit(state)

    def _vanished(self, key: str) -> None:
        self._devices.pop(key, None)
        reader = self._readers.pop(key, None)
        if reader is not None:
            reader.stop(timeout=0)  # its thread ends on its own: the device is gone
        state = self._states.pop(key, None)
        if state is None:
            return
        if state.config is not None:
            state.key = f"config:{state.ident}"
            state.status = ReaderStatus.GONE
            state.detail = "plug it in again: it is picked up without a restart"
            self._states[state.key] = state
        self.changed.emit(state)

    def _open_reader(self, key: str, device: usb.core.Device) -> None:
        loop = self._loop or asyncio.get_running_loop()
        state = self._states[key]
        state.status, state.detail = ReaderStatus.OPENING, ""

        def on_line(line: str) -> None:
            loop.call_soon_threadsafe(self._line_read, key, line)

        def on_status(status: ReaderStatus, detail: str) -> None:
            loop.call_soon_threadsafe(self._status, key, status, detail)

        reader = UsbHidReader(device, on_line=on_line, on_status=on_status)
        self._readers[key] = reader
        reader.start()

    def _status(self, key: str, status: ReaderStatus, detail: str) -> None:
        state = self._states.get(key)
        if state is None:
            return
        state.status, state.detail = status, detail
        if status == ReaderStatus.DENIED:
            log.warning("RFID reader %s: %s", state.ident, detail)
        self.changed.emit(state)

    # ------------------------------------------------------------------ reads and taps

    def _line_read(self, key: str, line: str) -> None:
        state = self._states.get(key)
        if state is None or state.config is None:
            return
        self.present_read(state, line)

    def present_read(self, state: ReaderState, line: str) -> None:
        """One complete read, from the device or the page's Test button: tap with it."""
        config = state.config
        if config is None:
            raise ValueError(f"reader {state.ident} is not assigned to a station")
        state.last_read, state.last_read_at = line, time.time()
        try:
            token = format_uid(line, config.uid)
        except ValueError as exc:
            state.last_token, state.last_result, state.detail = None, "Unreadable", str(exc)
            self.changed.emit(state)
            return
        state.last_token, state.last_result, state.detail = token, "…", ""
        self.changed.emit(state)
        task = asyncio.ensure_future(self._tap(state, config, token))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tap(self, state: ReaderState, config: ReaderConfig, token: str) -> None:
        try:
            result = await self._on_tap(config, token)
        except (LookupError, ValueError, RuntimeError) as exc:
            result = "Not delivered"
            state.detail = str(exc)
        state.last_result = result
        self.changed.emit(state)
        self.tapped.emit(state, token, result)

    # ------------------------------------------------------------------ assignment

    def assign(self, key: str, **changes: Any) -> ReaderConfig:
        """Configure (or reconfigure) the reader behind `key`: station_id, evse_id, token_type, uid.

        A detected device becomes a configured one and starts reading at once.
        """
        state = self.state(key)
        old = state.config or ReaderConfig(state.vendor_id, state.product_id)
        config = replace(old, **changes)
        if state.config is not None:
            self.configs[self.configs.index(state.config)] = config
        else:
            self.configs.append(config)
        state.config = config
        device = self._devices.get(key)
        if device is not None and key not in self._readers:
            self._open_reader(key, device)
        self.changed.emit(state)
        return config
