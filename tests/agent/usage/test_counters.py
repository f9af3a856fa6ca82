"""The pure counter rule: baseline, growth, reset, reboot, rejected jump; and properties over any sequence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iotcard.agent.usage import CounterEvent, CounterState, advance

RATE = 1_000_000.0  # bytes per second


def step(previous: CounterState | None, rx: int, tx: int, *, boot: str = "b1", ifindex: int | None = 4, at: float = 60):
    return advance(previous, rx, tx, boot_id=boot, ifindex=ifindex, at=at, max_bytes_per_second=RATE)


def test_first_reading_is_a_baseline() -> None:
    result = step(None, 5_000, 700)
    assert (result.rx_bytes, result.tx_bytes, result.event) == (0, 0, CounterEvent.BASELINE)
    assert result.state == CounterState(5_000, 700, "b1", 4, 60)


def test_growth_adds_the_difference() -> None:
    first = step(None, 5_000, 700, at=0)
    result = step(first.state, 9_000, 1_000, at=60)
    assert (result.rx_bytes, result.tx_bytes, result.event) == (4_000, 300, CounterEvent.GROWTH)
    assert not result.anomaly


def test_counter_that_went_down_counts_the_new_value() -> None:
    first = step(None, 5_000, 700, at=0)
    result = step(first.state, 1_200, 900, at=60)
    assert (result.rx_bytes, result.tx_bytes, result.event) == (1_200, 900, CounterEvent.RESET)
    assert result.anomaly


def test_new_ifindex_is_a_reset_even_when_the_counter_grew_past_the_old_value() -> None:
    # ppp0 torn down and re-created between two samples, and busy since: the old value means nothing.
    first = step(None, 5_000, 700, at=0, ifindex=7)
    result = step(first.state, 8_000, 900, at=60, ifindex=8)
    assert (result.rx_bytes, result.tx_bytes, result.event) == (8_000, 900, CounterEvent.RESET)


def test_new_boot_id_is_a_reboot() -> None:
    first = step(None, 5_000, 700, at=0, boot="b1")
    result = step(first.state, 6_000, 50, at=600, boot="b2")
    assert (result.rx_bytes, result.tx_bytes, result.event) == (6_000, 50, CounterEvent.REBOOT)


def test_absurd_jump_is_rejected_and_becomes_the_baseline() -> None:
    first = step(None, 5_000, 700, at=0)
    jump = step(first.state, 5_000 + 61_000_000, 700, at=60)  # 61 MB in 60 s at 1 MB/s max
    assert (jump.rx_bytes, jump.tx_bytes, jump.event) == (0, 0, CounterEvent.REJECTED_JUMP)
    after = step(jump.state, 5_000 + 61_000_000 + 10, 710, at=120)
    assert (after.rx_bytes, after.tx_bytes, after.event) == (10, 10, CounterEvent.GROWTH)


def test_clock_stepping_back_still_bounds_the_rate_by_one_second() -> None:
    first = step(None, 0, 0, at=1_000)
    assert step(first.state, 999_999, 0, at=10).rx_bytes == 999_999
    assert step(first.state, 1_000_001, 0, at=10).event is CounterEvent.REJECTED_JUMP


def test_negative_reading_is_refused() -> None:
    with pytest.raises(ValueError):
        step(None, -1, 0)


# A device's life: growth, interface re-creations (new ifindex), reboots (new boot id), silent counter drops.
_op = st.one_of(
    st.tuples(st.just("grow"), st.integers(0, 10**9), st.integers(0, 10**9)),
    st.tuples(st.just("recreate"), st.integers(0, 10**9), st.integers(0, 10**9)),
    st.tuples(st.just("reboot"), st.integers(0, 10**9), st.integers(0, 10**9)),
    st.tuples(st.just("drop"), st.integers(0, 10**9), st.integers(0, 10**9)),
)


@given(start=st.tuples(st.integers(0, 2**63), st.integers(0, 2**63)), ops=st.lists(_op, max_size=60))
def test_total_is_the_sum_of_legitimate_increments(start: tuple[int, int], ops: list[tuple[str, int, int]]) -> None:
    rx, tx = start
    boot, ifindex, at = 0, 1, 0.0
    state = advance(None, rx, tx, boot_id="0", ifindex=ifindex, at=at, max_bytes_per_second=10**12).state
    expected = counted = 0
    for kind, a, b in ops:
        at += 60
        if kind == "grow":
            rx, tx = rx + a, tx + b
            expected += a + b
        elif kind == "recreate":
            ifindex += 1
            rx, tx = a, b
            expected += a + b
        elif kind == "reboot":
            boot += 1
            rx, tx = a, b
            expected += a + b
        else:  # a drop seen on the counter alone: only a real drop is a reset
            if rx == 0:
                continue
            rx, tx = a % rx, b
            expected += rx + tx
        result = advance(state, rx, tx, boot_id=str(boot), ifindex=ifindex, at=at, max_bytes_per_second=10**12)
        assert result.rx_bytes >= 0 and result.tx_bytes >= 0
        counted += result.rx_bytes + result.tx_bytes
        state = result.state
    assert counted == expected


@given(
    readings=st.lists(
        st.tuples(st.integers(0, 2**64), st.integers(0, 2**64), st.sampled_from(["a", "b", None]), st.floats(-5, 500)),
        min_size=1,
        max_size=40,
    )
)
def test_any_sequence_never_counts_negative_nor_faster_than_allowed(
    readings: list[tuple[int, int, str | None, float]],
) -> None:
    state: CounterState | None = None
    at = 0.0
    for rx, tx, boot, gap in readings:
        previous_at = at
        at += gap
        result = advance(state, rx, tx, boot_id=boot, ifindex=None, at=at, max_bytes_per_second=RATE)
        assert 0 <= result.rx_bytes <= rx and 0 <= result.tx_bytes <= tx
        if state is not None:
            allowed = RATE * max(at - previous_at, 1.0)
            assert result.rx_bytes <= allowed and result.tx_bytes <= allowed
        state = result.state
