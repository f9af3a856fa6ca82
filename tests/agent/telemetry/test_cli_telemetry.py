"""``iotcard schema``, ``iotcard report --once`` (modem simulator → TLS broker) and ``iotcard status``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from mosquitto_support import Broker, Certs, free_port
from telemetry_support import Subscriber, wait_until

from iotcard.agent.cli import main, run_inside
from iotcard.agent.control import DaemonDefaults, Inside
from iotcard.contract.messages import IdentityMessage, TelemetryMessage, json_schemas
from iotcard.simulators.modem import PROFILES, ModemSimulator


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["--lang", "en", *args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_schema_writes_one_file_per_payload_and_command(tmp_path: Path) -> None:
    status, out, _ = run_cli("schema", "--out", str(tmp_path / "schemas"), "--json")
    assert status == 0
    written = {Path(p).name for p in json.loads(out)["written"]}
    assert written == {f"{name}.schema.json" for name in json_schemas()}
    for name in ("status", "identity", "telemetry", "diagnosis", "directed", "event", "result", "cmd.set_plan"):
        assert f"{name}.schema.json" in written
    telemetry = json.loads((tmp_path / "schemas" / "telemetry.schema.json").read_text())
    assert {"seq", "device_id", "iccid", "imei", "ts", "schema_version"} <= set(telemetry["properties"])
    status, out, _ = run_cli("schema")
    assert status == 0 and "cmd.probe" in json.loads(out)


def write_config(tmp_path: Path, broker: Broker, certs: Certs, *, port: int | None = None) -> Path:
    config = tmp_path / "agent.toml"
    config.write_text(
        f"""
[device]
name = "HMI-7"
company = "ACME"

[paths]
state_dir = "{tmp_path / "state"}"

[mqtt]
host = "localhost"
port = {port or broker.tls_port}
ca_file = "{certs.ca}"
keepalive_initial = 300
""",
        encoding="utf-8",
    )
    return config


@pytest.mark.integration
def test_report_once_publishes_a_round_from_the_modem(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    cloud = Subscriber(broker.port)
    config = write_config(tmp_path, broker, certs)
    truth = PROFILES["quectel_ec25"]
    with ModemSimulator(profile="quectel_ec25", scenario="normal", link=str(tmp_path / "tty")) as sim:
        status, out, err = run_cli("report", "--once", "--config", str(config), "--port", sim.path, "--json")
    assert status == 0, (out, err)
    doc = json.loads(out)
    assert doc["ok"] and doc["pending"] == 0 and doc["tls"] and doc["device_id"] == truth.imei
    assert wait_until(lambda: len(cloud.on("/telemetry")) == 1 and len(cloud.on("/identity")) == 1, 5)
    identity = IdentityMessage.model_validate_json(cloud.on("/identity")[0].payload)
    assert identity.modem.imei == truth.imei and identity.device.name == "HMI-7"
    assert identity.sim.iccid and identity.iccid == identity.sim.iccid
    telemetry = TelemetryMessage.model_validate_json(cloud.on("/telemetry")[0].payload)
    assert telemetry.traffic is not None and telemetry.traffic.by_type.get("connect", 0) > 0
    states = [m.doc["state"] for m in cloud.on("/status")]
    assert states == ["online", "offline"]
    # The state is kept: traffic by type this month, seq continues.
    status, out, _ = run_cli("status", "--config", str(config), "--json")
    assert status == 0
    state = json.loads(out)
    assert state["traffic_bytes"] > 1000 and state["outbox"]["pending"] == 0
    assert {"connect", "telemetry", "identity", "status"} <= set(state["by_type"])
    status, out, _ = run_cli("status", "--config", str(config))
    assert "MQTT traffic" in out and "outbox: 0 pending" in out
    cloud.close()


@pytest.mark.integration
def test_report_once_without_a_broker_keeps_the_messages(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    config = write_config(tmp_path, broker, certs, port=free_port())
    with ModemSimulator(profile="simcom_sim7600", scenario="normal", link=str(tmp_path / "tty")) as sim:
        status, _, err = run_cli("report", "--once", "--config", str(config), "--port", sim.path, "--timeout", "2")
        assert status == 1
        assert "refused the connection" in err and "pending" in err
        # Next run with the broker back: the backlog goes first, all acknowledged.
        cloud = Subscriber(broker.port)
        good = write_config(tmp_path, broker, certs)
        status, out, _ = run_cli("report", "--once", "--config", str(good), "--port", sim.path, "--json")
    assert status == 0
    assert json.loads(out)["backlog_before"] == 2
    assert wait_until(lambda: len(cloud.on("/telemetry")) == 2, 5)
    cloud.close()


def test_report_needs_a_broker(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path}"\n[device]\nid = "d1"\n', encoding="utf-8")
    with ModemSimulator(profile="generic", scenario="normal", link=str(tmp_path / "tty")) as sim:
        status, _, err = run_cli("report", "--once", "--config", str(config), "--port", sim.path)
    assert status == 2 and "no MQTT broker" in err


def test_bad_broker_url_is_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text("", encoding="utf-8")
    status, _, err = run_cli("report", "--once", "--config", str(config), "--broker", "http://x")
    assert status == 2 and "mqtts://" in err


def test_status_inside_the_agent_adds_its_live_state(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    live = {"uptime_s": 42, "mqtt": "connected"}
    inside = Inside(defaults=DaemonDefaults(port="/dev/null"), open_modem=None, agent_status=lambda: live)  # type: ignore[arg-type]
    status, out_text, _ = run_inside(["status", "--config", str(config), "--json"], "en", inside)
    assert status == 0 and json.loads(out_text) == {"agent": live}
    status, _, err_text = run_cli("status", "--config", str(config))
    assert status == 2 and "no outbox" in err_text
