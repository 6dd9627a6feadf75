"""Who may charge: the station's side of functional blocks C (Authorization) and D (Local List).

`Authorizer.authorize` is the one place that decides on a presented idToken. It combines the
Local Authorization List (kept in sync by the CSMS, never edited here: D01.FR.09), the
Authorization Cache (filled from every CSMS verdict: C10) and the CSMS itself, steered by the
AuthCtrlr / AuthCacheCtrlr / LocalAuthListCtrlr variables. The station's transaction logic only
sees an `AuthDecision`; it never reads those variables itself, so the rules live in one file.

Time comes from the injected `Clock` (epoch seconds of `clock.now()`), so cache expiry can be
tested with a `ManualClock`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from app.clock import Clock
from app.station.device_model import DeviceModel
from app.station.persistence import CacheEntry, StationStore, json_size, stored_size, token_key

log = logging.getLogger(__name__)

AuthSource = Literal["LocalList", "Cache", "CSMS", "Offline", "Station"]

ACCEPTED: Final = "Accepted"

# What the station's display says for each AuthorizationStatus.
DISPLAY_TEXT: Final[dict[str, str]] = {
    "Accepted": "Card accepted",
    "Blocked": "Card blocked",
    "ConcurrentTx": "Card already in use",
    "Expired": "Card expired",
    "Invalid": "Card invalid",
    "NoCredit": "No credit left",
    "NotAllowedTypeEVSE": "Not allowed on this charger type",
    "NotAtThisLocation": "Not valid at this location",
    "NotAtThisTime": "Not valid at this time",
    "Unknown": "Card unknown",
}

# Token types the station never asks about nor caches: a start button (C02.FR.03) and ids the
# CSMS generated itself for a remote start (C05.FR.01, C05.FR.02).
_NOT_ASKED: Final = frozenset({"noauthorization", "central"})

_AUTH = "AuthCtrlr"
_CACHE = "AuthCacheCtrlr"
_LIST = "LocalAuthListCtrlr"


def display_text(status: str) -> str:
    """A short line for the station's display; unknown future statuses still read sensibly."""
    return DISPLAY_TEXT.get(status, f"Refused: {status}")


def strip_token(id_token: Mapping[str, Any]) -> dict[str, Any]:
    """An IdToken without additionalInfo: not part of its identity (C01.FR.25), not cached (C10.FR.14)."""
    return {k: v for k, v in id_token.items() if k != "additionalInfo"}


