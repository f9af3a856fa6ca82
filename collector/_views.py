"""Card records as the app shows them: the output models (pydantic, at the edge: ``--json`` and the HTTP API),
the quick-filter flags, and the terminal rendering with its charts. Pure functions of database rows and ``today``.

The flags here and the SQL filters in :mod:`collector._store` say the same thing twice; the tests hold them
together. A card is ``low`` (流量不足) when less than ``low_percent`` of its plan is left but some is,
``exhausted`` (流量耗尽) when the device meter reached the plan, ``expiring`` (卡临期) when the card's expiry is
today or within ``expiring_days``, ``expired`` (卡到期) after its expiry day.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ._store import MIB, Thresholds, aware

__all__ = [
    "Alarm",
    "Binding",
    "CardDetail",
    "CardList",
    "CardSummary",
    "DeviceInfo",
    "UsagePoint",
    "UsageSeries",
    "bar_chart",
    "card_detail",
    "card_flags",
    "card_summary",
    "render_card",
    "render_cards",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CardSummary(_Out):
    """One line of the card list."""

    iccid: str
    imsi: str | None
    carrier: str | None
    company: str | None
    device_id: str | None = Field(description="the device the card is (or was last) in")
    device_name: str | None
    imei: str | None
    in_device: bool = Field(description="false once that device reported another card (机卡分离 risk)")
    online: bool | None = Field(description="the device's last status; null when none was received")
    last_seen: datetime | None
    plan_name: str | None
    total_bytes: int | None
    used_bytes: int | None = Field(description="this cycle, from the device's meter")
    remaining_bytes: int | None
    used_percent: float | None
    cycle_start: date | None
    cycle_end: date | None
    expiry: date | None = Field(description="the card's last valid day")
    days_to_expiry: int | None
    flags: list[str] = Field(description="low, exhausted, expiring, expired: the app's quick filters")


class CardList(_Out):
    total: int = Field(description="cards matching, over all pages")
    limit: int
    offset: int
    cards: list[CardSummary]


class DeviceInfo(_Out):
    device_id: str
    name: str | None
    pn: str | None
    type: str | None
    company: str | None
    imei: str | None
    manufacturer: str | None
    model: str | None
    revision: str | None
    online: bool | None
    agent_version: str | None
    last_seen: datetime | None
    iccid: str | None = Field(description="the card the device reports now")


class Binding(_Out):
    device_id: str
    imei: str | None
    since: datetime
    until: datetime | None


class Alarm(_Out):
    kind: str = Field(
        description="card_moved: the card appeared with another IMEI; card_swapped: a device reported another card"
    )
    iccid: str | None
    device_id: str | None
    previous_device_id: str | None
    previous: str | None
    current: str | None
    ts: datetime


class UsagePoint(_Out):
    period: str = Field(description="YYYY-MM-DD or YYYY-MM in the collector's time zone")
    rx_bytes: int
    tx_bytes: int
    total_bytes: int


class UsageSeries(_Out):
    iccid: str
    granularity: str
    points: list[UsagePoint]


class CardDetail(CardSummary):
    """Everything the collector knows about one card."""

    sim_state: str | None
    card_type: str | None
    plan_source: str | None = Field(description="import (plans import) or device (what the agent reported)")
    cycle_days_left: int | None
    usage_reported_at: datetime | None
    signal: dict[str, Any] = Field(
        description="the last telemetry: rssi_dbm, rsrp_dbm, sinr_db, bars (averages), registration, technology, "
        "operator, ts"
    )
    diagnosis: dict[str, Any] | None = Field(description="overall, findings, ts")
    directed: dict[str, Any] | None = Field(description="results, ts")
    device: DeviceInfo | None
    bindings: list[Binding]
    alarms: list[Alarm]
    events: list[dict[str, Any]]
    results: list[dict[str, Any]] = Field(description="the last command results")


def card_flags(
    total: int | None, used: int | None, expiry: date | None, today: date, thresholds: Thresholds
) -> list[str]:
    flags = []
    if total is not None and total > 0 and used is not None:
        if used >= total:
            flags.append("exhausted")
        elif (total - used) * 100 < total * thresholds.low_percent:
            flags.append("low")
    if expiry is not None:
        if expiry < today:
            flags.append("expired")
        elif expiry <= today + timedelta(days=thresholds.expiring_days):
            flags.append("expiring")
    return flags


def _plan_numbers(row: dict[str, Any]) -> tuple[int | None, float | None]:
    total, used = row.get("plan_total_bytes"), row.get("used_bytes")
    if total is None or used is None:
        return None, None
    return total - used, round(100.0 * used / total, 1) if total else None


def card_summary(row: dict[str, Any], today: date, thresholds: Thresholds) -> CardSummary:
    remaining, percent = _plan_numbers(row)
    expiry = row.get("expiry")
    return CardSummary(
        iccid=row["iccid"],
        imsi=row.get("imsi"),
        carrier=row.get("carrier"),
        company=row.get("company"),
        device_id=row.get("device_id"),
        device_name=row.get("device_name"),
        imei=row.get("imei"),
        in_device=row.get("device_id") is not None and row.get("unbound_at") is None,
        online=row.get("online"),
        last_seen=aware(row.get("last_seen")),
        plan_name=row.get("plan_name"),
        total_bytes=row.get("plan_total_bytes"),
        used_bytes=row.get("used_bytes"),
        remaining_bytes=remaining,
        used_percent=percent,
        cycle_start=row.get("cycle_start"),
        cycle_end=row.get("cycle_end"),
        expiry=expiry,
        days_to_expiry=(expiry - today).days if expiry else None,
        flags=card_flags(row.get("plan_total_bytes"), row.get("used_bytes"), expiry, today, thresholds),
    )


def card_detail(record: dict[str, Any], today: date, thresholds: Thresholds) -> CardDetail:
    device = record.get("device")
    summary = card_summary({**record, "online": device.get("online") if device else None}, today, thresholds)
    cycle_end = record.get("cycle_end")
    return CardDetail(
        **summary.model_dump(),
        sim_state=record.get("sim_state"),
        card_type=record.get("card_type"),
        plan_source=record.get("plan_source"),
        cycle_days_left=(cycle_end - today).days + 1 if cycle_end and cycle_end >= today else None,
        usage_reported_at=aware(record.get("usage_ts")),
        signal={
            "rssi_dbm": record.get("rssi_dbm"),
            "rsrp_dbm": record.get("rsrp_dbm"),
            "sinr_db": record.get("sinr_db"),
            "bars": record.get("bars"),
            "registration": record.get("registration"),
            "technology": record.get("technology"),
            "operator": record.get("operator"),
            "ts": _iso(record.get("telemetry_ts")),
        },
        diagnosis={
            "overall": record["diagnosis_overall"],
            "findings": json.loads(record["diagnosis_json"] or "[]"),
            "ts": _iso(record.get("diagnosis_ts")),
        }
        if record.get("diagnosis_overall")
        else None,
        directed={"results": json.loads(record["directed_json"]), "ts": _iso(record.get("directed_ts"))}
        if record.get("directed_json")
        else None,
        device=DeviceInfo(
            device_id=device["device_id"],
            name=device.get("name"),
            pn=device.get("pn"),
            type=device.get("type"),
            company=device.get("company"),
            imei=device.get("imei"),
            manufacturer=device.get("manufacturer"),
            model=device.get("model"),
            revision=device.get("revision"),
            online=device.get("online"),
            agent_version=device.get("agent_version"),
            last_seen=aware(device.get("last_seen")),
            iccid=device.get("iccid"),
        )
        if device
        else None,
        bindings=[
            Binding(device_id=b["device_id"], imei=b["imei"], since=_stamp(b["since"]), until=aware(b["until"]))
            for b in record.get("bindings", ())
        ],
        alarms=[
            Alarm(
                kind=a["kind"],
                iccid=a["iccid"],
                device_id=a["device_id"],
                previous_device_id=a["previous_device_id"],
                previous=a["previous"],
                current=a["current"],
                ts=_stamp(a["ts"]),
            )
            for a in record.get("alarms", ())
        ],
        events=[
            {
                "event": e["event"],
                "previous": e["previous"],
                "current": e["current"],
                "ts": _iso(e["ts"]),
            }
            for e in record.get("events", ())
        ],
        results=[
            {
                "request_id": r["request_id"],
                "command": r["command"],
                "ok": r["ok"],
                "result": json.loads(r["result_json"]) if r["result_json"] else None,
                "error_code": r["error_code"],
                "ts": _iso(r["ts"]),
            }
            for r in record.get("results", ())
        ],
    )


def _stamp(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    stamped = aware(value)
    return stamped.isoformat() if stamped else None


# ---------------------------------------------------------------- terminal


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.1f}"


def render_cards(listing: CardList) -> str:
    if not listing.cards:
        return "no cards match\n"
    head = f"{'ICCID':<22} {'device':<14} {'company':<10} {'used/total MB':>17} {'left':>6} {'expiry':<10} flags"
    lines = [head]
    for card in listing.cards:
        used_total = f"{_mb(card.used_bytes)}/{_mb(card.total_bytes)}"
        left = f"{100 - card.used_percent:.0f}%" if card.used_percent is not None else "-"
        device = (card.device_id or "-") + ("" if card.in_device or card.device_id is None else "?")
        lines.append(
            f"{card.iccid:<22} {device[:14]:<14} {(card.company or '-')[:10]:<10} {used_total:>17} {left:>6} "
            f"{card.expiry.isoformat() if card.expiry else '-':<10} {','.join(card.flags)}"
        )
    shown = f"{listing.offset + 1}-{listing.offset + len(listing.cards)}"
    lines.append(f"{shown} of {listing.total} cards")
    return "\n".join(lines) + "\n"


_BLOCKS = " ▁▂▃▄▅▆▇█"


def bar_chart(points: list[UsagePoint], *, width: int = 40, labels: bool = True) -> list[str]:
    """Horizontal bars, one line per period, scaled to the largest."""
    top = max((p.total_bytes for p in points), default=0)
    lines = []
    for point in points:
        filled = 0 if top == 0 else point.total_bytes * width / top
        bar = "█" * int(filled) + (_BLOCKS[round((filled - int(filled)) * 8)] if filled % 1 else "")
        label = f"{point.period:>10} " if labels else ""
        lines.append(f"{label}{bar:<{width}} {_mb(point.total_bytes):>8} MB")
    return lines


def sparkline(points: list[UsagePoint]) -> str:
    """One character per period: the shape of the last 30 days in one line."""
    top = max((p.total_bytes for p in points), default=0)
    if top == 0:
        return _BLOCKS[1] * len(points)
    return "".join(_BLOCKS[max(1, round(p.total_bytes * 8 / top))] if p.total_bytes else _BLOCKS[1] for p in points)


def render_card(card: CardDetail, days: UsageSeries, months: UsageSeries) -> str:
    lines = [f"card {card.iccid}" + (f"  [{', '.join(card.flags)}]" if card.flags else "")]
    device = card.device
    if device is not None:
        state = {True: "online", False: "offline", None: "status unknown"}[device.online]
        lines += [
            f"device     {device.device_id}  {device.name or ''}  PN {device.pn or '-'}  type {device.type or '-'}",
            f"           IMEI {device.imei or '-'}  {device.manufacturer or ''} {device.model or ''}  {state}, "
            f"last seen {device.last_seen:%Y-%m-%d %H:%M} UTC"
            if device.last_seen
            else f"           IMEI {device.imei or '-'}  {state}",
        ]
        if not card.in_device:
            lines.append(f"           the device now reports another card ({device.iccid}): 机卡分离 risk")
    else:
        lines.append("device     none reported this card yet")
    lines += [
        f"SIM        ICCID {card.iccid}  IMSI {card.imsi or '-'}  carrier {card.carrier or '-'}  "
        f"company {card.company or '-'}  state {card.sim_state or '-'}",
        f"plan       {card.plan_name or '-'} ({card.plan_source or 'unknown'})  type {card.card_type or '-'}",
        f"           used {_mb(card.used_bytes)} MB / total {_mb(card.total_bytes)} MB, remaining "
        f"{_mb(card.remaining_bytes)} MB" + (f" ({100 - card.used_percent:.1f} % left)" if card.used_percent else ""),
        f"           cycle {card.cycle_start or '-'} – {card.cycle_end or '-'}"
        + (f", {card.cycle_days_left} days left" if card.cycle_days_left is not None else "")
        + f"; card valid until {card.expiry or '-'}"
        + (f" ({card.days_to_expiry} days)" if card.days_to_expiry is not None else ""),
    ]
    signal = card.signal
    if signal.get("ts"):
        lines.append(
            f"signal     RSSI {signal['rssi_dbm']} dBm  RSRP {signal['rsrp_dbm']} dBm  bars {signal['bars']}  "
            f"{signal['registration'] or '-'} {signal['technology'] or ''} {signal['operator'] or ''}"
        )
    lines += ["", f"last 30 days (MB a day, max {_mb(max(p.total_bytes for p in days.points))})"]
    lines.append("  " + sparkline(days.points))
    lines.append(f"  {days.points[0].period} … {days.points[-1].period}")
    lines += ["", "last 12 months", *("  " + line for line in bar_chart(months.points, width=30))]
    if card.diagnosis:
        lines += ["", f"diagnosis  {card.diagnosis['overall']} ({card.diagnosis['ts']})"]
        lines += [f"  {f['severity']:<8}{f['code']}: {f['summary']}" for f in card.diagnosis["findings"]]
    if card.alarms:
        lines += ["", "alarms"]
        for alarm in card.alarms:
            if alarm.kind == "card_moved":
                text = (
                    f"card moved from {alarm.previous_device_id} (IMEI {alarm.previous}) "
                    f"to {alarm.device_id} (IMEI {alarm.current})"
                )
            else:
                text = f"device {alarm.device_id} swapped card {alarm.previous} for {alarm.current}"
            lines.append(f"  {alarm.ts:%Y-%m-%d %H:%M} {alarm.kind}: {text}")
    if len(card.bindings) > 1:
        lines += ["", "binding history"]
        lines += [
            f"  {b.since:%Y-%m-%d %H:%M} – {f'{b.until:%Y-%m-%d %H:%M}' if b.until else 'now':<16} "
            f"{b.device_id} IMEI {b.imei or '-'}"
            for b in card.bindings
        ]
    return "\n".join(lines) + "\n"
