"""Authorizer: functional blocks C (authorization, cache) and D (local list), one rule per test.

Real SQLite files and a real standard device model; the CSMS is an async function standing in
for the network (it records what the station asked). Time is a ManualClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.clock import ManualClock, utc_timestamp
from app.station.authorization import DISPLAY_TEXT, AuthDecision, Authorizer, display_text, tokens_equal
from app.station.device_model import (
    AttributeSpec,
    Component,
    DataType,
    DeviceModel,
    Mutability,
    Variable,
    VariableCharacteristics,
    VariableDefinition,
)
from app.station.persistence import StationStore

AUTH, CACHE, LIST = "AuthCtrlr", "AuthCacheCtrlr", "LocalAuthListCtrlr"


class FakeCsms:
    """Answers Authorize from a table (default Accepted); `down` makes every call fail."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.asked: list[dict[str, Any]] = []
        self.down = False

    async def __call__(self, id_token: dict[str, Any]) -> dict[str, Any]:
        self.asked.append(id_token)
        if self.down:
            raise ConnectionError("no route to CSMS")
        info = self.answers.get(id_token["idToken"].upper(), {"status": "Accepted"})
        return {"idTokenInfo": info}


def make_dm(clock: ManualClock) -> DeviceModel:
    return DeviceModel.standard([1, 1], vendor="ACME", model="AC22", serial="SN1", firmware="1", clock=clock)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def dm(clock: ManualClock) -> DeviceModel:
    return make_dm(clock)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StationStore]:
    s = StationStore(tmp_path / "cs.sqlite")
    yield s
    s.close()


@pytest.fixture
def auth(dm: DeviceModel, store: StationStore, clock: ManualClock) -> Authorizer:
    return Authorizer(dm, store, clock)


@pytest.fixture
def csms() -> FakeCsms:
    return FakeCsms()


def rfid(value: str = "AABBCCDD") -> dict[str, Any]:
    return {"idToken": value, "type": "ISO14443"}


def setv(dm: DeviceModel, component: str, variable: str, value: Any) -> None:
    dm.set_actual(component, variable, value, validate=False)


def add_variable(
    dm: DeviceModel, component: str, variable: str, data_type: DataType, value: str, **kw: Any
) -> None:
    """A variable the standard model lacks (optional in the spec), as a profile would add it."""
    definition = VariableDefinition(
        Component(component),
        Variable(variable),
        VariableCharacteristics(data_type, **kw),
        (AttributeSpec(mutability=Mutability.READ_WRITE, persistent=True),),
    )
    dm.add(definition, {"Actual": value})


async def present(
    auth: Authorizer, csms: FakeCsms, token: dict[str, Any], *, online: bool = True
) -> AuthDecision:
    return await auth.authorize(token, online=online, ask_csms=csms)


def iso(clock: ManualClock, seconds: float) -> str:
    return utc_timestamp(clock.now() + timedelta(seconds=seconds))


async def send_full(auth: Authorizer, version: int, *entries: tuple[str, str | None]) -> dict[str, Any]:
    items = []
    for value, status in entries:
        item: dict[str, Any] = {"idToken": rfid(value)}
        if status is not None:
            item["idTokenInfo"] = {"status": status}
        items.append(item)
    payload: dict[str, Any] = {"versionNumber": version, "updateType": "Full"}
    if items:
        payload["localAuthorizationList"] = items
    return auth.send_local_list(payload)


# ------------------------------------------------------------------------------ station-side shortcuts


async def test_auth_ctrlr_disabled_accepts_without_asking(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms
) -> None:
    # Part 2 §2.3.1 AuthCtrlr.Enabled: false means no authorization at all.
    setv(dm, AUTH, "Enabled", False)
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("Accepted", "Station")
    assert csms.asked == []


async def test_C02_FR_03_start_button_token_neither_asked_nor_cached(
    auth: Authorizer, csms: FakeCsms, store: StationStore
) -> None:
    decision = await present(auth, csms, {"idToken": "", "type": "NoAuthorization"})
    assert decision.accepted
    assert csms.asked == []
    auth.remember({"idToken": "", "type": "NoAuthorization"}, {"status": "Accepted"})
    assert store.cache_len() == 0


async def test_C05_FR_01_central_token_not_asked_and_C05_FR_02_not_cached(
    auth: Authorizer, csms: FakeCsms, store: StationStore
) -> None:
    token = {"idToken": "sms-1234", "type": "Central"}
    decision = await present(auth, csms, token)
    assert (decision.status, decision.source) == ("Accepted", "Station")
    assert csms.asked == []
    auth.remember(token, {"status": "Accepted"})
    assert store.cache_len() == 0


# ------------------------------------------------------------------------------ online, CSMS and cache


async def test_C01_FR_02_unknown_token_online_asks_csms(auth: Authorizer, csms: FakeCsms) -> None:
    csms.answers["AABBCCDD"] = {"status": "NoCredit"}
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("NoCredit", "CSMS")
    assert decision.info == {"status": "NoCredit"}
    assert csms.asked == [rfid()]


