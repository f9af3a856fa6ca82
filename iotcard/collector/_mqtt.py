"""The collector's MQTT side: the only module of the collector that imports paho-mqtt.

:class:`MqttWorker` owns one paho client at a time and the one thread that ever touches it; the thread, its wake
pipe, select loop and request queue are :class:`iotcard.contract.mqtt.PahoOwner`, shared with the agent. Other
threads talk to it through a request queue (publish, acknowledge, stop) and read our own small frozen events from
:attr:`MqttWorker.events`; paho's callbacks only append those events. paho's own loop and reconnect threads are
not used: the worker selects on the socket, reads every packet that is waiting, and reconnects with jittered
backoff.

The ingest subscription (``$share/{group}/{prefix}/+/#``) uses a persistent MQTT 5 session and manual
acknowledgements: a message is acknowledged only after the batch holding it was committed, so a collector that
dies loses nothing (the broker sends it again) and the database's ``(device_id, seq)`` key makes the repeat
harmless. An acknowledgement carries the number of the connection its message came on: one for an earlier
connection is dropped, since packet ids start over with every connection.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import ssl
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paho.mqtt import __version__ as PAHO_VERSION
from paho.mqtt.enums import MQTTErrorCode

from iotcard.contract.mqtt import (
    PacketTypes,
    PahoOwner,
    Properties,
    SubscribeOptions,
    TlsSettings,
    connect_failure,
    paho,
    parse_broker_url,
    read_password,
    remember_tls_session,
    tls_context,
)

from ._errors import SettingsError

__all__ = [
    "BrokerSettings",
    "Connected",
    "Delivery",
    "Disconnected",
    "MqttWorker",
    "Subscribed",
    "broker_settings",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    host: str
    port: int
    tls: bool = False
    ca_file: Path | None = None
    username: str | None = None
    password_file: Path | None = None
    insecure: bool = False


def broker_settings(
    url: str,
    *,
    ca_file: Path | None = None,
    username: str | None = None,
    password_file: Path | None = None,
    insecure: bool = False,
) -> BrokerSettings:
    """The broker at ``url`` (see :func:`iotcard.contract.mqtt.parse_broker_url`) with the given TLS and login."""
    try:
        parsed = parse_broker_url(url)
    except ValueError as exc:
        raise SettingsError(str(exc), code="bad_broker", hint="e.g. --broker mqtt://127.0.0.1:1883") from None
    return BrokerSettings(parsed.host, parsed.port_or_default, parsed.tls, ca_file, username, password_file, insecure)


# ---------------------------------------------------------------- events out


@dataclass(frozen=True, slots=True)
class Connected:
    connection: int
    session_present: bool


@dataclass(frozen=True, slots=True)
class Disconnected:
    connection: int
    reason: str


@dataclass(frozen=True, slots=True)
class Subscribed:
    connection: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message; ``(connection, mid)`` is what :meth:`MqttWorker.ack` needs for a QoS 1 message."""

    connection: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    retained: bool


Event = Connected | Disconnected | Subscribed | Delivery


# ---------------------------------------------------------------- requests in


@dataclass(frozen=True, slots=True)
class _Publish:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class _Ack:
    acks: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class _Subscribe:
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Stop:
    graceful: bool = True
    session_expiry: int | None = None  # sent in the DISCONNECT: how long the broker keeps the session now
    handover: float | None = None  # unsubscribe and drain first, for at most this many seconds


_Request = _Publish | _Ack | _Subscribe | _Stop


