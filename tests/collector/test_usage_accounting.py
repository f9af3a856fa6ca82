"""The card record equals the device's meter: absolute figures per bucket, the latest report winning.

A simulated device meters bytes hour by hour across a cycle boundary (and makes flow checks that resend its figures);
its reports reach the collector duplicated, replayed, shuffled and cut into random batches. Whatever the order, the
stored days, months and cycles are the device's, to the byte. Around that: last cycle's report never flags this
cycle, over-plan cards show overage instead of negative remaining, a report without signal keeps the last signal,
a card moved within one batch still raises its alarm and keeps every holder, the carrier's figure sits beside the
device's, and agent and collector agree on every flag (the table test at the end).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from collector_support import ZONE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotcard.agent.usage import MIB, Plan, PlanFlag, plan_status
from iotcard.collector import FILTER_FLAGS, FILTERS, CardQuery, PlanRow, Store, Thresholds, decode
from iotcard.collector._ingest import Accepted
from iotcard.collector._views import card_detail, card_flags
from iotcard.contract.messages import HourlyUsage, TelemetryMessage, Topic, UsageReport, card_state, encode
from iotcard.simulators.fleet import Fleet, Message, SimDevice

# November's cycle ends on the 30th; the device goes on into December's (Shanghai dates).
START = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
DECEMBER = (date(2026, 12, 1), date(2026, 12, 31))


def accepted(messages: list[Message]) -> list[Accepted]:
    out = []
    for message in messages:
        decoded = decode(message.topic, message.payload, "iotcard/v1")
        assert isinstance(decoded, Accepted), decoded
        out.append(decoded)
    return out


def device() -> SimDevice:
    sim = Fleet.build(1, today=NOVEMBER[0]).devices[0]
    sim.cycle_start, sim.cycle_end, sim.used_bytes = *NOVEMBER, 0
    return sim


def meter_run(sim: SimDevice, steps: list[tuple[int, int]]) -> Iterator[tuple[datetime, Message]]:
    """Reports every ``hours`` after the last with ``add`` more bytes (0: a flow check resending the figures);
    the device starts a new cycle (its meter at 0) at its first report in December, Shanghai time."""
    ts = START
    for hours, add in steps:
        ts += timedelta(hours=hours, minutes=7)
        if ts.astimezone(ZONE).date() >= DECEMBER[0] and sim.cycle_start != DECEMBER[0]:
            sim.cycle_start, sim.cycle_end, sim.used_bytes = *DECEMBER, 0
        yield ts, sim.telemetry(ts, add_bytes=add)


def stored_matches_meter(store: Store, sim: SimDevice, cycle_totals: dict[date, int], read_at: datetime) -> None:
    today = read_at.astimezone(ZONE).date()
    days = store.usage(sim.iccid, "day", today=today, periods=10)
    assert {p["period"]: p["total_bytes"] for p in days if p["total_bytes"]} == {
        d.isoformat(): n for d, n in sim.days.items() if n
    }
    months = store.usage(sim.iccid, "month", today=today, periods=3)
    assert {p["period"]: p["total_bytes"] for p in months if p["total_bytes"]} == {
        m: n for m, n in sim.months.items() if n
    }
    assert {c["cycle_start"]: c["total_bytes"] for c in store.cycles(sim.iccid)} == cycle_totals
    record = store.card(sim.iccid)
    assert record is not None and record["used_bytes"] == sim.used_bytes  # the latest cycle's figure


STEPS = st.lists(
    st.tuples(st.integers(0, 9), st.sampled_from([0, 0, 1, 4096, 70_000, 1_000_003])), min_size=1, max_size=14
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, seed=st.integers(0, 2**32 - 1))
def test_any_order_duplicates_and_replays_give_the_meter_figures(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, int]], seed: int
) -> None:
    rng = random.Random(seed)
    sim = device()
    sent = []
    cycle_totals: dict[date, int] = {}
    for _, message in meter_run(sim, steps):
        sent.append(message)
        cycle_totals[sim.cycle_start] = sim.used_bytes
    # At-least-once delivery: some reports twice or three times, replays of old ones later, any order.
    wire = [m for m in sent for _ in range(rng.choice([1, 1, 2, 3]))]
    wire += rng.sample(sent, k=min(len(sent), rng.randint(0, 3)))
    rng.shuffle(wire)
    url = f"sqlite:///{tmp_path_factory.mktemp('acct') / 'c.sqlite3'}"
    read_at = START + timedelta(days=4)
    with Store(url, writer=True, clock=lambda: read_at) as store:
        while wire:
            cut = rng.randint(1, len(wire))
            store.apply(accepted(wire[:cut]))
            wire = wire[cut:]
        stored_matches_meter(store, sim, cycle_totals, read_at)


def test_flow_checks_restarts_and_replays_change_nothing(tmp_path: Path) -> None:
    sim = device()
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    read_at = START + timedelta(days=3)
    messages = [m for _, m in meter_run(sim, [(1, 5_000_000), (0, 0), (0, 0), (2, 1_500_000), (0, 0), (0, 0)])]
    with Store(url, writer=True, clock=lambda: read_at) as store:
        for message in messages:  # one at a time, as a slow collector would see them
            store.apply(accepted([message]))
        store.apply(accepted(messages))  # the whole lot again: a replay after a crash
    with Store(url, writer=True, clock=lambda: read_at) as store:  # a restarted collector
        store.apply(accepted(messages[::-1]))
        stored_matches_meter(store, sim, {NOVEMBER[0]: 6_500_000}, read_at)
        days = store.usage(sim.iccid, "day", today=read_at.astimezone(ZONE).date(), periods=5)
        assert sum(p["total_bytes"] for p in days) == 6_500_000  # four flow checks added nothing


def test_last_cycles_report_never_flags_the_new_cycle(tmp_path: Path) -> None:
    sim = device()
    sim.total_mb = 100.0
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    late_november = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 20:00 on the 30th in Shanghai
    first_of_december = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with Store(url, writer=True, clock=lambda: first_of_december) as store:
        store.apply(accepted([sim.telemetry(late_november, add_bytes=100 * MIB)]))
        today = first_of_december.astimezone(ZONE).date()
        record = store.card(sim.iccid)
        assert record is not None
        detail = card_detail(record, today, Thresholds())
        assert detail.used_bytes is None and "data_exhausted" not in detail.flags  # not known yet for December
        assert detail.usage_cycle_start == NOVEMBER[0]  # what the last report was about
        assert store.list_cards(CardQuery(filter="exhausted"), today=today)[0] == 0
        # In November the same report did make it exhausted.
        november = late_november.astimezone(ZONE).date()
        assert "data_exhausted" in card_detail(record, november, Thresholds()).flags
        assert store.list_cards(CardQuery(filter="exhausted"), today=november)[0] == 1
        # December's first report replaces it; a late November report arriving after it changes nothing.
        sim.cycle_start, sim.cycle_end, sim.used_bytes = *DECEMBER, 0
        december_report = sim.telemetry(first_of_december, add_bytes=2 * MIB)
        late = Fleet.build(1, today=NOVEMBER[0]).devices[0]
        late.seq, late.cycle_start, late.cycle_end, late.used_bytes = 100, *NOVEMBER, 100 * MIB
        store.apply(accepted([december_report, late.telemetry(late_november + timedelta(minutes=30), add_bytes=0)]))
        record = store.card(sim.iccid)
        assert record is not None and record["used_bytes"] == 2 * MIB
        assert card_detail(record, today, Thresholds()).flags == []
        assert {c["cycle_start"]: c["total_bytes"] for c in store.cycles(sim.iccid)} == {
            DECEMBER[0]: 2 * MIB,
            NOVEMBER[0]: 100 * MIB,
        }


def test_over_plan_shows_overage_and_a_report_without_signal_keeps_the_last(tmp_path: Path) -> None:
    sim = device()
    sim.total_mb = 10.0
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    at = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    with Store(url, writer=True, clock=lambda: at + timedelta(hours=2)) as store:
        store.apply(accepted([sim.telemetry(at, add_bytes=11 * MIB)]))
        store.apply(accepted([sim.telemetry(at + timedelta(hours=1), add_bytes=0, signal=False)]))  # 流量校验
        record = store.card(sim.iccid)
        assert record is not None
        detail = card_detail(record, date(2026, 11, 20), Thresholds())
        assert (detail.remaining_bytes, detail.overage_bytes, detail.used_percent) == (0, MIB, 110.0)
        assert detail.flags == ["data_exhausted"]
        assert detail.signal["rssi_dbm"] == -71.0 and detail.signal["registration"] == "home"


def test_a_card_moved_and_back_within_one_batch_keeps_every_holder(tmp_path: Path) -> None:
    fleet = Fleet.build(2, today=NOVEMBER[0])
    a, b = fleet.devices
    card, at = a.iccid, datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    with Store(url, writer=True, clock=lambda: at + timedelta(hours=1)) as store:
        store.apply(accepted([a.identity(at)]))
        b.iccid = card  # the card goes into device b for ten minutes, then back into a: all in one batch
        moved = [b.identity(at + timedelta(minutes=10)), a.identity(at + timedelta(minutes=20))]
        result = store.apply(accepted(moved))
        assert [(x["kind"], x["device_id"]) for x in result.alarms] == [
            ("card_moved", b.device_id),
            ("card_moved", a.device_id),
        ]
        record = store.card(card)
        assert record is not None and record["device_id"] == a.device_id
        holders = sorted((x["device_id"], x["since"], x["until"]) for x in record["bindings"])
        naive = [t.replace(tzinfo=None) for t in (at, at + timedelta(minutes=10), at + timedelta(minutes=20))]
        assert holders == sorted(
            [(a.device_id, naive[0], naive[1]), (b.device_id, naive[1], naive[2]), (a.device_id, naive[2], None)]
        )


def test_a_report_of_the_first_accounting_is_read_by_its_hour_totals(tmp_path: Path) -> None:
    sim = device()
    hour = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"

    def old_report(seq: int, minutes: int, hour_total: int) -> Message:
        model = TelemetryMessage(
            device_id=sim.device_id, iccid=sim.iccid, imei=sim.imei, seq=seq, ts=hour + timedelta(minutes=minutes),
            period_start=hour, period_end=hour + timedelta(minutes=minutes), samples=1, signal={},
            usage=UsageReport(
                cycle_start=NOVEMBER[0], cycle_end=NOVEMBER[1], cycle_rx_bytes=hour_total, cycle_tx_bytes=0,
                cycle_total_bytes=hour_total, hourly=[HourlyUsage(hour=hour, rx_bytes=hour_total, tx_bytes=0)],
            ),
        )  # fmt: skip
        return Message(sim.topics.topic(Topic.TELEMETRY), encode(model), False, sim.device_id, seq)

    with Store(url, writer=True, clock=lambda: hour + timedelta(hours=2)) as store:
        # The same hour reported three times as it grows (and once again): the day is the last total, not the sum.
        store.apply(accepted([old_report(1, 10, 1000), old_report(2, 30, 2500)]))
        store.apply(accepted([old_report(3, 50, 4000), old_report(2, 30, 2500)]))
        store.apply(accepted([old_report(4, 55, 4000)]))
        day = hour.astimezone(ZONE).date()
        days = store.usage(sim.iccid, "day", today=day, periods=1)
        months = store.usage(sim.iccid, "month", today=day, periods=1)
        assert days[0]["total_bytes"] == months[0]["total_bytes"] == 4000


def test_the_carrier_figure_beside_the_device_meter(tmp_path: Path) -> None:
    sim = device()
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    at = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    with Store(url, writer=True, clock=lambda: at + timedelta(days=1)) as store:
        store.apply(accepted([sim.telemetry(at, add_bytes=50 * MIB)]))
        store.apply(accepted([sim.telemetry(at + timedelta(days=1), add_bytes=10 * MIB)]))
        as_of = at + timedelta(hours=6)  # the carrier counted up to the 20th, before the 21st's bytes
        for carrier_mb, mismatch in ((51.0, False), (40.0, True)):
            store.import_plans(
                [PlanRow(sim.iccid, "IoT 1GB", 1024.0, *NOVEMBER, None, None, None, "enterprise",
                         round(carrier_mb * MIB), as_of)]
            )  # fmt: skip
            record = store.card(sim.iccid)
            assert record is not None
            detail = card_detail(record, date(2026, 11, 21), Thresholds())
            assert detail.device_used_at_carrier_as_of == 50 * MIB and detail.used_bytes == 60 * MIB
            assert detail.carrier_used_bytes == round(carrier_mb * MIB) and detail.device_category == "enterprise"
            assert detail.usage_difference_bytes == 50 * MIB - round(carrier_mb * MIB)
            assert ("usage_mismatch" in detail.flags) is mismatch


# ------------------------------------------------------------------ one rule on both sides

TODAYS = [date(2026, 12, d) for d in (1, 8, 19, 20, 24, 25, 26, 31)] + [date(2027, 2, d) for d in (19, 20, 26, 28)]
ENDS = [None, *(date(2026, 12, d) for d in (1, 15, 25, 26, 31)), date(2027, 1, 1), date(2027, 2, 28)]
USED = [0, 899, 901, 1000, 1200]


def test_agent_and_collector_flag_every_card_alike(tmp_path: Path) -> None:
    """For every day, expiry, explicit cycle end and usage: the agent's plan status, the collector's card flags and
    the collector's SQL filters say the same."""
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    cases = []
    with Store(url, writer=True) as store:
        rows = []
        for n, (expiry, cycle_end, used) in enumerate(
            (e, c, u) for e in ENDS for c in (None, date(2026, 12, 15), date(2026, 12, 31)) for u in USED
        ):
            iccid = f"8986{n:016d}"
            cases.append((iccid, expiry, cycle_end, used))
            rows.append(
                PlanRow(iccid, "1000 B", 1000 / MIB, date(2026, 12, 1) if cycle_end else None, cycle_end, expiry, None)
            )
        store.import_plans(rows)
        with store.engine.begin() as conn:
            for iccid, _, _, used in cases:
                conn.execute(
                    store.tables.cards.update()
                    .where(store.tables.cards.c.iccid == iccid)
                    .values(used_bytes=used, usage_cycle_start=None, usage_cycle_end=None)
                )
        for today in TODAYS:
            members = {
                name: {r["iccid"] for r in store.list_cards(CardQuery(filter=name, limit=10_000), today=today)[1]}
                for name in FILTERS
            }
            for iccid, expiry, cycle_end, used in cases:
                record = store.card(iccid)
                assert record is not None
                collector_flags = set(card_flags(record, today, Thresholds()))
                agent = plan_status(
                    Plan(total_bytes=1000, cycle_start=date(2026, 12, 1) if cycle_end else None, cycle_end=cycle_end,
                         expiry=expiry), used, today)  # fmt: skip
                agent_flags = set(agent.state.flags)
                assert collector_flags == agent_flags, (today, expiry, cycle_end, used)
                in_sql = {FILTER_FLAGS[name] for name in FILTERS if iccid in members[name]}
                assert in_sql == collector_flags & set(FILTER_FLAGS.values()), (today, expiry, cycle_end, used)
                # The agent's own enum says the same as the shared state.
                assert agent.has(PlanFlag.DATA_LOW) == ("data_low" in agent_flags)
                assert agent.has(PlanFlag.CYCLE_EXPIRING) == ("expiring" in agent_flags)


