"""The data layer on SQLite and PostgreSQL: migrations, idempotency, bindings and alarms, filters, usage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from collector_support import NOW, TODAY, clock
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.dialects import sqlite

from iotcard.collector import (
    FILTER_FLAGS,
    FILTERS,
    CardQuery,
    Store,
    StoreError,
    Thresholds,
    card_flags,
    database_url,
    decode,
)
from iotcard.collector._ingest import Accepted
from iotcard.collector._schema import MIGRATIONS, SCHEMA_VERSION
from iotcard.collector._store import MIB, _date_text, _datetime_text
from iotcard.simulators.fleet import Fleet, Message


def accepted(messages: list[Message]) -> list[Accepted]:
    out = []
    for message in messages:
        decoded = decode(message.topic, message.payload, "iotcard/v1")
        assert isinstance(decoded, Accepted), decoded
        out.append(decoded)
    return out


def test_migrations_are_versioned_and_refuse_a_newer_schema(db_url: str) -> None:
    with Store(db_url, writer=True, clock=clock) as store:
        assert store.schema_version() == SCHEMA_VERSION == 8
        assert store.migrate() == []  # already there: nothing applied twice
        with store.engine.begin() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError) as caught:
        Store(db_url, clock=clock)
    assert caught.value.code == "schema_too_new" and "99" in caught.value.message


def _shape(url: str) -> dict[str, object]:
    """Every table's columns (name, type, nullable), primary key, indexes and unique constraints, as the database
    reports them."""
    engine = create_engine(database_url(url))
    try:
        found = inspect(engine)
        return {
            name: (
                sorted((col["name"], type(col["type"]).__name__, col["nullable"]) for col in found.get_columns(name)),
                found.get_pk_constraint(name)["constrained_columns"],
                sorted((ix["name"], tuple(ix["column_names"]), ix["unique"]) for ix in found.get_indexes(name)),
                sorted(tuple(uq["column_names"]) for uq in found.get_unique_constraints(name)),
            )
            for name in found.get_table_names()
        }
    finally:
        engine.dispose()


@pytest.mark.parametrize("version", [step[0] for step in MIGRATIONS])
def test_a_database_of_the_hand_kept_migrations_upgrades_in_place_to_the_fresh_schema(
    version: int, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = create_engine(database_url(db_url))
    with engine.begin() as conn:  # what a collector of that release left behind
        for number, name, apply in MIGRATIONS[:version]:
            apply(conn)
            conn.execute(
                text("INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, '2026-01-01')"),
                {"v": number, "n": name},
            )
        conn.execute(text("INSERT INTO cards (iccid, used_bytes) VALUES ('89860000000000000001', 123)"))
        conn.execute(
            text("INSERT INTO usage_daily (iccid, day, rx_bytes, tx_bytes) VALUES ('89860000000000000001', :d, 5, 6)"),
            {"d": TODAY},
        )
    engine.dispose()
    with Store(db_url, writer=True, clock=clock) as store:
        assert store.schema_version() == SCHEMA_VERSION
        record = store.card("89860000000000000001")
        assert record is not None and record["used_bytes"] == 123  # the data stays
        assert store.usage("89860000000000000001", "day", today=TODAY, periods=1)[0]["total_bytes"] == 11
        assert store.list_cards(CardQuery(search="0000001"), today=TODAY)[0] == 1  # the search index has it
    if db_url.startswith("sqlite"):
        fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    else:
        fresh = request.getfixturevalue("postgres").new_database()
    with Store(fresh, clock=clock) as store:
        assert store.migrate() == []
    upgraded, made = _shape(db_url), _shape(fresh)
    assert "schema_migrations" not in upgraded and "alembic_version" in upgraded
    assert upgraded == made


def test_a_batch_counts_once_however_often_it_arrives(db_url: str) -> None:
    fleet = Fleet.build(5, today=TODAY)
    messages = [*fleet.hello(NOW), *fleet.rounds(NOW, 2)]
    batch = accepted(messages)
    with Store(db_url, writer=True, clock=clock) as store:
        first = store.apply(batch[:7])
        again = store.apply(batch)  # redelivered, overlapping: the first 7 are duplicates
        third = store.apply(batch + batch[:3])  # everything again, duplicated inside the batch too
        assert (first.accepted, first.duplicates) == (7, 0)
        assert (again.accepted, again.duplicates) == (len(batch) - 7, 7)
        assert (third.accepted, third.duplicates) == (0, len(batch) + 3)
        assert store.count("received") == len(messages)
        device = fleet.devices[0]
        record = store.card(device.iccid)
        assert record is not None
        assert record["used_bytes"] == device.used_bytes  # cycle totals of the last telemetry
        days = store.usage(device.iccid, "day", today=TODAY, periods=3)
        assert sum(p["total_bytes"] for p in days) == 2 * 4096  # two rounds of hourly deltas, once each
        assert store.counters() == {"accepted": len(messages), "duplicates": len(batch) + 10}


def test_an_older_message_arriving_late_does_not_overwrite_a_newer_one(db_url: str) -> None:
    fleet = Fleet.build(1, today=TODAY)
    device = fleet.devices[0]
    early = device.telemetry(NOW - timedelta(hours=8), add_bytes=1000)
    late = device.telemetry(NOW, add_bytes=1000)
    with Store(db_url, writer=True, clock=clock) as store:
        store.apply(accepted([late]))
        store.apply(accepted([early]))
        record = store.card(device.iccid)
        assert record is not None
        assert record["used_bytes"] == device.used_bytes  # the newer total stands
        months = store.usage(device.iccid, "month", today=TODAY, periods=2)
        assert sum(p["total_bytes"] for p in months) == 2000  # but both hours' deltas count


def test_a_card_swap_raises_the_binding_alarms(db_url: str) -> None:
    fleet = Fleet.build(3, today=TODAY)
    a, b, _ = fleet.devices
    card_a, card_b = a.iccid, b.iccid
    with Store(db_url, writer=True, clock=clock) as store:
        store.apply(accepted([*fleet.hello(NOW - timedelta(hours=1))]))
        with store.engine.begin() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM alarms")).scalar() == 0
        result = store.apply(accepted(fleet.swap(a, b, NOW)))
        kinds = sorted((alarm["kind"], alarm["iccid"], alarm["device_id"]) for alarm in result.alarms)
        # a and b belong to different companies: each device now claims the other company's card, which is recorded
        # beside the binding alarms and changes neither card's company.
        assert kinds == sorted(
            [
                ("card_moved", card_a, b.device_id),
                ("card_moved", card_b, a.device_id),
                ("card_swapped", card_a, b.device_id),
                ("card_swapped", card_b, a.device_id),
                ("company_claimed", card_a, b.device_id),
                ("company_claimed", card_b, a.device_id),
            ]
        )
        record = store.card(card_a)
        assert record is not None
        assert (record["device_id"], record["imei"]) == (b.device_id, b.imei)
        assert (record["company"], record["claimed_company"]) == (a.company, b.company)
        assert [(x["device_id"], x["until"] is None) for x in record["bindings"]] == [
            (b.device_id, True),
            (a.device_id, False),
        ]
        moved = next(x for x in record["alarms"] if x["kind"] == "card_moved" and x["iccid"] == card_a)
        assert (moved["previous_device_id"], moved["previous"], moved["current"]) == (a.device_id, a.imei, b.imei)
        # Swapping back is another move; a repeated identity is not.
        assert store.apply(accepted(fleet.swap(a, b, NOW + timedelta(minutes=1)))).alarms != []
        assert store.apply(accepted([a.identity(NOW + timedelta(minutes=2))])).alarms == []


def test_filters_return_exactly_the_expected_cards(db_url: str) -> None:
    fleet = Fleet.build(60, today=TODAY)
    with Store(db_url, writer=True, clock=clock) as store:
        store.apply(accepted([*fleet.hello(NOW), *fleet.rounds(NOW, 1)]))
        today = TODAY
        for name in FILTERS:
            total, rows = store.list_cards(CardQuery(filter=name, limit=1000), today=today)
            assert {row["iccid"] for row in rows} == fleet.expected(name), name
            assert total == len(fleet.expected(name)) == 3
        total, rows = store.list_cards(CardQuery(company="Globex", filter="low"), today=today)
        assert {row["iccid"] for row in rows} == fleet.expected("low", "Globex") and total >= 1
        total, rows = store.list_cards(CardQuery(company="ACME"), today=today)
        assert total == sum(1 for d in fleet.devices if d.company == "ACME")
        device = fleet.devices[17]
        for needle in (device.iccid[-6:], device.imei[-5:], device.device_id, device.name.lower()):
            total, rows = store.list_cards(CardQuery(search=needle), today=today)
            assert device.iccid in {row["iccid"] for row in rows}, needle
        total, rows = store.list_cards(CardQuery(search="50%_"), today=today)
        assert total == 0  # LIKE wildcards in the search text are taken literally
        total, rows = store.list_cards(CardQuery(limit=7, offset=7), today=today)
        assert total == 60 and len(rows) == 7
        # The flags shown on a card agree with the SQL filters, card by card.
        _, rows = store.list_cards(CardQuery(limit=1000), today=today)
        for threshold in (Thresholds(), Thresholds(low_percent=75.0, expiring_days=250)):
            members = {
                name: {r["iccid"] for r in store.list_cards(CardQuery(filter=name, limit=1000), today=today,
                                                            thresholds=threshold)[1]}
                for name in FILTERS
            }  # fmt: skip
            for row in rows:
                flags = set(card_flags(row, today, threshold)) & set(FILTER_FLAGS.values())
                assert flags == {FILTER_FLAGS[name] for name in FILTERS if row["iccid"] in members[name]}


def test_imported_plans_win_over_what_the_device_says(db_url: str) -> None:
    fleet = Fleet.build(2, today=TODAY)
    device = fleet.devices[1]
    from iotcard.collector import parse_plans

    rows, problems = parse_plans(f"iccid,plan_name,total_mb\n{device.iccid},Imported 5GB,5120\n")
    assert problems == []
    with Store(db_url, writer=True, clock=clock) as store:
        store.apply(accepted([*fleet.hello(NOW), *fleet.rounds(NOW, 1)]))
        record = store.card(device.iccid)
        assert record is not None and record["plan_source"] == "device"
        assert record["plan_total_bytes"] == round(device.total_mb * MIB)
        assert store.import_plans(rows) == 1
        store.apply(accepted([device.telemetry(NOW + timedelta(hours=1))]))
        record = store.card(device.iccid)
        assert record is not None
        assert (record["plan_source"], record["plan_name"], record["plan_total_bytes"]) == (
            "import",
            "Imported 5GB",
            5120 * MIB,
        )


def test_decode_refuses_what_the_contract_refuses() -> None:
    fleet = Fleet.build(1, today=TODAY)
    good = fleet.devices[0].telemetry(NOW)
    assert isinstance(decode(good.topic, good.payload, "iotcard/v1"), Accepted)
    wrong_device = decode("iotcard/v1/other/telemetry", good.payload, "iotcard/v1")
    assert wrong_device is not None and not isinstance(wrong_device, Accepted)
    assert "differs from the topic" in wrong_device.reason and wrong_device.device_id == "other"
    bad = decode(good.topic, good.payload.replace(b'"seq":1,', b'"seq":-1,'), "iotcard/v1")
    assert bad is not None and not isinstance(bad, Accepted) and bad.reason.startswith("seq: ")
    assert decode("iotcard/v1/x/cmd/ping", b"{}", "iotcard/v1") is None  # the cloud's own commands
    assert decode("iotcard/v1/x/status", b"", "iotcard/v1") is None  # a cleared retained message
    unknown = decode("iotcard/v1/x/weather", b'{"a": 1}', "iotcard/v1")
    assert unknown is not None and not isinstance(unknown, Accepted) and "unknown topic" in unknown.reason


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 1, 10, 0),
        datetime(2026, 1, 2, 3, 4, 5, 6),
        datetime(999, 5, 5, 1, 1, 1, 10),
        datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        date(2026, 12, 1),
        date(5, 1, 1),
        None,
    ],
)
def test_the_ingest_stores_dates_and_times_as_sqlalchemy_does_on_sqlite(value: datetime | date | None) -> None:
    """The ingest's executemany on SQLite hands dates and times to the driver as text itself (Store._many): it must
    be SQLAlchemy's text to the character, or comparisons in SQL (``reported_at <= ...``) would go wrong."""
    dialect = sqlite.dialect()
    assert _datetime_text(value) == sqlite.DATETIME().bind_processor(dialect)(value)  # type: ignore[misc,no-untyped-call]
    assert _date_text(value) == sqlite.DATE().bind_processor(dialect)(value)  # type: ignore[misc,no-untyped-call]
