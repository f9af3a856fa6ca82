"""The traffic budget: how far to stretch report intervals so the month's MQTT traffic stays within budget.

The agent's own traffic this month is projected to the month's end at the rate seen so far; when the projection
passes ``headroom`` × budget, routine intervals (telemetry, directed probes) are multiplied by
``projection / (headroom × budget)``, up to ``max_stretch``. Events, command results and diagnosis are never
stretched: "sample often, report rarely, alarm at once". Pure: times are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["BudgetState", "TrafficBudget", "month_bounds"]


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start of this calendar month and of the next (UTC)."""
    now = now.astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


@dataclass(frozen=True, slots=True)
class BudgetState:
    used_bytes: int
    budget_bytes: int
    projected_bytes: int
    stretch: float

    @property
    def exceeded(self) -> bool:
        return self.used_bytes >= self.budget_bytes


@dataclass(frozen=True, slots=True)
class TrafficBudget:
    budget_bytes: int
    headroom: float = 0.9
    max_stretch: float = 8.0
    #: Before this much of the month has passed the projection is too noisy (one handshake looks like a trend).
    min_elapsed_s: float = 86400.0

    def state(self, used_bytes: int, now: datetime) -> BudgetState:
        start, end = month_bounds(now)
        elapsed = (now.astimezone(UTC) - start).total_seconds()
        total = (end - start).total_seconds()
        rate_basis = max(elapsed, self.min_elapsed_s)
        projected = round(used_bytes * total / rate_basis)
        stretch = self.stretch_for(used_bytes, projected)
        return BudgetState(used_bytes, self.budget_bytes, projected, stretch)

    def stretch_for(self, used_bytes: int, projected_bytes: int) -> float:
        if used_bytes >= self.budget_bytes:
            return self.max_stretch
        target = self.headroom * self.budget_bytes
        if projected_bytes <= target:
            return 1.0
        return min(self.max_stretch, projected_bytes / target)

    def interval(self, base_s: float, used_bytes: int, now: datetime) -> float:
        """A routine interval stretched for the budget."""
        return base_s * self.state(used_bytes, now).stretch
