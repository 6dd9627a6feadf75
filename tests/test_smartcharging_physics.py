"""Property: delivered power never exceeds the composite limit, beyond the ramp.

Random stacks of profiles (both units, several stack levels and purposes) drive the real EVSE
physics through `limit_at` one second at a time, as the station's tick does (K08 composite, the
EVSE obeying it). After a limit drops, the EV needs `power / ramp_down` seconds to follow; at
every other instant the power must sit at or below the limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.smartcharging import EvseInfo, ProfileStore, StationContext, limit_at
from app.smartcharging.testing import make_profile
from app.station.ev import EVModel
from app.station.meter import EvseElectrics

START = datetime(2025, 1, 1, tzinfo=UTC)
CTX = StationContext(evses=(EvseInfo(1, phases=3, max_current_a=32.0, max_power_w=22_080.0),))

period = st.tuples(st.integers(0, 40).map(lambda m: m * 30), st.floats(0, 32))
profile_spec = st.tuples(
    st.sampled_from(["TxDefaultProfile", "ChargingStationMaxProfile"]),
    st.integers(0, 3),  # stack level
    st.sampled_from(["A", "W"]),
    st.lists(period, min_size=1, max_size=5),
)


def install(store: ProfileStore, specs: list[tuple[str, int, str, list[tuple[int, float]]]]) -> None:
    used: set[tuple[str, int]] = set()
    for pid, (purpose, stack, unit, raw) in enumerate(specs, start=1):
        if (purpose, stack) in used:
            continue  # one profile per purpose and stack level (K01.FR.52)
        used.add((purpose, stack))
        starts = sorted({s for s, _ in raw} | {0})
        limits = dict(raw)
        plan = [(s, limits.get(s, 16.0) * (690.0 if unit == "W" else 1.0)) for s in starts]
        evse = 0 if purpose == "ChargingStationMaxProfile" else 1
        store.install(make_profile(pid, purpose, plan, stack=stack, unit=unit), evse, now=START)


@settings(max_examples=60, deadline=None)
@given(st.lists(profile_spec, min_size=1, max_size=4))
def test_delivered_power_never_exceeds_the_composite_limit_beyond_the_ramp(specs: list) -> None:
    store = ProfileStore()
    install(store, specs)
    electrics = EvseElectrics(max_current_a=32, phases=3, seed=None)  # no noise: exact bounds
    ev = EVModel.large_ac(soc_percent=10.0)  # 3 x 32 A: the EV never limits first
    previous_limit = float("inf")
    catching_up_until = 0
    for second in range(0, 1500):
        t = START + timedelta(seconds=second)
        lim = limit_at(store, 1, t, CTX)
        amps = [a for a in lim.amps if a > 0]
        reading = electrics.step(
            1.0, ev, lim.watts, True, limit_a=min(amps) if amps else None, max_phases=lim.number_phases
        )
        if lim.watts < previous_limit:  # a drop: the EV follows at the ramp-down rate
            catching_up_until = second + int(reading.power_w / electrics.ramp_down_w_per_s) + 2
        previous_limit = lim.watts
        if second >= catching_up_until:
            assert reading.power_w <= lim.watts + 1e-6, (second, reading.power_w, lim)
        # and never more than the EVSE's rating, whatever the profiles say
        assert reading.power_w <= electrics.rated_power_w() + 1e-6
