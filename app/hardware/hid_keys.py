"""Decode USB HID boot-keyboard reports into the text a desk RFID reader "types".

A boot-keyboard report is 8 bytes: modifier bits, a reserved byte, then up to six usage codes
of keys held down (HID Usage Tables, page 0x07). Readers type the UID one key at a time,
releasing each key in between, and finish with Enter; a key counts once when it goes down,
not for every report that still shows it held.
"""

from __future__ import annotations

from collections.abc import Sequence

REPORT_SIZE = 8
_SHIFT_BITS = 0x02 | 0x20  # left shift, right shift
_ENTER_KEYS = frozenset({0x28, 0x58})  # Enter, keypad Enter
_ROLLOVER_ERROR = 0x01  # "too many keys": the report carries no key information

_DIGITS = "1234567890"
_SHIFTED_DIGITS = "!@#$%^&*()"


def key_char(usage: int, shift: bool) -> str | None:
    """The character of one key usage on a US layout, None for keys that type nothing."""
    if 0x04 <= usage <= 0x1D:
        letter = chr(ord("a") + usage - 0x04)
        return letter.upper() if shift else letter
    if 0x1E <= usage <= 0x27:
        index = usage - 0x1E
        return _SHIFTED_DIGITS[index] if shift else _DIGITS[index]
    if 0x59 <= usage <= 0x62:  # keypad 1..9, 0
        return _DIGITS[usage - 0x59]
    if usage == 0x2D:
        return "_" if shift else "-"
    if usage == 0x2C:
        return " "
    return None


class KeyReportDecoder:
    """Turns a stream of reports into complete lines, one per Enter.

    `feed` returns the finished line when a report pressed Enter, else None. Reports that
    are too short, or that signal keyboard rollover, are ignored rather than guessed at.
    """

    def __init__(self, max_length: int = 64) -> None:
        self._held: set[int] = set()
        self._text: list[str] = []
        self._max_length = max_length

    @property
    def pending(self) -> str:
        """What was typed since the last Enter."""
        return "".join(self._text)

    def reset(self) -> None:
        self._held.clear()
        self._text.clear()

    def feed(self, report: Sequence[int]) -> str | None:
        if len(report) < REPORT_SIZE:
            return None
        keys = [k for k in report[2:REPORT_SIZE] if k]
        if _ROLLOVER_ERROR in keys:
            return None
        shift = bool(report[0] & _SHIFT_BITS)
        pressed = [k for k in keys if k not in self._held]
        self._held = set(keys)
        line: str | None = None
        for usage in pressed:
            if usage in _ENTER_KEYS:
                line, self._text = "".join(self._text), []
                continue
            char = key_char(usage, shift)
            if char is not None and len(self._text) < self._max_length:
                self._text.append(char)
        return line or None
