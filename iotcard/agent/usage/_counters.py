"""Turn successive counter readings into counted bytes: a pure function, no I/O, no clock.

The rules (vnstat's, made explicit):

- the first reading of a new install is a baseline: nothing is counted, the reading is remembered;
- a later reading adds the difference;
- a counter that went down, or a new ifindex, means the interface was re-created (``ppp0`` for every PPP session),
  and a new boot id means the machine rebooted: either way the new value is what was counted since, and is added;
- a step faster than the configured maximum rate is rejected (not counted, logged by the caller), and the reading
  becomes the new baseline so one bad value does not poison the next step.

Bytes moved between the last reading and a reboot or re-creation are not seen by anyone: at most one sample interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["CounterEvent", "CounterState", "CounterStep", "advance"]


class CounterEvent(StrEnum):
    BASELINE = "baseline"
    GROWTH = "growth"
    RESET = "reset"
    REBOOT = "reboot"
    REJECTED_JUMP = "rejected_jump"


@dataclass(frozen=True, slots=True)
class CounterState:
    """The last reading that was accounted for; it is stored in the same transaction as the bytes it produced."""

    rx_bytes: int
    tx_bytes: int
    boot_id: str | None
    ifindex: int | None
    at: float


@dataclass(frozen=True, slots=True)
class CounterStep:
    """What one reading adds (``rx_bytes``/``tx_bytes``, never negative), the state after it, and what happened."""

    rx_bytes: int
    tx_bytes: int
    state: CounterState
    event: CounterEvent

    @property
    def anomaly(self) -> bool:
        """True for the events a technician may want to know about (reset, reboot, rejected jump)."""
        return self.event in (CounterEvent.RESET, CounterEvent.REBOOT, CounterEvent.REJECTED_JUMP)


def advance(
    previous: CounterState | None,
    rx_bytes: int,
    tx_bytes: int,
    *,
    boot_id: str | None,
    ifindex: int | None,
    at: float,
    max_bytes_per_second: float,
) -> CounterStep:
    """Account for one reading of ``rx_bytes``/``tx_bytes`` taken at ``at`` (epoch seconds) after ``previous``.

    The rate check allows ``max_bytes_per_second`` over the time since ``previous`` (at least one second, so a
    clock that stepped backwards cannot let an absurd value through).
    """
    if rx_bytes < 0 or tx_bytes < 0:
        raise ValueError("counter readings are never negative")
    state = CounterState(rx_bytes, tx_bytes, boot_id, ifindex, at)
    if previous is None:
        return CounterStep(0, 0, state, CounterEvent.BASELINE)
    if boot_id is not None and previous.boot_id is not None and boot_id != previous.boot_id:
        event = CounterEvent.REBOOT
        delta_rx, delta_tx = rx_bytes, tx_bytes
    elif (
        (ifindex is not None and previous.ifindex is not None and ifindex != previous.ifindex)
        or rx_bytes < previous.rx_bytes
        or tx_bytes < previous.tx_bytes
    ):
        event = CounterEvent.RESET
        delta_rx, delta_tx = rx_bytes, tx_bytes
    else:
        event = CounterEvent.GROWTH
        delta_rx, delta_tx = rx_bytes - previous.rx_bytes, tx_bytes - previous.tx_bytes
    elapsed = max(at - previous.at, 1.0)
    allowed = max_bytes_per_second * elapsed
    if delta_rx > allowed or delta_tx > allowed:
        return CounterStep(0, 0, state, CounterEvent.REJECTED_JUMP)
    return CounterStep(delta_rx, delta_tx, state, event)
