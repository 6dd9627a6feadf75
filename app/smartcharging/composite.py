"""The composite schedule (K08) and the effective limit the station's physics obeys.

Both come from one computation: every applicable profile becomes a timeline of "which period
is active from when" over a window, the timelines are swept together, and at each breakpoint the
leading period of each purpose is combined into one value. `composite_schedule` formats that
sweep as a CompositeScheduleType; `limit_at` keeps the sweep of the next hour per EVSE and only
looks a value up, so a physics tick costs a bisect, not a recomputation.

Combination rules (SC.01, K08.FR.04, §3.6):

* per purpose, the highest stackLevel whose profile is valid and has a period at t leads
  (K01.FR.17); an EVSE-specific profile and one on EVSE 0 compete on stackLevel, EVSE-specific
  winning a tie (K01.FR.14/15 make a tie a validation error anyway);
* the transaction level is PriorityCharging when activated (K21.FR.04), else the TxProfile of the
  running transaction (K02.FR.04), else TxDefaultProfile; a TxProfile without a period at t falls
  back to TxDefaultProfile (K02.FR.08);
* the limit is the lowest of ChargingStationMaxProfile, ChargingStationExternalConstraints and the
  transaction level, then the EVSE's rated current/power (a local limit, K08 remark);
  LocalGeneration is added on top of the profile limits (K27), before the rated cap; with no
  profile limit at all there is nothing to add to and the result stays "rated maximum";
* ChargingStationMaxProfile is the grid connection's limit for all EVSEs together; for one EVSE it
  is used as an upper bound (sharing it out is the station's load balancing, not this module);
* evseId 0 reports the expected grid draw (K08.FR.03): the sum of all EVSE composites, each
  computed as if a transaction ran (K08.FR.06), capped by the station-level profiles;
* numberPhases is the lowest of the contributing periods, absent meaning 3 (K01.FR.49/140), and
  never more than the EVSE has (K01.FR.45); every limit is converted to amperes per phase with that
  number and the nominal voltage (K01.FR.50/51), so A and W profiles combine exactly;
* setpoint comes from the external system or the transaction level as SetpointPriority says;
  dischargeLimit is the one closest to zero (SC.04); a positive setpoint is capped at the limit and
  a negative one at the dischargeLimit (K08.FR.08, V2X.03/04); PriorityCharging never discharges.

Schedules: Absolute from startSchedule (K01.FR.30), Recurring Daily/Weekly from startSchedule and
never before it, Relative from the transaction's PowerPathClosed moment (K01.FR.42) or, without a
transaction, from the evaluation start (K08.FR.06), Dynamic always at its single period until
dynUpdateTime + duration (K28.FR.13). A period lasts until the next starts or the duration ends
(K01.FR.11/12). useLocalTime schedules run on the station's wall clock (K01.FR.90/91): across a
DST change wall-clock periods are skipped or repeated. randomizedDelay (K01.FR.92..97) is drawn
only while a transaction runs, from a `random.Random` seeded with
"<ctx.random_seed>|<profile id>|<schedule id>|<transaction id>", so GetCompositeSchedule and the
physics agree and a transaction keeps its delays for its whole life; without a transaction the
delay is 0 (K08.FR.06).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.smartcharging.profiles import (
    RECURRENCE_S,
    EvseInfo,
    Kind,
    Period,
    Purpose,
    Schedule,
    StationContext,
    format_time,
)
from app.smartcharging.store import ProfileStore, StoredProfile

INF = math.inf
HORIZON_S = 3600.0  # how far ahead limit_at computes at once

# Purposes in the order the combination looks at them.
_ORDER = (
    Purpose.STATION_MAX,
    Purpose.EXTERNAL,
    Purpose.PRIORITY,
    Purpose.TX,
    Purpose.TX_DEFAULT,
    Purpose.LOCAL_GENERATION,
)
_RANK = {p: i for i, p in enumerate(_ORDER)}
_STATION_LEVEL = (Purpose.STATION_MAX, Purpose.EXTERNAL, Purpose.LOCAL_GENERATION)


@dataclass(frozen=True, slots=True)
class EffectiveLimit:
    """What an EVSE may do at one instant, in SI units whatever the profiles used.

    `watts` is the import limit (inf when nothing limits); `amps` the per-phase current limit,
    L1..L3 for AC with 0 on unused phases, a single DC current for DC; `number_phases` None for DC.
    `setpoint_w` (2.1) is what the EV should follow, already capped; `discharge_limit_w` is <= 0,
    None when discharging is not allowed. `until` is when the value may next change, None when no
    change is due within the look-ahead (an hour). `source_ids` are the contributing profiles.
    """

    watts: float
    amps: tuple[float, ...]
    number_phases: int | None
    setpoint_w: float | None = None
    discharge_limit_w: float | None = None
    setpoint_reactive: float | None = None
    operation_mode: str = "ChargingOnly"
    min_charging_rate_w: float | None = None
    source_ids: tuple[int, ...] = ()
    until: datetime | None = None


# ---------------------------------------------------------------------------------------------
# clocks: schedule time is UTC seconds, or wall-clock seconds for useLocalTime


class _UtcClock:
    def to_wall(self, t: float) -> float:
        return t

    def from_wall(self, w: float) -> tuple[float, ...]:
        return (w,)

    def transitions(self, a: float, b: float) -> list[float]:
        return []

    margin = 0.0


class _FixedClock(_UtcClock):
    def __init__(self, offset_s: float) -> None:
        self.offset = offset_s

    def to_wall(self, t: float) -> float:
        return t + self.offset

    def from_wall(self, w: float) -> tuple[float, ...]:
        return (w - self.offset,)


_NAIVE_EPOCH = datetime(1970, 1, 1)


class _ZoneClock(_UtcClock):
    """A named zone: wall time jumps at DST changes, which are extra breakpoints."""

    margin = 7200.0

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def _off(self, t: float) -> float:
        off = datetime.fromtimestamp(t, self.tz).utcoffset()
        return off.total_seconds() if off else 0.0

    def to_wall(self, t: float) -> float:
        return t + self._off(t)

    def from_wall(self, w: float) -> tuple[float, ...]:
        naive = _NAIVE_EPOCH + timedelta(seconds=w)
        first = naive.replace(tzinfo=self.tz, fold=0).timestamp()
        second = naive.replace(tzinfo=self.tz, fold=1).timestamp()
        return (first,) if first == second else (first, second)

    def transitions(self, a: float, b: float) -> list[float]:
        out: list[float] = []
        t = a
        off = self._off(t)
        while t < b:
            n = min(t + 86_400.0, b)
            new = self._off(n)
            if new != off:
                lo, hi = math.floor(t), math.ceil(n)
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if self._off(mid) == off:
                        lo = mid
                    else:
                        hi = mid
                out.append(float(hi))
                off = new
            t = n
        return out


_UTC = _UtcClock()


def _local_clock(ctx: StationContext) -> _UtcClock:
    if ctx.time_zone:
        try:
            return _ZoneClock(ZoneInfo(ctx.time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return _FixedClock(ctx.utc_offset_s) if ctx.utc_offset_s else _UTC


# ---------------------------------------------------------------------------------------------
# one profile's timeline


@dataclass(slots=True)
class _Env:
    """The per-EVSE situation a computation runs in."""

    evse: EvseInfo
    tx_id: str | None
    anchor: float  # where Relative schedules start
    priority: bool
    setpoint_priority: str
    offline_since: float | None
    seed: str
    clock: _UtcClock
    # A period's limit in A per phase depends only on the period and the phase count, and the same
    # periods recur at every breakpoint of the other profiles: convert each once.
    amps_memo: dict[tuple[int, int], tuple[float, float, float] | None] = field(default_factory=dict)
    rated_n: int = 0
    rated_a: float = INF

    def __post_init__(self) -> None:
        self.rated_n = 1 if self.evse.is_dc else self.evse.phases
        self.rated_a = _rated(self.evse, self.rated_n)


@dataclass(slots=True)
class _Prep:
    """One applicable profile, reduced to floats so the sweep's inner loops parse nothing.

    `anchor` is where period 0 starts on `clock` (UTC, or wall-clock seconds for useLocalTime),
    `end_s` where the schedule stops within a cycle of `rec` seconds (0: not recurring), and
    [vf, vt) the validity window after maxOfflineDuration and Dynamic expiry have narrowed it.
    """

    entry: StoredProfile
    purpose: Purpose
    rank: tuple[int, int, int]
    sched: Schedule
    periods: tuple[Period, ...]
    starts: list[float]
    kind: Kind
    clock: _UtcClock
    anchor: float
    end_s: float
    rec: float
    vf: float
    vt: float


def _randomize(
    periods: tuple[Period, ...], delay: int, duration: int | None, seed: str
) -> tuple[list[int], list[float]]:
    """Indices of the periods that survive randomization, with their delayed starts (K01.FR.92..97)."""
    rng = random.Random(seed)
    eff = [float(periods[0].start)] + [p.start + rng.randint(0, delay) for p in periods[1:]]
    keep = [
        i
        for i in range(len(periods))
        if not (i + 1 < len(periods) and eff[i] >= eff[i + 1])
        and not (duration is not None and eff[i] >= duration)
    ]
    # K01.FR.97 applied until no period starts after a later one: each survivor runs until the next.
    out: list[int] = []
    lowest = INF
    for i in reversed(keep):
        if eff[i] < lowest:
            out.append(i)
            lowest = eff[i]
    out.reverse()
    return out, eff


def _prepare(entry: StoredProfile, env: _Env) -> _Prep | None:
    p = entry.profile
    s = p.schedule
    periods = s.periods
    starts = s.starts
    if s.randomized_delay > 0 and env.tx_id is not None and p.purpose in (Purpose.TX, Purpose.TX_DEFAULT):
        keep, eff = _randomize(
            periods, s.randomized_delay, s.duration, f"{env.seed}|{p.id}|{s.id}|{env.tx_id}"
        )
        periods = tuple(periods[i] for i in keep)
        starts = [eff[i] for i in keep]
    clock: _UtcClock = _UTC
    vf = p.valid_from.timestamp() if p.valid_from else -INF
    vt = p.valid_to.timestamp() if p.valid_to else INF
    if env.offline_since is not None and p.max_offline_duration is not None:
        vt = min(vt, env.offline_since + p.max_offline_duration)  # K01.FR.101
    end_s = float(s.duration) if s.duration is not None else INF
    rec = 0.0
    if p.kind is Kind.DYNAMIC:
        anchor = -INF
        if s.duration is not None and p.dyn_update_time is not None:
            vt = min(vt, p.dyn_update_time.timestamp() + s.duration)  # K28.FR.13
        end_s = INF
    elif p.kind is Kind.RELATIVE:
        anchor = env.anchor
    else:
        if s.start is not None:
            anchor = s.start.timestamp()
        elif s.start_wall is not None:
            clock = env.clock
            anchor = s.start_wall.replace(tzinfo=UTC).timestamp()
        else:
            return None  # never valid: K01.FR.40 keeps these out
        if p.kind is Kind.RECURRING:
            rec = float(RECURRENCE_S.get(p.recurrency or "", 0)) or INF
            end_s = min(end_s, rec)
    rank = (p.stack_level, 1 if entry.evse_id else 0, entry.seq)
    return _Prep(entry, p.purpose, rank, s, periods, starts, p.kind, clock, anchor, end_s, rec, vf, vt)


def _index_at(p: _Prep, t: float) -> int:
    """Index of the period active at UTC second t, -1 when the profile contributes nothing."""
    if t < p.vf or t >= p.vt:
        return -1
    if p.kind is Kind.DYNAMIC:
        return 0
    s = p.clock.to_wall(t) - p.anchor
    if s < 0:
        return -1
    if p.rec:
        s %= p.rec
    if s >= p.end_s:
        return -1
    return bisect_right(p.starts, s) - 1


def _breaks(p: _Prep, w0: float, w1: float) -> Iterable[float]:
    """Schedule-clock instants in [w0, w1] where the active period may change."""
    if p.kind is Kind.DYNAMIC:
        return ()
    starts = p.starts
    out: list[float] = []
    if p.rec and p.rec != INF:
        k0 = max(0, math.floor((w0 - p.anchor) / p.rec))
        k1 = math.floor((w1 - p.anchor) / p.rec)
        bases = [p.anchor + k * p.rec for k in range(k0, k1 + 1)]
    else:
        bases = [p.anchor]
    for base in bases:
        lo = bisect_left(starts, w0 - base)
        hi = bisect_right(starts, w1 - base)
        out.extend(base + x for x in starts[lo:hi])
        if p.end_s != INF and w0 <= base + p.end_s <= w1:
            out.append(base + p.end_s)
    return out


def _timeline(p: _Prep, ws: float, we: float) -> tuple[list[float], list[int]]:
    """(times, indices): from times[k] on, period indices[k] is active; first time is ws."""
    cands = {ws}
    for b in (p.vf, p.vt):
        if ws < b < we:
            cands.add(b)
    clock = p.clock
    w0 = clock.to_wall(ws) - clock.margin
    w1 = clock.to_wall(we) + clock.margin
    for wb in _breaks(p, w0, w1):
        for t in clock.from_wall(wb):
            if ws < t < we:
                cands.add(t)
    cands.update(t for t in clock.transitions(ws, we) if ws < t < we)
    times: list[float] = []
    idxs: list[int] = []
    for c in sorted(cands):
        i = _index_at(p, c)
        if not idxs or i != idxs[-1]:
            times.append(c)
            idxs.append(i)
    return times, idxs


# ---------------------------------------------------------------------------------------------
# combining the leading periods


@dataclass(slots=True)
class _Value:
    """The combined result for one stretch of time, canonical units (A per phase, W)."""

    watts: float
    amps: tuple[float, float, float]
    phases: int | None
    used: tuple[int, ...]
    phase_to_use: int | None
    setpoint_w: float | None
    discharge_w: float | None
    reactive_w: float | None
    mode: str
    min_rate_w: float | None
    sources: tuple[int, ...]
    per_phase: bool  # a source gave limit_L2/L3, so report them (K08.FR.09)
    soc_ths: tuple[float, ...]


_Leaders = dict[Purpose, tuple[_Prep, Period]]


def _limits(prep: _Prep, per: Period, soc: float | None) -> tuple[float | None, float | None, float | None]:
    """limit, limit_L2, limit_L3 of a period, with limitAtSoC applied (K01.FR.100)."""
    lim, l2, l3 = per.limit, per.limit_l2, per.limit_l3
    if lim is not None and lim < 0:
        lim = 0.0  # a legacy negative limit means discharge, never a charging allowance
    cap = prep.sched.limit_at_soc
    if cap is not None and soc is not None and soc >= cap[0]:
        lim = cap[1] if lim is None else min(lim, cap[1])
        l2 = None if l2 is None else min(l2, cap[1])
        l3 = None if l3 is None else min(l3, cap[1])
    return lim, l2, l3


def _to_w(x: float | None, unit: str, volts: float, n: int) -> float | None:
    """A schedule value in W: W values are already totals, A values are per phase (K01.FR.50/51)."""
    if x is None:
        return None
    return x if unit == "W" else x * volts * n


def _phase_amps(
    prep: _Prep, per: Period, soc: float | None, dc: bool, volts: float, n: int
) -> tuple[float, float, float] | None:
    """A period's limit as amperes per phase L1..L3 (DC: the DC current thrice), None if it has none."""
    lim, l2, l3 = _limits(prep, per, soc)
    if lim is None:
        return None
    unit = prep.sched.unit
    if dc:
        a = lim / volts if unit == "W" else lim
        return (a, a, a)
    if unit == "A":
        return (lim, lim if l2 is None else l2, lim if l3 is None else l3)
    if l2 is None and l3 is None:
        a = lim / (volts * n)
        return (a, a, a)
    return (lim / volts, (lim if l2 is None else l2) / volts, (lim if l3 is None else l3) / volts)


