"""Card records as the app shows them: the output models (pydantic, at the edge: ``--json`` and the HTTP API),
the quick-filter flags, and the terminal rendering with its charts. Pure functions of database rows and ``today``.

The card's figures and flags come from :func:`iotcard.contract.messages.card_state`, the one definition the agent uses
too
(``data_low`` 流量不足, ``data_exhausted`` 流量耗尽, ``expiring`` 卡临期 with the renewal pause from the 26th,
``expired`` 卡到期, ``renew_before_26th``, ``renewal_paused``), plus ``usage_mismatch`` when the carrier's figure
and the device meter's differ. The SQL filters in :mod:`iotcard.collector._store` are built from the same rule
(:func:`iotcard.contract.messages.expiring_end_ranges`); a table test holds the two together. Usage counts for the card
only
while it is for the cycle that contains ``today``: last cycle's report never flags this cycle.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from iotcard.contract.messages import CardState, card_state, usable_cycles

from ._store import MIB, Thresholds, aware

__all__ = [
    "SUMMARY_COLUMNS",
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
    "card_list_json",
    "card_summary",
    "cards_csv",
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
    used_bytes: int | None = Field(description="this cycle, from the device's meter; null before its first report")
    remaining_bytes: int | None = Field(description="never negative")
    overage_bytes: int | None = Field(description="used beyond the plan's size")
    used_percent: float | None
    cycle_start: date | None
    cycle_end: date | None
    expiry: date | None = Field(description="the card's last valid day")
    days_to_expiry: int | None
    renew_by: date | None = Field(description="the last day a renewal keeps the card from lapsing")
    flags: list[str] = Field(
        description="data_low, data_exhausted, expiring, expired (the app's quick filters), renew_before_26th, "
        "renewal_paused, usage_mismatch"
    )


class CardList(_Out):
    total: int = Field(description="cards matching, over all pages")
    limit: int
    offset: int
    cards: list[CardSummary]
    next_cursor: str | None = Field(
        default=None, description="keyset pagination: pass as cursor= for the next page; null on the last page"
    )


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
    usable_cycles: int | None = Field(description="可使用周期: whole cycles the card's validity still covers")
    usage_reported_at: datetime | None = Field(description="更新时间: when the device last reported this figure")
    usage_cycle_start: date | None = Field(description="the cycle the device's figure is for")
    usage_cycle_end: date | None
    device_category: str | None = Field(
        description="personal (个人设备), enterprise (企业设备), maintenance (维护设备)"
    )
    carrier_used_bytes: int | None = Field(description="the carrier's figure for this cycle (plans import)")
    carrier_as_of: datetime | None
    device_used_at_carrier_as_of: int | None = Field(description="the device meter's cycle figure up to that day")
    usage_difference_bytes: int | None = Field(description="device minus carrier at the carrier's as-of day")
    cycles: list[dict[str, Any]] = Field(
        default_factory=list, description="the device meter's figure per reported cycle, latest first"
    )
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


def current_usage(row: dict[str, Any], today: date) -> int | None:
    """The device's figure when it is for the cycle that contains ``today``; None otherwise (not yet reported)."""
    start, end = row.get("usage_cycle_start"), row.get("usage_cycle_end")
    if (start is not None and start > today) or (end is not None and end < today):
        return None
    used = row.get("used_bytes")
    return int(used) if used is not None else None


def state_of(row: dict[str, Any], today: date, thresholds: Thresholds) -> CardState:
    return card_state(
        total_bytes=row.get("plan_total_bytes"),
        used_bytes=current_usage(row, today),
        expiry=row.get("expiry"),
        cycle_end=row.get("cycle_end"),
        today=today,
        low_percent=thresholds.low_percent,
        expiring_days=thresholds.expiring_days,
    )


def card_flags(row: dict[str, Any], today: date, thresholds: Thresholds) -> list[str]:
    return _flags(state_of(row, today, thresholds), row, thresholds)


def _flags(state: CardState, row: dict[str, Any], thresholds: Thresholds) -> list[str]:
    flags = list(state.flags)
    if usage_mismatch(row, thresholds):
        flags.append("usage_mismatch")
    return flags


def usage_mismatch(row: dict[str, Any], thresholds: Thresholds) -> bool:
    """流量校验: the device's figure and the carrier's, at the carrier's as-of day, differ by more than the share."""
    carrier, device = row.get("carrier_used_bytes"), row.get("device_used_at_carrier_as_of")
    if carrier is None or device is None:
        return False
    return bool(abs(device - carrier) * 100 > max(device, carrier) * thresholds.mismatch_percent)


#: The columns of a card row (:meth:`Store.list_cards`) that :func:`summary_fields` reads.
SUMMARY_COLUMNS = frozenset(
    {
        "iccid", "imsi", "carrier", "company", "device_id", "device_name", "imei", "unbound_at", "online",
        "last_seen", "plan_name", "plan_total_bytes", "used_bytes", "usage_cycle_start", "usage_cycle_end",
        "cycle_start", "cycle_end", "expiry", "carrier_used_bytes", "device_used_at_carrier_as_of",
    }
)  # fmt: skip


