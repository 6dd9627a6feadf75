"""A simulated desk RFID reader behind pyusb's backend interface.

`SimulatedUsbBackend` implements `usb.backend.IBackend`, so `usb.core.find(backend=...)` finds
its devices and the real reading code (`app.hardware.rfid`) runs on it unchanged: descriptors
of a HID boot keyboard, a kernel driver to detach and attach, an interrupt IN endpoint fed from
a queue. It fails the way libusb does: `USBError` with errno EACCES for a denied open or detach,
ENODEV once unplugged, and `USBTimeoutError` when no key report came within the timeout.
"""

from __future__ import annotations

import errno
import itertools
import queue
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core

_ENDPOINT_IN = 0x81
_REPORT_SIZE = 8
_SHIFT = 0x02
_addresses = itertools.count(2)


def _usage(char: str) -> tuple[int, bool]:
    """HID usage and shift state for one character of a UID (letters, digits)."""
    if char.isdigit():
        return (0x27 if char == "0" else 0x1E + int(char) - 1), False
    if "a" <= char.lower() <= "z":
        return 0x04 + ord(char.lower()) - ord("a"), char.isupper()
    raise ValueError(f"a reader does not type {char!r}")


def key_reports(text: str, *, enter: bool = True) -> list[bytes]:
    """The reports a reader sends to type `text`: each key down, then all keys up."""
    reports = []
    for char in text:
        usage, shift = _usage(char)
        reports.append(bytes([_SHIFT if shift else 0, 0, usage, 0, 0, 0, 0, 0]))
        reports.append(bytes(_REPORT_SIZE))
    if enter:
        reports += [bytes([0, 0, 0x28, 0, 0, 0, 0, 0]), bytes(_REPORT_SIZE)]
    return reports


class SimulatedHidReader:
    """One reader: identity, kernel-driver state, and the reports it is about to send."""

    def __init__(
        self,
        vendor_id: int = 0xFFFF,
        product_id: int = 0x0035,
        *,
        bus: int = 1,
        deny_open: bool = False,
        deny_detach: bool = False,
    ) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.bus = bus
        self.address = next(_addresses)
        self.deny_open = deny_open
        self.deny_detach = deny_detach
        self.present = True
        self.kernel_driver_attached = True
        self.claimed = False
        self.reads = 0  # interrupt reads that returned a report
        self._reports: queue.Queue[bytes | usb.core.USBError] = queue.Queue()

    def send(self, *reports: bytes) -> None:
        for report in reports:
            self._reports.put(report)

    def type(self, text: str, *, enter: bool = True) -> None:
        """A card held to the reader: its UID typed, then Enter."""
        self.send(*key_reports(text, enter=enter))

    def unplug(self) -> None:
        """Gone from the bus; a read in progress fails with ENODEV, as libusb's does."""
        self.present = False
        self._reports.put(_gone())

    def next_report(self, timeout_s: float) -> bytes:
        try:
            item = self._reports.get(timeout=timeout_s)
        except queue.Empty:
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT) from None
        if isinstance(item, usb.core.USBError):
            raise item
        self.reads += 1
        return item


def _gone() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)


def _denied() -> usb.core.USBError:
    return usb.core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)


class SimulatedUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    """A USB bus holding simulated readers; `plug` and `unplug` change it while it is scanned."""

    def __init__(self, *readers: SimulatedHidReader) -> None:
        self.readers: list[SimulatedHidReader] = list(readers)

    def plug(self, reader: SimulatedHidReader) -> SimulatedHidReader:
        reader.present = True
        if reader not in self.readers:
            self.readers.append(reader)
        return reader

    def unplug(self, reader: SimulatedHidReader) -> None:
        reader.unplug()
        if reader in self.readers:
            self.readers.remove(reader)

    # ------------------------------------------------------------------ descriptors

    def enumerate_devices(self) -> Any:
        return iter([r for r in self.readers if r.present])

    def get_device_descriptor(self, dev: SimulatedHidReader) -> Any:
        return SimpleNamespace(
            bLength=18,
            bDescriptorType=1,
            bcdUSB=0x0200,
            bDeviceClass=0,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=8,
            idVendor=dev.vendor_id,
            idProduct=dev.product_id,
            bcdDevice=0x0100,
            iManufacturer=0,
            iProduct=0,
            iSerialNumber=0,
            bNumConfigurations=1,
            address=dev.address,
            bus=dev.bus,
            port_number=1,
            port_numbers=(1,),
            speed=1,
        )

    def get_configuration_descriptor(self, dev: SimulatedHidReader, config: int) -> Any:
        if config != 0:
            raise IndexError("one configuration")
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=2,
            wTotalLength=34,
            bNumInterfaces=1,
            bConfigurationValue=1,
            iConfiguration=0,
            bmAttributes=0xA0,
            bMaxPower=50,
            extra_descriptors=[],
        )

    def get_interface_descriptor(self, dev: SimulatedHidReader, intf: int, alt: int, config: int) -> Any:
        if intf != 0 or alt != 0:
            raise IndexError("one interface, one setting")
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=4,
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bNumEndpoints=1,
            bInterfaceClass=0x03,  # HID
            bInterfaceSubClass=0x01,  # boot interface
            bInterfaceProtocol=0x01,  # keyboard
            iInterface=0,
            extra_descriptors=[],
        )

    def get_endpoint_descriptor(
        self, dev: SimulatedHidReader, ep: int, intf: int, alt: int, config: int
    ) -> Any:
        if ep != 0:
            raise IndexError("one endpoint")
        return SimpleNamespace(
            bLength=7,
            bDescriptorType=5,
            bEndpointAddress=_ENDPOINT_IN,
            bmAttributes=0x03,  # interrupt
            wMaxPacketSize=_REPORT_SIZE,
            bInterval=10,
            bRefresh=0,
            bSynchAddress=0,
            extra_descriptors=[],
        )

    # ------------------------------------------------------------------ handles and transfers

    def open_device(self, dev: SimulatedHidReader) -> SimulatedHidReader:
        if not dev.present:
            raise _gone()
        if dev.deny_open:
            raise _denied()
        return dev

    def close_device(self, dev_handle: SimulatedHidReader) -> None:
        dev_handle.claimed = False

    def get_configuration(self, dev_handle: SimulatedHidReader) -> int:
        return 1

    def set_configuration(self, dev_handle: SimulatedHidReader, config_value: int) -> None:
        return None

    def set_interface_altsetting(self, dev_handle: SimulatedHidReader, intf: int, altsetting: int) -> None:
        return None

    def claim_interface(self, dev_handle: SimulatedHidReader, intf: int) -> None:
        if not dev_handle.present:
            raise _gone()
        if dev_handle.kernel_driver_attached:
            raise usb.core.USBError("Resource busy", -6, errno.EBUSY)
        dev_handle.claimed = True

    def release_interface(self, dev_handle: SimulatedHidReader, intf: int) -> None:
        dev_handle.claimed = False

    def is_kernel_driver_active(self, dev_handle: SimulatedHidReader, intf: int) -> bool:
        return dev_handle.kernel_driver_attached

    def detach_kernel_driver(self, dev_handle: SimulatedHidReader, intf: int) -> None:
        if dev_handle.deny_detach:
            raise _denied()
        dev_handle.kernel_driver_attached = False

    def attach_kernel_driver(self, dev_handle: SimulatedHidReader, intf: int) -> None:
        if not dev_handle.present:
            raise _gone()
        dev_handle.kernel_driver_attached = True

    def intr_read(self, dev_handle: SimulatedHidReader, ep: int, intf: int, buff: Any, timeout: int) -> int:
        if not dev_handle.present:
            raise _gone()
        if not dev_handle.claimed:
            raise usb.core.USBError("Interface not claimed", -5, errno.ENOENT)
        report = dev_handle.next_report(max(timeout, 1) / 1000)
        size = min(len(report), len(buff))
        buff[:size] = type(buff)(buff.typecode, report[:size])
        return size
