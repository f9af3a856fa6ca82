"""``iotcard-collector``: views in the terminal and as JSON, plan import with bad rows by line, commands to devices
answered (or not) by a simulated agent."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from collector_support import NOW, TODAY, clock, wait_until
from mosquitto_support import Broker
from paho.mqtt.enums import CallbackAPIVersion

from iotcard.collector import Store, decode
from iotcard.collector._ingest import Accepted
from iotcard.collector.cli import main
from iotcard.contract.messages import CommandResultMessage, StatusMessage, Topic, Topics, encode, parse_command
from iotcard.simulators.fleet import Fleet


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdout=out, stderr=err, clock=clock)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def seeded(sqlite_url: str) -> tuple[str, Fleet]:
    fleet = Fleet.build(40, today=TODAY)
    with Store(sqlite_url, writer=True, clock=clock) as store:
        batch = [decode(m.topic, m.payload, "iotcard/v1") for m in [*fleet.hello(NOW), *fleet.rounds(NOW, 2)]]
        store.apply([item for item in batch if isinstance(item, Accepted)])
    return sqlite_url, fleet


def test_cards_and_card_views(seeded: tuple[str, Fleet]) -> None:
    url, fleet = seeded
    status, out, _ = run("cards", "--db", url, "--filter", "exhausted", "--json")
    assert status == 0 and {c["iccid"] for c in json.loads(out)["cards"]} == fleet.expected("exhausted")
    status, out, _ = run("cards", "--db", url, "--filter", "expired")
    lines = out.splitlines()
    assert status == 0 and lines[-1] == "1-2 of 2 cards" and all("expired" in line for line in lines[1:-1])
    status, out, _ = run("cards", "--db", url, "--company", "Initech", "--json")
    assert json.loads(out)["total"] == sum(1 for d in fleet.devices if d.company == "Initech")
    device = fleet.devices[1]
    status, out, _ = run("card", "--db", url, device.iccid)
    assert status == 0
    assert f"card {device.iccid}  [data_exhausted]" in out and device.imei in out and device.device_id in out
    assert "last 30 days" in out and "last 12 months" in out and "█" in out
    status, out, _ = run("card", "--db", url, device.iccid, "--json")
    doc = json.loads(out)
    assert len(doc["usage_days"]) == 30 and len(doc["usage_months"]) == 12
    assert sum(p["total_bytes"] for p in doc["usage_days"]) == 2 * 4096 and doc["used_bytes"] == device.used_bytes
    status, _, err = run("card", "--db", url, "89860000000000000000")
    assert status == 1 and "no card 89860000000000000000" in err and "→" in err


def test_plans_import_reports_bad_rows_by_line(tmp_path: Path, sqlite_url: str) -> None:
    fleet = Fleet.build(3, today=TODAY)
    plans = fleet.plans_csv().splitlines()
    plans.insert(2, "not-an-iccid,Plan,30,,,,,")
    plans.append(f"{fleet.devices[0].iccid},Again,30,,,,,")
    plans.append("898600000000000000777,Plan,-1,2026-02-01,2026-01-01,,,")
    path = tmp_path / "plans.csv"
    path.write_text("\n".join(plans) + "\n", encoding="utf-8")
    status, out, _ = run("plans", "import", "--db", sqlite_url, str(path), "--json")
    doc = json.loads(out)
    assert status == 1 and doc["imported"] == 3
    assert [(r["line"], r["problem"].split(":")[0]) for r in doc["rejected"]] == [
        (3, "iccid"),
        (6, f"ICCID {fleet.devices[0].iccid} is already on line 2"),
        (7, "total_mb"),
    ]
    with Store(sqlite_url, clock=clock) as store:
        record = store.card(fleet.devices[2].iccid)
        assert record is not None and record["plan_source"] == "import" and record["expiry"] == fleet.devices[2].expiry
    (tmp_path / "bad.csv").write_text("iccid,plan,size\n1,2,3\n", encoding="utf-8")
    status, _, err = run("plans", "import", "--db", sqlite_url, str(tmp_path / "bad.csv"))
    assert status == 2 and "lacks plan_name, total_mb" in err and "unknown column(s) plan, size" in err


class Responder:
    """A simulated agent: retained status online, and results for the commands it receives (paho, the contract)."""

    def __init__(self, port: int, device_id: str, *, answer: bool = True) -> None:
        self.topics = Topics(device_id)
        self.answer = answer
        self.received: list[str] = []
        self.seq = 100
        self.ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"iotcard-{device_id}", protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(self.topics.command_filter, qos=1)
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(5)
        self._publish(Topic.STATUS, StatusMessage(**self._header(), state="online", agent_version="1", started_at=NOW),
                      retain=True)  # fmt: skip

    def _header(self) -> dict[str, Any]:
        self.seq += 1
        return {"device_id": self.topics.device_id, "iccid": None, "imei": None, "seq": self.seq, "ts": NOW}

    def _publish(self, topic: Topic, message: Any, name: str | None = None, retain: bool = False) -> None:
        self.client.publish(self.topics.topic(topic, name), encode(message), qos=1, retain=retain)

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        name = self.topics.command_name(message.topic)
        assert name is not None
        command = parse_command({**json.loads(message.payload), "command": name})
        self.received.append(name)
        if not self.answer:
            return
        result: dict[str, Any] = {"pong": True, "agent_version": "1"} if name == "ping" else {"done": name}
        if name == "probe":
            result = {"results": [{"target": t, "verdict": "reachable"} for t in command.targets]}  # type: ignore[attr-defined]
        ok = name != "diagnose"
        self._publish(
            Topic.RESULT,
            CommandResultMessage(
                **self._header(),
                request_id=command.request_id,
                command=name,
                ok=ok,
                result=result if ok else None,
                error=None if ok else {"code": "rejected", "message": "modem busy"},
            ),
            name,
        )

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def responder(broker: Broker) -> Iterator[Responder]:
    agent = Responder(broker.port, "dev-cmd-1")
    yield agent
    agent.close()


@pytest.mark.integration
def test_send_waits_for_the_result(broker: Broker, responder: Responder) -> None:
    url = f"mqtt://127.0.0.1:{broker.port}"
    status, out, _ = run("send", "dev-cmd-1", "ping", "--broker", url, "--json", "--timeout", "10")
    doc = json.loads(out)
    assert status == 0 and doc["ok"] and doc["result"]["pong"] is True and doc["command"] == "ping"
    status, out, _ = run("send", "dev-cmd-1", "probe", "ecloud.haiwell.com:443", "47.96.1.2", "--broker", url)
    assert status == 0 and "ecloud.haiwell.com:443" in out and "reachable" in out
    status, out, err = run("send", "dev-cmd-1", "diagnose", "--broker", url)
    assert status == 1 and "rejected: modem busy" in err
    assert responder.received == ["ping", "probe", "diagnose"]
    status, _, err = run("send", "dev-cmd-1", "probe", "*.haiwell.com", "--broker", url)
    assert status == 2 and "not a host" in err  # refused before anything is sent
    status, _, err = run("send", "dev-cmd-1", "probe", "--broker", url)
    assert status == 2 and "at least one TARGET" in err


@pytest.mark.integration
def test_send_to_an_offline_or_silent_device(broker: Broker) -> None:
    url = f"mqtt://127.0.0.1:{broker.port}"
    status, out, _ = run("send", "never-seen", "refresh-usage", "--broker", url, "--json")
    doc = json.loads(out)
    assert status == 4 and doc["error"]["code"] == "device_offline"
    assert "never reported a status" in doc["error"]["message"] and "waits at the broker" in doc["error"]["message"]
    silent = Responder(broker.port, "dev-silent", answer=False)
    try:
        status, _, err = run("send", "dev-silent", "ping", "--broker", url, "--timeout", "0.5")
        assert status == 4 and "no result from device dev-silent within 0.5 s" in err
        assert wait_until(lambda: silent.received == ["ping"], 5)
    finally:
        silent.close()
    status, _, err = run("send", "dev-cmd-1", "ping", "--broker", "mqtt://127.0.0.1:1", "--timeout", "1")
    assert status == 3 and "cannot use the MQTT broker" in err


@pytest.mark.integration
def test_plans_push_sends_set_plan_to_each_device(tmp_path: Path, broker: Broker, sqlite_url: str) -> None:
    fleet = Fleet.build(2, today=TODAY, id_prefix="dev-plan")
    with Store(sqlite_url, writer=True, clock=clock) as store:
        batch = [decode(m.topic, m.payload, "iotcard/v1") for m in fleet.hello(NOW)]
        store.apply([item for item in batch if isinstance(item, Accepted)])
    (tmp_path / "plans.csv").write_text(fleet.plans_csv(), encoding="utf-8")
    assert run("plans", "import", "--db", sqlite_url, str(tmp_path / "plans.csv"))[0] == 0
    agents = [Responder(broker.port, d.device_id) for d in fleet.devices]
    try:
        status, out, _ = run(
            "plans", "push", "--db", sqlite_url, "--broker", f"mqtt://127.0.0.1:{broker.port}", "--json"
        )
        outcomes = json.loads(out)["outcomes"]
        assert status == 0 and {(o["iccid"], o["state"]) for o in outcomes} == {(d.iccid, "ok") for d in fleet.devices}
        assert [a.received for a in agents] == [["set_plan"], ["set_plan"]]
    finally:
        for agent in agents:
            agent.close()


def test_prune_keeps_each_record_its_retention(sqlite_url: str) -> None:
    fleet = Fleet.build(2, today=TODAY)
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    with Store(sqlite_url, writer=True, clock=clock) as store:
        store.apply(
            [
                item
                for item in (
                    decode(m.topic, m.payload, "iotcard/v1") for m in [*fleet.hello(old), *fleet.rounds(recent, 1)]
                )
                if isinstance(item, Accepted)
            ]
        )
        assert store.count("received") == 8
    status, out, _ = run("prune", "--db", sqlite_url, "--json")
    assert status == 0 and json.loads(out)["deleted"]["received"] == 4  # the 40-day-old hello; the rest stays
    status, out, _ = run("prune", "--db", sqlite_url, "--retention", "received=1", "--json")
    assert status == 0 and json.loads(out)["deleted"]["received"] == 4
    with Store(sqlite_url, clock=clock) as store:
        assert store.count("received") == 0 and store.card(fleet.devices[0].iccid) is not None  # records stay
    status, _, err = run("prune", "--db", sqlite_url, "--retention", "cards=1")
    assert status == 2 and "TABLE=DAYS" in err


def test_serve_with_worker_processes_answers_and_stops_cleanly(sqlite_url: str) -> None:
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from mosquitto_support import free_port

    assert run("migrate", "--db", sqlite_url)[0] == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "iotcard.collector.cli", "serve", "--db", sqlite_url, "--port", str(port),
         "--no-actions",
         "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline, answers = time.monotonic() + 30, 0
        while answers < 20 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                    answers += answer.status == 200
            except OSError:
                time.sleep(0.1)
        assert answers == 20
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 1  # the parent serves too: two processes on one socket
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(20)
    assert code == 0, server.stderr.read() if server.stderr else ""
    assert subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True).returncode == 1  # none left
