"""``iotcard usage sample`` and ``iotcard usage show``: the device's own data meter, without the daemon."""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from iotcard.agent.errors import ConfigError

from .._context import EXIT_FAIL, EXIT_OK, EXIT_USAGE, Context
from ..config import DEFAULT_CONFIG_PATH, AgentConfig, load_config
from ..messages import render
from ..usage import (
    MeterSettings,
    ModuleCounters,
    Plan,
    PlanFlag,
    RenewalAdvice,
    SampleResult,
    UsageMeter,
    UsageSummary,
    meter_settings,
    open_summary,
    plan_from_config,
    sample_out,
    summary_out,
)

ORDER = 30

log = logging.getLogger("iotcard.usage")

_EPILOG_SAMPLE = """\
Takes one sample of the interface's kernel counters and commits it. The first sample of a new install is a
baseline (nothing counted). A counter that went down (interface re-created, e.g. ppp0) or a new boot id counts
the new value; a jump faster than max_rate_mbps is rejected and logged.
exit: 0 sampled, 1 the interface is absent (reported, not counted), 2 bad option, config or state directory.
"""

_EPILOG_SHOW = """\
Cycle totals, today, the last N days as a bar chart, the months, and remaining data with flags when a plan is
configured ([plan] in the config file). Works while the daemon writes (read-only, WAL). 1 MB = 1024 x 1024 bytes.
exit: 0 shown, 1 the plan's data is exhausted or the card expired, 2 bad option, config or state directory.
"""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"config file for interface, time zone, cycle, plan, state dir (default: $IOTCARD_CONFIG, else "
        f"{DEFAULT_CONFIG_PATH} when it exists); options given here win",
    )
    parser.add_argument("--state-dir", type=Path, help="where usage.sqlite3 lives (default: [paths] state_dir)")
    parser.add_argument("--interface", help="cellular interface: wwan0, ppp0, usb0, eth1... (default: wwan0)")
    parser.add_argument("--timezone", help="IANA time zone of days and cycles (default: Asia/Shanghai)")
    parser.add_argument("--cycle-start-day", type=int, help="billing cycle start day 1-31 (29-31: month's last day)")
    parser.add_argument(
        "--port", help="also read the module's own byte counters (Quectel AT+QGDCNT?...) on this AT port"
    )
    parser.add_argument("--baud", type=int, default=115200, help="baud rate for --port (default 115200)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def register(sub: Any) -> None:
    usage = sub.add_parser(
        "usage",
        help="data usage metered on the device: cycle, days, months, plan",
        description="The device's own data meter on the cellular interface, per hour, day, month and billing cycle.",
    )
    usage_sub = usage.add_subparsers(dest="usage_command", metavar="ACTION")
    sample = usage_sub.add_parser(
        "sample",
        help="take one counter sample and commit it (for cron-only devices)",
        epilog=_EPILOG_SAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(sample)
    sample.add_argument("--sysfs-root", type=Path, help="read ROOT/class/net/IF/statistics (default: /sys)")
    sample.add_argument("--proc-root", type=Path, help="read ROOT/sys/kernel/random/boot_id (default: /proc)")
    sample.set_defaults(handler=run_sample)
    show = usage_sub.add_parser(
        "show",
        help="how much this card used, and when it runs out",
        epilog=_EPILOG_SHOW,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(show)
    show.add_argument("--days", type=int, default=14, help="days in the chart (default 14)")
    show.set_defaults(handler=run_show)
    usage.set_defaults(handler=lambda args, ctx: _usage_help(usage, ctx))


def _usage_help(parser: argparse.ArgumentParser, ctx: Context) -> int:
    parser.print_help(ctx.out)
    return EXIT_USAGE


def _load(args: argparse.Namespace) -> AgentConfig:
    path = args.config or (Path(os.environ["IOTCARD_CONFIG"]) if os.environ.get("IOTCARD_CONFIG") else None)
    if path is None and DEFAULT_CONFIG_PATH.exists():
        path = DEFAULT_CONFIG_PATH
    return load_config(path) if path is not None else AgentConfig()


def _resolve(args: argparse.Namespace) -> tuple[MeterSettings, Plan | None, Path]:
    config = _load(args)
    usage = config.usage
    timezone = args.timezone or usage.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--timezone: unknown time zone {timezone!r}; expected e.g. Asia/Shanghai or UTC") from None
    start_day = args.cycle_start_day if args.cycle_start_day is not None else usage.cycle_start_day
    if not 1 <= start_day <= 31:
        raise ConfigError(f"--cycle-start-day: expected 1 to 31, got {start_day}")
    if getattr(args, "days", 1) < 1:
        raise ConfigError(f"--days: expected at least 1, got {args.days}")
    settings = meter_settings(
        usage,
        interface=args.interface,
        sysfs_root=getattr(args, "sysfs_root", None),
        proc_root=getattr(args, "proc_root", None),
        timezone=timezone,
        cycle_start_day=start_day,
    )
    plan = plan_from_config(config.plan)
    return settings, plan, args.state_dir or config.paths.state_dir


def read_module_counters(ctx: Context, port: str, baud: int) -> tuple[int, int, str] | None:
    """The module's own counters (rx, tx, the command) when its dialect has them; None otherwise."""
    with ctx.open_modem(port, baud) as modem:
        return modem.read_module_counters()


def _state_dir_failed(ctx: Context, state_dir: Path, exc: Exception) -> int:
    log.debug("state dir unusable", exc_info=True)
    return ctx.fail(
        "state_dir_unusable",
        f"cannot use the usage database in {state_dir}: {exc}",
        "check --state-dir (or [paths] state_dir) exists and is writable by this user",
        EXIT_USAGE,
    )


def run_sample(args: argparse.Namespace, ctx: Context) -> int:
    settings, plan, state_dir = _resolve(args)
    module = read_module_counters(ctx, args.port, args.baud) if args.port else None
    try:
        with UsageMeter(state_dir, settings, plan=plan) as meter:
            if module is not None:
                meter.record_module_counters(*module)
            result = meter.sample()
        # Closing the meter committed the sample (the first sample of an install commits at once).
        result = replace(result, committed=True)
    except (OSError, sqlite3.Error) as exc:
        return _state_dir_failed(ctx, state_dir, exc)
    at = datetime.fromtimestamp(result.at, ZoneInfo(settings.timezone))
    if ctx.json:
        ctx.out.write(sample_out(result, at).to_json() + "\n")
    else:
        ctx.out.write(_render_sample(result, at, ctx.lang) + "\n")
    return EXIT_OK if result.present else EXIT_FAIL


def _render_sample(result: SampleResult, at: datetime, lang: str) -> str:
    stamp = at.isoformat(timespec="seconds")
    if not result.present:
        return f"{stamp} {result.interface}: {render('usage.absent_not_counted', lang)} ({result.problem})"
    event = result.event.value if result.event else ""
    return (
        f"{stamp} {result.interface}: +{format_bytes(result.rx_bytes)} rx, +{format_bytes(result.tx_bytes)} tx "
        f"({event}; counters rx={result.counters_rx} tx={result.counters_tx})"
    )


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    settings, plan, state_dir = _resolve(args)
    try:
        summary = open_summary(state_dir, settings, plan=plan, days=args.days)
        if args.port and (module := read_module_counters(ctx, args.port, args.baud)) is not None:
            # A live read, shown beside the meter: `show` writes nothing.
            live = ModuleCounters(module[0], module[1], datetime.now().timestamp(), module[2])
            summary = replace(summary, module_counters=live)
    except (OSError, sqlite3.Error) as exc:
        return _state_dir_failed(ctx, state_dir, exc)
    if ctx.json:
        ctx.out.write(summary_out(summary).to_json(indent=2) + "\n")
    else:
        ctx.out.write(render_summary(summary, ctx.lang))
    status = summary.plan
    if status is not None and (status.has(PlanFlag.DATA_EXHAUSTED) or status.has(PlanFlag.EXPIRED)):
        return EXIT_FAIL
    return EXIT_OK


def format_bytes(value: int) -> str:
    """Bytes in the carriers' units: 1 KB = 1024 B, 1 MB = 1024 KB, 1 GB = 1024 MB."""
    if value < 1024:
        return f"{value} B"
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if value >= size:
            return f"{value / size:.2f} {unit}" if unit == "GB" else f"{value / size:.1f} {unit}"
    return f"{value} B"  # pragma: no cover


_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(value: int, largest: int, width: int = 30) -> str:
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / largest))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def render_summary(summary: UsageSummary, lang: str) -> str:
    lines: list[str] = []
    if summary.interface_present is None:
        presence = render("usage.no_sample_yet", lang)
    else:
        presence = render("usage.interface_present" if summary.interface_present else "usage.interface_absent", lang)
    lines.append(f"{render('usage.heading', lang, interface=summary.interface)} ({summary.timezone}, {presence})")
    cycle, usage = summary.cycle, summary.cycle_usage
    lines.append(
        f"  {render('usage.cycle', lang)} {cycle.start} … {cycle.end}: {format_bytes(usage.total_bytes)}"
        f"  (↓ {format_bytes(usage.rx_bytes)}  ↑ {format_bytes(usage.tx_bytes)})"
    )
    today = summary.today_usage
    lines.append(
        f"  {render('usage.today_label', lang)} {summary.today}: {format_bytes(today.total_bytes)}"
        f"  (↓ {format_bytes(today.rx_bytes)}  ↑ {format_bytes(today.tx_bytes)})"
    )
    status = summary.plan
    if status is not None:
        name = f" {status.name}" if status.name else ""
        parts = []
        if status.total_bytes is not None:
            parts.append(
                f"{format_bytes(status.total_bytes)}, {render('usage.used', lang)} {status.percent_used:.1f} %"
            )
            parts.append(f"{render('usage.remaining', lang)} {format_bytes(status.remaining_bytes or 0)}")
        parts.append(f"{status.days_left} {render('usage.days_left_in_the_cycle', lang)}")
        if status.expiry is not None:
            parts.append(f"{render('usage.expires', lang)} {status.expiry}")
        lines.append(f"  {render('usage.plan', lang)}{name}: " + ", ".join(parts))
        for flag in status.flags:
            lines.append(f"  ! {render(f'usage.flag.{flag.value}', lang)}")
        if status.advice is RenewalAdvice.RENEW_BEFORE_26TH:
            lines.append(f"  ! {render('usage.renew_before_26th', lang)}")
        elif status.advice is RenewalAdvice.RENEWAL_PAUSED:
            lines.append(f"  ! {render('usage.renewal_paused', lang)}")
    lines.append("")
    lines.append(render("usage.last_days", lang, days=len(summary.days)))
    largest = max((day.usage.total_bytes for day in summary.days), default=0)
    for day in summary.days:
        total = day.usage.total_bytes
        lines.append(f"  {day.bucket[5:]} {format_bytes(total):>10} {_bar(total, largest)}")
    if summary.months:
        lines.append(render("usage.months", lang))
        for month in summary.months:
            lines.append(
                f"  {month.bucket} {format_bytes(month.usage.total_bytes):>10}"
                f"  (↓ {format_bytes(month.usage.rx_bytes)}  ↑ {format_bytes(month.usage.tx_bytes)})"
            )
    agent_cycle, agent_today = summary.agent_cycle, summary.agent_today
    if agent_cycle.total_bytes:
        lines.append(
            f"{render('usage.agent_own', lang)}: {render('usage.this_cycle', lang)} "
            f"{format_bytes(agent_cycle.total_bytes)}, "
            f"{render('usage.today', lang)} {format_bytes(agent_today.total_bytes)}"
        )
    module = summary.module_counters
    if module is not None:
        lines.append(
            f"{render('usage.module_counters', lang)} "
            f"({module.source}, {render('usage.not_added_to_the_totals', lang)}): "
            f"↓ {format_bytes(module.rx_bytes)}  ↑ {format_bytes(module.tx_bytes)}"
        )
    if summary.last_sample_at is not None:
        lines.append(f"{render('usage.last_sample', lang)}: {summary.last_sample_at.isoformat(timespec='seconds')}")
    if summary.interface_present is False and summary.interface_problem:
        lines.append(f"  ! {summary.interface_problem}")
    lines.append(f"{render('usage.written_to_flash_by_the_meter', lang)}: {format_bytes(summary.store_bytes_written)}")
    return "\n".join(lines) + "\n"
