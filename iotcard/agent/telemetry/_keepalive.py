"""Adaptive MQTT keepalive for cellular NATs.

Carrier NATs forget idle TCP mappings silently, after anything from a few minutes to half an hour. A keepalive
shorter than the NAT's timeout keeps the mapping; every keepalive costs a PINGREQ/PINGRESP pair in TLS records plus
TCP/IP headers and ACKs (about 200 bytes), so a short one burns the data budget: 60 s costs about 8.8 MB a month,
1200 s (the default start) about 0.44 MB. The policy learns the carrier's timeout between a floor and a ceiling:

- a connection found dead while idle (no PINGRESP, no PUBACK, a TCP timeout) means the NAT forgot it within the
  current keepalive: remember that value as too long and go halfway down towards the last value known to survive;
- a connection that stayed up ``stable_after`` seconds at the current value proves it: remember it as good and
  try longer (×``grow``), never reaching a value known to be too long (that knowledge expires after
  ``forget_after`` so a change of carrier or NAT can be learned).

MQTT fixes the keepalive per connection, so a new value is used at the next connect; a connection is never torn
down only to lengthen it (the handshake would cost more than the pings saved). Pure: the clock is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AdaptiveKeepalive", "KeepaliveLimits"]


@dataclass(frozen=True, slots=True)
class KeepaliveLimits:
    initial: int = 1200
    floor: int = 120
    ceiling: int = 1740
    grow: float = 1.25
    stable_after: float = 6 * 3600.0
    forget_after: float = 7 * 86400.0

    def __post_init__(self) -> None:
        if not 0 < self.floor <= self.initial <= self.ceiling:
            raise ValueError("keepalive limits need 0 < floor <= initial <= ceiling")
        if self.grow <= 1.0:
            raise ValueError("grow must be > 1")


class AdaptiveKeepalive:
    """The keepalive to use for the next connection, learned from how connections ended."""

    def __init__(self, limits: KeepaliveLimits | None = None, *, current: int | None = None) -> None:
        self.limits = limits or KeepaliveLimits()
        self.current = self._clamp(current if current is not None else self.limits.initial)
        self.known_good: int | None = None
        self.too_long: int | None = None
        self._too_long_at: float | None = None
        self._stable_since: float | None = None

    def _clamp(self, value: float) -> int:
        return int(min(self.limits.ceiling, max(self.limits.floor, round(value))))

    def connected(self, now: float) -> int:
        """A connection came up with ``current``; returns it."""
        self._stable_since = now
        return self.current

    def tick(self, now: float) -> int:
        """Called now and then while connected: after a stable period, prove ``current`` and choose a longer one."""
        self._forget(now)
        if self._stable_since is not None and now - self._stable_since >= self.limits.stable_after:
            self.known_good = max(self.known_good or 0, self.current)
            longer = self.current * self.limits.grow
            if self.too_long is not None:
                longer = min(longer, (self.current + self.too_long) / 2)
            candidate = self._clamp(longer)
            if self.too_long is None or candidate < self.too_long:
                self.current = candidate
            self._stable_since = now
        return self.current

    def found_dead(self, now: float) -> int:
        """The connection died while idle (NAT timeout suspected): shorten and remember the failing value."""
        self._forget(now)
        failing = self.current
        self.too_long = failing if self.too_long is None else min(self.too_long, failing)
        self._too_long_at = now
        if self.known_good is not None and self.known_good >= failing:
            self.known_good = None
        target = (self.known_good + failing) / 2 if self.known_good is not None else failing / 2
        self.current = self._clamp(target)
        self._stable_since = None
        return self.current

    def lost(self, now: float) -> None:
        """The connection ended for another reason (coverage, broker restart): no lesson about the NAT."""
        self._stable_since = None

    def _forget(self, now: float) -> None:
        if self._too_long_at is not None and now - self._too_long_at >= self.limits.forget_after:
            self.too_long = None
            self._too_long_at = None