async def test_C10_FR_04_and_C10_FR_01_every_answer_is_cached(
    auth: Authorizer, csms: FakeCsms, store: StationStore
) -> None:
    csms.answers["BLOCKED1"] = {"status": "Blocked"}
    await present(auth, csms, rfid("GOOD0001"))
    await present(auth, csms, rfid("BLOCKED1"))
    good, blocked = store.cache_get("good0001", "ISO14443"), store.cache_get("blocked1", "ISO14443")
    assert good is not None
    assert good.info == {"status": "Accepted"}
    assert blocked is not None
    assert blocked.info == {"status": "Blocked"}


async def test_C10_FR_14_cache_keeps_info_but_no_additional_info(
    auth: Authorizer, csms: FakeCsms, store: StationStore
) -> None:
    group = {
        "idToken": "FLEET-7",
        "type": "Central",
        "additionalInfo": [{"additionalIdToken": "x", "type": "y"}],
    }
    csms.answers["AABBCCDD"] = {
        "status": "Accepted",
        "groupIdToken": group,
        "language1": "nl",
        "personalMessage": {"format": "UTF8", "content": "Welkom"},
    }
    token = {**rfid(), "additionalInfo": [{"additionalIdToken": "plate", "type": "LicensePlate"}]}
    decision = await present(auth, csms, token)
    assert csms.asked == [token]  # the CSMS gets the token as presented
    assert decision.info is not None
    assert decision.info["groupIdToken"] == group
    cached = store.cache_get("AABBCCDD", "ISO14443")
    assert cached is not None
    assert cached.info == {
        "status": "Accepted",
        "groupIdToken": {"idToken": "FLEET-7", "type": "Central"},
        "language1": "nl",
        "personalMessage": {"format": "UTF8", "content": "Welkom"},
    }
    assert "additionalInfo" not in str(store.cache_entries())


async def test_C12_FR_02_cached_accepted_with_local_pre_authorize_is_not_asked(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, store: StationStore
) -> None:
    await present(auth, csms, rfid())
    setv(dm, AUTH, "LocalPreAuthorize", True)
    csms.asked.clear()
    decision = await present(auth, csms, rfid("aabbccdd"))  # case-insensitive match
    assert (decision.status, decision.source) == ("Accepted", "Cache")
    assert csms.asked == []
    cached = store.cache_get("AABBCCDD", "ISO14443")
    assert cached is not None
    assert cached.uses == 2  # stored once, used once locally


async def test_C01_FR_05_cached_accepted_without_local_pre_authorize_asks(
    auth: Authorizer, csms: FakeCsms
) -> None:
    await present(auth, csms, rfid())
    csms.answers["AABBCCDD"] = {"status": "Blocked"}
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("Blocked", "CSMS")
    assert len(csms.asked) == 2


async def test_C10_FR_03_C12_FR_05_cached_non_accepted_is_asked_again_even_with_pre_authorize(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms
) -> None:
    setv(dm, AUTH, "LocalPreAuthorize", True)
    csms.answers["AABBCCDD"] = {"status": "Blocked"}
    await present(auth, csms, rfid())
    csms.answers["AABBCCDD"] = {"status": "Accepted"}
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("Accepted", "CSMS")
    assert len(csms.asked) == 2


async def test_C12_FR_06_cache_updated_by_later_answer(
    auth: Authorizer, csms: FakeCsms, store: StationStore
) -> None:
    await present(auth, csms, rfid())
    csms.answers["AABBCCDD"] = {"status": "Expired"}
    await present(auth, csms, rfid())
    cached = store.cache_get("AABBCCDD", "ISO14443")
    assert cached is not None
    assert cached.info == {"status": "Expired"}


async def test_cache_disable_post_authorize_answers_from_cache(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms
) -> None:
    # Part 2 §2.5.6: AuthCacheCtrlr.DisablePostAuthorize switches C10.FR.03 / C12.FR.05 off.
    csms.answers["AABBCCDD"] = {"status": "Blocked"}
    await present(auth, csms, rfid())
    setv(dm, CACHE, "DisablePostAuthorize", True)
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("Blocked", "Cache")
    assert len(csms.asked) == 1


async def test_C10_FR_11_disabled_cache_is_neither_read_nor_filled(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, store: StationStore
) -> None:
    await present(auth, csms, rfid())
    setv(dm, CACHE, "Enabled", False)
    await present(auth, csms, rfid("OTHER001"))
    assert store.cache_len() == 1  # disabling does not clear (§2.5.1 note), nor fills
    csms.down = True
    decision = await present(auth, csms, rfid(), online=False)
    assert (decision.status, decision.source) == ("Unknown", "Offline")


async def test_disable_remote_authorization_never_asks(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms
) -> None:
    # Part 2 §2.3.8: only cache and list decide.
    await present(auth, csms, rfid())
    setv(dm, AUTH, "DisableRemoteAuthorization", True)
    known = await present(auth, csms, rfid())
    unknown = await present(auth, csms, rfid("NEVERSEEN"))
    assert (known.status, known.source) == ("Accepted", "Cache")
    assert unknown.status == "Unknown"
    assert len(csms.asked) == 1