def summary_fields(row: dict[str, Any], today: date, thresholds: Thresholds) -> dict[str, Any]:
    """The fields of :class:`CardSummary` for a card row, in its order, as plain values (not validated)."""
    state = state_of(row, today, thresholds)
    expiry = row.get("expiry")
    return {
        "iccid": row["iccid"],
        "imsi": row.get("imsi"),
        "carrier": row.get("carrier"),
        "company": row.get("company"),
        "device_id": row.get("device_id"),
        "device_name": row.get("device_name"),
        "imei": row.get("imei"),
        "in_device": row.get("device_id") is not None and row.get("unbound_at") is None,
        "online": row.get("online"),
        "last_seen": aware(row.get("last_seen")),
        "plan_name": row.get("plan_name"),
        "total_bytes": row.get("plan_total_bytes"),
        "used_bytes": state.used_bytes,
        "remaining_bytes": state.remaining_bytes,
        "overage_bytes": state.overage_bytes,
        "used_percent": state.used_percent,
        "cycle_start": row.get("cycle_start") or row.get("usage_cycle_start"),
        "cycle_end": row.get("cycle_end") or row.get("usage_cycle_end"),
        "expiry": expiry,
        "days_to_expiry": (expiry - today).days if expiry else None,
        "renew_by": state.renew_by,
        "flags": _flags(state, row, thresholds),
    }


def card_summary(row: dict[str, Any], today: date, thresholds: Thresholds) -> CardSummary:
    return CardSummary(**summary_fields(row, today, thresholds))


def card_list_json(
    rows: Iterable[dict[str, Any]],
    today: date,
    thresholds: Thresholds,
    *,
    total: int,
    limit: int,
    offset: int,
    next_cursor: str | None,
) -> bytes:
    """A :class:`CardList` as JSON, the same bytes as ``CardList(...).model_dump_json()``: the summaries as dicts
    serialized once by pydantic's serializer, without building and validating a model for each card (that was
    most of a page's CPU; the values come from our own database rows and :func:`summary_fields`)."""
    cards = [summary_fields(row, today, thresholds) for row in rows]
    listing = {"total": total, "limit": limit, "offset": offset, "cards": cards, "next_cursor": next_cursor}
    return to_json(listing)


def card_detail(record: dict[str, Any], today: date, thresholds: Thresholds) -> CardDetail:
    device = record.get("device")
    summary = card_summary({**record, "online": device.get("online") if device else None}, today, thresholds)
    cycle_end = summary.cycle_end
    carrier, at_as_of = record.get("carrier_used_bytes"), record.get("device_used_at_carrier_as_of")
    return CardDetail(
        **summary.model_dump(),
        sim_state=record.get("sim_state"),
        card_type=record.get("card_type"),
        plan_source=record.get("plan_source"),
        cycle_days_left=(cycle_end - today).days + 1 if cycle_end and cycle_end >= today else None,
        usable_cycles=usable_cycles(summary.cycle_start, summary.cycle_end, record.get("expiry")),
        usage_reported_at=aware(record.get("usage_ts")),
        usage_cycle_start=record.get("usage_cycle_start"),
        usage_cycle_end=record.get("usage_cycle_end"),
        device_category=record.get("device_category"),
        carrier_used_bytes=carrier,
        carrier_as_of=aware(record.get("carrier_as_of")),
        device_used_at_carrier_as_of=at_as_of,
        usage_difference_bytes=at_as_of - carrier if carrier is not None and at_as_of is not None else None,
        cycles=record.get("cycles", []),
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
    """RFC 3339 in UTC with ``Z``, as pydantic writes the models' datetimes."""
    stamped = aware(value)
    return stamped.isoformat().replace("+00:00", "Z") if stamped else None


# ---------------------------------------------------------------- export

CSV_COLUMNS = tuple(CardSummary.model_fields)


def cards_csv(rows: Iterable[dict[str, Any]], today: date, thresholds: Thresholds) -> Iterator[str]:
    """The card list as CSV for Excel: a UTF-8 byte order mark, a header of the list's field names, one line per
    card (flags separated by spaces, dates ISO 8601, times RFC 3339 UTC)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + _drain(buffer)
    for number, row in enumerate(rows, 1):
        card = card_summary(row, today, thresholds).model_dump(mode="json")
        card["flags"] = " ".join(card["flags"])
        writer.writerow(["" if card[name] is None else _cell(card[name]) for name in CSV_COLUMNS])
        if number % 500 == 0:
            yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
        left = f"{max(100 - card.used_percent, 0):.0f}%" if card.used_percent is not None else "-"
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


def render_card(card: CardDetail, days: UsageSeries, months: UsageSeries, zone: tzinfo = UTC) -> str:
    """The card for a terminal; times in ``zone`` (the collector's), named once at the end."""

    def local(value: datetime | str) -> str:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"

    lines = [f"card {card.iccid}" + (f"  [{', '.join(card.flags)}]" if card.flags else "")]
    device = card.device
    if device is not None:
        state = {True: "online", False: "offline", None: "status unknown"}[device.online]
        lines += [
            f"device     {device.device_id}  {device.name or ''}  PN {device.pn or '-'}  type {device.type or '-'}",
            f"           IMEI {device.imei or '-'}  {device.manufacturer or ''} {device.model or ''}  {state}, "
            f"last seen {local(device.last_seen)}"
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
        f"{_mb(card.remaining_bytes)} MB"
        + (f" ({max(100 - card.used_percent, 0):.1f} % left)" if card.used_percent is not None else "")
        + (f", {_mb(card.overage_bytes)} MB over the plan" if card.overage_bytes else "")
        + (f"; updated {local(card.usage_reported_at)}" if card.usage_reported_at else ""),
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
        lines += ["", f"diagnosis  {card.diagnosis['overall']} ({local(card.diagnosis['ts'])})"]
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
            lines.append(f"  {local(alarm.ts)} {alarm.kind}: {text}")
    if len(card.bindings) > 1:
        lines += ["", "binding history"]
        lines += [
            f"  {local(b.since)} – {local(b.until) if b.until else 'now':<16} {b.device_id} IMEI {b.imei or '-'}"
            for b in card.bindings
        ]
    lines += ["", f"times in {getattr(zone, 'key', None) or zone}"]
    return "\n".join(lines) + "\n"
