"""From the config file's [usage] and [plan] sections to the meter's settings and plan (one place, for every caller)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from iotcard.agent.config import PlanConfig, UsageConfig

from ._meter import MeterSettings
from ._plan import MIB, Plan

__all__ = ["meter_settings", "plan_from_config"]


def meter_settings(usage: UsageConfig, **overrides: Any) -> MeterSettings:
    """The meter's settings from ``[usage]``; ``overrides`` (command-line options) win where not None."""
    settings = MeterSettings(
        interface=usage.interface,
        sysfs_root=usage.sysfs_root,
        proc_root=usage.proc_root,
        timezone=usage.timezone,
        cycle_start_day=usage.cycle_start_day,
        sample_interval=usage.sample_interval,
        commit_interval=usage.commit_interval,
        max_rate_mbps=usage.max_rate_mbps,
        low_data_percent=usage.low_data_percent,
        expiring_days=usage.expiring_days,
    )
    given = {key: value for key, value in overrides.items() if value is not None}
    return replace(settings, **given) if given else settings


def plan_from_config(section: PlanConfig | None) -> Plan | None:
    if section is None:
        return None
    return Plan(
        name=section.name,
        total_bytes=round(section.total_mb * MIB) if section.total_mb is not None else None,
        cycle_start=section.cycle_start,
        cycle_end=section.cycle_end,
        expiry=section.expiry,
        card_type=section.card_type,
    )