# ------------------------------------------------------------------------------ cache expiry


async def test_C10_FR_10_lifetime_expiry_makes_entry_expired(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock
) -> None:
    setv(dm, CACHE, "LifeTime", 3600)
    await present(auth, csms, rfid())
    clock.advance(3599)
    assert (await present(auth, csms, rfid(), online=False)).status == "Accepted"
    clock.advance(2)
    decision = await present(auth, csms, rfid(), online=False)
    assert (decision.status, decision.source) == ("Expired", "Cache")
    assert decision.display == "Card expired"


async def test_C10_FR_10_expired_entry_is_not_an_unknown_id_offline(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock
) -> None:
    setv(dm, CACHE, "LifeTime", 60)
    setv(dm, AUTH, "OfflineTxForUnknownIdEnabled", True)
    await present(auth, csms, rfid())
    clock.advance(61)
    assert (await present(auth, csms, rfid(), online=False)).status == "Expired"


async def test_C10_FR_10_expired_entry_online_is_asked_again(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock, store: StationStore
) -> None:
    setv(dm, CACHE, "LifeTime", 60)
    setv(dm, AUTH, "LocalPreAuthorize", True)
    await present(auth, csms, rfid())
    clock.advance(61)
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("Accepted", "CSMS")
    assert len(csms.asked) == 2
    cached = store.cache_get("AABBCCDD", "ISO14443")
    assert cached is not None
    assert cached.stored == clock.now().timestamp()  # the fresh answer restarts the lifetime


async def test_C10_FR_13_cache_expiry_date_time_wins_over_lifetime(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock, store: StationStore
) -> None:
    setv(dm, CACHE, "LifeTime", 10)
    csms.answers["AABBCCDD"] = {"status": "Accepted", "cacheExpiryDateTime": iso(clock, 100)}
    await present(auth, csms, rfid())
    cached = store.cache_get("AABBCCDD", "ISO14443")
    assert cached is not None
    assert cached.expires == clock.now().timestamp() + 100
    clock.advance(50)  # past LifeTime, before cacheExpiryDateTime
    assert (await present(auth, csms, rfid(), online=False)).status == "Accepted"
    clock.advance(51)
    assert (await present(auth, csms, rfid(), online=False)).status == "Expired"


async def test_C10_FR_10_past_cache_expiry_keeps_token_out_of_cache(
    auth: Authorizer, csms: FakeCsms, clock: ManualClock, store: StationStore
) -> None:
    await present(auth, csms, rfid())
    assert store.cache_len() == 1
    csms.answers["AABBCCDD"] = {"status": "Accepted", "cacheExpiryDateTime": iso(clock, -1)}
    decision = await present(auth, csms, rfid())
    assert decision.accepted  # the answer itself still counts
    assert store.cache_len() == 0


async def test_lifetime_zero_means_no_time_limit(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock
) -> None:
    setv(dm, CACHE, "LifeTime", 0)
    await present(auth, csms, rfid())
    clock.advance(10 * 365 * 86400)
    assert (await present(auth, csms, rfid(), online=False)).status == "Accepted"


# ------------------------------------------------------------------------------ cache eviction


async def test_C10_FR_07_full_cache_evicts_least_recently_used(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock, store: StationStore
) -> None:
    add_variable(dm, CACHE, "Entries", DataType.INTEGER, "0", max_limit=3)
    setv(dm, AUTH, "LocalPreAuthorize", True)
    for name in ("CARD0001", "CARD0002", "CARD0003"):
        await present(auth, csms, rfid(name))
        clock.advance(10)
    await present(auth, csms, rfid("CARD0001"))  # used from the cache: now the most recent
    clock.advance(10)
    await present(auth, csms, rfid("CARD0004"))
    assert sorted(e.id_token for e in store.cache_entries()) == ["CARD0001", "CARD0003", "CARD0004"]
    assert dm.get_int(CACHE, "Entries") == 3


async def test_C10_FR_07_non_accepted_entries_are_evicted_first(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock, store: StationStore
) -> None:
    add_variable(dm, CACHE, "Entries", DataType.INTEGER, "0", max_limit=2)
    csms.answers["BLOCKED1"] = {"status": "Blocked"}
    await present(auth, csms, rfid("CARD0001"))
    clock.advance(10)
    await present(auth, csms, rfid("BLOCKED1"))
    clock.advance(10)
    await present(auth, csms, rfid("CARD0002"))
    assert sorted(e.id_token for e in store.cache_entries()) == ["CARD0001", "CARD0002"]


