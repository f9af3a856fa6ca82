"""End to end: a real agent meters a growing interface, the cloud runs flow checks (流量校验) through
``iotcard-collector send``, the collector restarts in between, and the card's days, months and cycle equal the
agent's own meter to the byte (SQLite and PostgreSQL).

The agent is a separate process on the machine's clock, so this test runs on the real clock too (``wall_clock``);
it compares the two sides day by day, so a run across midnight compares the same way.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from collector_support import start_collector, wait_until
from mosquitto_support import MOSQUITTO, Broker

from iotcard.collector import Store
from iotcard.collector.cli import main as collector_main
from iotcard.simulators.modem import PROFILES, ModemSimulator

pytestmark = [pytest.mark.integration, pytest.mark.wall_clock]
ROOT = Path(__file__).resolve().parents[2]
DEVICE = "hmi-meter-1"


class Interface:
    """A fake ``wwan0`` under ``root`` whose counters the test grows."""

    def __init__(self, root: Path) -> None:
        self.sys, self.proc = root / "sys", root / "proc"
        self.stats = self.sys / "class" / "net" / "wwan0" / "statistics"
        self.stats.mkdir(parents=True)
        (self.sys / "class" / "net" / "wwan0" / "ifindex").write_text("7\n")
        (self.proc / "sys" / "kernel" / "random").mkdir(parents=True)
        (self.proc / "sys" / "kernel" / "random" / "boot_id").write_text("boot-e2e\n")
        self.rx = self.tx = 0
        self.grow(0, 0)

    def grow(self, rx: int, tx: int) -> None:
        self.rx, self.tx = self.rx + rx, self.tx + tx
        for name, value in (("tx_bytes", self.tx), ("rx_bytes", self.rx)):
            tmp = self.stats / f"{name}.tmp"
            tmp.write_text(f"{value}\n")
            tmp.replace(self.stats / name)


def agent_cli(control: Path, *args: str) -> dict:
    env = {**os.environ, "IOTCARD_SOCKET": str(control)}
    done = subprocess.run(
        [sys.executable, "-m", "iotcard.agent.cli", "--lang", "en", *args, "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def flow_check(port: int) -> dict:
    out, err = io.StringIO(), io.StringIO()
    status = collector_main(
        ["send", DEVICE, "refresh-usage", "--broker", f"mqtt://127.0.0.1:{port}", "--timeout", "30", "--json"],
        stdout=out,
        stderr=err,
    )
    assert status == 0, out.getvalue() + err.getvalue()
    return json.loads(out.getvalue())


def test_the_card_equals_the_agents_meter_after_flow_checks_and_restarts(tmp_path: Path, db_url: str) -> None:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed ('make test' as root installs it)")
    truth = PROFILES["quectel_ec25"]
    interface = Interface(tmp_path / "root")
    broker = Broker(tmp_path / "broker")
    broker.start()
    sim = ModemSimulator(profile="quectel_ec25", scenario="normal", link=str(tmp_path / "ttyIOT0"))
    sim.start()
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[device]\nid = "{DEVICE}"\nname = "HMI meter"\ncompany = "ACME"\n'
        f'[modem]\nport = "{tmp_path / "ttyIOT0"}"\n'
        f'[paths]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[usage]\ninterface = "wwan0"\nsysfs_root = "{interface.sys}"\nproc_root = "{interface.proc}"\n'
        "sample_interval = 0.5\ncommit_interval = 1\n"
        '[plan]\nname = "IoT 100MB"\ntotal_mb = 100\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ntls = false\n'
        "[schedule]\nsignal = 10\njitter = 0\n",
        encoding="utf-8",
    )
    control = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        [sys.executable, "-m", "iotcard.agent.cli", "run", "--config", str(config), "--control-socket", str(control)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(tmp_path / "agent.log").open("w"), text=True,
    )  # fmt: skip
    store = Store(db_url, writer=True)
    collector = start_collector(store, broker.port, client_id="collector-e2e")
    try:
        assert wait_until(control.exists, 30), "the agent's control socket"
        assert wait_until(lambda: store.card(truth.sim.iccid) is not None, 30), "the agent's first report"
        # Five flow checks in all: the agent's burst allowance for cloud commands (a sixth within a minute would be
        # refused as rate_limited, by design).
        growth = [(3_000_000, 250_000), (0, 0), (1_234_567, 89), (700_001, 300_000)]
        for step, (rx, tx) in enumerate(growth):
            interface.grow(rx, tx)
            result = flow_check(broker.port)  # the agent samples, then reports its absolute figures
            assert result["ok"], result
            if step == 2:  # a collector restart between flow checks: its session keeps what comes meanwhile
                collector.stop()
                collector = start_collector(store, broker.port, client_id="collector-e2e")
        flow_check(broker.port)  # one more: a flow check with nothing new changes nothing
        meter = agent_cli(control, "usage", "show", "--days", "3")
        metered = interface.rx + interface.tx
        assert meter["cycle"]["total_bytes"] == metered  # the agent's meter saw every byte
        iccid = truth.sim.iccid

        def card_matches() -> bool:
            record = store.card(iccid)
            return record is not None and record["used_bytes"] == metered

        assert wait_until(card_matches, 30), (store.card(iccid) or {}).get("used_bytes")
        today = date.fromisoformat(meter["days"][-1]["date"])
        stored_days = {p["period"]: p["total_bytes"] for p in store.usage(iccid, "day", today=today, periods=3)}
        meter_days = {d["date"]: d["rx_bytes"] + d["tx_bytes"] for d in meter["days"]}
        assert {k: v for k, v in stored_days.items() if v} == {k: v for k, v in meter_days.items() if v}
        stored_months = {p["period"]: p["total_bytes"] for p in store.usage(iccid, "month", today=today, periods=2)}
        meter_months = {m["month"]: m["rx_bytes"] + m["tx_bytes"] for m in meter["months"]}
        assert {k: v for k, v in stored_months.items() if v} == {k: v for k, v in meter_months.items() if v}
        cycles = store.cycles(iccid)
        assert cycles[0]["total_bytes"] == metered and str(cycles[0]["cycle_start"]) == meter["cycle"]["start"]
        assert collector.stats.invalid == 0
    finally:
        collector.stop()
        store.close()
        if agent.poll() is None:
            agent.terminate()
            try:
                agent.wait(15)
            except subprocess.TimeoutExpired:
                agent.kill()
        sim.stop()
        broker.stop()