def _combine(leaders: _Leaders, env: _Env, soc: float | None = None) -> _Value:
    ev = env.evse
    dc = ev.is_dc
    volts = ev.voltage_v
    get = leaders.get
    tx = get(Purpose.PRIORITY) or get(Purpose.TX) or get(Purpose.TX_DEFAULT)
    ext = get(Purpose.EXTERNAL)
    caps = [x for x in (get(Purpose.STATION_MAX), ext, tx) if x]
    lg = get(Purpose.LOCAL_GENERATION)
    contributors = [*caps, lg] if lg else caps
    ptu: int | None = None
    if dc:
        n = 1
        phases: int | None = None
        used: tuple[int, ...] = (0,)
    else:
        n = ev.phases
        for _, per in contributors:
            if per.number_phases:
                n = min(n, per.number_phases)
            if per.phase_to_use:
                ptu = per.phase_to_use
        phases = n
        used = (0, 1, 2)[:n] if n > 1 else ((ptu or 1) - 1,)

    memo = env.amps_memo
    a1 = a2 = a3 = INF
    for prep, per in caps:
        key = (id(per), n)
        if soc is None and key in memo:
            pa = memo[key]
        else:
            pa = _phase_amps(prep, per, soc, dc, volts, n)
            if soc is None:
                memo[key] = pa
        if pa is not None:
            if pa[0] < a1:
                a1 = pa[0]
            if pa[1] < a2:
                a2 = pa[1]
            if pa[2] < a3:
                a3 = pa[2]
    if lg is not None:
        pa = _phase_amps(lg[0], lg[1], soc, dc, volts, n)
        if pa is not None:  # K27: generation adds to the profile limits
            a1, a2, a3 = a1 + pa[0], a2 + pa[1], a3 + pa[2]
    rated = env.rated_a if n == env.rated_n else _rated(ev, n)
    amps = (min(a1, rated), min(a2, rated), min(a3, rated))
    watts = volts * sum(amps[i] for i in used)
    if watts != INF:
        watts = round(watts, 6)
    if dc or n == 3:
        amps_out = (amps[0], 0.0, 0.0) if dc else amps
    else:
        amps_out = (
            amps[0] if 0 in used else 0.0,
            amps[1] if 1 in used else 0.0,
            amps[2] if 2 in used else 0.0,
        )

    setpoint = reactive = None
    if ext is not None or (
        tx is not None and (tx[1].setpoint is not None or tx[1].setpoint_reactive is not None)
    ):
        chosen = (tx, ext) if env.setpoint_priority == "CSMS" else (ext, tx)
        for src in chosen:
            if src is not None and src[1].setpoint is not None:
                unit = src[0].sched.unit
                setpoint = _to_w(src[1].setpoint, unit, volts, n)
                cap = src[0].sched.limit_at_soc
                if cap is not None and soc is not None and soc >= cap[0] and setpoint is not None:
                    setpoint = min(setpoint, _to_w(cap[1], unit, volts, n) or 0.0)
                break
        for src in chosen:
            if src is not None and src[1].setpoint_reactive is not None:
                reactive = _to_w(src[1].setpoint_reactive, src[0].sched.unit, volts, n)
                break
    discharge: float | None = None
    for prep, per in caps:
        if per.discharge_limit is not None:
            d = _to_w(per.discharge_limit, prep.sched.unit, volts, n)
            discharge = d if discharge is None else max(discharge, d)  # type: ignore[type-var]
    if tx is not None and tx[0].purpose is Purpose.PRIORITY:
        discharge = None  # §3.2: priority charging avoids discharging
        if setpoint is not None:
            setpoint = max(setpoint, 0.0)
    if setpoint is not None:
        if setpoint > 0:
            setpoint = min(setpoint, watts)
        elif discharge is not None:
            setpoint = max(setpoint, discharge)
    per_phase = False
    soc_ths: tuple[float, ...] = ()
    for prep, per in contributors:
        if per.limit_l2 is not None or per.limit_l3 is not None:
            per_phase = True
        if prep.sched.limit_at_soc:
            soc_ths += (prep.sched.limit_at_soc[0],)
    return _Value(
        watts=watts,
        amps=amps_out,
        phases=phases,
        used=used,
        phase_to_use=ptu if n == 1 else None,
        setpoint_w=setpoint,
        discharge_w=discharge,
        reactive_w=reactive,
        mode=tx[1].operation_mode if tx else "ChargingOnly",
        min_rate_w=_to_w(tx[0].sched.min_charging_rate, tx[0].sched.unit, volts, n) if tx else None,
        sources=tuple(prep.entry.profile.id for prep, _ in contributors),
        per_phase=per_phase,
        soc_ths=soc_ths,
    )


