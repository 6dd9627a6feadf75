"""What to tell a user whose operating system refuses access to a USB device.

A desk reader is a keyboard, so Linux gives it to the kernel's HID driver and, without a
udev rule, only root may open it. The hint names the exact rule line for that vendor and
product id, where it goes, and the command that makes it take effect without a reboot.
"""

from __future__ import annotations

import errno
import sys

#: errno values with which libusb (through pyusb) says "not allowed".
DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM})
#: errno values with which it says "the device went away".
GONE_ERRNOS = frozenset({errno.ENODEV, errno.ENOENT, errno.ESHUTDOWN, errno.EPIPE})


def udev_rule(vendor_id: int, product_id: int) -> str:
    return (
        f'SUBSYSTEM=="usb", ATTR{{idVendor}}=="{vendor_id:04x}", ATTR{{idProduct}}=="{product_id:04x}", '
        'MODE="0660", TAG+="uaccess"'
    )


def permission_hint(vendor_id: int, product_id: int) -> str:
    """Several lines: the cause, and exactly what to do about it on this platform."""
    ident = f"{vendor_id:04x}:{product_id:04x}"
    if sys.platform.startswith("linux"):
        return (
            f"USB access to {ident} was denied. Allow it for the logged-in user with a udev rule:\n"
            f"  echo '{udev_rule(vendor_id, product_id)}' | "
            f"sudo tee /etc/udev/rules.d/70-chargebench-{vendor_id:04x}-{product_id:04x}.rules\n"
            "  sudo udevadm control --reload-rules && sudo udevadm trigger\n"
            "then unplug the reader and plug it in again."
        )
    if sys.platform == "darwin":
        return (
            f"USB access to {ident} was denied: macOS keeps keyboards to itself. "
            "Run chargebench from a terminal that has Input Monitoring permission "
            "(System Settings > Privacy & Security)."
        )
    return f"USB access to {ident} was denied: install the WinUSB driver for it (e.g. with Zadig)."


def no_backend_hint() -> str:
    return (
        "pyusb found no USB library: install libusb 1.0 (Debian/Ubuntu: sudo apt-get install libusb-1.0-0)."
    )
