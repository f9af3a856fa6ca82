"""The web console over HTTP (no browser): login and session, the list's filters, counts, sort, pages and CSV, the
card's page, device pictures, the renewal banner, both languages, and tenancy — company A's user never sees
company B's cards on any page (list, search, detail, CSV, pictures, actions)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
import pytest
from clocks import shanghai
from collector_support import NOW, TODAY, clock
from sqlalchemy import create_engine

from iotcard.collector import ApiServer, CardQuery, PlanRow, Store, TokenAdmin, decode
from iotcard.collector._ingest import Accepted
from iotcard.contract.messages import (
    DiagnosisFinding,
    DiagnosisMessage,
    DirectedMessage,
    DirectedTargetResult,
    Topic,
    encode,
)
from iotcard.simulators.fleet import Fleet, Message, SimDevice

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
MIB = 1024 * 1024


def _apply(store: Store, messages: list[Message]) -> None:
    batch = [decode(m.topic, m.payload, "iotcard/v1") for m in messages]
    store.apply([item for item in batch if isinstance(item, Accepted)])


def history(device: SimDevice, now: datetime, days: int = 30, months: int = 12) -> list[Message]:
    """A month of daily reports and a year of monthly ones, so the charts have a shape; the card's cycle figure
    stays the device's profile (what was used this cycle)."""
    cycle_used = device.used_bytes
    messages = []
    for back in range(months * 31, 0, -1):
        ts = now - timedelta(days=back)
        if back > days and ts.day != 15:
            continue
        amount = (300 + (back * 37) % 900) * 1024 if back <= days else (8 + back % 5) * MIB
        messages.append(device.telemetry(ts, add_bytes=amount))
    device.used_bytes = cycle_used
    return messages


def extras(device: SimDevice, ts: datetime) -> list[Message]:
    """A diagnosis with a hint for each finding, and a round of directed results."""
    diagnosis = DiagnosisMessage(
        **device._header(ts),  # type: ignore[arg-type]
        overall="warning",
        findings=[
            DiagnosisFinding(code="data_low", severity="warning", summary="套餐流量剩余不足 10%",
                             detail="及时充值流量包，或在月底前降低上报频率"),
            DiagnosisFinding(code="signal_weak", severity="info", summary="信号偏弱（RSRP -105 dBm）",
                             detail="把天线移到机柜外，远离变频器"),
        ],
    )  # fmt: skip
    directed = DirectedMessage(
        **device._header(ts),  # type: ignore[arg-type]
        results=[
            DirectedTargetResult(target="ecloud.haiwell.com:443", verdict="reachable", dns="ok", tcp="ok", tls="ok",
                                 elapsed_ms=182),
            DirectedTargetResult(target="www.baidu.com:443", verdict="blocked", dns="ok", tcp="timeout",
                                 elapsed_ms=5000),
        ],
    )  # fmt: skip
    return [
        device._message(Topic.DIAGNOSIS, diagnosis, retain=True),
        Message(device.topics.topic(Topic.DIRECTED), encode(directed), False, device.device_id, directed.seq),
    ]


def seed_console(db_url: str, devices: int = 40) -> tuple[Store, Fleet, dict[str, str]]:
    """The API tests' fleet (3 companies, 1 in 20 cards low, exhausted, expiring, expired) with a showcase card:
    device 0 (ACME, low) has a month of days, a year of months, a diagnosis, directed results, a plan with its
    device category; devices 3 and 6 (ACME) swapped cards (alarms, bindings)."""
    fleet = Fleet.build(devices, today=TODAY)
    store = Store(db_url, writer=True, clock=clock)
    showcase = fleet.devices[0]
    _apply(store, list(fleet.hello(NOW - timedelta(days=400))))
    _apply(store, history(showcase, NOW))
    _apply(store, [*fleet.hello(NOW), *fleet.rounds(NOW, 2), *extras(showcase, NOW + timedelta(hours=9))])
    _apply(store, fleet.swap(fleet.devices[3], fleet.devices[6], NOW + timedelta(hours=10)))
    store.import_plans(
        [
            PlanRow(iccid=showcase.iccid, plan_name=showcase.plan_name, total_mb=showcase.total_mb,
                    cycle_start=showcase.cycle_start, cycle_end=showcase.cycle_end, expiry=showcase.expiry,
                    card_type="定向卡", company="ACME", device_category="enterprise")
        ]
    )  # fmt: skip
    admin = TokenAdmin(store)
    tokens = {
        "admin": admin.create(name="enterprise", company="ACME", role="admin", enterprise=True)[1],
        "acme": admin.create(name="acme app", company="ACME", role="viewer")[1],
        "initech": admin.create(name="initech app", company="Initech", role="viewer")[1],
        "acme-operator": admin.create(name="acme ops", company="ACME", role="operator")[1],
        "initech-operator": admin.create(name="initech ops", company="Initech", role="operator")[1],
    }
    return store, fleet, tokens