@pytest.mark.parametrize(
    ("expiry", "today", "flags"),
    [
        # 12-31: the pause starts on the 26th, so the reminder starts on the 20th (six days to renew)
        ("2026-12-19", "2026-12-12", {"expiring"}),
        ("2026-12-31", "2026-12-19", set()),
        ("2026-12-31", "2026-12-20", {"expiring", "renew_before_26th"}),
        ("2026-12-31", "2026-12-25", {"expiring", "renew_before_26th"}),
        ("2026-12-31", "2026-12-26", {"expiring", "renewal_paused"}),
        ("2026-12-31", "2027-01-01", {"expired"}),
        # a mid-month end: seven days, no pause before it
        ("2026-12-15", "2026-12-07", set()),
        ("2026-12-15", "2026-12-08", {"expiring"}),
        # February has 28 days in 2027
        ("2027-02-28", "2027-02-20", {"expiring", "renew_before_26th"}),
        ("2027-02-28", "2027-02-26", {"expiring", "renewal_paused"}),
        # the pause is over on the 1st: seven days' notice
        ("2027-01-01", "2026-12-24", set()),
        ("2027-01-01", "2026-12-25", {"expiring"}),
    ],
)
def test_the_26th_rule(expiry: str, today: str, flags: set[str]) -> None:
    state = card_state(
        total_bytes=None, used_bytes=None, expiry=date.fromisoformat(expiry), today=date.fromisoformat(today)
    )
    assert set(state.flags) == flags


def test_the_plans_file_carries_the_carrier_figure_and_the_device_category() -> None:
    from iotcard.collector._plans import parse_plans

    text = (
        "iccid,plan_name,total_mb,device_category,carrier_used_mb,carrier_as_of\n"
        "89860000000000000001,IoT 1GB,1024,maintenance,12.5,2026-12-01T08:00:00Z\n"
        "89860000000000000002,IoT 1GB,1024,,,\n"
        "89860000000000000003,IoT 1GB,1024,personal,12.5,\n"
        "89860000000000000004,IoT 1GB,1024,robot,,\n"
    )
    rows, problems = parse_plans(text)
    assert [(r.iccid[-1], r.device_category, r.carrier_used_bytes) for r in rows] == [
        ("1", "maintenance", round(12.5 * MIB)),
        ("2", None, None),
    ]
    assert rows[0].carrier_as_of == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert [(p.line, "go together" in p.message or "device_category" in p.message) for p in problems] == [
        (4, True),
        (5, True),
    ]
