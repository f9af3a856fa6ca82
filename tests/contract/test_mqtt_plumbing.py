"""iotcard.contract.mqtt: broker URLs for both sides, and the thread that owns a paho client (against Mosquitto)."""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import queue
import ssl
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from iotcard.collector import BrokerSettings, SettingsError
from iotcard.collector._mqtt import MqttWorker
from iotcard.contract.mqtt import (
    BrokerUrl,
    PacketTypes,
    PahoOwner,
    Properties,
    connect_failure,
    parse_broker_url,
    read_password,
)

# The telemetry tests' Mosquitto helper (a fixture here, not a conftest: tests/*/conftest.py share one module name).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent" / "telemetry"))
from mosquitto_support import MOSQUITTO, OPENSSL, Broker, Certs, free_port, make_certs
from telemetry_support import wait_until


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if OPENSSL is None:
        pytest.skip("openssl is not installed (make test installs it when run as root)")
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto on 127.0.0.1 (plain listener, restartable; TLS listeners too for a test that uses ``certs``)."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (make test installs it when run as root)")
    certs = request.getfixturevalue("certs") if "certs" in request.fixturenames else None
    server = Broker(tmp_path / "broker", certs=certs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- broker URLs: the agent's --broker and the collector's


@pytest.mark.parametrize(
    ("url", "expected", "port"),
    [
        ("mqtt://127.0.0.1", BrokerUrl("127.0.0.1", None, False), 1883),
        ("mqtt://127.0.0.1:1883", BrokerUrl("127.0.0.1", 1883, False), 1883),
        ("mqtts://broker.example.com", BrokerUrl("broker.example.com", None, True), 8883),
        ("mqtts://broker.example.com:8884", BrokerUrl("broker.example.com", 8884, True), 8884),
        ("mqtt://localhost:1884/", BrokerUrl("localhost", 1884, False), 1884),
        ("MQTTS://Broker.Example.COM", BrokerUrl("broker.example.com", None, True), 8883),
        ("mqtt://[::1]:1885", BrokerUrl("::1", 1885, False), 1885),
        ("mqtt://10.0.0.1:65535", BrokerUrl("10.0.0.1", 65535, False), 65535),
        (" mqtts://iot.example.cn:8883\n", BrokerUrl("iot.example.cn", 8883, True), 8883),
    ],
)
def test_broker_urls_that_name_a_broker(url: str, expected: BrokerUrl, port: int) -> None:
    parsed = parse_broker_url(url)
    assert parsed == expected and parsed.port_or_default == port


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("http://x", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("tcp://broker:1883", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("broker.example.com:1883", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("mqtt://", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("mqtt://:1883", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("mqtt://[::1:1883", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("mqtt://host:99999", "the port is not a number 1-65535"),
        ("mqtt://host:abc", "the port is not a number 1-65535"),
        ("mqtt://host:0", "the port is not a number 1-65535"),
        ("mqtt://user:secret@host", "credentials go in files"),
        ("mqtt://user:se/cr@et@host", "'mqtt://***@host'"),
        ("mqtt://user:secret[@host", "expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]"),
        ("mqtt://host/iotcard/v1", "expected only"),
        ("mqtts://host:8883?insecure=1", "expected only"),
    ],
)
def test_broker_urls_that_do_not(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="broker URL") as raised:
        parse_broker_url(url)
    assert complaint in str(raised.value)
    assert "secret" not in str(raised.value) and "cr@et" not in str(raised.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.builds(lambda rest: "mqtt://" + rest, st.text(max_size=60)))
def test_any_text_is_a_broker_or_a_value_error(url: str) -> None:
    try:
        parsed = parse_broker_url(url)
    except ValueError as exc:
        assert str(exc).startswith("broker URL ")
        return
    assert parsed.host and 1 <= parsed.port_or_default <= 65535


@settings(max_examples=100, deadline=None)
@given(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?){0,3}", fullmatch=True),
    st.none() | st.integers(1, 65535),
    st.booleans(),
)
def test_a_written_broker_reads_back(host: str, port: int | None, tls: bool) -> None:
    url = f"{'mqtts' if tls else 'mqtt'}://{host}{'' if port is None else f':{port}'}"
    assert parse_broker_url(url) == BrokerUrl(host, port, tls)


def test_paho_loads_without_dnspython_which_stays_importable() -> None:
    """paho would import dnspython (about 3 MB) for connect_srv(), which nothing calls; the daemon's RSS is budgeted.
    (The daemon's side only: the collector takes paho from the same module, and importing it here costs a second.)"""
    if importlib.util.find_spec("dns") is None:
        pytest.skip("dnspython is not installed: nothing to keep out")
    probe = (
        "import sys, iotcard.agent.telemetry\n"
        "print('dns' in sys.modules)\n"
        "import dns.resolver\n"
        "print(dns.resolver.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["False", "dns.resolver"]


def test_a_password_file_gives_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret\nignored\n", encoding="utf-8")
    assert read_password(path) == "s3cret"
    path.write_text("", encoding="utf-8")
    assert read_password(path) == ""
    with pytest.raises(OSError):
        read_password(tmp_path / "missing")


def test_connect_failures_have_stable_codes() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    cases: list[tuple[BaseException, str, str]] = [
        (verify, "tls_verify_failed", "unable to get local issuer certificate"),
        (ssl.SSLError(1, "wrong version number"), "tls_failed", "TLS handshake failed"),
        (ConnectionRefusedError(111, "Connection refused"), "refused", "h:1 refused the connection"),
        (TimeoutError("timed out"), "timeout", "no answer from h:1"),
        (OSError(101, "Network is unreachable"), "unreachable", "cannot reach h:1: Network is unreachable"),
    ]
    for exc, code, text in cases:
        got = connect_failure(exc, "h", 1)
        assert got[0] == code and text in got[1], (exc, got)


# ---------------------------------------------------------------- the owner thread, on a real broker


class EchoOwner(PahoOwner[tuple[Any, ...]]):
    """The smallest owner: subscribes to ``echo/#``, publishes what it is asked to, reconnects at once."""

    # Only the wake pipe or the socket may end a select here: a request that waited for a timeout fails the test.
    idle_wait = 30.0
    step_wait = 30.0

    def __init__(self, port: int) -> None:
        super().__init__(thread_name="echo-owner")
        self.port = port
        self.events: queue.Queue[Any] = queue.Queue()
        self.received: list[bytes] = []
        self.rounds: list[int] = []  # len(received) after each network round
        self.closes: list[tuple[str, bool]] = []
        self.sock: Any = None
        self.failures: list[str] = []

    def start(self) -> None:
        self._start()

    def publish(self, payload: bytes) -> None:
        self._request(("publish", payload))

    def stop(self) -> None:
        self._request(("stop",))
        self._join(5.0)

    def _take_requests(self) -> None:
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return
            if item[0] == "stop":
                self._stopping = True
                return
            if item[0] == "fail":
                raise RuntimeError("a bug in a hook")
            if self._client is None:
                continue
            if item[0] == "publish":
                self._client.publish("echo/x", item[1], qos=0)
            elif item[0] == "hold":  # send a burst, then wait until the test saw it all arrive
                for _ in range(item[1]):
                    self._client.publish("echo/x", b"x" * 100, qos=0)
                item[2].wait(10)

    def _connect(self) -> None:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id="echo-owner", protocol=paho.MQTTv5)
        client.on_connect = lambda c, *_: c.subscribe("echo/#", qos=0)
        client.on_subscribe = lambda *_: self.events.put("subscribed")
        client.on_message = self._on_message
        try:
            client.connect("127.0.0.1", self.port, keepalive=60)
        except OSError as exc:
            code, message = connect_failure(exc, "127.0.0.1", self.port)
            self.failures.append(message)
            self.events.put(code)
            self._next_attempt = self._clock() + 0.05
            return
        self.sock = client.socket()
        self._client = client

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self.received.append(bytes(message.payload))
        if message.payload != b"x" * 100:
            self.events.put(bytes(message.payload))

    def _after_step(self, client: paho.Client) -> None:
        self.rounds.append(len(self.received))
        if client.socket() is None:
            self._close("connection lost")

    def _close(self, reason: str, *, final: bool = False) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self.closes.append((reason, final))
        if final:
            self._disconnect(client)
        elif client.socket() is not None:
            client.socket().close()  # type: ignore[union-attr]
        self._next_attempt = self._clock()

    def _finished(self) -> None:
        self.events.put("finished")


def next_event(owner: EchoOwner, timeout: float = 5.0) -> Any:
    return owner.events.get(timeout=timeout)


@pytest.mark.integration
def test_a_request_wakes_the_owner_and_stop_closes_it_cleanly(broker: Broker) -> None:
    owner = EchoOwner(broker.port)
    owner.start()
    assert next_event(owner, 10) == "subscribed"
    for n in range(3):  # each would wait 30 s for the select to time out without the wake pipe
        owner.publish(b"ping %d" % n)
        assert next_event(owner) == b"ping %d" % n
    owner.stop()
    assert next_event(owner) == "finished"
    assert not owner.running and owner.closes == [("stopped", True)]
    assert owner._wake_r.fileno() == -1 and owner._wake_w.fileno() == -1
    owner.publish(b"after the end")  # nobody listens any more: no error for the caller


@pytest.mark.integration
def test_every_packet_waiting_is_read_in_one_round(broker: Broker) -> None:
    owner = EchoOwner(broker.port)
    owner.start()
    assert next_event(owner, 10) == "subscribed"
    release = threading.Event()
    burst = 20
    owner._request(("hold", burst, release))
    # Each echo is 111 bytes on the wire (MQTT 5 PUBLISH, QoS 0, "echo/x", 100 bytes of payload).
    assert wait_until(lambda: _unread(owner.sock) >= burst * 111, 10), "the echoes did not arrive"
    before = len(owner.rounds)  # the owner is held: no round ends meanwhile
    release.set()
    assert wait_until(lambda: len(owner.rounds) > before, 5)
    assert owner.rounds[before] == burst  # the first round after the hold read the whole burst
    owner.stop()


@pytest.mark.integration
def test_a_lost_connection_is_made_again(broker: Broker) -> None:
    owner = EchoOwner(broker.port)
    owner.start()
    assert next_event(owner, 10) == "subscribed"
    broker.kill()
    # The owner noticed the loss and tries again (refused, or rarely reset while the port closes).
    assert next_event(owner) in ("refused", "unreachable"), owner.failures
    broker.start()
    while (event := next_event(owner, 10)) in ("refused", "unreachable"):
        pass
    assert event == "subscribed"
    assert owner.closes[0] == ("connection lost", False)
    owner.publish(b"back")
    assert next_event(owner) == b"back"
    owner.stop()


def test_a_failing_hook_is_logged_and_the_owner_still_finishes(caplog: pytest.LogCaptureFixture) -> None:
    owner = EchoOwner(free_port())  # nothing listens: the owner keeps trying
    with caplog.at_level(logging.ERROR, logger="iotcard.contract.mqtt"):
        owner.start()
        assert next_event(owner) == "refused"
        owner._request(("fail",))
        while (event := next_event(owner)) == "refused":
            pass
        assert event == "finished"
    assert not owner.running
    assert "the MQTT thread echo-owner failed" in caplog.text and "a bug in a hook" in caplog.text
    owner.stop()


@pytest.mark.integration
def test_the_collector_verifies_the_broker_with_the_shared_tls_context(
    broker: Broker, certs: Certs, tmp_path: Path
) -> None:
    assert broker.tls_port is not None and broker.misnamed_port is not None

    def worker(port: int, ca_file: Path, *, insecure: bool = False) -> MqttWorker:
        settings = BrokerSettings("localhost", port, tls=True, ca_file=ca_file, insecure=insecure)
        return MqttWorker(settings, f"tls-{port}-{insecure}", subscriptions=("tls/#",))

    good, stranger, misnamed = (
        worker(broker.tls_port, certs.ca),
        worker(broker.tls_port, certs.other_ca),
        worker(broker.misnamed_port, certs.ca, insecure=True),
    )
    for each in (good, stranger, misnamed):
        each.start()
    try:
        assert good.subscribed.wait(10), good.last_error
        assert misnamed.subscribed.wait(10), misnamed.last_error  # insecure: the name is not checked, the chain is
        assert wait_until(lambda: stranger.last_error is not None, 10)
        assert "certificate" in str(stranger.last_error) and not stranger.connected.is_set()
    finally:
        for each in (good, stranger, misnamed):
            each.stop()
    with pytest.raises(SettingsError) as raised:
        worker(broker.tls_port, tmp_path / "nope.pem")
    assert raised.value.code == "bad_ca_file" and "nope.pem" in raised.value.message


def _unread(sock: Any) -> int:
    """Bytes the kernel holds for ``sock`` that nobody has read yet."""
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])


class _Holder(PahoOwner[Any]):
    """An owner whose thread never starts: the test drives the paho client itself."""

    def __init__(self) -> None:
        super().__init__(thread_name="holder")


def _session(port: int, client_id: str, expiry: int, *, subscribe: str | None = None) -> tuple[paho.Client, bool]:
    """A connected MQTT 5 client (persistent session of ``expiry`` seconds) and whether its session was present."""
    client = PahoOwner._paho_client(client_id)
    present: list[bool] = []
    client.on_connect = lambda c, u, flags, reason, p: present.append(bool(flags.session_present))
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = expiry
    client.connect("127.0.0.1", port, keepalive=60, clean_start=False, properties=properties)
    deadline = time.monotonic() + 10
    while not present and time.monotonic() < deadline:
        client.loop(0.05)
    assert present, "no CONNACK"
    if subscribe is not None:
        client.subscribe(subscribe, qos=0)
        while not subscribed.is_set() and time.monotonic() < deadline:
            client.loop(0.05)
        assert subscribed.is_set(), "no SUBACK"
    return client, present[0]


ROUNDS = 20
FLOOD = """
import sys
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
client = paho.Client(CallbackAPIVersion.VERSION2, client_id="flooder", protocol=paho.MQTTv5)
client.connect("127.0.0.1", int(sys.argv[1]))
while True:
    for _ in range(100):
        client.publish("flood/x", b"x" * 1000, qos=0)
    client.loop(0.001)
"""


@pytest.mark.integration
def test_a_graceful_disconnect_reaches_the_broker_with_a_stream_unread(broker: Broker) -> None:
    """paho closes its socket right after writing DISCONNECT; with deliveries unread Linux sends a reset, and a
    broker busy writing to us may see a broken pipe before it reads the DISCONNECT (and the session expiry it
    carries): with paho's own close it did in several of these rounds, in each run tried. The graceful close ends
    with a FIN instead, and reads until the broker has closed its side: the DISCONNECT is read every time."""
    # Another process floods the topic (a thread of this one would share the interpreter with the disconnect).
    flooder = subprocess.Popen([sys.executable, "-c", FLOOD, str(broker.port)])
    ends: list[tuple[bool, bool]] = []
    holder = _Holder()
    try:
        for _ in range(ROUNDS):
            held, _ = _session(broker.port, "held-owner", 3600, subscribe="flood/#")
            sock = held.socket()
            assert wait_until(lambda s=sock: _unread(s) >= 64 * 1024, 10), "the flood did not arrive"  # unread
            properties = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0
            closed = holder._disconnect_gracefully(held, properties)
            assert held.socket() is None
            # The broker read the DISCONNECT and its expiry of 0: the session is gone, not kept for the hour.
            again, present = _session(broker.port, "held-owner", 0)
            again.disconnect()
            ends.append((closed, present))
    finally:
        flooder.kill()
        flooder.wait(10)
        holder._join(0)  # its thread never started: closes the wake pipe
    lines = [line for line in broker.log.read_text(errors="replace").splitlines() if "held-owner" in line]
    assert ends == [(True, False)] * ROUNDS, (ends, lines)
    assert not [line for line in lines if "disconnected:" in line], lines  # e.g. "...: Broken pipe."