@dataclass
class Console:
    server: ApiServer
    fleet: Fleet
    store: Store
    tokens: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def client(self, token: str | None = "admin", **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.tokens.get(token, token)}"} if token else {}
        return httpx.Client(base_url=self.base, headers={**auth, **headers}, timeout=15, follow_redirects=False)

    def get(self, path: str, token: str | None = "admin", **headers: str) -> httpx.Response:
        with self.client(token, **headers) as client:
            return client.get(path)


def _served(url: str) -> Iterator[Console]:
    store, fleet, tokens = seed_console(url)
    server = ApiServer(store, "127.0.0.1", 0, count_ttl=0)
    server.start()
    try:
        yield Console(server, fleet, store, tokens)
    finally:
        server.stop()
        store.close()


@pytest.fixture
def console(sqlite_url: str) -> Iterator[Console]:
    yield from _served(sqlite_url)


@pytest.fixture
def console_db(db_url: str) -> Iterator[Console]:
    """SQLite and PostgreSQL: for the tenancy and the list's SQL."""
    yield from _served(db_url)


def listed(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text[:500]
    return re.findall(r'<tr class="card-row" data-iccid="(\w+)"', response.text)


def test_login_with_a_token_makes_a_session(console: Console) -> None:
    with console.client(None) as browser:
        response = browser.get("/console/cards?filter=low")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fcards%3Ffilter%3Dlow"
        page = browser.get(response.headers["location"])
        assert page.status_code == 200 and 'name="token"' in page.text
        wrong = browser.post("/console/login", data={"token": "ict_wrong", "next": "/console/cards"})
        assert wrong.status_code == 401 and "令牌无效" in wrong.text and "iotcard_session" not in browser.cookies
        outside = browser.post(
            "/console/login", data={"token": console.tokens["acme"], "next": "https://evil.example/"}
        )
        assert outside.status_code == 303 and outside.headers["location"] == "/console/cards"  # no open redirect
        cookie = outside.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert listed(browser.get("/console/cards")) and browser.get("/console/cards").status_code == 200
        assert browser.post("/console/logout").status_code == 303
        assert browser.get("/console/cards").status_code == 303
    TokenAdmin(console.store).revoke(1)  # the enterprise admin's token: its session ends with it
    assert console.get("/console/cards").status_code == 303


def test_the_list_filters_counts_sorts_and_pages(console_db: Console) -> None:
    console = console_db
    fleet = console.fleet
    page = console.get("/console/cards")
    counts = console.store.card_counts(CardQuery(), today=TODAY)
    for name in ("all", "low", "exhausted", "expiring", "expired"):
        badge = re.search(rf'id="quick-{name}"[^>]*>[^<]*<span class="badge">(\d+)</span>', page.text)
        assert badge is not None and int(badge.group(1)) == counts[name]
    assert counts["low"] == len(fleet.expected("low")) > 0
    assert set(listed(page)) == {d.iccid for d in fleet.devices}  # 40 cards: one page
    for name in ("low", "exhausted", "expiring", "expired"):
        assert set(listed(console.get(f"/console/cards?filter={name}"))) == fleet.expected(name)
    showcase = fleet.devices[0]
    assert listed(console.get(f"/console/cards?q={showcase.iccid}")) == [showcase.iccid]
    assert listed(console.get(f"/console/cards?q={showcase.name}")) == [showcase.iccid]
    unicom = {d.iccid for d in fleet.devices if d.carrier == "china_unicom"}
    assert set(listed(console.get("/console/cards?carrier=china_unicom"))) == unicom
    gigabyte = {d.iccid for d in fleet.devices if d.plan_name == "IoT 1GB/月"}
    assert set(listed(console.get("/console/cards?plan=IoT+1GB/月"))) == gigabyte
    assert set(listed(console.get("/console/cards?alarm=yes"))) == {fleet.devices[3].iccid, fleet.devices[6].iccid}
    assert set(listed(console.get("/console/cards?status=online"))) == {d.iccid for d in fleet.devices}
    assert listed(console.get("/console/cards?status=offline")) == []
    by_use = listed(console.get("/console/cards?sort=-used_bytes"))
    used = {d.iccid: d.used_bytes for d in fleet.devices}
    assert [used[i] for i in by_use] == sorted(used.values(), reverse=True)
    acme = sorted(d.iccid for d in fleet.devices if d.company == "ACME")
    assert listed(console.get("/console/cards?company=ACME")) == acme
    # pages of 50: 120 cards make three
    _apply(console.store, list(Fleet.build(80, today=TODAY, first=40).hello(NOW)))
    first, third = console.get("/console/cards"), console.get("/console/cards?page=3")
    assert len(listed(first)) == 50 and len(listed(third)) == 20 and "第 3 / 3 页" in third.text
    assert set(listed(first)).isdisjoint(listed(third))
    assert console.get("/console/cards?page=abc&sort=nonsense&filter=bogus").status_code == 200  # forgiving


def test_csv_export_follows_the_filters(console: Console) -> None:
    response = console.get("/console/cards.csv?filter=low&company=ACME")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["iccid"] for r in rows} == console.fleet.expected("low", "ACME")
    assert 'href="/console/cards.csv?filter=low' in console.get("/console/cards?filter=low").text