def tokens_equal(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Same idToken (case-insensitive) and same type (exact); additionalInfo ignored (C01.FR.25)."""
    if not a or not b:
        return False
    return token_key(str(a.get("idToken", ""))) == token_key(str(b.get("idToken", ""))) and a.get(
        "type"
    ) == b.get("type")


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """The verdict on a presented idToken and where it came from.

    `source`: "LocalList", "Cache", "CSMS", "Offline" (the offline rule for tokens without a
    usable stored verdict: OfflineTxForUnknownIdEnabled) or "Station" (the station's settings
    decided without asking: AuthCtrlr.Enabled false, a start button, a CSMS-generated Central
    id, an unknown token under DisableRemoteAuthorization). `master_pass`: the token's group is
    AuthCtrlr.MasterPassGroupId, so it may stop any transaction but start none (C12.FR.09,
    C16.FR.03).
    """

    status: str
    info: dict[str, Any] | None
    source: AuthSource
    master_pass: bool = False

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    @property
    def display(self) -> str:
        return "Master pass" if self.master_pass and self.accepted else display_text(self.status)

    def allows_evse(self, evse_id: int) -> bool:
        """Whether the verdict lets the driver charge at `evse_id` (C01.FR.21: evseId restricts)."""
        allowed = (self.info or {}).get("evseId")
        return self.accepted and (not allowed or evse_id in allowed)


@dataclass(slots=True)
class _Known:
    """A stored verdict for the presented token, as the decision rules need it."""

    info: dict[str, Any]
    source: AuthSource
    expired: bool

    @property
    def accepted(self) -> bool:
        return not self.expired and self.info.get("status") == ACCEPTED


class Authorizer:
    """Decides on idTokens and keeps the cache and the local list (one per station)."""

    def __init__(self, dm: DeviceModel, store: StationStore, clock: Clock) -> None:
        self.dm = dm
        self.store = store
        self.clock = clock
        self._sync_counters()

    # -- the decision ------------------------------------------------------------------------

    async def authorize(
        self,
        id_token: dict[str, Any],
        *,
        online: bool,
        ask_csms: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    ) -> AuthDecision:
        """Decide on a presented token; `ask_csms` sends Authorize and returns its response.

        Any exception from `ask_csms` means "no answer": the offline rules decide then.
        """
        token_type = str(id_token.get("type", ""))
        if not self._flag(_AUTH, "Enabled", True) or token_type.casefold() in _NOT_ASKED:
            return AuthDecision(ACCEPTED, None, "Station")
        now = self._now()
        listed = self._list_lookup(id_token, now)
        cached = None if listed is not None and not listed.expired else self._cache_lookup(id_token, now)

        if online:
            # Online, a list entry past its cacheExpiryDateTime counts as absent (C14.FR.05).
            known = listed if listed is not None and not listed.expired else cached
            if known is not None and known.accepted and self._flag(_AUTH, "LocalPreAuthorize", False):
                return self._from_known(id_token, known, now)  # C12, C14.FR.02/04
            if known is not None and not known.accepted and not known.expired:
                post = _LIST if known.source == "LocalList" else _CACHE
                if self._flag(post, "DisablePostAuthorize", False):
                    return self._from_known(id_token, known, now)
            if self._flag(_AUTH, "DisableRemoteAuthorization", False):
                if known is not None:
                    return self._from_known(id_token, known, now)
                return AuthDecision("Unknown", None, "Station")
            # Not known, not Accepted (C01.FR.02, C10.FR.03, C12.FR.05, C14.FR.03), or known and
            # Accepted without LocalPreAuthorize (C01.FR.05).
            answer = await self._ask(id_token, ask_csms)
            if answer is not None:
                in_list = listed is not None
                if not in_list:
                    self._cache_update(id_token, answer, now)  # C10.FR.04
                return self._decision(answer, "CSMS")
        return self._offline(id_token, listed if listed is not None else cached, now)

    def _offline(self, id_token: dict[str, Any], known: _Known | None, now: float) -> AuthDecision:
        """Offline (or no answer): the list wins over the cache (C13.FR.01), then C15."""
        unknown_ok = self._flag(_AUTH, "OfflineTxForUnknownIdEnabled", False)
        if known is not None and not known.accepted:
            # Known but refused or expired: never an "unknown id" (C13.FR.06 note).
            return self._from_known(id_token, known, now)
        if known is not None and self._flag(_AUTH, "LocalAuthorizeOffline", True):
            return self._from_known(id_token, known, now)  # C13.FR.02-06, C12
        # Not known, or local authorization switched off: C15.FR.08 / C13.FR.02. Such a verdict
        # is never cached (C15.FR.01).
        return AuthDecision(ACCEPTED if unknown_ok else "Unknown", None, "Offline")

    def _from_known(self, id_token: dict[str, Any], known: _Known, now: float) -> AuthDecision:
        if known.source == "Cache":
            self.store.cache_touch(str(id_token.get("idToken", "")), str(id_token.get("type", "")), now)
        info = known.info if not known.expired else {**known.info, "status": "Expired"}
        return self._decision(info, known.source)

    def _decision(self, info: dict[str, Any], source: AuthSource) -> AuthDecision:
        return AuthDecision(str(info.get("status", "Invalid")), info, source, self.is_master_pass(info))

    async def _ask(
        self,
        id_token: dict[str, Any],
        ask_csms: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any] | None:
        try:
            response = await ask_csms(id_token)
            info = response["idTokenInfo"]
            if not isinstance(info, dict) or not isinstance(info.get("status"), str):
                raise ValueError(f"idTokenInfo without a status: {info!r}")
        except Exception as exc:
            log.info("Authorize got no usable answer (%s): deciding offline", exc)
            return None
        return info

    # -- lookups -----------------------------------------------------------------------------

    def _list_lookup(self, id_token: Mapping[str, Any], now: float) -> _Known | None:
        if not self._flag(_LIST, "Enabled", False):
            return None
        info = self.store.local_list_get(str(id_token.get("idToken", "")), str(id_token.get("type", "")))
        if info is None:
            return None
        expired = False
        if self._flag(_LIST, "SupportsExpiryDateTime", False):  # C13.FR.05/06, C14.FR.04/05
            until = _epoch(info.get("cacheExpiryDateTime"))
            expired = until is not None and now >= until
        return _Known(info, "LocalList", expired)

    def _cache_lookup(self, id_token: Mapping[str, Any], now: float) -> _Known | None:
        if not self._flag(_CACHE, "Enabled", False):
            return None
        entry = self.store.cache_get(str(id_token.get("idToken", "")), str(id_token.get("type", "")))
        if entry is None:
            return None
        until = self._cache_expiry(entry)
        # C10.FR.10/13: past its validity an entry counts as Expired (we keep it: an expired
        # token is not an "unknown id" offline, and the eviction policy removes it in time).
        return _Known(entry.info, "Cache", until is not None and now >= until)

    def _cache_expiry(self, entry: CacheEntry) -> float | None:
        """cacheExpiryDateTime when given (C10.FR.13), else AuthCacheCtrlr.LifeTime after the
        last update by the CSMS (C10.FR.10). LifeTime is read now, so a shorter one set by the
        CSMS applies to entries already stored; LifeTime 0 means no time limit."""
        explicit = _epoch(entry.info.get("cacheExpiryDateTime"))
        if explicit is not None:
            return explicit
        lifetime = self._int(_CACHE, "LifeTime", 0)
        return entry.stored + lifetime if lifetime > 0 else None

    # -- cache maintenance (C10) -------------------------------------------------------------

    def remember(self, id_token: dict[str, Any], info: dict[str, Any]) -> None:
        """Take in a CSMS verdict from a TransactionEventResponse's idTokenInfo (C10.FR.05, C12.FR.06)."""
        now = self._now()
        if self._flag(_LIST, "Enabled", False) and self.store.local_list_get(
            str(id_token.get("idToken", "")), str(id_token.get("type", ""))
        ):
            return  # the list is the CSMS's word on this token; the cache would never be read
        self._cache_update(id_token, info, now)

    def _cache_update(self, id_token: Mapping[str, Any], info: Mapping[str, Any], now: float) -> None:
        token_type = str(id_token.get("type", ""))
        if not self._flag(_CACHE, "Enabled", False) or token_type.casefold() in _NOT_ASKED:
            return  # C10 prerequisite, C02.FR.03, C05.FR.02
        value = str(id_token.get("idToken", ""))
        stored_info = _cacheable_info(info)
        explicit = _epoch(stored_info.get("cacheExpiryDateTime"))
        if explicit is not None and explicit <= now:
            # A cacheExpiryDateTime in the past keeps a token out of the cache (C10.FR.10 note).
            self.store.cache_delete(value, token_type)
            self._sync_cache_storage()
            return
        lifetime = self._int(_CACHE, "LifeTime", 0)
        expires = explicit if explicit is not None else (now + lifetime if lifetime > 0 else None)
        previous = self.store.cache_get(value, token_type)
        entry = CacheEntry(
            id_token=value,
            type=token_type,
            info=stored_info,
            expires=expires,
            last_used=now,
            stored=now,
            uses=(previous.uses if previous is not None else 0) + 1,
        )
        try:
            if self._make_room(entry, replacing=previous is not None):
                self.store.cache_put(entry)  # C10.FR.01, C10.FR.04/05, C10.FR.14
        except sqlite3.Error:
            log.exception("authorization cache update failed for a %s token", token_type)
        self._sync_cache_storage()

    def _make_room(self, entry: CacheEntry, *, replacing: bool) -> bool:
        """Evict per AuthCacheCtrlr.Policy until `entry` fits (C10.FR.07); False if it never can."""
        max_bytes = self._max_limit(_CACHE, "Storage")
        max_entries = self._max_limit(_CACHE, "Entries")
        size = stored_size({"idToken": entry.id_token, "type": entry.type}, entry.info)
        if max_bytes is not None and size > max_bytes:
            return False
        policy = self.dm.get_str(_CACHE, "Policy", default="LRU") or "LRU"
        keep = (entry.id_token, entry.type)
        while True:
            old = self.store.cache_get(entry.id_token, entry.type) if replacing else None
            old_size = (
                0 if old is None else stored_size({"idToken": old.id_token, "type": old.type}, old.info)
            )
            count = self.store.cache_len() + (0 if replacing else 1)
            over_bytes = max_bytes is not None and self.store.cache_bytes() - old_size + size > max_bytes
            over_count = max_entries is not None and count > max_entries
            if not over_bytes and not over_count:
                return True
            victim = self.store.cache_victim(policy, keep)
            if victim is None:
                return False
            self.store.cache_delete(victim.id_token, victim.type)

    def clear_cache(self) -> dict[str, Any]:
        """ClearCacheResponse (C11): Rejected while the cache is disabled (C11.FR.04)."""
        if not self._flag(_CACHE, "Enabled", False):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NotEnabled"}}
        try:
            self.store.cache_clear()
        except sqlite3.Error as exc:  # C11.FR.05
            return {
                "status": "Rejected",
                "statusInfo": {"reasonCode": "InternalError", "additionalInfo": str(exc)},
            }
        self._sync_cache_storage()
        return {"status": "Accepted"}  # C11.FR.03

    # -- local list (D01, D02) ---------------------------------------------------------------

    def send_local_list(self, payload: dict[str, Any]) -> dict[str, Any]:
        """SendLocalListResponse for a SendLocalListRequest; the list changes only if Accepted."""
        if not self._flag(_LIST, "Enabled", False):
            return _failed(
                "NotEnabled", "the Local Authorization List is disabled (LocalAuthListCtrlr.Enabled)"
            )
        version = payload.get("versionNumber")
        if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
            return _failed("ValuePositiveOnly", f"versionNumber must be > 0, got {version!r}")  # D01.FR.18
        items: list[dict[str, Any]] = list(payload.get("localAuthorizationList") or [])
        per_message = self._int(_LIST, "ItemsPerMessage", 0)
        if per_message > 0 and len(items) > per_message:  # D01.FR.11
            return _failed("TooManyElements", f"{len(items)} entries, ItemsPerMessage is {per_message}")
        bytes_per_message = self._int(_LIST, "BytesPerMessage", 0)
        message_bytes = json_size(payload)
        if bytes_per_message > 0 and message_bytes > bytes_per_message:  # D01.FR.11
            return _failed(
                "TooLargeElement", f"{message_bytes} bytes, BytesPerMessage is {bytes_per_message}"
            )
        seen: set[tuple[str, str]] = set()
        for item in items:
            token = item["idToken"]
            key = (token_key(str(token["idToken"])), str(token["type"]))
            if key in seen:  # D01.FR.06
                return _failed("InvalidValue", f"idToken {token['type']} listed twice")
            seen.add(key)
        full = payload.get("updateType") == "Full"
        if not full and version <= self.store.local_list_version():  # D01.FR.19
            return {"status": "VersionMismatch"}

        upserts = [(item["idToken"], item["idTokenInfo"]) for item in items if item.get("idTokenInfo")]
        deletes = [item["idToken"] for item in items if not item.get("idTokenInfo")]
        if full:
            count = len(upserts)
            size = sum(stored_size(t, i) for t, i in upserts)
        else:
            count, size = self.store.local_list_len(), self.store.local_list_bytes()
            for token in [t for t, _ in upserts] + deletes:
                old = self.store.local_list_item(str(token["idToken"]), str(token["type"]))
                if old is not None:
                    count -= 1
                    size -= stored_size(*old)
            count += len(upserts)
            size += sum(stored_size(t, i) for t, i in upserts)
        max_entries = self._max_limit(_LIST, "Entries")
        if max_entries is not None and count > max_entries:  # D01.FR.12: Entries maxLimit
            return _failed("TooManyElements", f"the list would hold {count} entries, at most {max_entries}")
        max_bytes = self._max_limit(_LIST, "Storage")
        if max_bytes is not None and size > max_bytes:
            return _failed("OutOfStorage", f"the list would take {size} bytes, at most {max_bytes}")
        try:
            if full:  # D01.FR.04, D01.FR.15
                self.store.local_list_replace(version, upserts)
            else:  # D01.FR.05, D01.FR.16, D01.FR.17
                self.store.local_list_update(version, upserts, deletes)
        except sqlite3.Error as exc:
            return _failed("InternalError", str(exc))
        self._sync_list_counters()
        return {"status": "Accepted"}

    def get_local_list_version(self) -> dict[str, Any]:
        """GetLocalListVersionResponse: 0 when no list was installed or the list is disabled (D02)."""
        if not self._flag(_LIST, "Enabled", False):
            return {"versionNumber": 0}  # D02.FR.03
        return {"versionNumber": self.store.local_list_version()}  # D02.FR.01/02

    # -- groups and master pass (C09, C16) ---------------------------------------------------

    def same_group(
        self,
        a_info: dict[str, Any] | None,
        a_token: dict[str, Any],
        b_token: dict[str, Any],
        b_info: dict[str, Any] | None,
    ) -> bool:
        """Whether b may end what a started: the same token (C01.FR.03 a) or the same
        non-empty groupIdToken (C09.FR.03, C09.FR.07). Statuses are the caller's concern
        (C09.FR.11: a non-Accepted group member stops nothing)."""
        if tokens_equal(a_token, b_token):
            return True
        a_group = (a_info or {}).get("groupIdToken")
        b_group = (b_info or {}).get("groupIdToken")
        return bool(a_group and b_group and a_group.get("idToken") and tokens_equal(a_group, b_group))

    def is_master_pass(self, info: dict[str, Any] | None) -> bool:
        """The token's groupIdToken is AuthCtrlr.MasterPassGroupId (C16), if that is set."""
        master = self.dm.get_str(_AUTH, "MasterPassGroupId", default="")
        group = (info or {}).get("groupIdToken") or {}
        return bool(master) and token_key(str(group.get("idToken", ""))) == token_key(master)

    # -- device-model helpers ----------------------------------------------------------------

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _flag(self, component: str, variable: str, default: bool) -> bool:
        try:
            return self.dm.get_bool(component, variable, default=default)
        except ValueError:
            return default

    def _int(self, component: str, variable: str, default: int) -> int:
        try:
            return self.dm.get_int(component, variable, default=default)
        except ValueError:
            return default

    def _max_limit(self, component: str, variable: str) -> int | None:
        definition = self.dm.find(component, variable)
        limit = None if definition is None else definition.characteristics.max_limit
        return None if limit is None else int(limit)

    def _set_counter(self, component: str, variable: str, value: int) -> None:
        if self.dm.find(component, variable) is not None:
            self.dm.set_actual(component, variable, value, validate=False)

    def _sync_cache_storage(self) -> None:
        self._set_counter(_CACHE, "Storage", self.store.cache_bytes())
        self._set_counter(_CACHE, "Entries", self.store.cache_len())

    def _sync_list_counters(self) -> None:
        self._set_counter(_LIST, "Entries", self.store.local_list_len())  # D01.FR.12
        self._set_counter(_LIST, "Storage", self.store.local_list_bytes())

    def _sync_counters(self) -> None:
        """After a reboot the device model starts at 0; the store knows the real figures."""
        self._sync_cache_storage()
        self._sync_list_counters()


def _failed(reason: str, detail: str) -> dict[str, Any]:
    return {"status": "Failed", "statusInfo": {"reasonCode": reason, "additionalInfo": detail[:1024]}}


def _cacheable_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """All IdTokenInfo fields, but the groupIdToken without its additionalInfo (C10.FR.14)."""
    stored = dict(info)
    group = stored.get("groupIdToken")
    if isinstance(group, Mapping):
        stored["groupIdToken"] = strip_token(group)
    return stored


def _epoch(value: Any) -> float | None:
    """An RFC 3339 dateTime as epoch seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        log.info("ignoring unreadable cacheExpiryDateTime %r", value)
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()
