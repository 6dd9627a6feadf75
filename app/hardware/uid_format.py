"""How a reader's typed UID becomes the idToken a station presents.

Desk readers differ: some type the UID as hex ("04A224B2C35E80"), others as a 10-digit decimal
of the first four bytes, often least significant byte first. A card enrolled in a CSMS from
another reader only matches when the bytes come out the same, so both sides of the
conversion are configurable per reader. OCPP's idToken types say what a CSMS expects
(appendix IdTokenEnumStringType): ISO14443 is 4 or 7 bytes in hex, ISO15693 8 bytes in hex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["hex", "decimal"]
ByteOrder = Literal["as-read", "reversed"]

#: IdTokenEnumStringType values a reader can sensibly present.
TOKEN_TYPES = ("ISO14443", "ISO15693", "KeyCode", "Local", "Central", "eMAID")
#: OCPP 2.1 IdTokenType.idToken is at most 255 characters (2.0.1: 36).
MAX_TOKEN_LENGTH = 36

_HEX = re.compile(r"[0-9A-Fa-f]+")


@dataclass(frozen=True, slots=True)
class UidFormat:
    typed: Encoding = "hex"  # what the reader types
    output: Encoding = "hex"  # what the station presents as idToken
    byte_order: ByteOrder = "as-read"
    length: int | None = None  # bytes; shorter UIDs are left-padded with zero bytes

    def describe(self) -> str:
        """Short form for tables: "hex → hex", "dec → hex, reversed, 4 bytes"."""
        short = {"hex": "hex", "decimal": "dec"}
        parts = [f"{short[self.typed]} → {short[self.output]}"]
        if self.byte_order == "reversed":
            parts.append("reversed")
        if self.length:
            parts.append(f"{self.length} bytes")
        return ", ".join(parts)


def uid_bytes(typed: str, fmt: UidFormat) -> bytes:
    """The UID bytes behind what the reader typed; ValueError says why text is not a UID."""
    text = typed.strip().replace(":", "").replace(" ", "")
    if not text:
        raise ValueError("the reader sent an empty line")
    if fmt.typed == "hex":
        if not _HEX.fullmatch(text):
            raise ValueError(f"{typed!r} is not a hex UID (the reader may type decimal: set typed: decimal)")
        if len(text) % 2:
            text = "0" + text
        data = bytes.fromhex(text)
    else:
        if not text.isdigit():
            raise ValueError(f"{typed!r} is not a decimal UID (the reader may type hex: set typed: hex)")
        number = int(text)
        size = fmt.length or max(4, (number.bit_length() + 7) // 8)
        if number.bit_length() > size * 8:
            raise ValueError(f"{typed} does not fit in {size} bytes")
        data = number.to_bytes(size, "big")
    if fmt.length is not None:
        if len(data) > fmt.length:
            raise ValueError(f"the UID has {len(data)} bytes, more than the configured {fmt.length}")
        data = data.rjust(fmt.length, b"\0")
    if fmt.byte_order == "reversed":
        data = data[::-1]
    return data


def format_uid(typed: str, fmt: UidFormat) -> str:
    """The idToken text for one read: upper-case hex, or the decimal number of the bytes."""
    data = uid_bytes(typed, fmt)
    token = data.hex().upper() if fmt.output == "hex" else str(int.from_bytes(data, "big"))
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(f"the UID gives a {len(token)}-character idToken; at most {MAX_TOKEN_LENGTH} fit")
    return token