def test_the_card_page_shows_the_app_card(console: Console) -> None:
    showcase = console.fleet.devices[0]
    page = console.get(f"/console/cards/{showcase.iccid}")
    assert page.status_code == 200
    text = page.text
    for expected in (showcase.iccid, showcase.imei, showcase.name, showcase.pn, "企业设备", "定向卡",
                     showcase.plan_name, "可使用周期", "更新时间", "近 30 天用量", "近 12 个月用量",
                     "套餐流量剩余不足 10%", "及时充值流量包", "把天线移到机柜外", "ecloud.haiwell.com:443",
                     "流量校验", "卡诊断", "定向查询", "流量不足", "hmi.svg"):  # fmt: skip
        assert expected in text, expected
    day_chart = text.split('id="day-chart"')[1].split("</svg>")[0]
    month_chart = text.split('id="month-chart"')[1].split("</svg>")[0]
    assert day_chart.count('class="bar"') == 30 and month_chart.count('class="bar"') == 12
    days = console.store.usage(showcase.iccid, "day", today=TODAY, periods=30)
    drawn = [int(b) for b in re.findall(r'data-bytes="(\d+)"', day_chart)]
    assert drawn == [p["total_bytes"] for p in days] and sum(drawn) > 0
    assert sum(1 for n in re.findall(r'data-bytes="(\d+)"', month_chart) if int(n)) >= 10
    assert "<script>" not in text and "style=" not in text  # the CSP allows no inline script or style
    assert "default-src 'self'" in page.headers["content-security-policy"]
    moved = console.get(f"/console/cards/{console.fleet.devices[3].iccid}").text
    assert "卡被移到另一台设备" in moved or "设备换了卡" in moved
    viewer = console.get(f"/console/cards/{showcase.iccid}", "acme").text
    assert "只读令牌不能执行操作" in viewer and 'id="act-refresh-usage"' not in viewer
    assert 'id="act-refresh-usage"' in console.get(f"/console/cards/{showcase.iccid}", "acme-operator").text