class _BufferedClient(paho.Client):
    """paho's client reading the socket 64 KiB at a time.

    paho asks the socket for each packet's first byte, then its length a byte at a time, then the rest: three or
    four ``recv`` calls a message, and the worker's select after each packet to see whether more waits. Under a
    flood of small messages those system calls were about a seventh of the collector's CPU time. Here one ``recv``
    takes whatever the kernel holds, and paho's reads are served from it; :meth:`MqttWorker._read_pending` tells
    the worker that bytes wait here, so it neither selects nor sleeps on the socket while they do.

    A PUBLISH that lies whole in the buffer is taken in one step (:meth:`_packet_read`), not through paho's reads of
    its first byte and of its length byte by byte; and the PUBACKs of a written batch go out as one write
    (:meth:`ack_many`), not one ``send`` and one wake-up byte each.

    The shortcuts stand on paho's private methods and attributes (``_sock_recv``, ``_packet_read``,
    ``_handle_publish``, ``_send_puback``, ``_packet_queue``, ``_in_packet``, ``_manual_ack``, ``_protocol``;
    paho-mqtt 2.0-2.2). A paho without them gets the plain client (:func:`_client_class`,
    :meth:`MqttWorker._connect`): slower, never wrong; ``test_the_installed_paho_takes_the_short_path`` tells when
    an upgrade made it so.
    """

    read_size = 65536
    #: What the shortcuts use of paho's class and of a paho client (checked before they are used).
    class_needs = ("_sock_recv", "_packet_read", "_handle_publish", "_send_puback", "_packet_queue")
    instance_needs = ("_in_packet", "_manual_ack", "_protocol")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = b""
        self._read_at = 0
        # (mid, qos, topic, payload, retained) of a plain PUBLISH, instead of on_message (see _handle_publish)
        self.on_delivery: Callable[[int, int, str, bytes, bool], None] | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        buffer, start = self._read_buffer, self._read_at
        if start >= len(buffer):
            buffer = super()._sock_recv(max(bufsize, self.read_size))  # BlockingIOError when nothing waits
            if not buffer:
                return buffer  # the connection was closed
            self._read_buffer, start = buffer, 0
        self._read_at = start + bufsize
        return buffer[start : start + bufsize]

    @property
    def buffered(self) -> bool:
        return self._read_at < len(self._read_buffer)

    def _packet_read(self) -> MQTTErrorCode:
        """A PUBLISH whole in the buffer (:func:`packet_extent`) becomes paho's read packet at once; paho handles
        it from there. Anything else (another packet type, a packet still arriving, a malformed length) is read by
        paho as before."""
        buffer, start = self._read_buffer, self._read_at
        in_packet = self._in_packet
        if in_packet["command"] == 0 and start < len(buffer) and buffer[start] & 0xF0 == paho.PUBLISH:
            extent = packet_extent(buffer, start)
            if extent is not None and extent[1] <= len(buffer):
                body, end = extent
                in_packet["command"] = buffer[start]
                in_packet["have_remaining"] = 1
                in_packet["remaining_length"] = end - body
                in_packet["packet"] = bytearray(buffer[body:end])
                in_packet["to_process"] = 0
                self._read_at = end
        return super()._packet_read()

    def ack_many(self, mids: Iterable[int]) -> None:
        """The PUBACKs of ``mids`` (QoS 1, manual acknowledgement), queued as one packet of paho's: one write."""
        if not self._manual_ack:
            return
        packet = b"".join(_PUBACK.pack(paho.PUBACK, 2, mid) for mid in mids)
        if packet:
            self._packet_queue(paho.PUBACK, packet, 0, 1)

    def _handle_publish(self) -> MQTTErrorCode:
        """A QoS 0 or 1 PUBLISH without properties (what devices send) straight to :attr:`on_delivery`.

        paho builds a ``Properties`` object (and clears its ~40 attributes), an ``MQTTMessage`` and a topic
        matcher walk for every message: about a tenth of the collector's CPU time under a flood. Anything else
        (QoS 2, properties present, a topic that is not UTF-8, a packet too short to be a PUBLISH, MQTT 3.1.1) goes
        through paho's own handling, so errors and callbacks stay paho's.
        """
        if self.on_delivery is None:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        topic_end = 2 + int.from_bytes(packet[0:2], "big")
        at = topic_end + (2 if qos else 0)  # the Property Length (MQTT 5 §3.3.2.3)
        if self._protocol != paho.MQTTv5 or qos > 1 or len(packet) <= at or packet[at]:
            return super()._handle_publish()
        try:
            topic = packet[2:topic_end].decode("utf-8")
        except UnicodeDecodeError:
            return super()._handle_publish()
        mid = int.from_bytes(packet[topic_end:at], "big") if qos else 0
        self.on_delivery(mid, qos, topic, bytes(packet[at + 1 :]), bool(header & 0x01))
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return paho.MQTT_ERR_SUCCESS


