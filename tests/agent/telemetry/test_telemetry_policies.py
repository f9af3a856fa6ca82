"""Pure policies with fake clocks: adaptive keepalive, full-jitter backoff, traffic budget, traffic meter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iotcard.agent.telemetry import (
    AdaptiveKeepalive,
    Backoff,
    BackoffPolicy,
    KeepaliveLimits,
    TrafficBudget,
    TrafficMeter,
    TrafficSample,
    backoff_ceiling,
    month_bounds,
    mqtt_publish_size,
    publish_wire_estimate,
)

HOUR = 3600.0


def test_keepalive_learns_the_nat_timeout_between_floor_and_ceiling() -> None:
    limits = KeepaliveLimits(initial=900, floor=120, ceiling=1740, grow=1.25, stable_after=6 * HOUR)
    policy = AdaptiveKeepalive(limits)
    now = 0.0
    # A NAT that forgets idle mappings after 600 s: 900 dies, halves to 450, which survives and grows.
    assert policy.connected(now) == 900
    assert policy.found_dead(now + 1000) == 450
    assert policy.too_long == 900
    now = 2000.0
    policy.connected(now)
    assert policy.tick(now + 5 * HOUR) == 450  # not stable long enough yet
    assert policy.tick(now + 6 * HOUR) == 562  # 450 proven; ×1.25 stays below the known-bad 900
    assert policy.known_good == 450
    assert policy.found_dead(now + 7 * HOUR) == 506  # halfway between good 450 and failing 562
    assert policy.too_long == 562
    history = []
    t = now + 8 * HOUR
    policy.connected(t)
    for _ in range(6):
        t += 6 * HOUR
        history.append(policy.tick(t))
    assert all(value < 562 for value in history)  # never back to a value known to fail
    assert history == sorted(history)


@pytest.mark.parametrize(
    ("deaths", "expected"),
    [(1, 450), (2, 225), (3, 120), (6, 120)],  # floor holds
)
def test_keepalive_shortens_to_the_floor_and_no_further(deaths: int, expected: int) -> None:
    policy = AdaptiveKeepalive(KeepaliveLimits(initial=900, floor=120, ceiling=1740))
    for n in range(deaths):
        policy.connected(float(n))
        policy.found_dead(float(n) + 0.5)
    assert policy.current == expected


def test_keepalive_grows_to_the_ceiling_on_a_quiet_nat_and_forgets_old_failures() -> None:
    limits = KeepaliveLimits(initial=900, floor=120, ceiling=1740, stable_after=HOUR, forget_after=7 * 86400)
    policy = AdaptiveKeepalive(limits)
    policy.connected(0)
    values = [policy.tick(HOUR * (n + 1)) for n in range(5)]
    assert values == [1125, 1406, 1740, 1740, 1740]
    policy.found_dead(10 * HOUR)
    assert policy.too_long == 1740
    policy.lost(10 * HOUR)  # coverage loss: no lesson
    assert policy.tick(8 * 86400) == policy.current
    assert policy.too_long is None  # forgotten after a week


def test_keepalive_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        KeepaliveLimits(initial=60, floor=120, ceiling=1740)


def test_backoff_ceiling_doubles_and_caps() -> None:
    policy = BackoffPolicy(base=2.0, cap=300.0)
    assert [backoff_ceiling(n, policy) for n in range(10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff_ceiling(10_000, policy) == 300


def test_backoff_full_jitter_draws_from_zero_to_the_ceiling() -> None:
    draws: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        draws.append((low, high))
        return high * 0.5

    backoff = Backoff(BackoffPolicy(base=1.0, cap=10.0, stable_after=60.0), uniform=uniform)
    delays = [backoff.next_delay() for _ in range(6)]
    assert draws == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 8.0), (0.0, 10.0), (0.0, 10.0)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.connected(100.0)
    backoff.disconnected(110.0)  # flapping: stays backed off
    assert backoff.attempt == 6
    backoff.connected(200.0)
    backoff.disconnected(300.0)  # was stable: starts over
    assert backoff.attempt == 0


def test_backoff_spreads_a_fleet() -> None:
    import random

    rng = random.Random(7)
    fleet = [Backoff(BackoffPolicy(base=2.0, cap=300.0), uniform=rng.uniform) for _ in range(200)]
    for device in fleet:
        for _ in range(8):
            device.next_delay()
    delays = sorted(device.next_delay() for device in fleet)
    # After an outage the fleet's next attempts spread over the whole capped window, not one instant.
    assert delays[0] < 30 and delays[-1] > 270
    assert len({round(d) for d in delays}) > 100


def test_month_bounds() -> None:
    assert month_bounds(datetime(2026, 12, 31, 23, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("day", "used_mb", "stretch"),
    [
        (10, 0.30, 1.0),  # on track for 0.93 MB of 1.5
        (10, 0.50, 1.235),  # projects 1.67 MB: stretch before the budget is exceeded
        (10, 1.00, 2.47),
        (2, 1.4, 8.0),  # capped
        (25, 1.5, 8.0),  # exceeded
        (1, 0.03, 1.0),  # first day: the projection waits for a day of data
    ],
)
def test_budget_stretches_intervals_before_it_is_exceeded(day: int, used_mb: float, stretch: float) -> None:
    budget = TrafficBudget(budget_bytes=1_500_000)
    now = datetime(2026, 11, day, 0, tzinfo=UTC)
    state = budget.state(int(used_mb * 1_000_000), now)
    assert state.stretch == pytest.approx(stretch, rel=0.02)
    assert budget.interval(14400, int(used_mb * 1_000_000), now) == pytest.approx(14400 * stretch, rel=0.02)


def test_mqtt_packet_sizes_follow_the_spec() -> None:
    # 3.1.1 §3.3: fixed header 2, topic length 2 + 5, packet id 2, payload 10 = 21
    assert mqtt_publish_size("a/b/c", 10, qos=1, v5=False) == 21
    assert mqtt_publish_size("a/b/c", 10, qos=1, v5=True) == 22  # + property length 0
    assert mqtt_publish_size("t", 200, qos=0, v5=False) == 1 + 2 + 3 + 200
    assert publish_wire_estimate("t", 100) > 100 + 52


def test_meter_splits_exact_totals_into_types_and_keepalive() -> None:
    meter = TrafficMeter()
    meter.connected(TrafficSample(1, 1000, 3000, 10, 10))
    assert meter.by_type == {"connect": 1000 + 3000 + 20 * 52}
    meter.message("telemetry", 600)
    meter.sampled(TrafficSample(1, 1500, 3100, 14, 13))  # growth 600 + 7 segments
    assert meter.by_type["keepalive_other"] == 600 + 7 * 52 - 600
    assert meter.total == meter.exact_total == sum(meter.by_type.values())
    assert meter.take_deltas() == meter.by_type
    assert meter.take_deltas() == {}