def test_english_by_header_and_a_switch(console: Console) -> None:
    showcase = console.fleet.devices[0]
    english = console.get(f"/console/cards/{showcase.iccid}", "admin", **{"Accept-Language": "en-US,en;q=0.9"})
    assert "Last 30 days" in english.text and "Usable cycles" in english.text and 'lang="en"' in english.text
    chinese = console.get("/console/cards", "admin", **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "流量不足" in chinese.text and 'lang="zh-CN"' in chinese.text
    with console.client("admin", **{"Accept-Language": "zh-CN"}) as browser:
        switched = browser.get("/console/cards?lang=en")
        assert "Data low" in switched.text
        assert "Data low" in browser.get("/console/cards").text  # remembered in a cookie


def test_device_pictures(console: Console) -> None:
    showcase = console.fleet.devices[0]
    path = f"/devices/{showcase.device_id}/thumbnail"
    with console.client("acme-operator") as client:
        assert client.put(path, content=PNG, headers={"Content-Type": "image/png"}).status_code == 204
        stored = client.get(path)
        assert stored.status_code == 200 and stored.content == PNG and stored.headers["content-type"] == "image/png"
        assert client.put(path, content=JPEG, headers={"Content-Type": "image/jpeg"}).status_code == 204
        bad = client.put(path, content=b"GIF89a" + bytes(10), headers={"Content-Type": "image/gif"})
        assert bad.status_code == 400 and bad.json()["code"] == "bad_image"
        lying = client.put(path, content=b"<svg onload=alert(1)>", headers={"Content-Type": "image/png"})
        assert lying.status_code == 400
        big = client.put(path, content=PNG + bytes(600 * 1024), headers={"Content-Type": "image/png"})
        assert big.status_code == 413 and big.json()["code"] == "too_large"
    assert console.get(path).content == JPEG
    with console.client("acme") as viewer:
        assert viewer.put(path, content=PNG, headers={"Content-Type": "image/png"}).status_code == 403
    with console.client("initech-operator") as other:
        refused = other.put(path, content=PNG, headers={"Content-Type": "image/png"})
        assert refused.status_code == 404 and showcase.device_id in refused.json()["detail"]
        assert other.get(path).status_code == 404
    page = console.get(f"/console/cards/{showcase.iccid}").text
    assert f'src="/console/devices/{showcase.device_id}/thumbnail?v=' in page and "hmi.svg" not in page
    picture = console.get(f"/console/devices/{showcase.device_id}/thumbnail", "acme")
    assert picture.status_code == 200 and picture.content == JPEG
    assert console.get(f"/console/devices/{showcase.device_id}/thumbnail", "initech").status_code == 404
    assert console.get(f"/console/devices/{console.fleet.devices[1].device_id}/thumbnail").status_code == 404


def test_company_a_never_sees_company_b(console_db: Console) -> None:
    console = console_db
    fleet = console.fleet
    acme = {d.iccid for d in fleet.devices if d.company == "ACME"}
    initech = [d for d in fleet.devices if d.company == "Initech"]
    foreign = initech[0]
    page = console.get("/console/cards", "acme")
    assert set(listed(page)) == acme and not any(d.iccid in page.text for d in initech)
    assert "Initech" not in page.text and "Globex" not in page.text  # no company switch, no foreign names
    for name in ("low", "exhausted", "expiring", "expired"):
        assert set(listed(console.get(f"/console/cards?filter={name}", "acme"))) == fleet.expected(name, "ACME")
    assert listed(console.get(f"/console/cards?q={foreign.iccid}", "acme")) == []
    assert listed(console.get(f"/console/cards?q={foreign.name}", "acme")) == []
    assert listed(console.get("/console/cards?carrier=china_telecom&plan=IoT+30MB/月", "acme")) == [
        d.iccid for d in sorted(fleet.devices, key=lambda d: d.iccid)
        if d.company == "ACME" and d.carrier == "china_telecom" and d.plan_name == "IoT 30MB/月"
    ]  # fmt: skip
    detail = console.get(f"/console/cards/{foreign.iccid}", "acme")
    shown = re.sub(r'href="[^"]*"', "", detail.text)  # the language switch links back to the address asked
    assert detail.status_code == 404 and foreign.iccid not in shown
    assert foreign.name not in shown and foreign.imei not in shown and foreign.device_id not in shown
    assert "Traceback" not in detail.text and "sqlite" not in detail.text.lower()
    assert console.get(f"/console/cards/{foreign.iccid.lower()}", "acme").status_code == 404
    assert console.get("/console/cards?company=Initech", "acme").status_code == 403
    exported = console.get("/console/cards.csv", "acme").content.decode("utf-8-sig")
    assert {r["iccid"] for r in csv.DictReader(io.StringIO(exported))} == acme
    assert {r["company"] for r in csv.DictReader(io.StringIO(exported))} == {"ACME"}
    with console.client("acme-operator", **{"X-Console": "1"}) as client:
        refused = client.post(f"/console/cards/{foreign.iccid}/actions/diagnose")
        assert refused.status_code == 404
    # and the other way round: Initech sees its own card
    assert console.get(f"/console/cards/{foreign.iccid}", "initech").status_code == 200
    assert console.get(f"/console/cards/{fleet.devices[0].iccid}", "initech").status_code == 404


def test_actions_need_the_console_header_and_a_session(console: Console) -> None:
    card = console.fleet.devices[0]
    with console.client("acme-operator") as client:
        assert client.post(f"/console/cards/{card.iccid}/actions/diagnose").status_code == 403  # CSRF
    with console.client(None, **{"X-Console": "1"}) as client:
        assert client.post(f"/console/cards/{card.iccid}/actions/diagnose").status_code == 401
    with console.client("acme-operator", **{"X-Console": "1"}) as client:
        # the API's own answer (no broker here), in the page's language
        answer = client.post(f"/console/cards/{card.iccid}/actions/refresh-usage")
        assert answer.status_code == 503 and answer.json()["code"] == "actions_unavailable"
        assert "MQTT" in answer.json()["message"]
        wildcard = client.post(f"/console/cards/{card.iccid}/actions/probe", json={"targets": ["**.haiwell.com"]})
        assert wildcard.status_code == 400 and wildcard.json()["code"] == "wildcard_target"
        assert client.post(f"/console/cards/{card.iccid}/actions/reboot").status_code == 404
    with console.client("acme", **{"X-Console": "1"}) as client:
        assert client.post(f"/console/cards/{card.iccid}/actions/diagnose").json()["code"] == "forbidden_role"


@pytest.mark.parametrize(
    ("instant", "banner"),
    [(shanghai(2026, 11, 17, 10), None), (shanghai(2026, 11, 20, 10), "renew-banner"),
     (shanghai(2026, 11, 25, 23), "renew-banner"), (shanghai(2026, 11, 26, 10), "paused-banner"),
     (shanghai(2026, 12, 1, 10), "expired-banner")],
)  # fmt: skip
def test_the_renewal_banner_from_the_20th(sqlite_url: str, instant: datetime, banner: str | None) -> None:
    store = Store(sqlite_url, writer=True, clock=lambda: instant)
    store.import_plans([PlanRow(iccid="89860000000000000018", plan_name="IoT 30MB/月", total_mb=30,
                                cycle_start=date(2026, 11, 1), cycle_end=date(2026, 11, 30),
                                expiry=date(2026, 11, 28), card_type=None, company="ACME")])  # fmt: skip
    token = TokenAdmin(store).create(name="viewer", company="ACME")[1]
    server = ApiServer(store, "127.0.0.1", 0, count_ttl=0)
    server.start()
    try:
        page = httpx.get(f"http://127.0.0.1:{server.port}/console/cards/89860000000000000018",
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    finally:
        server.stop()
        store.close()
    found = re.findall(r'id="(\w+-banner)"', page.text)
    assert found == ([banner] if banner else [])
    if banner == "renew-banner":
        assert "2026-11-25" in page.text and "26 日" in page.text


def test_errors_are_pages_without_details(console: Console) -> None:
    missing = console.get("/console/cards/89860000000000000000")
    assert missing.status_code == 404 and "没有这张卡" in missing.text
    assert console.get("/console/nowhere").status_code == 404
    # a database that stops answering: the page says so, with no address, driver or traceback
    console.store.engine.dispose()
    console.store.engine = create_engine("sqlite:////nonexistent/dir/cards.sqlite3")
    down = console.get("/console/cards")
    assert down.status_code == 503 and "数据库暂时无法访问" in down.text
    assert "nonexistent" not in down.text and "Traceback" not in down.text and "sqlalchemy" not in down.text.lower()
