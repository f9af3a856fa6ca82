"""Search benchmark: ``list_cards(search=…)`` over 100,000 cards, with the trigram index (schema 6) and with the
four-column ``LIKE '%…%'`` scan it replaced, on SQLite and PostgreSQL.

The searches are what people type: the last 8 digits of an ICCID, the last 6 of an IMEI, a device id, the end of a
device name, and a part that matches nothing. Each runs as the list page does (count + first page of 20).

Run: ``.venv/bin/python bench/bench_search.py`` (``--cards``, ``--searches``, ``--no-postgres``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "collector")]

from pg_support import PostgresCluster, postgres_available  # noqa: E402
from sqlalchemy import or_  # noqa: E402

from iotcard.collector import CardQuery, Store, decode  # noqa: E402
from iotcard.collector._ingest import Accepted  # noqa: E402
from iotcard.simulators.fleet import Fleet  # noqa: E402

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def seed(store: Store, cards: int) -> float:
    fleet = Fleet.build(cards, today=NOW.date())
    started = time.perf_counter()
    batch: list[Accepted] = []
    for device in fleet.devices:
        item = decode(device.identity(NOW).topic, device.identity(NOW).payload, "iotcard/v1")
        assert isinstance(item, Accepted)
        batch.append(item)
        if len(batch) == 5000:
            store.apply(batch)
            batch = []
    store.apply(batch)
    return time.perf_counter() - started


def searches(cards: int, count: int) -> list[str]:
    rng = random.Random(7)
    fleet = Fleet.build(min(cards, 1000), today=NOW.date())
    out = []
    for n in range(count):
        device = fleet.devices[rng.randrange(len(fleet.devices))]
        kind = n % 5
        if kind == 0:  # the end of the number printed on the card (the simulated ICCIDs are zeros before it)
            out.append(device.iccid[-8:])
        elif kind == 1:
            out.append(device.imei[-6:])
        elif kind == 2:
            out.append(device.device_id)
        elif kind == 3:
            out.append(device.name.lower()[-7:])
        else:
            out.append("zz-no-such-thing")
    return out


def run(store: Store, texts: list[str], *, scan: bool) -> dict[str, float]:
    if scan:  # what search did before schema 6: four LIKEs over every card
        c = store.tables.cards.c

        def old_search(search: str) -> Any:
            pattern = "%" + search + "%"
            return or_(*(col.ilike(pattern) for col in (c.iccid, c.imei, c.device_id, c.device_name)))

        store._search = old_search  # type: ignore[method-assign]
    today = NOW.date()
    store.list_cards(CardQuery(search=texts[0], limit=20), today=today)  # warm the cache
    timings = []
    for text in texts:
        started = time.perf_counter()
        store.list_cards(CardQuery(search=text, limit=20), today=today)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    texts = searches(args.cards, args.searches)
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'search.sqlite3'}")]
        cluster = None
        if not args.no_postgres and postgres_available():
            cluster = PostgresCluster()
            cluster.start()
            targets.append(("postgresql", cluster.new_database()))
        try:
            for label, url in targets:
                with Store(url, writer=True) as store:
                    seeded = seed(store, args.cards)
                    indexed = run(store, texts, scan=False)
                with Store(url) as store:
                    scanned = run(store, texts, scan=True)
                print(
                    f"{label:<11} {args.cards} cards (seeded in {seeded:.1f} s), {len(texts)} searches, "
                    "count + page of 20:"
                    f"\n  trigram index: p50 {indexed['p50']:.1f} ms  p99 {indexed['p99']:.1f} ms"
                    f"\n  LIKE scan:     p50 {scanned['p50']:.1f} ms  p99 {scanned['p99']:.1f} ms"
                )
        finally:
            if cluster is not None:
                cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