@pytest.mark.parametrize(("policy", "survivor"), [("LFU", "CARD0001"), ("FIFO", "CARD0002")])
async def test_C10_FR_07_policy_variable_chooses_the_victim(
    auth: Authorizer,
    dm: DeviceModel,
    csms: FakeCsms,
    clock: ManualClock,
    store: StationStore,
    policy: str,
    survivor: str,
) -> None:
    # Part 2 §2.5.5 AuthCacheCtrlr.Policy. CARD0001 is oldest but used most; CARD0002 newer.
    add_variable(dm, CACHE, "Entries", DataType.INTEGER, "0", max_limit=2)
    setv(dm, CACHE, "Policy", policy)
    setv(dm, AUTH, "LocalPreAuthorize", True)
    await present(auth, csms, rfid("CARD0001"))
    clock.advance(10)
    await present(auth, csms, rfid("CARD0002"))
    clock.advance(10)
    for _ in range(3):
        await present(auth, csms, rfid("CARD0001"))
    await present(auth, csms, rfid("CARD0002"))  # most recently used: LRU would keep this one
    clock.advance(10)
    await present(auth, csms, rfid("CARD0003"))
    assert sorted(e.id_token for e in store.cache_entries()) == sorted([survivor, "CARD0003"])


async def test_C10_FR_07_storage_max_limit_bounds_the_cache_bytes(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock, store: StationStore
) -> None:
    definition = dm.find(CACHE, "Storage")
    assert definition is not None
    max_bytes = definition.characteristics.max_limit
    assert max_bytes is not None
    message = {"format": "UTF8", "content": "x" * 450}
    for i in range(200):
        csms.answers[f"CARD{i:04d}"] = {"status": "Accepted", "personalMessage": message}
        await present(auth, csms, rfid(f"CARD{i:04d}"))
        clock.advance(1)
    assert store.cache_bytes() <= max_bytes
    assert dm.get_int(CACHE, "Storage") == store.cache_bytes()
    assert 0 < store.cache_len() < 200
    assert store.cache_get("CARD0199", "ISO14443") is not None  # the newest always fits
    assert store.cache_get("CARD0000", "ISO14443") is None  # the oldest went first


# ------------------------------------------------------------------------------ local list, online


async def test_C14_FR_01_list_entry_wins_over_cache(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, store: StationStore
) -> None:
    await present(auth, csms, rfid())  # cached as Accepted
    assert (await send_full(auth, 1, ("AABBCCDD", "Blocked")))["status"] == "Accepted"
    setv(dm, LIST, "DisablePostAuthorize", True)
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("Blocked", "LocalList")


async def test_C14_FR_02_listed_accepted_with_pre_authorize_is_not_asked(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms
) -> None:
    setv(dm, AUTH, "LocalPreAuthorize", True)
    await send_full(auth, 1, ("AABBCCDD", "Accepted"))
    decision = await present(auth, csms, rfid("aAbBcCdD"))
    assert (decision.status, decision.source) == ("Accepted", "LocalList")
    assert csms.asked == []


async def test_C14_FR_03_listed_non_accepted_is_asked_and_list_untouched(
    auth: Authorizer, csms: FakeCsms, store: StationStore
) -> None:
    await send_full(auth, 1, ("AABBCCDD", "Blocked"))
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("Accepted", "CSMS")
    # D01.FR.09: the station never edits the list; listed tokens do not go to the cache either.
    assert store.local_list_get("AABBCCDD", "ISO14443") == {"status": "Blocked"}
    assert store.cache_len() == 0


async def test_list_disable_post_authorize_answers_from_list(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms
) -> None:
    # Part 2 §2.6.7: LocalAuthListCtrlr.DisablePostAuthorize switches C14.FR.03 off.
    setv(dm, LIST, "DisablePostAuthorize", True)
    await send_full(auth, 1, ("AABBCCDD", "NotAtThisTime"))
    decision = await present(auth, csms, rfid())
    assert (decision.status, decision.source) == ("NotAtThisTime", "LocalList")
    assert csms.asked == []


async def test_C14_FR_04_and_C14_FR_05_list_expiry_when_supported(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock
) -> None:
    setv(dm, AUTH, "LocalPreAuthorize", True)
    setv(dm, LIST, "SupportsExpiryDateTime", True)
    auth.send_local_list(
        {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [
                {
                    "idToken": rfid(),
                    "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": iso(clock, 60)},
                }
            ],
        }
    )
    assert (await present(auth, csms, rfid())).source == "LocalList"  # C14.FR.04
    clock.advance(61)
    decision = await present(auth, csms, rfid())  # C14.FR.05: as if not listed
    assert (decision.status, decision.source) == ("Accepted", "CSMS")


async def test_C14_FR_02_list_expiry_ignored_when_not_supported(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock
) -> None:
    setv(dm, AUTH, "LocalPreAuthorize", True)
    assert dm.get_bool(LIST, "SupportsExpiryDateTime") is False
    auth.send_local_list(
        {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [
                {
                    "idToken": rfid(),
                    "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": iso(clock, 60)},
                }
            ],
        }
    )
    clock.advance(3600)
    assert (await present(auth, csms, rfid())).source == "LocalList"
    assert csms.asked == []


