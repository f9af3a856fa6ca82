"""Web console benchmark: ``iotcard-collector serve`` (FastAPI on uvicorn) over 100,000 cards in SQLite, timed to
the first byte of each page, as a browser waits for it.

- the card list with the quick filter 流量不足 (``/console/cards?filter=low``, 50 a page, the badges, the totals and
  the filter menus on every page), pages 1-20, as an enterprise admin (every company) and as one company's viewer,
  with the server's default 2 s count cache and with it off (every page counts and scans);
- a card's page (``/console/cards/{iccid}``: the card, its device, bindings, alarms, 30 days and 12 months of usage,
  two SVG charts), for random cards.

Goals: list p95 <= 150 ms, card p95 <= 100 ms to the first byte. Run: ``.venv/bin/python bench/bench_console.py``
(``--cards``, ``--requests``, ``--db`` to reuse a seeded database).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "agent" / "telemetry")]

from bench_collector import _serve as serve  # noqa: E402  (the same `iotcard-collector serve` on a free port)

from iotcard.collector import Store, TokenAdmin, decode  # noqa: E402
from iotcard.collector._ingest import Accepted  # noqa: E402
from iotcard.simulators.fleet import Fleet  # noqa: E402

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def seed(db_url: str, cards: int) -> tuple[list[str], dict[str, str]]:
    """``cards`` cards (identity and one telemetry each, 1 in 20 low), an enterprise admin and an ACME viewer."""
    fleet = Fleet.build(cards, today=NOW.date())
    with Store(db_url, writer=True) as store:
        if store.count("cards") < cards:
            batch: list[Accepted] = []
            for device in fleet.devices:
                for message in (device.identity(NOW), device.telemetry(NOW)):
                    decoded = decode(message.topic, message.payload, "iotcard/v1")
                    assert isinstance(decoded, Accepted)
                    batch.append(decoded)
                if len(batch) >= 4000:
                    store.apply(batch)
                    batch = []
            store.apply(batch)
        admin = TokenAdmin(store)
        tokens = {
            "enterprise admin": admin.create(name="bench", company="ACME", role="admin", enterprise=True)[1],
            "ACME viewer": admin.create(name="bench viewer", company="ACME", role="viewer")[1],
        }
    return [d.iccid for d in fleet.devices], tokens


def first_bytes(port: int, token: str, paths: list[str]) -> tuple[list[float], list[float]]:
    """(time to the response's first byte, time to its last) per request, on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"}
    first, whole = [], []
    for path in paths:
        begin = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()  # the status line and headers: the first bytes
        first.append(time.perf_counter() - begin)
        body = response.read()
        whole.append(time.perf_counter() - begin)
        assert response.status == 200, (path, response.status, body[:200])
    conn.close()
    return first, whole


def p(timings: list[float], share: float) -> float:
    ordered = sorted(timings)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--db", help="a database URL to use (seeded when it has fewer cards)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-console-", dir=os.environ.get("BENCH_DIR")))
    db_url = args.db or f"sqlite:///{workdir / 'console.sqlite3'}"
    begin = time.monotonic()
    iccids, tokens = seed(db_url, args.cards)
    print(f"iotcard web console, {args.cards} cards in SQLite (seeded in {time.monotonic() - begin:.0f} s), "
          f"{os.cpu_count()} CPUs; times to the first byte, one keep-alive client")  # fmt: skip
    pages = [f"/console/cards?filter=low&page={1 + n % 20}" for n in range(args.requests)]
    rng = random.Random(15)
    cards = [f"/console/cards/{rng.choice(iccids)}" for _ in range(args.requests)]
    results = []
    for label, options in (("count cache 2 s (default)", ()), ("count cache off", ("--count-cache", "0"))):
        server, port = serve(db_url, *options)
        try:
            for who, token in tokens.items():
                first_bytes(port, token, pages[:5])  # warm: the first page opens the connection pool
                first, whole = first_bytes(port, token, pages)
                results.append((f"list filter=low, {who}, {label}", first, whole, 150.0))
            first_bytes(port, tokens["enterprise admin"], cards[:5])
            first, whole = first_bytes(port, tokens["enterprise admin"], cards)
            results.append((f"card page, {label}", first, whole, 100.0))
        finally:
            server.terminate()
            server.wait(10)
    for label, first, whole, goal in results:
        verdict = "meets" if p(first, 0.95) <= goal else "MISSES"
        print(
            f"{label}\n  first byte p50 {statistics.median(first) * 1000:.1f} ms  p95 {p(first, 0.95):.1f} ms  "
            f"p99 {p(first, 0.99):.1f} ms  ({verdict} <= {goal:.0f} ms);  whole page p95 {p(whole, 0.95):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