def _rated(ev: EvseInfo, n: int) -> float:
    """The EVSE's own limit as amperes per phase (DC: DC amperes) with n phases in use."""
    rated = INF
    if ev.max_current_a is not None:
        rated = ev.max_current_a
    if ev.max_power_w is not None:
        rated = min(rated, ev.max_power_w / (ev.voltage_v * n))
    return rated


# ---------------------------------------------------------------------------------------------
# sweeping


def _env(
    store: ProfileStore, evse: EvseInfo, ctx: StationContext, tx_start: float | None, now: float
) -> _Env:
    return _Env(
        evse=evse,
        tx_id=evse.transaction_id,
        anchor=tx_start if tx_start is not None else now,
        priority=store.priority_active(evse.transaction_id),
        setpoint_priority=ctx.setpoint_priority,
        offline_since=ctx.offline_since.timestamp() if ctx.offline_since else None,
        seed=ctx.random_seed,
        clock=_local_clock(ctx),
    )


def _applicable(store: ProfileStore, evse_id: int, env: _Env, station_level: bool) -> list[_Prep]:
    preps: list[_Prep] = []
    for entry in store.entries():
        purpose = entry.profile.purpose
        if station_level:
            ok = entry.evse_id == 0 and purpose in _STATION_LEVEL
        elif purpose is Purpose.STATION_MAX:
            ok = entry.evse_id == 0
        elif purpose is Purpose.TX:
            ok = (
                entry.evse_id == evse_id
                and env.tx_id is not None
                and entry.profile.transaction_id == env.tx_id
            )
        elif purpose is Purpose.PRIORITY:
            ok = env.priority and entry.evse_id in (0, evse_id)
        else:
            ok = entry.evse_id in (0, evse_id)
        if ok:
            prep = _prepare(entry, env)
            if prep is not None:
                preps.append(prep)
    # Leaders first: purpose order, then highest (stackLevel, EVSE-specific, newest).
    preps.sort(key=lambda p: (_RANK[p.purpose], tuple(-x for x in p.rank)))
    return preps