async def test_list_disabled_is_not_consulted(auth: Authorizer, dm: DeviceModel, csms: FakeCsms) -> None:
    setv(dm, AUTH, "LocalPreAuthorize", True)
    await send_full(auth, 1, ("AABBCCDD", "Accepted"))
    setv(dm, LIST, "Enabled", False)
    assert (await present(auth, csms, rfid())).source == "CSMS"


# ------------------------------------------------------------------------------ offline


async def test_C13_FR_02_offline_only_listed_accepted_tokens(auth: Authorizer, csms: FakeCsms) -> None:
    await send_full(auth, 1, ("GOOD0001", "Accepted"), ("BAD00001", "Invalid"))
    good = await present(auth, csms, rfid("good0001"), online=False)
    bad = await present(auth, csms, rfid("BAD00001"), online=False)
    stranger = await present(auth, csms, rfid("STRANGER"), online=False)
    assert (good.status, good.source) == ("Accepted", "LocalList")
    assert (bad.status, bad.source) == ("Invalid", "LocalList")
    assert (stranger.status, stranger.source) == ("Unknown", "Offline")
    assert csms.asked == []


async def test_C13_FR_04_and_C15_FR_08_offline_unknown_accepted_when_enabled(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, store: StationStore
) -> None:
    setv(dm, AUTH, "OfflineTxForUnknownIdEnabled", True)
    await send_full(auth, 1, ("BAD00001", "Blocked"))
    stranger = await present(auth, csms, rfid("STRANGER"), online=False)
    listed_bad = await present(auth, csms, rfid("BAD00001"), online=False)
    assert (stranger.status, stranger.source) == ("Accepted", "Offline")
    assert listed_bad.status == "Blocked"  # known, so not an "unknown id"
    assert store.cache_len() == 0  # C15.FR.01: never cached


async def test_C13_FR_05_and_C13_FR_06_offline_expired_list_entry_refused(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, clock: ManualClock
) -> None:
    setv(dm, LIST, "SupportsExpiryDateTime", True)
    setv(dm, AUTH, "OfflineTxForUnknownIdEnabled", True)
    auth.send_local_list(
        {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [
                {
                    "idToken": rfid(),
                    "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": iso(clock, 60)},
                },
                {"idToken": rfid("NOEXPIRY"), "idTokenInfo": {"status": "Accepted"}},
            ],
        }
    )
    clock.advance(61)
    expired = await present(auth, csms, rfid(), online=False)
    assert (expired.status, expired.source) == ("Expired", "LocalList")
    assert (await present(auth, csms, rfid("NOEXPIRY"), online=False)).accepted


async def test_C12_offline_cached_accepted_with_local_authorize_offline(
    auth: Authorizer, csms: FakeCsms
) -> None:
    await present(auth, csms, rfid())
    decision = await present(auth, csms, rfid(), online=False)
    assert (decision.status, decision.source) == ("Accepted", "Cache")


async def test_local_authorize_offline_false_ignores_stored_accepted(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms
) -> None:
    # Part 2 §2.3.5 AuthCtrlr.LocalAuthorizeOffline.
    await present(auth, csms, rfid())
    await send_full(auth, 1, ("LISTED01", "Accepted"))
    setv(dm, AUTH, "LocalAuthorizeOffline", False)
    for token in (rfid(), rfid("LISTED01")):
        decision = await present(auth, csms, token, online=False)
        assert (decision.status, decision.source) == ("Unknown", "Offline")
    setv(dm, AUTH, "OfflineTxForUnknownIdEnabled", True)
    assert (await present(auth, csms, rfid(), online=False)).accepted


async def test_no_answer_from_csms_is_decided_like_offline(auth: Authorizer, csms: FakeCsms) -> None:
    await present(auth, csms, rfid())
    csms.down = True
    cached = await present(auth, csms, rfid())
    stranger = await present(auth, csms, rfid("STRANGER"))
    assert (cached.status, cached.source) == ("Accepted", "Cache")
    assert (stranger.status, stranger.source) == ("Unknown", "Offline")
    assert len(csms.asked) == 3


async def test_malformed_answer_is_treated_as_no_answer(auth: Authorizer) -> None:
    async def broken(_token: dict[str, Any]) -> dict[str, Any]:
        return {"idTokenInfo": {}}

    decision = await auth.authorize(rfid(), online=True, ask_csms=broken)
    assert (decision.status, decision.source) == ("Unknown", "Offline")


# ------------------------------------------------------------------------------ remember (C10.FR.05)


async def test_C10_FR_05_transaction_event_response_updates_cache(
    auth: Authorizer, csms: FakeCsms, store: StationStore
) -> None:
    await present(auth, csms, rfid())
    auth.remember(rfid("aabbccdd"), {"status": "Blocked"})
    cached = store.cache_get("AABBCCDD", "ISO14443")
    assert cached is not None
    assert cached.info == {"status": "Blocked"}
    assert store.cache_len() == 1
    decision = await present(auth, csms, rfid(), online=False)
    assert decision.status == "Blocked"


