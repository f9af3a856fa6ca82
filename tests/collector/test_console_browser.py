"""The web console in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium): log in,
filter, search, open a card, see its charts, check a 定向查询's targets before sending, and run 流量校验 against a
simulated device on a real Mosquitto whose new figure the collector ingests — the page's numbers change.

Screenshots of the list and the card at desktop and phone widths are taken every run (into the test's temporary
directory); with ``IOTCARD_SCREENSHOTS=docs/screenshots`` they replace the README's ones.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from collector_support import NOW, start_collector
from mosquitto_support import Broker
from paho.mqtt.enums import CallbackAPIVersion
from test_console import seed_console

from iotcard.collector import ApiServer, BrokerSettings, Store, send_command
from iotcard.contract.messages import CommandResultMessage, StatusMessage, Topic, Topics, encode, parse_command
from iotcard.simulators.fleet import SimDevice

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
REFRESH_BYTES = 3 * MIB

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    if webdriver is None:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them when root)")
    profile = tempfile.mkdtemp(prefix="iotcard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     "--hide-scrollbars",
                     f"--user-data-dir={profile}", "--window-size=1280,900", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})  # headless ignores --lang
    offline = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never fetches a browser or a driver
    try:
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    finally:
        if offline is None:
            del os.environ["SE_OFFLINE"]
        else:
            os.environ["SE_OFFLINE"] = offline
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Device:
    """The showcase card's device on the broker: status online (retained); 流量校验 makes it report 3 MiB more
    (a telemetry with the new cycle figure, as the agent does) and then answer; a probe answers per target."""

    def __init__(self, port: int, device: SimDevice) -> None:
        self.device = device
        self.topics = Topics(device.device_id)
        self.received: list[str] = []
        ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"iotcard-{device.device_id}",
                                  protocol=paho.MQTTv5)  # fmt: skip
        self.client.on_connect = lambda c, *_: c.subscribe(self.topics.command_filter, qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(5)
        status = StatusMessage(**self._header(), state="online", agent_version="1", started_at=NOW)
        self.client.publish(self.topics.topic(Topic.STATUS), encode(status), qos=1, retain=True).wait_for_publish(5)

    def _header(self) -> dict[str, Any]:
        self.device.seq += 1
        return {"device_id": self.device.device_id, "iccid": self.device.iccid, "imei": self.device.imei,
                "seq": self.device.seq, "ts": NOW + timedelta(hours=12)}  # fmt: skip

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        name = self.topics.command_name(message.topic)
        assert name is not None
        command = parse_command({**json.loads(message.payload), "command": name})
        self.received.append(name)
        result: dict[str, Any]
        if name == "refresh_usage":
            report = self.device.telemetry(NOW + timedelta(hours=12), add_bytes=REFRESH_BYTES, signal=False)
            client.publish(report.topic, report.payload, qos=1)
            result = {"cycle_total_bytes": self.device.used_bytes, "cycle_start": str(self.device.cycle_start)}
        elif name == "probe":
            result = {"results": [{"target": t, "verdict": "reachable"} for t in command.targets]}  # type: ignore[attr-defined]
        else:
            result = {"overall": "ok", "findings": []}
        answer = CommandResultMessage(**self._header(), request_id=command.request_id, command=name, ok=True,
                                      result=result)  # fmt: skip
        client.publish(self.topics.topic(Topic.RESULT, name), encode(answer), qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def hmi_picture(width: int = 256, height: int = 160) -> bytes:
    """A small PNG that looks like an HMI project's start screen: a title bar, two gauges' boxes, a button row."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            colour = (236, 240, 245)
            if y < 22:
                colour = (21, 50, 79)
            elif 34 <= y < 104 and (14 <= x < 120 or 136 <= x < 242):
                colour = (255, 255, 255) if not (60 <= y < 78 and (30 <= x < 104 or 152 <= x < 226)) else (31, 111, 235)
            elif 118 <= y < 146 and any(s <= x < s + 64 for s in (14, 96, 178)):
                colour = (26, 155, 90)
            row += bytes(colour)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def shoot(driver: Any, folder: Path, name: str, width: int, phone: bool, full: bool = True) -> None:
    """The page at ``width`` CSS pixels (a phone: 2x pixels and mobile emulation), whole or its first screen,
    into docs/screenshots."""
    metrics = {"width": width, "height": 844 if phone else 900, "deviceScaleFactor": 2 if phone else 1,
               "mobile": phone}  # fmt: skip
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    if full:
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(height, 3200)})
    png = driver.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(png)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture
def running(broker: Broker, sqlite_url: str) -> Iterator[tuple[ApiServer, Any, dict[str, str], Device]]:
    store, fleet, tokens = seed_console(sqlite_url)
    showcase = fleet.devices[0]
    ingest = Store(sqlite_url, writer=True, clock=store.clock)
    collector = start_collector(ingest, broker.port, client_id="collector-console")
    device = Device(broker.port, showcase)
    settings = BrokerSettings("127.0.0.1", broker.port)

    def commander(device_id: str, command: Any, wait: float) -> Any:
        return send_command(settings, device_id, command, timeout=wait, status_wait=1.0)

    server = ApiServer(store, "127.0.0.1", 0, count_ttl=0, commander=commander)
    server.start()
    try:
        yield server, fleet, tokens, device
    finally:
        server.stop()
        device.close()
        collector.stop()
        ingest.close()
        store.close()