@dataclass(slots=True)
class _Sweep:
    times: list[float]
    values: list[_Value]
    leaders: list[_Leaders]


def _sweep(preps: list[_Prep], env: _Env, ws: float, we: float) -> _Sweep:
    events: list[tuple[float, int, int]] = []
    for j, p in enumerate(preps):
        ts, ix = _timeline(p, ws, we)
        events.extend(zip(ts, (j,) * len(ts), ix, strict=True))
    if not events:
        events.append((ws, -1, -1))
    events.sort()
    # preps come sorted by purpose, leader candidates first: one index range per purpose
    groups: list[range] = []
    first = 0
    for j in range(1, len(preps) + 1):
        if j == len(preps) or preps[j].purpose is not preps[first].purpose:
            groups.append(range(first, j))
            first = j
    cur = [-1] * len(preps)
    memo: dict[tuple[int, ...], tuple[_Value, _Leaders]] = {}
    out = _Sweep([], [], [])
    k, total = 0, len(events)
    while k < total:
        t = events[k][0]
        while k < total and events[k][0] == t:
            _, j, i = events[k]
            if j >= 0:
                cur[j] = i
            k += 1
        # Only the leaders matter: a lower stack level changing period hits the memo.
        key: tuple[int, ...] = ()
        for group in groups:
            for j in group:
                if cur[j] >= 0:
                    key += (j, cur[j])
                    break
        hit = memo.get(key)
        if hit is None:
            leaders: _Leaders = {}
            for n in range(0, len(key), 2):
                p = preps[key[n]]
                leaders[p.purpose] = (p, p.periods[key[n + 1]])
            hit = memo[key] = (_combine(leaders, env), leaders)
        if not out.values or hit[0] != out.values[-1]:
            out.times.append(t)
            out.values.append(hit[0])
            out.leaders.append(hit[1])
    return out


