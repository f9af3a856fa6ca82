"""Reconnect delays: exponential backoff with full jitter, capped.

Full jitter (a uniform draw between 0 and the exponential ceiling) spreads a fleet that lost the same cell: when
coverage returns, devices retry at independent moments instead of in lockstep, which paho's own reconnect (no
jitter) does not do. The random source and the clock are injected so tests can table the delays.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffPolicy", "backoff_ceiling", "full_jitter_delay"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """``base`` seconds doubled per failed attempt up to ``cap``; a connection that lived ``stable_after`` seconds
    resets the attempt count (a link that drops right after connecting keeps backing off)."""

    base: float = 2.0
    cap: float = 300.0
    stable_after: float = 60.0


def backoff_ceiling(attempt: int, policy: BackoffPolicy) -> float:
    """The upper end of the draw for attempt ``attempt`` (0-based): min(cap, base * 2**attempt)."""
    if attempt >= 64:
        return policy.cap
    return min(policy.cap, policy.base * 2.0**attempt)


def full_jitter_delay(attempt: int, policy: BackoffPolicy, uniform: Callable[[float, float], float]) -> float:
    return float(uniform(0.0, backoff_ceiling(attempt, policy)))


class Backoff:
    """Attempt counter and delay source for one connection; owned by the link's thread."""

    def __init__(
        self,
        policy: BackoffPolicy | None = None,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self._uniform = uniform
        self.attempt = 0
        self._connected_at: float | None = None

    def next_delay(self) -> float:
        """Delay before the next connection attempt; counts the attempt."""
        delay = full_jitter_delay(self.attempt, self.policy, self._uniform)
        self.attempt += 1
        return delay

    def connected(self, now: float) -> None:
        self._connected_at = now

    def disconnected(self, now: float) -> None:
        """A connection ended: reset the attempts when it had been stable."""
        if self._connected_at is not None and now - self._connected_at >= self.policy.stable_after:
            self.attempt = 0
        self._connected_at = None