async def test_remember_leaves_listed_tokens_alone(auth: Authorizer, store: StationStore) -> None:
    await send_full(auth, 1, ("AABBCCDD", "Accepted"))
    auth.remember(rfid(), {"status": "Blocked"})
    assert store.cache_len() == 0
    assert store.local_list_get("AABBCCDD", "ISO14443") == {"status": "Accepted"}


# ------------------------------------------------------------------------------ persistence of auth data


async def test_C10_FR_02_and_D01_FR_10_cache_and_list_survive_restart(
    tmp_path: Path, clock: ManualClock, csms: FakeCsms
) -> None:
    path = tmp_path / "restart.sqlite"
    store = StationStore(path)
    first = Authorizer(make_dm(clock), store, clock)
    await present(first, csms, rfid("CACHED01"))
    await send_full(first, 7, ("LISTED01", "Accepted"), ("LISTED02", "Blocked"))
    store.close()

    store = StationStore(path)
    dm = make_dm(clock)
    second = Authorizer(dm, store, clock)
    assert second.get_local_list_version() == {"versionNumber": 7}
    assert dm.get_int(LIST, "Entries") == 2  # the counters follow the store after a reboot
    assert dm.get_int(CACHE, "Storage") == store.cache_bytes() > 0
    assert (await present(second, csms, rfid("cached01"), online=False)).source == "Cache"
    assert (await present(second, csms, rfid("listed02"), online=False)).status == "Blocked"
    store.close()


# ------------------------------------------------------------------------------ ClearCache (C11)


async def test_C11_FR_03_clear_cache_accepted_and_empties_cache(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, store: StationStore
) -> None:
    await present(auth, csms, rfid())
    assert dm.get_int(CACHE, "Storage") > 0
    assert auth.clear_cache() == {"status": "Accepted"}
    assert store.cache_len() == 0
    assert dm.get_int(CACHE, "Storage") == 0


async def test_C11_FR_04_clear_cache_rejected_when_cache_disabled(
    auth: Authorizer, dm: DeviceModel, csms: FakeCsms, store: StationStore
) -> None:
    await present(auth, csms, rfid())
    setv(dm, CACHE, "Enabled", False)
    assert auth.clear_cache()["status"] == "Rejected"
    assert store.cache_len() == 1


# ------------------------------------------------------------------------------ SendLocalList (D01)


async def test_D01_FR_15_full_replaces_list_and_sets_version(
    auth: Authorizer, dm: DeviceModel, store: StationStore
) -> None:
    await send_full(auth, 1, ("AAAA0001", "Accepted"), ("AAAA0002", "Accepted"))
    assert await send_full(auth, 2, ("BBBB0001", "Blocked")) == {"status": "Accepted"}
    assert store.local_list_version() == 2
    assert [t["idToken"] for t, _ in store.local_list_entries()] == ["BBBB0001"]
    assert dm.get_int(LIST, "Entries") == 1  # D01.FR.12
    assert dm.get_int(LIST, "Storage") == store.local_list_bytes()


async def test_D01_FR_15_full_may_lower_the_version(auth: Authorizer, store: StationStore) -> None:
    await send_full(auth, 9, ("AAAA0001", "Accepted"))
    assert (await send_full(auth, 3, ("AAAA0002", "Accepted")))["status"] == "Accepted"
    assert store.local_list_version() == 3


async def test_D01_FR_04_full_without_entries_clears_but_keeps_version(
    auth: Authorizer, dm: DeviceModel, store: StationStore
) -> None:
    await send_full(auth, 1, ("AAAA0001", "Accepted"))
    assert await send_full(auth, 5) == {"status": "Accepted"}
    assert store.local_list_len() == 0
    assert auth.get_local_list_version() == {"versionNumber": 5}  # D02 remark: emptied is not absent
    assert dm.get_int(LIST, "Entries") == 0


async def test_D01_FR_16_and_D01_FR_17_differential_upserts_and_deletes(
    auth: Authorizer, store: StationStore
) -> None:
    await send_full(auth, 1, ("AAAA0001", "Accepted"), ("AAAA0002", "Accepted"))
    response = auth.send_local_list(
        {
            "versionNumber": 2,
            "updateType": "Differential",
            "localAuthorizationList": [
                {"idToken": rfid("aaaa0001"), "idTokenInfo": {"status": "Blocked"}},  # update
                {"idToken": rfid("AAAA0003"), "idTokenInfo": {"status": "Accepted"}},  # add
                {"idToken": rfid("AAAA0002")},  # remove
                {"idToken": rfid("NOTLISTED")},  # removing an absent token is harmless
            ],
        }
    )
    assert response == {"status": "Accepted"}
    assert store.local_list_version() == 2
    assert store.local_list_get("AAAA0001", "ISO14443") == {"status": "Blocked"}
    assert store.local_list_get("AAAA0002", "ISO14443") is None
    assert store.local_list_get("AAAA0003", "ISO14443") == {"status": "Accepted"}


