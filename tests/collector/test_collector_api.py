"""The HTTP API (FastAPI on uvicorn, served on 127.0.0.1): tokens and tenancy, lists with several filters, sort,
keyset pages, counts and CSV, problem documents, HEAD/OPTIONS/405, ETag, gzip and CORS."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from collector_support import NOW, TODAY, clock

from iotcard.collector import FILTER_FLAGS, FILTERS, ApiServer, CardQuery, Store, TokenAdmin, decode
from iotcard.collector._access import TOKEN_CACHE_TTL
from iotcard.collector._ingest import Accepted
from iotcard.simulators.fleet import Fleet


@dataclass
class Served:
    server: ApiServer
    fleet: Fleet
    store: Store
    tokens: dict[str, str]

    def get(self, path: str, token: str | None = "admin", **options: Any) -> httpx.Response:
        return self.request("GET", path, token, **options)

    def request(self, method: str, path: str, token: str | None = "admin", **options: Any) -> httpx.Response:
        headers = dict(options.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        with httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", timeout=10) as client:
            return client.request(method, path, headers=headers, **options)


def seed(db_url: str, devices: int = 40) -> tuple[Store, Fleet, dict[str, str]]:
    fleet = Fleet.build(devices, today=TODAY)
    store = Store(db_url, writer=True, clock=clock)
    batch = [decode(m.topic, m.payload, "iotcard/v1") for m in [*fleet.hello(NOW), *fleet.rounds(NOW, 2)]]
    store.apply([item for item in batch if isinstance(item, Accepted)])
    admin = TokenAdmin(store)
    tokens = {
        "admin": admin.create(name="enterprise", company="ACME", role="admin", enterprise=True)[1],
        "acme": admin.create(name="acme app", company="ACME", role="viewer")[1],
        "initech": admin.create(name="initech app", company="Initech", role="viewer")[1],
        "acme-operator": admin.create(name="acme ops", company="ACME", role="operator")[1],
    }
    return store, fleet, tokens


@pytest.fixture
def served(db_url: str) -> Iterator[Served]:
    store, fleet, tokens = seed(db_url)
    server = ApiServer(store, "127.0.0.1", 0, count_ttl=0, cors_origins=("https://app.example",))
    server.start()
    try:
        yield Served(server, fleet, store, tokens)
    finally:
        server.stop()
        store.close()


def iccids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [card["iccid"] for card in response.json()["cards"]]


def test_cards_list_filters_and_pages(served: Served) -> None:
    fleet = served.fleet
    response = served.get("/cards?limit=5&offset=10")
    body = response.json()
    assert response.status_code == 200 and body["total"] == 40 and (body["limit"], body["offset"]) == (5, 10)
    assert [card["iccid"] for card in body["cards"]] == sorted(d.iccid for d in fleet.devices)[10:15]
    for name in FILTERS:
        cards = served.get(f"/cards?filter={name}").json()["cards"]
        assert {c["iccid"] for c in cards} == fleet.expected(name)
        assert all(FILTER_FLAGS[name] in c["flags"] for c in cards)
    assert set(iccids(served.get("/cards?filter=low&company=ACME"))) == fleet.expected("low", "ACME")
    device = fleet.devices[3]
    body = served.get(f"/cards?search={device.imei}").json()
    assert [c["device_id"] for c in body["cards"]] == [device.device_id]
    card = body["cards"][0]
    assert card["used_bytes"] == device.used_bytes and card["online"] is True and card["in_device"] is True
    assert card["total_bytes"] - card["used_bytes"] == card["remaining_bytes"]


def test_several_filters_at_once(served: Served) -> None:
    fleet = served.fleet
    both = fleet.expected("low") | fleet.expected("expired")
    assert fleet.expected("low") and fleet.expected("expired")
    response = served.get("/cards?filter=low&filter=expired&limit=1000")
    assert set(iccids(response)) == both and response.json()["total"] == len(both)
    expected = fleet.expected("expiring") & fleet.expected("low")
    assert set(iccids(served.get("/cards?filter=expiring&filter=low&match=all"))) == expected


@pytest.mark.parametrize("sort", ["iccid", "-iccid", "expiry", "-expiry", "used_bytes", "-last_seen", "company"])
def test_sort_and_keyset_pages_cover_every_card_once(served: Served, sort: str) -> None:
    everything = iccids(served.get(f"/cards?sort={sort}&limit=1000"))
    assert sorted(everything) == sorted(d.iccid for d in served.fleet.devices)
    if sort.lstrip("-") in ("expiry", "used_bytes", "company"):
        key = {"expiry": "expiry", "used_bytes": "used_bytes", "company": "company"}[sort.lstrip("-")]
        none = {"expiry": date.max, "used_bytes": -1, "company": ""}[key]
        cards = served.get(f"/cards?sort={sort}&limit=1000").json()["cards"]
        values = [str(c[key] if c[key] is not None else none) if key == "expiry" else c[key] for c in cards]
        values = [none if value is None else value for value in values]
        assert values == sorted(values, reverse=sort.startswith("-"))
    paged: list[str] = []
    cursor = None
    for _ in range(20):
        url = f"/cards?sort={sort}&limit=7" + (f"&cursor={cursor}" if cursor else "")
        body = served.get(url).json()
        paged += [card["iccid"] for card in body["cards"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == everything
    assert served.get(f"/cards?sort={sort}&cursor=bm9wZQ").json()["code"] == "bad_cursor"


def test_counts_match_the_lists_in_one_call(served: Served) -> None:
    counts = served.get("/cards/counts").json()
    assert counts == {"all": 40, **{name: len(served.fleet.expected(name)) for name in FILTERS}}
    acme = served.get("/cards/counts", "acme").json()
    assert acme["all"] == sum(1 for d in served.fleet.devices if d.company == "ACME")
    assert acme["low"] == len(served.fleet.expected("low", "ACME"))
    for name in FILTERS:
        total, _ = served.store.list_cards(CardQuery(company="ACME", filter=name), today=TODAY)
        assert acme[name] == total


def test_csv_export_for_excel(served: Served) -> None:
    response = served.get("/cards.csv?filter=low&filter=exhausted&sort=-used_bytes")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf") and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    expected = served.fleet.expected("low") | served.fleet.expected("exhausted")
    assert {row["iccid"] for row in rows} == expected and len(rows) == len(expected)
    assert [int(row["used_bytes"]) for row in rows] == sorted((int(r["used_bytes"]) for r in rows), reverse=True)
    assert all("data_low" in row["flags"] or "data_exhausted" in row["flags"] for row in rows)


def test_a_company_token_sees_only_its_company(served: Served) -> None:
    fleet = served.fleet
    acme = [d for d in fleet.devices if d.company == "ACME"]
    initech = {d.iccid for d in fleet.devices if d.company == "Initech"}
    assert acme and initech
    foreign = acme[0]
    response = served.get(f"/cards/{foreign.iccid}", "initech")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert served.get(f"/cards/{foreign.iccid}/usage", "initech").status_code == 404
    assert served.get(f"/cards/{foreign.iccid}", "acme").status_code == 200
    assert set(iccids(served.get("/cards?limit=1000", "initech"))) == initech
    assert iccids(served.get(f"/cards?search={foreign.imei}", "initech")) == []
    assert iccids(served.get(f"/cards?search={foreign.iccid}", "initech")) == []
    counts = served.get("/cards/counts", "initech").json()
    assert counts["all"] == len(initech)
    exported = served.get("/cards.csv", "initech").content.decode("utf-8-sig")
    assert foreign.iccid not in exported and len(exported.splitlines()) == len(initech) + 1
    response = served.get("/cards?company=ACME", "initech")
    assert response.status_code == 403 and response.json()["code"] == "company_forbidden"
    assert served.get("/cards?company=Initech", "initech").status_code == 200
    # the enterprise admin switches company with company= or X-Company
    assert set(iccids(served.get("/cards?company=Initech&limit=1000"))) == initech
    assert set(iccids(served.get("/cards?limit=1000", headers={"X-Company": "Initech"}))) == initech


def test_tokens_are_required_and_revocable(served: Served) -> None:
    response = served.get("/cards", None)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized" and response.json()["hint"]
    assert served.get("/cards", "ict_" + "x" * 43).status_code == 401
    assert served.get("/cards", "not-a-token").status_code == 401
    admin = TokenAdmin(served.store)
    token_id, secret = admin.create(name="short-lived", company="ACME")
    assert served.get("/cards", secret).status_code == 200
    assert admin.revoke(token_id)
    assert served.get("/cards", secret).status_code == 401
    assert secret not in str(admin.tokens()) and all("token_hash" not in t for t in admin.tokens())
    assert served.get("/health", None).json()["ok"] is True


def test_a_token_revoked_elsewhere_stops_working_within_the_cache_time(sqlite_url: str) -> None:
    """Tokens found valid are kept for TOKEN_CACHE_TTL: a revocation through the same Store ends a token at once,
    one from another process (the command line, another Store) once that time has passed."""
    now = [NOW]
    store = Store(sqlite_url, clock=lambda: now[0])
    elsewhere = Store(sqlite_url)
    try:
        api = TokenAdmin(store)
        token_id, secret = TokenAdmin(elsewhere).create(name="app", company="ACME")
        assert api.cached(secret) is None  # never read yet: ask the database
        found = api.authenticate(secret)
        assert found is not None and found.company == "ACME" and api.cached(secret) == found
        assert TokenAdmin(elsewhere).revoke(token_id)
        assert api.authenticate(secret) == found  # still within the cache time
        now[0] = NOW + TOKEN_CACHE_TTL
        assert api.cached(secret) is None and api.authenticate(secret) is None
        other_id, other = TokenAdmin(elsewhere).create(name="second", company="ACME")
        assert api.authenticate(other) is not None
        assert TokenAdmin(store).revoke(other_id)  # through this Store: at once
        assert api.cached(other) is None and api.authenticate(other) is None
    finally:
        elsewhere.close()
        store.close()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/cards/89860000000000000000", 404, "not_found"),
        ("/cards/89860000000000000000/usage", 404, "not_found"),
        ("/cards?filter=cheap", 400, "bad_request"),
        ("/cards?limit=0", 400, "bad_request"),
        ("/cards?limit=abc", 400, "bad_request"),
        ("/cards?sort=price", 400, "bad_request"),
        ("/cards?filters=low", 400, "bad_request"),  # a typo is refused, not ignored
        ("/cards?search=a&search=b", 400, "bad_request"),  # one value, not silently the last
        ("/cards/898600000000000000009/usage?granularity=week", 400, "bad_request"),
        ("/nowhere", 404, "not_found"),
    ],
)
def test_errors_are_problem_documents(served: Served, path: str, status: int, code: str) -> None:
    response = served.get(path)
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (response.status_code, body["code"], body["status"]) == (status, code, status)
    assert body["detail"] and body["title"] and "hint" in body and "Traceback" not in response.text


def test_methods_head_options_and_405(served: Served) -> None:
    get = served.get("/cards?limit=3")
    head = served.request("HEAD", "/cards?limit=3")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == get.headers["etag"]
    options = served.request("OPTIONS", "/cards", None)
    assert options.status_code == 204 and set(options.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    response = served.request("DELETE", "/cards")
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"
    card = served.fleet.devices[0].iccid
    assert "POST" in served.request("OPTIONS", f"/cards/{card}/probe", None).headers["allow"]


def test_etag_gzip_and_cors(served: Served) -> None:
    card = served.fleet.devices[0].iccid
    first = served.get(f"/cards/{card}", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    assert first.json()["iccid"] == card
    again = served.get(f"/cards/{card}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    listing = served.get("/cards")
    assert served.get("/cards", headers={"If-None-Match": listing.headers["etag"]}).status_code == 304
    assert served.get("/cards?limit=2", headers={"If-None-Match": listing.headers["etag"]}).status_code == 200
    preflight = served.request(
        "OPTIONS",
        "/cards",
        None,
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    plain = served.get("/cards?limit=1", headers={"Origin": "https://app.example"})
    assert plain.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in served.get("/cards", headers={"Origin": "https://evil.example"}).headers


def test_an_unavailable_database_is_a_503_without_its_address() -> None:
    store = Store("postgresql://collector:secret@127.0.0.1:9/cards", migrate_schema=False, clock=clock)
    server = ApiServer(store, "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=20) as client:
            for path in ("/health", "/cards"):
                response = client.get(path, headers={"Authorization": "Bearer ict_" + "a" * 43})
                assert response.status_code == 503 and response.json()["code"] == "database_unavailable"
                for leak in ("127.0.0.1", ":9", "secret", "collector", "psycopg", "Traceback"):
                    assert leak not in response.text, leak
    finally:
        server.stop()
        store.close()


def test_openapi_document_lists_the_paths(served: Served) -> None:
    doc = served.get("/openapi.json", None).json()
    assert doc["openapi"].startswith("3.")
    assert {"/cards", "/cards/counts", "/cards.csv", "/cards/{iccid}", "/cards/{iccid}/usage",
            "/cards/{iccid}/probe", "/cards/{iccid}/diagnose", "/cards/{iccid}/refresh-usage", "/health"} <= set(
        doc["paths"])  # fmt: skip
    schemas = doc["components"]["schemas"]
    assert {"CardList", "CardDetail", "CardSummary", "UsageSeries", "CardCounts", "Problem", "ActionOut"} <= set(
        schemas
    )
    listed = doc["paths"]["/cards"]["get"]
    assert listed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CardList")
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert served.get("/health", None).json() == {"ok": True, "schema_version": served.store.schema_version()}