def _evse_sweep(
    store: ProfileStore,
    evse: EvseInfo,
    ctx: StationContext,
    tx_start: float | None,
    ws: float,
    we: float,
    now: float,
) -> tuple[_Sweep, _Env]:
    env = _env(store, evse, ctx, tx_start, now)
    return _sweep(_applicable(store, evse.evse_id, env, False), env, ws, we), env


def _grid(ctx: StationContext) -> EvseInfo:
    ac = [e for e in ctx.evses if not e.is_dc]
    volts = ac[0].voltage_v if ac else 230.0
    return EvseInfo(0, 3, volts, ctx.station_max_current_a, ctx.station_max_power_w)


def _station_sweep(
    store: ProfileStore, ctx: StationContext, ws: float, we: float, now: float
) -> tuple[_Sweep, _Env]:
    """evseId 0: expected grid draw = sum of EVSE composites, capped by station-level profiles (K08.FR.03)."""
    grid = _grid(ctx)
    genv = _env(store, grid, ctx, None, now)
    station = _sweep(_applicable(store, 0, genv, True), genv, ws, we)
    parts = [_evse_sweep(store, e, ctx, _ts(e.tx_start), ws, we, now)[0] for e in ctx.evses]
    times = sorted({t for sw in (station, *parts) for t in sw.times})
    out = _Sweep([], [], [])
    volts = grid.voltage_v
    for t in times:
        cap = station.values[bisect_right(station.times, t) - 1]
        vals = [sw.values[bisect_right(sw.times, t) - 1] for sw in parts]
        amps = [0.0, 0.0, 0.0]
        watts = 0.0
        for v in vals:
            watts += v.watts
            if v.phases is None:  # DC draws its power evenly from three phases
                for i in range(3):
                    amps[i] += v.watts / (3 * volts)
            else:
                for i in v.used:
                    amps[i] += v.amps[i]
        amps = [min(a, c) for a, c in zip(amps, cap.amps, strict=True)]
        setpoints = [v.setpoint_w for v in vals if v.setpoint_w is not None]
        discharges = [v.discharge_w for v in vals if v.discharge_w is not None]
        discharge = sum(discharges) if discharges else None
        if discharge is not None and cap.discharge_w is not None:
            discharge = max(discharge, cap.discharge_w)
        value = _Value(
            watts=min(watts, cap.watts, volts * sum(amps)),
            amps=(amps[0], amps[1], amps[2]),
            phases=3,
            used=(0, 1, 2),
            phase_to_use=None,
            setpoint_w=min(sum(setpoints), cap.watts) if setpoints else None,
            discharge_w=discharge,
            reactive_w=None,
            mode="ChargingOnly",
            min_rate_w=None,
            sources=tuple(dict.fromkeys(s for v in (cap, *vals) for s in v.sources)),
            per_phase=len({round(a, 6) for a in amps}) > 1,
            soc_ths=(),
        )
        if not out.values or value != out.values[-1]:
            out.times.append(t)
            out.values.append(value)
            out.leaders.append({})
    return out, genv