async def test_D01_FR_05_differential_without_entries_only_moves_version(
    auth: Authorizer, store: StationStore
) -> None:
    await send_full(auth, 1, ("AAAA0001", "Accepted"))
    assert auth.send_local_list({"versionNumber": 2, "updateType": "Differential"}) == {"status": "Accepted"}
    assert (store.local_list_version(), store.local_list_len()) == (2, 1)


@pytest.mark.parametrize("version", [0, -1])
async def test_D01_FR_18_version_must_be_positive(
    auth: Authorizer, store: StationStore, version: int
) -> None:
    response = await send_full(auth, version, ("AAAA0001", "Accepted"))
    assert response["status"] == "Failed"
    assert response["statusInfo"]["reasonCode"] == "ValuePositiveOnly"
    assert (store.local_list_version(), store.local_list_len()) == (0, 0)


@pytest.mark.parametrize("version", [3, 2])
async def test_D01_FR_19_differential_not_newer_is_version_mismatch(
    auth: Authorizer, store: StationStore, version: int
) -> None:
    await send_full(auth, 3, ("AAAA0001", "Accepted"))
    response = auth.send_local_list(
        {
            "versionNumber": version,
            "updateType": "Differential",
            "localAuthorizationList": [{"idToken": rfid("AAAA0002"), "idTokenInfo": {"status": "Accepted"}}],
        }
    )
    assert response == {"status": "VersionMismatch"}
    assert (store.local_list_version(), store.local_list_len()) == (3, 1)


async def test_D01_FR_13_disabled_list_fails(auth: Authorizer, dm: DeviceModel, store: StationStore) -> None:
    setv(dm, LIST, "Enabled", False)
    response = await send_full(auth, 1, ("AAAA0001", "Accepted"))
    assert response["status"] == "Failed"
    assert response["statusInfo"]["reasonCode"] == "NotEnabled"
    assert store.local_list_len() == 0


async def test_D01_FR_06_duplicate_tokens_fail(auth: Authorizer, store: StationStore) -> None:
    response = await send_full(auth, 1, ("AAAA0001", "Accepted"), ("aaaa0001", "Blocked"))
    assert response["status"] == "Failed"
    assert store.local_list_version() == 0


async def test_D01_FR_06_same_value_other_type_is_not_a_duplicate(
    auth: Authorizer, store: StationStore
) -> None:
    response = auth.send_local_list(
        {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idToken": rfid("AAAA0001"), "idTokenInfo": {"status": "Accepted"}},
                {
                    "idToken": {"idToken": "AAAA0001", "type": "ISO15693"},
                    "idTokenInfo": {"status": "Blocked"},
                },
            ],
        }
    )
    assert response == {"status": "Accepted"}
    assert store.local_list_len() == 2


async def test_D01_FR_11_more_items_than_items_per_message_fail(
    auth: Authorizer, dm: DeviceModel, store: StationStore
) -> None:
    limit = dm.get_int(LIST, "ItemsPerMessage")
    entries = [(f"CARD{i:04d}", "Accepted") for i in range(limit + 1)]
    response = await send_full(auth, 1, *entries)
    assert response["status"] == "Failed"
    assert response["statusInfo"]["reasonCode"] == "TooManyElements"
    assert store.local_list_len() == 0