def test_the_console_in_a_browser(
    chrome: Any, running: tuple[ApiServer, Any, dict[str, str], Device], tmp_path: Path
) -> None:
    server, fleet, tokens, device = running
    shots = REPO / os.environ["IOTCARD_SCREENSHOTS"] if os.environ.get("IOTCARD_SCREENSHOTS") else tmp_path
    base = f"http://127.0.0.1:{server.port}/console"
    showcase = fleet.devices[0]
    # the page replaces its figures in place after an action: an element may go stale between two looks
    wait = WebDriverWait(chrome, 15, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))
    with __import__("httpx").Client() as client:
        stored = client.put(f"http://127.0.0.1:{server.port}/devices/{showcase.device_id}/thumbnail",
                            content=hmi_picture(), headers={"Authorization": f"Bearer {tokens['admin']}",
                                                            "Content-Type": "image/png"})  # fmt: skip
        assert stored.status_code == 204

    # log in: the list asks for a token first, then comes back
    chrome.get(f"{base}/cards")
    assert "/console/login" in chrome.current_url
    chrome.find_element(By.ID, "token").send_keys(tokens["admin"])
    chrome.find_element(By.ID, "login-button").click()
    wait.until(lambda d: d.find_elements(By.ID, "cards"))
    rows = chrome.find_elements(By.CSS_SELECTOR, "tr.card-row")
    assert {r.get_attribute("data-iccid") for r in rows} == {d.iccid for d in fleet.devices}
    assert chrome.find_element(By.CSS_SELECTOR, "#quick-low .badge").text == str(len(fleet.expected("low")))
    assert chrome.find_elements(By.CSS_SELECTOR, "tr.card-row svg.signal rect.on")  # signal bars drawn
    shoot(chrome, shots, "console-list-desktop.png", 1280, phone=False, full=False)
    shoot(chrome, shots, "console-list-phone.png", 390, phone=True, full=False)

    # the quick filter 流量不足, then a search
    chrome.find_element(By.ID, "quick-low").click()
    wait.until(lambda d: "filter=low" in d.current_url)
    low = {r.get_attribute("data-iccid") for r in chrome.find_elements(By.CSS_SELECTOR, "tr.card-row")}
    assert low == fleet.expected("low") and showcase.iccid in low
    chrome.find_element(By.ID, "quick-all").click()
    search = wait.until(lambda d: d.find_element(By.ID, "search"))
    search.send_keys(showcase.name)
    chrome.find_element(By.ID, "search-button").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.card-row")) == 1)

    # the card: device with its picture, plan, the charts
    chrome.find_element(By.CSS_SELECTOR, "tr.card-row a.iccid").click()
    wait.until(lambda d: d.find_elements(By.ID, "card-iccid"))
    assert chrome.find_element(By.ID, "card-iccid").text == showcase.iccid
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#day-chart svg rect.bar")) == 30
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#month-chart svg rect.bar")) == 12
    assert chrome.execute_script("return document.getElementById('thumbnail').naturalWidth") == 256
    assert chrome.find_element(By.ID, "device-category").text == "企业设备"
    used_before = int(chrome.find_element(By.ID, "used-bytes").get_attribute("data-bytes"))
    assert used_before == showcase.used_bytes

    # 定向查询: a whitelisted wildcard is refused on the page, before anything is sent
    targets = chrome.find_element(By.ID, "probe-targets")
    targets.send_keys("**.haiwell.com")
    hint = chrome.find_element(By.ID, "probe-hint")
    wait.until(lambda d: hint.is_displayed())
    assert "ecloud.haiwell.com" in hint.text and not chrome.find_element(By.ID, "act-probe").is_enabled()
    targets.clear()
    targets.send_keys("ecloud.haiwell.com:443")
    wait.until(lambda d: not hint.is_displayed() and d.find_element(By.ID, "act-probe").is_enabled())
    chrome.find_element(By.ID, "act-probe").click()
    wait.until(lambda d: "ecloud.haiwell.com:443: reachable" in d.find_element(By.ID, "action-outcome").text)

    # 流量校验: the device reports, the collector stores it, the page's figures change
    refresh = chrome.find_element(By.ID, "act-refresh-usage")
    wait.until(lambda d: refresh.is_enabled())  # the probe's page refresh is over
    refresh.click()
    wait.until(lambda d: d.find_element(By.ID, "used-bytes").get_attribute("data-bytes") != str(used_before))
    used_after = int(chrome.find_element(By.ID, "used-bytes").get_attribute("data-bytes"))
    assert used_after == used_before + REFRESH_BYTES
    assert "流量耗尽" in chrome.find_element(By.CSS_SELECTOR, ".head .flags").text  # past the plan's 30 MB now
    assert "完成" in chrome.find_element(By.ID, "action-outcome").text
    assert device.received == ["probe", "refresh_usage"]
    shoot(chrome, shots, "console-card-desktop.png", 1280, phone=False)
    shoot(chrome, shots, "console-card-phone.png", 390, phone=True)

    # English by the switch, kept for the next page
    chrome.find_element(By.ID, "lang-switch").click()
    wait.until(lambda d: "Last 30 days" in d.page_source)
    chrome.get(f"{base}/cards")
    assert "Data low" in chrome.page_source
    chrome.get(f"{base}/cards?lang=zh")