def _ts(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt is not None else None


# ---------------------------------------------------------------------------------------------
# GetCompositeSchedule


def _num(x: float) -> float | int:
    r = round(x, 3)
    return int(r) if r == int(r) else r


def _period(v: _Value, unit: str, evse: EvseInfo) -> dict[str, Any]:
    volts = evse.voltage_v
    n = v.phases or 1
    d: dict[str, Any] = {}
    if v.phases is None:  # DC
        limit = v.watts if unit == "W" else v.watts / volts
        if limit != INF:
            d["limit"] = _num(limit)
    else:
        scale = volts if unit == "W" else 1.0
        if v.per_phase and n == 3:
            if v.amps[0] != INF:
                d["limit"] = _num(v.amps[0] * scale)
                d["limit_L2"] = _num(v.amps[1] * scale)
                d["limit_L3"] = _num(v.amps[2] * scale)
        else:
            limit = v.watts if unit == "W" else v.amps[v.used[0]]
            if limit != INF:
                d["limit"] = _num(limit)
        d["numberPhases"] = v.phases
        if v.phase_to_use:
            d["phaseToUse"] = v.phase_to_use

    def conv(w: float) -> float | int:
        return _num(w if unit == "W" else w / (volts * n))

    if v.discharge_w is not None:
        d["dischargeLimit"] = conv(v.discharge_w)
    if v.setpoint_w is not None:
        d["setpoint"] = conv(v.setpoint_w)
    if v.reactive_w is not None:
        d["setpointReactive"] = conv(v.reactive_w)
    if v.mode != "ChargingOnly":
        d["operationMode"] = v.mode
    return d


def _default_unit(ctx: StationContext, evse: EvseInfo) -> str:
    if len(ctx.rate_units) == 1:
        return next(iter(ctx.rate_units))
    return "W" if evse.is_dc else "A"


def composite_schedule(
    store: ProfileStore,
    evse_id: int,
    start: datetime,
    duration_s: int,
    unit: str | None,
    ctx: StationContext,
    tx_start: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The CompositeScheduleType for [start, start + duration_s) (K08.FR.02).

    `unit` None lets the station choose (its only RateUnit, else A for AC and W for DC).
    `tx_start` defaults to the EVSE's `tx_start` in ctx; `now` (default `start`) anchors Relative
    schedules when no transaction runs. scheduleStart is `start` down to the whole second, and
    adjacent equal periods are merged. KeyError for an unknown
    EVSE; `get_composite_schedule` turns that into the Rejected response.
    """
    ws = start.timestamp()
    we = ws + duration_s
    now_ts = now.timestamp() if now is not None else ws
    if evse_id == 0:
        sweep, env = _station_sweep(store, ctx, ws, we, now_ts)
    else:
        evse = ctx.evse(evse_id)
        if evse is None:
            raise KeyError(evse_id)
        txs = _ts(tx_start) if tx_start is not None else _ts(evse.tx_start)
        sweep, env = _evse_sweep(store, evse, ctx, txs, ws, we, now_ts)
    unit = unit or _default_unit(ctx, env.evse)
    # Reported from the whole second: profile boundaries (whole seconds) then land exactly, and
    # timestamps without fractions are what OCPP recommends (Part 2 §3.1).
    base = math.floor(ws)
    periods: list[dict[str, Any]] = []
    bodies: list[dict[str, Any]] = []
    for t, v in zip(sweep.times, sweep.values, strict=True):
        body = _period(v, unit, env.evse)
        # what holds at the request time holds from the first period (startPeriod 0, K08)
        offset = 0 if t <= ws else math.floor(t - base + 0.5)
        if periods and periods[-1]["startPeriod"] == offset:
            periods.pop()
            bodies.pop()
        if bodies and bodies[-1] == body:
            continue
        periods.append({"startPeriod": offset, **body})
        bodies.append(body)
    return {
        "evseId": evse_id,
        "duration": duration_s,
        "scheduleStart": format_time(datetime.fromtimestamp(base, UTC)),
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": periods,
    }


def get_composite_schedule(
    store: ProfileStore, request: Mapping[str, Any], ctx: StationContext, now: datetime
) -> dict[str, Any]:
    """GetCompositeScheduleRequest -> GetCompositeScheduleResponse, computed from `now`."""
    evse_id = int(request["evseId"])
    if evse_id != 0 and ctx.evse(evse_id) is None:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEVSE"}}  # K08.FR.05
    unit = request.get("chargingRateUnit")
    if unit is not None and unit not in ctx.rate_units:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnsupportedRateUnit"}}  # K08.FR.07
    schedule = composite_schedule(store, evse_id, now, int(request["duration"]), unit, ctx, now=now)
    return {"status": "Accepted", "schedule": schedule}


# ---------------------------------------------------------------------------------------------
# limit_at


@dataclass(slots=True)
class _LimitCache:
    version: int
    ctx: StationContext
    tx_start: float | None
    ws: float
    we: float
    sweep: _Sweep
    env: _Env
    limits: list[EffectiveLimit | None]
    soc_memo: dict[tuple[int, tuple[bool, ...]], EffectiveLimit]


def _effective(v: _Value, until: datetime | None) -> EffectiveLimit:
    amps = (v.amps[0],) if v.phases is None else v.amps
    return EffectiveLimit(
        watts=v.watts,
        amps=amps,
        number_phases=v.phases,
        setpoint_w=v.setpoint_w,
        discharge_limit_w=v.discharge_w,
        setpoint_reactive=v.reactive_w,
        operation_mode=v.mode,
        min_charging_rate_w=v.min_rate_w,
        source_ids=v.sources,
        until=until,
    )


def limit_at(
    store: ProfileStore,
    evse_id: int,
    t: datetime,
    ctx: StationContext,
    tx_start: datetime | None = None,
    soc: float | None = None,
) -> EffectiveLimit:
    """The effective limit of an EVSE (0 = the grid connection) at instant t.

    Cached per EVSE for an hour ahead; the cache is dropped when the store changes, when `ctx` is
    a different (unequal) object, and when t leaves the window, so a period boundary is simply the
    next entry of the cached sweep. `soc` (EV state of charge, %) applies limitAtSoC (K01.FR.100).
    Without a transaction, Relative schedules start at the window start (the first call).
    """
    ts = t.timestamp()
    c: _LimitCache | None = store._limit_cache.get(evse_id)
    txs = _ts(tx_start)
    if (
        c is None
        or c.version != store.version
        or not (c.ws <= ts < c.we)
        or c.tx_start != txs
        or (c.ctx is not ctx and c.ctx != ctx)
    ):
        c = _build_cache(store, evse_id, ts, ctx, txs)
        store._limit_cache[evse_id] = c
    i = bisect_right(c.sweep.times, ts) - 1
    v = c.sweep.values[i]
    if soc is not None and v.soc_ths and soc >= min(v.soc_ths):
        key = (i, tuple(soc >= th for th in v.soc_ths))
        hit = c.soc_memo.get(key)
        if hit is None:
            base = c.limits[i] or _limit_of(c, i)
            hit = c.soc_memo[key] = _effective(_combine(c.sweep.leaders[i], c.env, soc), base.until)
        return hit
    return c.limits[i] or _limit_of(c, i)


def _limit_of(c: _LimitCache, i: int) -> EffectiveLimit:
    times = c.sweep.times
    until = datetime.fromtimestamp(times[i + 1], UTC) if i + 1 < len(times) else None
    lim = c.limits[i] = _effective(c.sweep.values[i], until)
    return lim


def _build_cache(
    store: ProfileStore, evse_id: int, ts: float, ctx: StationContext, tx_start: float | None
) -> _LimitCache:
    we = ts + HORIZON_S
    if evse_id == 0:
        sweep, env = _station_sweep(store, ctx, ts, we, ts)
    else:
        evse = ctx.evse(evse_id)
        if evse is None:
            raise KeyError(evse_id)
        txs = tx_start if tx_start is not None else _ts(evse.tx_start)
        sweep, env = _evse_sweep(store, evse, ctx, txs, ts, we, ts)
    return _LimitCache(store.version, ctx, tx_start, ts, we, sweep, env, [None] * len(sweep.times), {})


def update_dynamic(
    store: ProfileStore, profile_id: int, schedule_update: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """UpdateDynamicScheduleRequest -> UpdateDynamicScheduleResponse (K28.FR.06/09/11, K29.FR.05/06)."""
    return store.update_dynamic(profile_id, schedule_update, now)