async def test_D01_FR_11_message_larger_than_bytes_per_message_fails(
    auth: Authorizer, dm: DeviceModel, store: StationStore
) -> None:
    limit = dm.get_int(LIST, "BytesPerMessage")
    big = {"status": "Accepted", "personalMessage": {"format": "UTF8", "content": "x" * (limit // 10)}}
    items = [{"idToken": rfid(f"CARD{i:04d}"), "idTokenInfo": big} for i in range(12)]
    response = auth.send_local_list(
        {"versionNumber": 1, "updateType": "Full", "localAuthorizationList": items}
    )
    assert response["status"] == "Failed"
    assert response["statusInfo"]["reasonCode"] == "TooLargeElement"
    assert store.local_list_len() == 0


async def test_D01_FR_12_list_cannot_grow_past_entries_max_limit(
    auth: Authorizer, dm: DeviceModel, store: StationStore
) -> None:
    definition = dm.find(LIST, "Entries")
    assert definition is not None
    assert definition.characteristics.max_limit is not None
    max_entries = int(definition.characteristics.max_limit)
    per_message = dm.get_int(LIST, "ItemsPerMessage")
    await send_full(auth, 1)
    version = 1
    while store.local_list_len() < max_entries:
        version += 1
        start = store.local_list_len()
        items = [
            {"idToken": rfid(f"CARD{i:05d}"), "idTokenInfo": {"status": "Accepted"}}
            for i in range(start, min(start + per_message, max_entries))
        ]
        payload = {"versionNumber": version, "updateType": "Differential", "localAuthorizationList": items}
        assert auth.send_local_list(payload) == {"status": "Accepted"}
    one_more = {
        "versionNumber": version + 1,
        "updateType": "Differential",
        "localAuthorizationList": [{"idToken": rfid("ONEMORE1"), "idTokenInfo": {"status": "Accepted"}}],
    }
    response = auth.send_local_list(one_more)
    assert response["status"] == "Failed"
    assert response["statusInfo"]["reasonCode"] == "TooManyElements"
    assert (store.local_list_len(), store.local_list_version()) == (max_entries, version)
    # Replacing one entry while removing another keeps the count: allowed.
    swap = {
        "versionNumber": version + 1,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idToken": rfid("ONEMORE1"), "idTokenInfo": {"status": "Accepted"}},
            {"idToken": rfid("CARD00000")},
        ],
    }
    assert auth.send_local_list(swap) == {"status": "Accepted"}
    assert dm.get_int(LIST, "Entries") == max_entries


# ------------------------------------------------------------------------------ GetLocalListVersion (D02)


async def test_D02_FR_02_no_list_yet_is_version_zero(auth: Authorizer) -> None:
    assert auth.get_local_list_version() == {"versionNumber": 0}


async def test_D02_FR_01_reports_installed_version(auth: Authorizer) -> None:
    await send_full(auth, 12, ("AAAA0001", "Accepted"))
    assert auth.get_local_list_version() == {"versionNumber": 12}


async def test_D02_FR_03_disabled_list_reports_zero(auth: Authorizer, dm: DeviceModel) -> None:
    await send_full(auth, 12, ("AAAA0001", "Accepted"))
    setv(dm, LIST, "Enabled", False)
    assert auth.get_local_list_version() == {"versionNumber": 0}


# ------------------------------------------------------------------------------ groups, master pass


def test_C01_FR_25_tokens_compare_case_insensitive_type_exact_without_additional_info() -> None:
    assert tokens_equal(
        rfid("abc"), {**rfid("ABC"), "additionalInfo": [{"additionalIdToken": "x", "type": "y"}]}
    )
    assert not tokens_equal(rfid("abc"), {"idToken": "abc", "type": "ISO15693"})
    assert not tokens_equal(None, rfid())


def test_C01_FR_03_and_C09_FR_03_same_token_or_same_group(auth: Authorizer) -> None:
    fleet = {"idToken": "FLEET-7", "type": "Central"}
    a_info = {"status": "Accepted", "groupIdToken": fleet}
    b_info = {"status": "Accepted", "groupIdToken": {"idToken": "fleet-7", "type": "Central"}}
    other = {"status": "Accepted", "groupIdToken": {"idToken": "FLEET-8", "type": "Central"}}
    assert auth.same_group(None, rfid("AA"), rfid("aa"), None)  # the starter itself
    assert auth.same_group(a_info, rfid("AA"), rfid("BB"), b_info)
    assert not auth.same_group(a_info, rfid("AA"), rfid("BB"), other)
    assert not auth.same_group(a_info, rfid("AA"), rfid("BB"), None)
    assert not auth.same_group({"status": "Accepted"}, rfid("AA"), rfid("BB"), {"status": "Accepted"})


async def test_C16_master_pass_group(auth: Authorizer, dm: DeviceModel, csms: FakeCsms) -> None:
    police = {"status": "Accepted", "groupIdToken": {"idToken": "POLICE", "type": "Central"}}
    assert not auth.is_master_pass(police)  # MasterPassGroupId not configured
    dm.set_actual(AUTH, "MasterPassGroupId", "Police")
    assert auth.is_master_pass(police)
    assert not auth.is_master_pass({"status": "Accepted"})
    assert not auth.is_master_pass(None)
    csms.answers["OFFICER1"] = police
    decision = await present(auth, csms, rfid("OFFICER1"))
    assert decision.master_pass  # C12.FR.09 / C16.FR.03: the station must not start with it
    assert decision.display == "Master pass"


# ------------------------------------------------------------------------------ decision helpers


@pytest.mark.parametrize(
    "status",
    [
        "Accepted",
        "Blocked",
        "ConcurrentTx",
        "Expired",
        "Invalid",
        "NoCredit",
        "NotAllowedTypeEVSE",
        "NotAtThisLocation",
        "NotAtThisTime",
        "Unknown",
    ],
)
def test_every_authorization_status_has_a_display_text(status: str) -> None:
    assert status in DISPLAY_TEXT
    text = AuthDecision(status, None, "CSMS").display
    assert text and len(text) <= 40
    assert len(set(DISPLAY_TEXT.values())) == len(DISPLAY_TEXT)


def test_unknown_status_still_has_a_display_text() -> None:
    assert "Suspended" in display_text("Suspended")


def test_C01_FR_21_evse_id_limits_where_the_token_may_charge() -> None:
    anywhere = AuthDecision("Accepted", {"status": "Accepted"}, "CSMS")
    only_two = AuthDecision("Accepted", {"status": "Accepted", "evseId": [2]}, "CSMS")
    refused = AuthDecision("Blocked", {"status": "Blocked"}, "CSMS")
    assert anywhere.allows_evse(1)
    assert only_two.allows_evse(2)
    assert not only_two.allows_evse(1)
    assert not refused.allows_evse(1)
