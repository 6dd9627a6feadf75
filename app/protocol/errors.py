"""RPC error codes as typed exceptions.

A handler raises one of these and the RPC layer turns it into the CALLERROR (or, on 2.1, the
CALLRESULTERROR) the peer must see; an incoming CALLERROR becomes one of these for the caller.
OCPP 1.6 spells two codes differently ("FormationViolation", "OccurenceConstraintViolation");
`wire_code()` gives the spelling a given version expects.
"""

from __future__ import annotations

from typing import Any, ClassVar

# Part 4 §4.3 (2.0.1 / 2.1). 1.6 lacks MessageTypeNotSupported and RpcFrameworkError.
CODES_2X: tuple[str, ...] = (
    "FormatViolation",
    "GenericError",
    "InternalError",
    "MessageTypeNotSupported",
    "NotImplemented",
    "NotSupported",
    "OccurrenceConstraintViolation",
    "PropertyConstraintViolation",
    "ProtocolError",
    "RpcFrameworkError",
    "SecurityError",
    "TypeConstraintViolation",
)
_SPELLING_16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}
CODES_16: tuple[str, ...] = tuple(
    _SPELLING_16.get(c, c) for c in CODES_2X if c not in ("MessageTypeNotSupported", "RpcFrameworkError")
)
# Accept either spelling on input (peers disagree about 2.0.1; see ocpp21-notes §1.5).
_CANONICAL = {v: k for k, v in _SPELLING_16.items()}

MAX_DESCRIPTION = 255


class OcppError(Exception):
    """An RPC-level failure with an OCPP error code; `details` must be a JSON object."""

    code: ClassVar[str] = "GenericError"

    def __init__(self, description: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description[:MAX_DESCRIPTION]
        self.details: dict[str, Any] = details if details is not None else {}

    def wire_code(self, version: str) -> str:
        """The code as the given subprotocol spells it, falling back to a code it knows."""
        if version == "ocpp1.6":
            if self.code in ("MessageTypeNotSupported", "RpcFrameworkError"):
                return "ProtocolError"
            return _SPELLING_16.get(self.code, self.code)
        return self.code

    def __str__(self) -> str:
        return f"{self.code}: {self.description}" if self.description else self.code


class FormatViolation(OcppError):
    code = "FormatViolation"


class GenericError(OcppError):
    code = "GenericError"


class InternalError(OcppError):
    code = "InternalError"


class MessageTypeNotSupported(OcppError):
    code = "MessageTypeNotSupported"


class NotImplementedOcpp(OcppError):
    """The action is unknown to the receiver (named to avoid shadowing the builtin)."""

    code = "NotImplemented"


class NotSupported(OcppError):
    code = "NotSupported"


class OccurrenceConstraintViolation(OcppError):
    code = "OccurrenceConstraintViolation"


class PropertyConstraintViolation(OcppError):
    code = "PropertyConstraintViolation"


class ProtocolError(OcppError):
    code = "ProtocolError"


class RpcFrameworkError(OcppError):
    code = "RpcFrameworkError"


class SecurityError(OcppError):
    code = "SecurityError"


class TypeConstraintViolation(OcppError):
    code = "TypeConstraintViolation"


class CallTimeout(Exception):
    """No answer arrived within the call's deadline (not an OCPP code: nothing goes on the wire)."""


class ConnectionLost(Exception):
    """The socket closed while a call was outstanding or before it could be sent."""


_BY_CODE: dict[str, type[OcppError]] = {cls.code: cls for cls in OcppError.__subclasses__()}


def canonical_code(code: str) -> str:
    return _CANONICAL.get(code, code)


def error_from_code(code: str, description: str = "", details: dict[str, Any] | None = None) -> OcppError:
    """Build the typed error for a code received on the wire; unknown codes become GenericError."""
    cls = _BY_CODE.get(canonical_code(code))
    if cls is None:
        err = GenericError(description, details)
        err.details = {**err.details, "receivedCode": code}
        return err
    return cls(description, details)


def known_codes(version: str) -> tuple[str, ...]:
    return CODES_16 if version == "ocpp1.6" else CODES_2X
