"""``usage show --json`` and ``usage sample --json``: plain dataclasses whose JSON is what pydantic writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter
from usage_support import FakeClock, FakeSysfs

from iotcard.agent._json_out import JsonOut
from iotcard.agent.usage import MIB, MeterSettings, Plan, UsageMeter, sample_out, summary_out


def as_pydantic_writes(document: JsonOut, indent: int | None = None) -> str:
    adapter: TypeAdapter[Any] = TypeAdapter(type(document))
    return adapter.dump_json(adapter.validate_python(dataclasses.asdict(document)), indent=indent).decode()


def test_show_and_sample_documents(tmp_path: Path) -> None:
    tree = FakeSysfs(tmp_path / "root")
    clock = FakeClock(datetime(2025, 6, 21, 8, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp())
    tree.set(0, 0)
    settings = MeterSettings(sysfs_root=tree.sys, proc_root=tree.proc, max_rate_mbps=10_000.0)
    plan = Plan(name="1 GB", total_bytes=1024 * MIB, cycle_start=date(2025, 6, 1), cycle_end=date(2025, 6, 30))
    with UsageMeter(tmp_path / "state", settings, plan=plan, clock=clock) as meter:
        meter.sample()
        tree.set(950 * MIB, 20 * MIB)
        clock.advance(3600)
        result = meter.sample()
        meter.record_module_counters(5_000_000, 1_000_000, "AT+QGDCNT?")
        meter.record_agent_traffic(1200, 800)
        summary = meter.summary()
    show = summary_out(summary)
    assert show.plan is not None and show.plan.flags and show.module_counters is not None and show.days
    sample = sample_out(result, datetime(2025, 6, 21, 1, tzinfo=UTC))
    for document in (show, sample):
        for indent in (None, 2):
            assert document.to_json(indent) == as_pydantic_writes(document, indent)


@pytest.mark.parametrize("committed", [True, False])
def test_a_sample_without_counters(tmp_path: Path, committed: bool) -> None:
    tree = FakeSysfs(tmp_path / "root")
    settings = MeterSettings(interface="ppp0", sysfs_root=tree.sys, proc_root=tree.proc)
    with UsageMeter(tmp_path / "state", settings, clock=FakeClock()) as meter:
        result = dataclasses.replace(meter.sample(), committed=committed)
    document = sample_out(result, datetime(2025, 6, 21, 1, tzinfo=UTC))
    assert document.as_json()["present"] is False
    assert document.to_json() == as_pydantic_writes(document)
