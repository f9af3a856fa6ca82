"""Alerts to a real webhook receiver on 127.0.0.1: one signed alert per condition, retried across the receiver's own
downtime, cleared once when the condition ends, dead-lettered when the receiver never answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from clocks import FixedClock
from collector_support import NOW, TODAY

from iotcard.collector import PlanRow, Store, decode
from iotcard.collector._alerts import AlertEngine
from iotcard.collector._ingest import Accepted
from iotcard.simulators.fleet import Fleet, Message

SECRET = "s3cret-for-the-tests-0123"


class Receiver:
    """A webhook endpoint: answers 503 while ``down``, records what it accepted."""

    def __init__(self) -> None:
        self.down = False
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if owner.down:
                    owner.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                owner.accepted.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[tuple[str, str]]:
        return sorted((json.loads(body)["event"], json.loads(body)["iccid"]) for _, body in self.accepted)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def accepted(messages: list[Message]) -> list[Accepted]:
    return [item for item in (decode(m.topic, m.payload, "iotcard/v1") for m in messages) if isinstance(item, Accepted)]


def test_one_signed_alert_per_condition_retried_across_the_receivers_downtime(
    receiver: Receiver, sqlite_url: str
) -> None:
    clock = FixedClock(NOW + timedelta(minutes=5))
    fleet = Fleet.build(20, today=TODAY)  # devices 0..3: low, exhausted, expiring, expired; the rest normal
    with Store(sqlite_url, writer=True, clock=clock) as store:
        store.apply(accepted([*fleet.hello(NOW), *fleet.rounds(NOW, 1)]))
        engine = AlertEngine(store, offline_minutes=60)
        engine.add_webhook(
            receiver.url, SECRET, kinds=["data_low", "data_exhausted", "expiring", "expired", "card_moved"]
        )
        assert engine.evaluate(TODAY) == 4
        assert engine.evaluate(TODAY) == 0  # nothing changed: nothing queued again
        receiver.down = True
        assert engine.deliver() == {"delivered": 0, "retried": 4, "dead": 0}
        assert engine.deliver() == {"delivered": 0, "retried": 0, "dead": 0}  # not due yet
        receiver.down = False
        clock.advance(minutes=2)  # past the first backoff (30 s doubling, jittered)
        assert engine.deliver() == {"delivered": 4, "retried": 0, "dead": 0}
        expected = {
            ("data_low.fired", fleet.devices[0].iccid),
            ("data_exhausted.fired", fleet.devices[1].iccid),
            ("expiring.fired", fleet.devices[2].iccid),
            ("expired.fired", fleet.devices[3].iccid),
        }
        assert set(receiver.events()) == expected and len(receiver.events()) == 4 and receiver.refused == 4
        for headers, body in receiver.accepted:
            mac = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Iotcard-Signature"] == f"sha256={mac}"
            assert headers["X-Iotcard-Idempotency-Key"] == json.loads(body)["idempotency_key"]
        # The low card gets a bigger plan: its condition clears, once.
        store.import_plans([PlanRow(fleet.devices[0].iccid, "IoT 10GB", 10240.0, None, None, None, None)])
        assert engine.evaluate(TODAY) == 1 and engine.evaluate(TODAY) == 0
        engine.deliver()
        assert [e for e in receiver.events() if e[0].endswith(".cleared")] == [
            ("data_low.cleared", fleet.devices[0].iccid)
        ]
        # A card moved between devices (机卡分离) fires once.
        a, b = fleet.devices[5], fleet.devices[6]
        store.apply(accepted(fleet.swap(a, b, NOW + timedelta(hours=1))))
        assert engine.evaluate(TODAY) == 2 and engine.evaluate(TODAY) == 0
        engine.deliver()
        moved = [iccid for event, iccid in receiver.events() if event == "card_moved.fired"]
        assert sorted(moved) == sorted([a.iccid, b.iccid])


def test_a_company_webhook_sees_only_its_cards_and_a_dead_receiver_is_dead_lettered(
    receiver: Receiver, sqlite_url: str
) -> None:
    clock = FixedClock(NOW + timedelta(minutes=5))
    fleet = Fleet.build(20, today=TODAY)
    with Store(sqlite_url, writer=True, clock=clock) as store:
        store.apply(accepted([*fleet.hello(NOW), *fleet.rounds(NOW, 1)]))
        engine = AlertEngine(store, max_attempts=3)
        company = fleet.devices[1].company
        engine.add_webhook(receiver.url, SECRET, company=company, kinds=["data_low", "data_exhausted"])
        nowhere = engine.add_webhook("http://127.0.0.1:9/never", SECRET, kinds=["data_exhausted"])
        engine.evaluate(TODAY)
        for _ in range(4):
            engine.deliver()
            clock.advance(hours=2)
        mine = {d.iccid for d in fleet.devices if d.company == company and d.profile in ("low", "exhausted")}
        assert {iccid for _, iccid in receiver.events()} == mine
        dead = [row for row in engine.outbox() if row["webhook_id"] == nowhere]
        assert dead and all(row["state"] == "dead" and row["attempts"] == 3 and row["last_error"] for row in dead)


def test_offline_devices_fire_after_the_grace(receiver: Receiver, sqlite_url: str) -> None:
    clock = FixedClock(NOW + timedelta(minutes=5))
    fleet = Fleet.build(2, today=TODAY)
    with Store(sqlite_url, writer=True, clock=clock) as store:
        store.apply(accepted([*fleet.hello(NOW), *fleet.rounds(NOW, 1)]))
        engine = AlertEngine(store, offline_minutes=30)
        engine.add_webhook(receiver.url, SECRET, kinds=["offline"])
        assert engine.evaluate(TODAY) == 0
        clock.advance(minutes=40)
        assert engine.evaluate(TODAY) == 2
        store.apply(accepted([fleet.devices[0].telemetry(clock.now)]))
        assert engine.evaluate(TODAY) == 1  # device 0 is back: its offline alert clears
        engine.deliver()
        assert receiver.events() == sorted(
            [("offline.fired", fleet.devices[0].iccid), ("offline.fired", fleet.devices[1].iccid),
             ("offline.cleared", fleet.devices[0].iccid)]
        )  # fmt: skip


def test_webhooks_from_the_command_line(tmp_path, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    import io

    from iotcard.collector.cli import main

    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        return main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue()

    status, out, _ = run("webhooks", "add", "https://hooks.example.invalid/x", "--secret-file", str(secret),
                         "--company", "ACME", "--kind", "data_low", "--db", sqlite_url, "--json")  # fmt: skip
    assert status == 0 and json.loads(out)["kinds"] == ["data_low"]
    status, _, err = run("webhooks", "add", "ftp://x", "--secret-file", str(secret), "--db", sqlite_url)
    assert status == 2 and "http:// or https://" in err
    status, _, err = run(
        "webhooks", "add", "https://x", "--secret-file", str(secret), "--kind", "nope", "--db", sqlite_url
    )
    assert status == 2 and "unknown alert kind" in err
    status, out, _ = run("webhooks", "list", "--db", sqlite_url, "--json")
    hooks = json.loads(out)["webhooks"]
    assert status == 0 and [(h["company"], h["kinds"]) for h in hooks] == [("ACME", ["data_low"])]
    assert SECRET not in out
