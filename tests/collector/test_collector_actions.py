"""The card actions over HTTP by ICCID (流量校验, 卡诊断, 定向查询): a real Mosquitto, a simulated agent answering on
it, the API on 127.0.0.1; results stored and returned, roles and companies enforced, every attempt audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mosquitto_support import Broker
from test_collector_api import Served, seed
from test_collector_cli import Responder

from iotcard.collector import ApiServer, BrokerSettings, TokenAdmin, send_command

pytestmark = pytest.mark.integration


@pytest.fixture
def acting(broker: Broker, sqlite_url: str) -> Iterator[tuple[Served, Responder]]:
    store, fleet, tokens = seed(sqlite_url, devices=8)
    settings = BrokerSettings("127.0.0.1", broker.port)

    def commander(device_id: str, command: Any, wait: float) -> Any:
        return send_command(settings, device_id, command, timeout=wait, status_wait=0.5)

    acme = next(d for d in fleet.devices if d.company == "ACME")
    agent = Responder(broker.port, acme.device_id)
    server = ApiServer(store, "127.0.0.1", 0, count_ttl=0, commander=commander)
    server.start()
    try:
        yield Served(server, fleet, store, tokens), agent
    finally:
        server.stop()
        agent.close()
        store.close()


def test_actions_run_on_the_cards_device_and_are_stored(acting: tuple[Served, Responder]) -> None:
    served, agent = acting
    card = next(d for d in served.fleet.devices if d.device_id == agent.topics.device_id)
    response = served.request("POST", f"/cards/{card.iccid}/refresh-usage?wait=10", "acme-operator")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["state"], body["action"], body["device_id"]) == ("ok", "refresh_usage", card.device_id)
    assert body["result"] == {"done": "refresh_usage"} and body["finished_at"]
    stored = served.get(body["result_url"], "acme")
    assert stored.status_code == 200 and stored.json()["state"] == "ok"
    response = served.request("POST", f"/cards/{card.iccid}/diagnose?wait=10", "acme-operator")
    assert response.status_code == 200 and response.json()["state"] == "failed"
    assert response.json()["error_code"] == "rejected"
    response = served.request(
        "POST", f"/cards/{card.iccid}/probe?wait=10", "acme-operator", json={"targets": ["ecloud.haiwell.com:443"]}
    )
    assert response.status_code == 200
    assert response.json()["result"]["results"] == [{"target": "ecloud.haiwell.com:443", "verdict": "reachable"}]
    assert response.json()["targets"] == ["ecloud.haiwell.com:443"]
    assert agent.received == ["refresh_usage", "diagnose", "probe"]
    log = TokenAdmin(served.store).audit_log("ACME")
    assert [(e["action"], e["result"], e["iccid"]) for e in log[:3]] == [
        ("probe", "ok", card.iccid), ("diagnose", "failed", card.iccid), ("refresh_usage", "ok", card.iccid)
    ]  # fmt: skip
    assert all(e["actor"].endswith("(acme ops)") and e["ts"] is not None for e in log[:3])


@pytest.mark.parametrize("target", ["*.haiwell.com", "**.haiwell.com", "**.haiwell.com:443"])
def test_a_wildcard_cannot_be_probed_itself(acting: tuple[Served, Responder], target: str) -> None:
    served, agent = acting
    card = next(d for d in served.fleet.devices if d.device_id == agent.topics.device_id)
    response = served.request("POST", f"/cards/{card.iccid}/probe", "acme-operator", json={"targets": [target]})
    body = response.json()
    assert response.status_code == 400 and body["code"] == "wildcard_target"
    assert "third-level" in body["hint"] and "ecloud.haiwell.com" in body["hint"] and target in body["detail"]
    assert agent.received == []


def test_roles_companies_and_offline_devices(acting: tuple[Served, Responder]) -> None:
    served, agent = acting
    card = next(d for d in served.fleet.devices if d.device_id == agent.topics.device_id)
    response = served.request("POST", f"/cards/{card.iccid}/diagnose", "acme")
    assert response.status_code == 403 and response.json()["code"] == "forbidden_role"
    foreign = next(d for d in served.fleet.devices if d.company == "Initech")
    assert served.request("POST", f"/cards/{foreign.iccid}/diagnose", "acme-operator").status_code == 404
    assert served.request("POST", f"/cards/{card.iccid}/diagnose", None).status_code == 401
    # a device without a running agent: its status says offline (or nothing), the command waits at the broker
    silent = next(d for d in served.fleet.devices if d.company == "ACME" and d.device_id != card.device_id)
    response = served.request("POST", f"/cards/{silent.iccid}/refresh-usage?wait=1", "acme-operator")
    body = response.json()
    assert response.status_code == 202 and body["state"] in ("offline", "pending") and body["result"] is None
    assert response.headers["location"] == body["result_url"]
    assert served.get(body["result_url"], "acme").json()["state"] == body["state"]
    assert served.get(body["result_url"], "initech").status_code == 404
    results = [(e["action"], e["result"]) for e in TokenAdmin(served.store).audit_log("ACME")]
    assert ("diagnose", "forbidden") in results and ("diagnose", "not_found") in results
    assert ("refresh_usage", body["state"]) in results
    assert agent.received == []
    # the audit log over HTTP is for admins
    assert served.get("/audit", "acme").status_code == 403
    entries = served.get("/audit?company=ACME").json()
    assert entries[0]["action"] == "refresh_usage" and entries[0]["iccid"] == silent.iccid