def packet_extent(data: bytes, start: int = 0) -> tuple[int, int] | None:
    """Where the body of the MQTT packet at ``start`` begins and where the packet ends (MQTT 5 §2.1: the first byte,
    then the Remaining Length in one to four bytes of seven bits each); None while the length has not all arrived,
    or when it runs past four bytes (malformed: paho's own read says so)."""
    length = 0
    for index in range(4):
        at = start + 1 + index
        if at >= len(data):
            return None
        byte = data[at]
        length |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return at + 1, at + 1 + length
    return None


_PUBACK = struct.Struct("!BBH")  # a PUBACK without reason code or properties: success (MQTT 5 §3.4.2.1)


def _client_class() -> type[paho.Client]:
    """:class:`_BufferedClient` where the installed paho has what it stands on, else paho's own client."""
    if all(hasattr(paho.Client, name) for name in _BufferedClient.class_needs):
        return _BufferedClient
    log.warning("paho-mqtt %s lacks what the buffered reader uses; reading with paho's own client", PAHO_VERSION)
    return paho.Client


@dataclass
class MqttWorker(PahoOwner[_Request]):
    """One MQTT connection kept up by its own thread (:class:`iotcard.contract.mqtt.PahoOwner`).

    ``subscriptions`` are (re)sent on every connect. ``persistent`` keeps an MQTT 5 session (clean start off,
    ``session_expiry`` seconds) and turns on manual acknowledgements; ``receive_maximum`` bounds how many
    unacknowledged messages the broker may have in flight towards us. ``max_packet_bytes`` goes to the broker as
    the MQTT 5 Maximum Packet Size (it drops bigger messages for us instead of sending them), and at most
    ``max_queued_qos0`` QoS 0 messages wait for the writer (QoS 1 ones are bounded by ``receive_maximum``); more
    are dropped and counted in ``dropped``.
    """

    broker: BrokerSettings
    client_id: str
    subscriptions: tuple[str, ...] = ()
    persistent: bool = False
    session_expiry: int = 86400
    receive_maximum: int = 2000
    keepalive: int = 60
    max_packet_bytes: int = 256 * 1024
    max_queued_qos0: int = 10_000
    read_retained: bool = True
    events: queue.Queue[Event] = field(default_factory=queue.Queue)

    idle_wait = 0.5
    step_wait = 0.5
    connack_timeout = 15.0
    handover_quiet = 0.3  # a handover ends when nothing has come or been acknowledged for this long

    def __post_init__(self) -> None:
        # Files first: a worker that cannot be made leaves no thread or wake pipe behind.
        self._password = read_password(self.broker.password_file) if self.broker.password_file is not None else None
        self._tls_context = self._tls() if self.broker.tls else None
        PahoOwner.__init__(self, thread_name=f"mqtt-{self.client_id}")
        self._connection = 0
        self._connected = False
        self._connect_started = 0.0
        self._closing: str | None = None
        self._graceful = True
        self._failures = 0
        self.dropped = 0  # QoS 0 messages dropped because the writer was that far behind
        self._stop_session_expiry: int | None = None
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.last_error: str | None = None
        self.connects = 0  # connections that got their CONNACK
        # QoS 1 deliveries of this connection not acknowledged yet, and the handover's state (see stop()).
        self._unacked: set[int] = set()
        self._last_traffic = 0.0
        self._handover_until: float | None = None
        self._unsubscribe_mid: int | None = None
        self._unsubscribed = False
        self.handover: str | None = None  # how the last handover ended: "drained", "timeout", "connection lost"

    def _tls(self) -> ssl.SSLContext:
        ca_file = self.broker.ca_file
        try:
            return tls_context(TlsSettings(ca_file=ca_file, insecure=self.broker.insecure))
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(
                f"cannot use the broker's CA file {ca_file}: {getattr(exc, 'strerror', None) or exc}",
                code="bad_ca_file",
                hint="--ca-file names the PEM file of the CA that signed the broker's certificate",
            ) from None

    # ------------------------------------------------------------ the API other threads use

    def start(self) -> None:
        self._start()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self._request(_Publish(topic, payload, qos, retain))

    def subscribe(self, *topics: str) -> None:
        self._request(_Subscribe(tuple(topics)))

    def ack(self, acks: tuple[tuple[int, int], ...]) -> None:
        """Acknowledge ``(connection, mid)`` pairs of QoS 1 deliveries."""
        if acks:
            self._request(_Ack(acks))

    def stop(self, timeout: float = 5.0, *, session_expiry: int | None = None, handover: float | None = None) -> None:
        """Send what is queued (acknowledgements first), disconnect cleanly, end the thread.

        ``session_expiry`` shortens the persistent session in the DISCONNECT (MQTT 5): the broker then stops
        queueing this client's share of a shared subscription after that many seconds, so the group's other members
        take the whole stream; a restart within that time still finds its session.

        ``handover`` (seconds) hands the share over first, without loss: UNSUBSCRIBE from :attr:`subscriptions`,
        and once the broker has confirmed it (it gives this session nothing new of the group from then on) keep
        reading what was already in flight or queued for it, until every QoS 1 delivery has been acknowledged
        (through :meth:`ack`, by whoever consumes :attr:`events`) and nothing has come for
        :attr:`handover_quiet` seconds, or ``handover`` seconds have passed; then DISCONNECT. The consumer must
        keep acknowledging meanwhile. The connection ends with a FIN after the DISCONNECT, never a reset
        (:meth:`~iotcard.contract.mqtt.PahoOwner._disconnect_gracefully`)."""
        if self.running:
            self._request(_Stop(session_expiry=session_expiry, handover=handover))
        self._join(timeout + (handover or 0.0))

    def abort(self, timeout: float = 5.0) -> None:
        """Drop the connection at once, sending nothing still queued (what a crash does)."""
        if self.running:
            self._request(_Stop(graceful=False))
            self._join(timeout)

    # ------------------------------------------------------------ the worker thread

    def _take_requests(self) -> None:
        if self._client is None:
            self._drop_stale_requests()
            return
        client = self._client
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Stop):
                self._graceful = item.graceful
                self._stop_session_expiry = item.session_expiry
                if item.graceful and item.handover is not None and self._connected and self.subscriptions:
                    self._start_handover(client, item.handover)
                    continue  # acknowledgements go on
                self._stopping = True
                return
            elif isinstance(item, _Ack):
                self._send_acks(client, item)
                self._last_traffic = self._clock()
            elif isinstance(item, _Subscribe):
                if self._handover_until is not None:
                    continue  # leaving the group: no new subscriptions
                for topic in item.topics:
                    client.subscribe(topic, options=SubscribeOptions(qos=1))
            elif not self._connected:
                self._requests.put(item)
                return
            else:
                client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)

    def _send_acks(self, client: paho.Client, item: _Ack) -> None:
        """PUBACK what the consumer has committed, of this connection only (a delivery of an earlier one comes
        again on this one)."""
        mids = [mid for connection, mid in item.acks if connection == self._connection]
        if isinstance(client, _BufferedClient):
            client.ack_many(mids)
        else:
            for mid in mids:
                client.ack(mid, 1)
        self._unacked.difference_update(mids)

    def _start_handover(self, client: paho.Client, seconds: float) -> None:
        if self._handover_until is not None:
            return
        self._handover_until = self._clock() + seconds
        self._last_traffic = self._clock()
        self.step_wait = min(self.step_wait, self.handover_quiet / 2)  # look at the quiet window often enough
        self._unsubscribe(client)

    def _unsubscribe(self, client: paho.Client) -> None:
        """UNSUBSCRIBE from the group; when it cannot be sent the connection is down, and :meth:`_close` (after
        this step) decides whether to come back."""
        result, mid = client.unsubscribe(list(self.subscriptions))
        if result != paho.MQTT_ERR_SUCCESS:
            self._closing = "connection lost"
            return
        self._unsubscribe_mid = mid
        log.info("MQTT: leaving the group: unsubscribing from %s", ", ".join(self.subscriptions))

    def _handover_done(self) -> bool:
        """Between network rounds of a handover: may the DISCONNECT go now?"""
        assert self._handover_until is not None
        now = self._clock()
        if self._unsubscribed and not self._unacked and now - self._last_traffic >= self.handover_quiet:
            self.handover = "drained"
            log.info("MQTT: left the group, every delivery acknowledged")
            return True
        if now >= self._handover_until:
            self.handover = "timeout"
            log.warning(
                "MQTT: leaving the group took too long (%s, %d deliveries not acknowledged); disconnecting",
                "unsubscribed" if self._unsubscribed else "no UNSUBACK",
                len(self._unacked),
            )
            return True
        return False

    def _drop_stale_requests(self) -> None:
        """While disconnected: acks are void (the broker sends those messages again); a stop still stops."""
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Stop):
                self._stopping = True
            elif isinstance(item, _Publish | _Subscribe):
                self._requests.put(item)  # kept for the next connection
                return

    def _connect(self) -> None:
        if self._handover_until is not None and self._clock() >= self._handover_until:
            self.handover = "connection lost"  # the link came back too late: the session keeps what it holds
            log.warning("MQTT: could not get back to the broker to finish leaving the group")
            self._stopping = True
            return
        broker = self.broker
        client = self._paho_client(
            self.client_id,
            manual_ack=self.persistent,
            max_inflight=1000,
            tls=self._tls_context,
            username=broker.username,
            password=self._password,
            client_class=_client_class(),
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        if isinstance(client, _BufferedClient) and all(hasattr(client, a) for a in _BufferedClient.instance_needs):
            client.on_delivery = self._deliver
        client.on_subscribe = self._on_subscribe
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.ReceiveMaximum = self.receive_maximum
        properties.MaximumPacketSize = self.max_packet_bytes
        if self.persistent:
            properties.SessionExpiryInterval = self.session_expiry
        client.on_unsubscribe = self._on_unsubscribe
        self._connection += 1
        self._unacked.clear()
        try:
            client.connect(
                broker.host,
                broker.port,
                keepalive=self.keepalive,
                clean_start=not self.persistent,
                properties=properties,
            )
        except (OSError, ssl.SSLError) as exc:
            self._failed(connect_failure(exc, broker.host, broker.port)[1])
            return
        self._client = client
        self._connect_started = self._clock()

    def _read_pending(self, client: paho.Client, sock: Any) -> bool:
        return (isinstance(client, _BufferedClient) and client.buffered) or super()._read_pending(client, sock)

    def _failed(self, message: str) -> None:
        self._failures += 1
        delay = random.uniform(0, min(10.0, 0.2 * 2**self._failures))
        self._next_attempt = self._clock() + delay
        if message != self.last_error:
            log.warning("MQTT: %s; retrying", message)
        self.last_error = message

    def _after_step(self, client: paho.Client) -> None:
        if self._closing is not None:
            self._close(self._closing)
        elif client.socket() is None:
            self._close("connection lost")
        elif not self._connected and self._clock() - self._connect_started > self.connack_timeout:
            self._close(f"no CONNACK within {self.connack_timeout:.0f} s")
        elif self._handover_until is not None and self._handover_done():
            self._stopping = True

    def _close(self, reason: str, *, final: bool = False) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        was_connected = self._connected
        self._connected = False
        self._closing = None
        self.connected.clear()
        self.subscribed.clear()
        if final and self._graceful and was_connected:
            self._take_final_requests(client)
            properties = None
            if self.persistent and self._stop_session_expiry is not None:
                properties = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
                properties.SessionExpiryInterval = self._stop_session_expiry
            self._disconnect_gracefully(client, properties)
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        if was_connected:
            self.events.put(Disconnected(self._connection, reason))
            log.info("MQTT connection %d ended: %s", self._connection, reason)
            self._failures = 0
        if self._handover_until is not None and not final:
            if self.persistent and self.handover is None and self._clock() < self._handover_until:
                # The link dropped while leaving the group. The broker still has the session: its subscription
                # (if the UNSUBSCRIBE was lost), the deliveries not acknowledged, and a day's expiry; left so, the
                # group's share would queue in it. Come back to it within the handover's time, unsubscribe there
                # (see _on_connect) and drain it as before.
                self._unsubscribed = False
                self._failed(reason)
                self._next_attempt = min(self._next_attempt, self._handover_until)
                log.warning("MQTT: the link dropped while leaving the group (%s); reconnecting to finish", reason)
                return
            self.handover = self.handover or "connection lost"
            self._stopping = True
            return
        if not final:
            self._failed(reason)

    def _take_final_requests(self, client: paho.Client) -> None:
        """At a clean stop: the acknowledgements still queued go out before the DISCONNECT."""
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Ack):
                self._send_acks(client, item)
            elif isinstance(item, _Publish):
                client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)

    # ------------------------------------------------------------ paho callbacks: only record what happened

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._closing = f"the broker refused the connection: {reason}"
            self.last_error = self._closing
            return
        self._connected = True
        self.connects += 1
        self.last_error = None
        self.connected.set()
        remember_tls_session(self._tls_context, client.socket())
        # Subscribing again even with a session: Mosquitto 2.0 does not restore shared subscriptions from its
        # persistence file. Retained messages (every device's status, identity and diagnosis: a flood on a large
        # fleet) only when ``read_retained`` and only for a subscription that is new (MQTT 5 retain handling 1);
        # Mosquitto sends them to shared subscriptions too. An instance joining a database that already has the
        # devices does not need them: the devices' next reports bring what changed.
        handling = (
            SubscribeOptions.RETAIN_SEND_IF_NEW_SUB if self.read_retained else SubscribeOptions.RETAIN_DO_NOT_SEND
        )
        options = SubscribeOptions(qos=1, retainHandling=handling)
        if self._handover_until is not None:  # back to finish leaving the group: unsubscribe, never subscribe
            self._unsubscribe(client)
        else:
            for topic in self.subscriptions:
                client.subscribe(topic, options=options)
        self.events.put(Connected(self._connection, bool(flags.session_present)))

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        if any(getattr(code, "is_failure", False) for code in reasons):
            self.last_error = f"the broker refused the subscription: {reasons}"
            log.warning("MQTT: %s", self.last_error)
            return
        self.subscribed.set()
        self.events.put(Subscribed(self._connection))

    def _on_unsubscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        if mid == self._unsubscribe_mid:
            # Any reason code will do, "no subscription existed" included: nothing new comes for this session.
            self._unsubscribed = True
            self._last_traffic = self._clock()
            self.subscribed.clear()

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self._closing = str(reason)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._deliver(message.mid, message.qos, message.topic, bytes(message.payload), bool(message.retain))

    def _deliver(self, mid: int, qos: int, topic: str, payload: bytes, retained: bool) -> None:
        if qos == 0 and self.events.qsize() >= self.max_queued_qos0:
            self.dropped += 1
            return
        if qos > 0 and self.persistent:
            self._unacked.add(mid)
        self._last_traffic = self._clock()
        self.events.put(Delivery(self._connection, mid, qos, topic, payload, retained))
