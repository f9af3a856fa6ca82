"""`iotcard run` end to end: the pty modem simulator, a real Mosquitto, the daemon as a process, the CLI through its
control socket, and READY/WATCHDOG on a notify socket the test provides, as systemd would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from iotcard.simulators.modem import PROFILES, ModemSimulator

sys.path.append(str(Path(__file__).resolve().parents[1] / "telemetry"))
from mosquitto_support import MOSQUITTO, Broker

# The daemon is another process on the machine's clock; the simulator it reads (in this process) reports network time
# from this process's clock, so both must be the real one (else the agent rightly finds a clock skew).
pytestmark = [pytest.mark.integration, pytest.mark.wall_clock]

ROOT = Path(__file__).resolve().parents[3]
DEVICE = "hmi-test-01"


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Cloud:
    """A subscriber with a persistent session, so messages published while it reconnects are kept for it."""

    port: int
    messages: list[tuple[str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="cloud-test", clean_session=False, protocol=mqtt.MQTTv311
        )
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(f"iotcard/v1/{DEVICE}/#", qos=1)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(message.payload)
        except ValueError:
            return
        with self.lock:
            self.messages.append((message.topic, doc))

    def seen(self, suffix: str) -> list[dict]:
        with self.lock:
            return [doc for topic, doc in self.messages if topic.endswith(suffix)]

    def seqs(self) -> list[int]:
        """Sequence numbers of what the device sent (the cloud's own commands carry none)."""
        with self.lock:
            return [doc["seq"] for topic, doc in self.messages if "/cmd/" not in topic]

    def command(self, name: str, payload: dict) -> None:
        self.client.publish(f"iotcard/v1/{DEVICE}/cmd/{name}", json.dumps(payload), qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass
class Running:
    process: subprocess.Popen[str]
    control: Path
    notify: socket.socket
    sim: ModemSimulator
    broker: Broker
    cloud: Cloud
    config: Path
    notified: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Read the notify socket all the time, as systemd does: the agent drops what a full queue cannot take.
        self.notify.settimeout(0.2)
        self._reader = threading.Thread(target=self._read_notify, daemon=True)
        self._reader.start()

    def _read_notify(self) -> None:
        while True:
            try:
                self.notified.append(self.notify.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def notifications(self, timeout: float = 0.2) -> list[str]:
        time.sleep(timeout)
        return list(self.notified)

    def mqtt_status(self) -> dict:
        result = self.cli("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["agent"]["mqtt"]

    def modem_status(self) -> dict:
        result = self.cli("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["agent"]["modem"]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "IOTCARD_SOCKET": str(self.control)}
        return subprocess.run(
            [sys.executable, "-m", "iotcard.agent.cli", "--lang", "en", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )


def write_config(path: Path, sim_path: str, broker_port: int, state: Path, extra: str = "") -> None:
    path.write_text(
        f'[device]\nid = "{DEVICE}"\nname = "Line 3 HMI"\ncompany = "Acme Automation"\n'
        f'[modem]\nport = "{sim_path}"\n'
        f'[paths]\nstate_dir = "{state}"\n'
        '[usage]\ninterface = "lo"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\ntls = false\n'
        "[schedule]\nsignal = 10\njitter = 0\n" + extra
    )


@pytest.fixture
def running(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed ('make test' as root installs it)")
    scenario = getattr(request, "param", "normal")
    broker = Broker(tmp_path / "broker")
    broker.start()
    sim = ModemSimulator(profile="quectel_ec25", scenario=scenario, link=str(tmp_path / "ttyIOT0"))
    sim.start()
    config = tmp_path / "agent.toml"
    write_config(config, str(tmp_path / "ttyIOT0"), broker.port, tmp_path / "state")
    cloud = Cloud(broker.port)
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    control = tmp_path / "agent.sock"
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "4000000"}
    process = subprocess.Popen(
        [sys.executable, "-m", "iotcard.agent.cli", "run", "--config", str(config), "--control-socket", str(control)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = Running(process, control, notify, sim, broker, cloud, config)
    try:
        yield run
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        cloud.close()
        sim.stop()
        broker.stop()
        notify.close()


def test_daemon_end_to_end(running: Running) -> None:
    truth = PROFILES["quectel_ec25"]
    # READY on the notify socket, once the job loop runs.
    wait_for(lambda: any("READY=1" in n for n in running.notifications()), 30, "READY=1")
    assert any(n.startswith("STATUS=") or "\nSTATUS=" in n for n in running.notified)

    # Telemetry arrives: status online, identity, a first telemetry summary and a diagnosis.
    wait_for(lambda: running.cloud.seen("/telemetry"), 30, "the first telemetry")
    status = running.cloud.seen("/status")[0]
    assert status["state"] == "online" and status["device_id"] == DEVICE
    assert status["iccid"] == truth.sim.iccid  # the link waited for the first modem read
    identity = running.cloud.seen("/identity")[0]
    assert identity["iccid"] == truth.sim.iccid and identity["imei"] == truth.imei
    wait_for(lambda: running.cloud.seen("/diagnosis"), 30, "the first diagnosis")
    assert running.cloud.seen("/diagnosis")[-1]["overall"] == "ok"

    # A cloud command round-trips.
    running.cloud.command("ping", {"request_id": "req-ping-1"})
    running.cloud.command("diagnose", {"request_id": "req-diag-1"})
    running.cloud.command(
        "set_plan",
        {
            "request_id": "req-plan-1",
            "plan_name": "30MB",
            "total_mb": 30,
            "cycle_start": "2026-11-01",
            "cycle_end": "2026-11-30",
        },
    )
    running.cloud.command("probe", {"request_id": "req-bad-1", "targets": ["*.haiwell.com"]})
    wait_for(
        lambda: (
            len(running.cloud.seen("/result/ping"))
            and len(running.cloud.seen("/result/diagnose"))
            and running.cloud.seen("/result/set_plan")
            and running.cloud.seen("/result/probe")
        ),
        60,
        "four results",
    )
    ping = running.cloud.seen("/result/ping")[0]
    assert ping["ok"] is True and ping["request_id"] == "req-ping-1" and ping["result"]["pong"] is True
    assert running.cloud.seen("/result/diagnose")[0]["result"]["verdict"] == "ok"
    assert running.cloud.seen("/result/set_plan")[0]["ok"] is True
    kept = json.loads((running.config.parent / "state" / "plan.json").read_text())
    assert kept["total_bytes"] == 30 * 1024 * 1024 and kept["cycle_end"] == "2026-11-30"  # survives a restart
    bad = running.cloud.seen("/result/probe")[0]
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"

    # The CLI works through the socket while the daemon holds the port; opening the port directly is refused.
    info = running.cli("info", "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["sim"]["iccid"] == truth.sim.iccid
    direct = running.cli("--direct", "info", "--port", running.sim.path or "", "--json")
    assert direct.returncode == 3 and json.loads(direct.stdout)["error"]["code"] == "port_busy"
    agent_status = running.cli("status", "--json")
    assert agent_status.returncode == 0, agent_status.stderr
    live = json.loads(agent_status.stdout)["agent"]
    assert live["modem"]["state"] == "ok" and live["mqtt"]["state"] == "connected"
    diag = running.cli("diag", "--json")
    assert diag.returncode == 0, diag.stdout + diag.stderr
    usage = running.cli("usage", "sample", "--json")
    assert usage.returncode == 0, usage.stderr
    assert json.loads(usage.stdout)["interface"] == "lo"  # the agent's config, not the default wwan0

    # The port vanishes (USB re-enumeration) and returns: the agent says so, then recovers.
    running.sim.vanish()
    wait_for(
        lambda: (
            running.cloud.seen("/event")
            and any(e["event"] == "modem_unresponsive" for e in running.cloud.seen("/event"))
        ),
        40,
        "modem_unresponsive",
    )
    running.sim.reappear()
    recovered = running.cli("info", "--json")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    before = running.modem_status()["last_read"]
    wait_for(lambda: running.modem_status()["last_read"] != before, 40, "a scheduled modem read after recovery")

    # The broker stops and returns: what the agent queued meanwhile arrives, nothing is lost.
    running.broker.kill()
    running.cloud.command("ping", {"request_id": "never-sent"})  # the broker is down: this goes nowhere
    running.sim.vanish()  # an event raised while the broker is down waits in the outbox
    time.sleep(0.5)
    wait_for(lambda: running.modem_status()["state"] != "ok", 40, "the port failure seen")
    arrived_before = set(running.cloud.seqs())  # the broker is down: nothing more arrives until it is back
    running.broker.start()
    running.sim.reappear()
    wait_for(lambda: len(running.cloud.seen("/event")) >= 2, 90, "the event queued while the broker was down")
    wait_for(lambda: running.mqtt_status().get("outbox_pending") == 0, 60, "the outbox drained")
    assert running.mqtt_status().get("outbox_dropped") == 0  # nothing queued during the outage was thrown away
    seqs = running.cloud.seqs()
    queued_meanwhile = [s for s in seqs if s not in arrived_before]
    assert queued_meanwhile  # the event and the reconnection's status among them
    # At-least-once: a message may arrive twice only when its acknowledgement was lost with the broker, i.e. a
    # second copy of something that had arrived before the outage; what was queued meanwhile arrives exactly once.
    # The Last Will is not the agent's to send: Mosquitto restores the agent's old session from its persistence file
    # at restart and publishes its will then, and the cloud's resubscription brings the same retained status again.
    wills = {doc["seq"] for doc in running.cloud.seen("/status") if doc.get("reason") == "connection_lost"}
    twice = {s for s, n in Counter(seqs).items() if n > 1} - wills
    assert twice <= arrived_before, sorted(twice - arrived_before)

    # SIGTERM: a clean exit within 10 s, STOPPING said, status offline published.
    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    try:
        code = running.process.wait(10)
    except subprocess.TimeoutExpired:
        running.process.send_signal(signal.SIGUSR1)  # the agent dumps its threads' stacks
        time.sleep(1)
        running.process.kill()
        _, stderr = running.process.communicate(timeout=10)
        raise AssertionError("the agent did not stop within 10 s:\n" + stderr[-6000:]) from None
    assert code == 0
    assert time.monotonic() - started < 10
    assert any("STOPPING=1" in n for n in running.notifications(0.5))
    assert not running.control.exists()

    # What the agent itself moved on the MQTT socket is in the usage meter, apart from the card's total.
    usage = running.cli("usage", "show", "--json", "--config", str(running.config))
    assert usage.returncode == 0, usage.stderr
    agent_cycle = json.loads(usage.stdout)["agent"]
    assert agent_cycle["cycle"]["rx_bytes"] > 0 and agent_cycle["cycle"]["tx_bytes"] > 0


def test_watchdog_pings_while_jobs_progress(running: Running) -> None:
    wait_for(lambda: any("READY=1" in n for n in running.notifications()), 30, "READY=1")
    wait_for(lambda: sum("WATCHDOG=1" in n for n in running.notifications()) >= 2, 20, "two watchdog pings")


@pytest.mark.parametrize("running", ["reboot"], indirect=True)
def test_module_reboot_is_reported_and_the_read_redone(running: Running) -> None:
    wait_for(
        lambda: any(e["event"] == "modem_rebooted" for e in running.cloud.seen("/event")), 40, "modem_rebooted event"
    )
    wait_for(lambda: running.cloud.seen("/identity"), 20, "the identity after the reboot")
    assert running.cloud.seen("/identity")[0]["iccid"] == PROFILES["quectel_ec25"].sim.iccid


def test_bad_config_is_refused_precisely(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[modem]\nport = "/dev/ttyUSB2"\n[schedule]\nsignal = 1\n')
    result = subprocess.run(
        [sys.executable, "-m", "iotcard.agent.cli", "run", "--config", str(config), "--control-socket", "none"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    assert str(config) in result.stderr and "schedule.signal" in result.stderr
    assert "greater than or equal to 10" in result.stderr
    check = subprocess.run(
        [sys.executable, "-m", "iotcard.agent.cli", "config", "check", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert check.returncode == 2 and "schedule.signal" in check.stderr
