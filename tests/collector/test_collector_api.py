"""The read-only HTTP API served on 127.0.0.1: status codes, JSON shapes, the OpenAPI document."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from collector_support import NOW, TODAY, clock

from collector import FILTER_FLAGS, ApiServer, Store, decode
from collector._ingest import Accepted
from simulators.fleet import Fleet


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[ApiServer, Fleet]]:
    fleet = Fleet.build(40, today=TODAY)
    store = Store(db_url, writer=True, clock=clock)
    batch = [decode(m.topic, m.payload, "iotcard/v1") for m in [*fleet.hello(NOW), *fleet.rounds(NOW, 2)]]
    store.apply([item for item in batch if isinstance(item, Accepted)])
    server = ApiServer(store, "127.0.0.1", 0)
    server.start()
    try:
        yield server, fleet
    finally:
        server.stop()
        store.close()


def get(server: ApiServer, path: str, method: str = "GET") -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        assert response.getheader("Content-Type") == "application/json; charset=utf-8"
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_cards_list_filters_and_pages(served: tuple[ApiServer, Fleet]) -> None:
    server, fleet = served
    status, body = get(server, "/cards?limit=5&offset=10")
    assert status == 200 and body["total"] == 40 and (body["limit"], body["offset"]) == (5, 10)
    assert [card["iccid"] for card in body["cards"]] == sorted(d.iccid for d in fleet.devices)[10:15]
    for name in ("low", "exhausted", "expiring", "expired"):
        status, body = get(server, f"/cards?filter={name}")
        assert status == 200 and {c["iccid"] for c in body["cards"]} == fleet.expected(name)
        assert all(FILTER_FLAGS[name] in c["flags"] for c in body["cards"])
    status, body = get(server, "/cards?filter=low&company=ACME")
    assert {c["iccid"] for c in body["cards"]} == fleet.expected("low", "ACME")
    device = fleet.devices[3]
    status, body = get(server, f"/cards?search={device.imei}")
    assert [c["device_id"] for c in body["cards"]] == [device.device_id]
    card = body["cards"][0]
    assert card["used_bytes"] == device.used_bytes and card["online"] is True and card["in_device"] is True
    assert card["total_bytes"] - card["used_bytes"] == card["remaining_bytes"]


def test_card_detail_and_usage(served: tuple[ApiServer, Fleet]) -> None:
    server, fleet = served
    device = fleet.devices[0]
    status, body = get(server, f"/cards/{device.iccid}")
    assert status == 200
    assert (body["iccid"], body["imei"], body["device"]["device_id"]) == (device.iccid, device.imei, device.device_id)
    assert body["device"]["name"] == device.name and body["plan_name"] == device.plan_name
    assert body["diagnosis"]["overall"] == "warning" and body["signal"]["technology"] == "lte"
    assert body["flags"] == ["data_low"] and body["bindings"][0]["until"] is None
    status, body = get(server, f"/cards/{device.iccid}/usage?granularity=day&periods=7")
    assert status == 200 and body["granularity"] == "day" and len(body["points"]) == 7
    assert sum(p["total_bytes"] for p in body["points"]) == 2 * 4096
    assert all(p["total_bytes"] == p["rx_bytes"] + p["tx_bytes"] for p in body["points"])
    status, body = get(server, f"/cards/{device.iccid}/usage?granularity=month")
    assert status == 200 and len(body["points"]) == 12 and body["points"][-1]["period"] == f"{TODAY:%Y-%m}"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/cards/89860000000000000000", 404, "not_found"),
        ("/cards/89860000000000000000/usage", 404, "not_found"),
        ("/cards?filter=cheap", 400, "bad_request"),
        ("/cards?limit=0", 400, "bad_request"),
        ("/cards?limit=abc", 400, "bad_request"),
        ("/cards/898600000000000000009/usage?granularity=week", 400, "bad_request"),
        ("/nowhere", 404, "not_found"),
    ],
)
def test_errors_are_json_with_a_code(served: tuple[ApiServer, Fleet], path: str, status: int, code: str) -> None:
    server, _ = served
    got, body = get(server, path)
    assert (got, body["error"]["code"]) == (status, code) and body["error"]["message"]


def test_the_api_is_read_only(served: tuple[ApiServer, Fleet]) -> None:
    server, _ = served
    for method in ("POST", "PUT", "DELETE"):
        status, body = get(server, "/cards", method)
        assert status == 405 and body["error"]["code"] == "read_only"


def test_openapi_document_lists_the_paths(served: tuple[ApiServer, Fleet]) -> None:
    server, _ = served
    status, doc = get(server, "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert {"/cards", "/cards/{iccid}", "/cards/{iccid}/usage", "/openapi.json", "/health"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert {"CardList", "CardDetail", "CardSummary", "UsageSeries", "Error"} <= set(schemas)
    listed = doc["paths"]["/cards"]["get"]
    assert (
        listed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/CardList"
    )
    refs = {ref for ref in json.dumps(doc).split('"') if ref.startswith("#/components/schemas/")}
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(schemas)  # every reference resolves
    status, health = get(server, "/health")
    assert status == 200 and health == {"ok": True, "schema_version": 2}
