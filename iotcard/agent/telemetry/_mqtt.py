"""The MQTT link: the only module of the agent that imports paho-mqtt.

:class:`MqttLink` owns one paho client at a time and the one thread that ever touches it; the thread, its wake
pipe, select loop and request queue are :class:`iotcard.contract.mqtt.PahoOwner`, shared with the collector. Other
threads talk to it through two queues: requests in (:meth:`MqttLink.publish`, :meth:`MqttLink.set_will`,
:meth:`MqttLink.stop`) and our own small frozen events out (:attr:`MqttLink.events`). paho's callbacks only append
raw events to a list that the link's thread reads right after each network step; paho's own reconnect and loop
threads are not used.

- MQTT 5 by default (3.1.1 by setting): clean start off and a session expiry (3.1.1: clean session off), so the
  broker keeps the subscription and queues commands while the device is away; subscriptions are only sent when the
  broker says it has no session.
- TLS through an ``ssl.SSLContext``: the CA file or the system's CAs, an optional client certificate and key,
  host name checking on unless ``insecure`` (the chain is verified either way). TLS sessions are resumed across
  reconnects when the broker issues tickets, which saves the certificate exchange.
- A fresh paho client per connection: the outbox, not paho's memory, decides what is sent again after a drop.
- Reconnects follow :class:`~iotcard.agent.telemetry._backoff.Backoff` (full jitter, capped). The keepalive of each
  connection comes from :class:`~iotcard.agent.telemetry._keepalive.AdaptiveKeepalive`, which learns from how
  connections
  die. A connection is declared dead when a PUBACK is overdue (``ack_timeout``), when paho's keepalive sees no
  PINGRESP, or when the kernel gives up on unacknowledged data (``TCP_USER_TIMEOUT``), whichever comes first.
- Byte counting: see :mod:`iotcard.agent.telemetry._traffic` (``TCP_INFO`` samples posted as :class:`Traffic` events).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotcard.agent.errors import ConfigError
from iotcard.contract.mqtt import (
    PacketTypes,
    PahoOwner,
    Properties,
    SubscribeOptions,
    TlsSettings,
    connect_failure,
    paho,
    remember_tls_session,
    tls_context,
)
from iotcard.contract.mqtt import read_password as read_password_file

from ._backoff import Backoff
from ._keepalive import AdaptiveKeepalive
from ._traffic import TrafficSample, read_tcp_info

__all__ = [
    "Acked",
    "ConnectFailed",
    "Connected",
    "Disconnected",
    "KeepaliveLearned",
    "LinkEvent",
    "LinkSettings",
    "MqttLink",
    "Received",
    "Stopped",
    "TlsSettings",
    "Traffic",
    "WillMessage",
    "make_tls_context",
    "read_password",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class WillMessage:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str
    port: int
    client_id: str
    protocol: str = "5"
    tls: TlsSettings | None = None
    username: str | None = None
    password_file: Path | None = None
    session_expiry: int = 7 * 86400
    subscriptions: tuple[str, ...] = ()
    connect_timeout: float = 15.0
    ack_timeout: float = 30.0
    tcp_user_timeout: float = 45.0
    traffic_every: float = 60.0
    # MQTT 5 Maximum Packet Size sent in CONNECT: the broker must not send anything larger (it drops it, and a
    # persistent session does not redeliver it), so an oversized command never reaches our memory. A command is at
    # most 4 KiB of payload; 8 KiB leaves room for the topic and properties.
    max_packet_size: int = 8 * 1024


# ---------------------------------------------------------------- events out


@dataclass(frozen=True, slots=True)
class Connected:
    session_present: bool
    keepalive: int
    connection: int


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """A connection attempt failed; ``code`` is stable: unreachable, refused, timeout, tls_verify_failed,
    tls_failed, not_authorized, bad_credentials, broker_refused. The link retries after ``retry_in`` seconds."""

    code: str
    message: str
    retry_in: float


@dataclass(frozen=True, slots=True)
class Disconnected:
    """An established connection ended. ``dead``: found dead by a timeout (NAT or coverage suspected)."""

    reason: str
    dead: bool
    retry_in: float


@dataclass(frozen=True, slots=True)
class Acked:
    """The broker answered the publish ``token``; ``ok`` is false for a refusing reason code (≥ 0x80)."""

    token: int
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retained: bool
    response_topic: str | None = None
    correlation: bytes | None = None


@dataclass(frozen=True, slots=True)
class Traffic:
    """Cumulative kernel counters of one connection; ``at_connect`` for the sample taken at CONNACK."""

    sample: TrafficSample
    at_connect: bool = False


@dataclass(frozen=True, slots=True)
class KeepaliveLearned:
    current: int
    known_good: int | None
    too_long: int | None


@dataclass(frozen=True, slots=True)
class Stopped:
    pass


LinkEvent = Connected | ConnectFailed | Disconnected | Acked | Received | Traffic | KeepaliveLearned | Stopped


# ---------------------------------------------------------------- requests in


@dataclass(frozen=True, slots=True)
class _Publish:
    token: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    correlation: bytes | None = None


@dataclass(frozen=True, slots=True)
class _SetWill:
    will: WillMessage | None


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Request = _Publish | _SetWill | _Stop


# ---------------------------------------------------------------- raw callback events (link thread only)


@dataclass(frozen=True, slots=True)
class _RawConnack:
    ok: bool
    reason: str
    value: int
    session_present: bool
    server_keepalive: int | None


@dataclass(frozen=True, slots=True)
class _RawDisconnect:
    reason: str
    from_broker: bool


@dataclass(frozen=True, slots=True)
class _RawPuback:
    mid: int
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _RawMessage:
    message: Received


@dataclass(frozen=True, slots=True)
class _RawSocketClosed:
    sample: TrafficSample | None
    so_error: int


_Raw = _RawConnack | _RawDisconnect | _RawPuback | _RawMessage | _RawSocketClosed


class _BoundedClient(paho.Client):
    """paho's client that refuses to read an incoming packet longer than ``max_packet_size``.

    paho reads a whole packet into memory before any callback sees it; with MQTT 3.1.1 (no Maximum Packet Size)
    or a broker that ignores it, a 30 MB publish would be read in full. paho asks the socket for the rest of the
    packet in one call, so a request for more than the limit is the packet announcing its length: the connection
    is dropped there, before the payload is read.
    """

    max_packet_size = 8 * 1024
    oversized = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if bufsize > self.max_packet_size:
            self.oversized = bufsize
            log.warning(
                "dropped the connection: the broker sent a packet of %d bytes (limit %d); with MQTT 3.1.1 set the "
                "broker's message_size_limit",
                bufsize,
                self.max_packet_size,
            )
            raise OSError(errno.EMSGSIZE, f"incoming packet of {bufsize} bytes is over {self.max_packet_size}")
        data: bytes = super()._sock_recv(bufsize)
        return data


def make_tls_context(tls: TlsSettings) -> ssl.SSLContext:
    """The TLS context for ``tls`` (:func:`iotcard.contract.mqtt.tls_context`); ConfigError when a file cannot be
    used."""
    try:
        return tls_context(tls)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load TLS files: {exc}", code="tls_files") from exc


def read_password(path: Path) -> str:
    """The first line of the password file (never logged)."""
    try:
        return read_password_file(path)
    except OSError as exc:
        raise ConfigError(f"cannot read the MQTT password file {path}: {exc.strerror}", code="password_file") from exc


class MqttLink(PahoOwner[_Request]):
    """One MQTT connection kept up by one thread. Start it, feed it, read :attr:`events`, stop it."""

    def __init__(
        self,
        settings: LinkSettings,
        *,
        keepalive: AdaptiveKeepalive | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.events: queue.Queue[LinkEvent] = queue.Queue()
        self._keepalive = keepalive or AdaptiveKeepalive()
        self._backoff = backoff or Backoff()
        # Files first: a link that cannot be built leaves no thread or wake pipe behind.
        self._tls_context = make_tls_context(settings.tls) if settings.tls is not None else None
        self._password = read_password(settings.password_file) if settings.password_file is not None else None
        super().__init__(thread_name="mqtt-link", clock=clock)
        # Everything below belongs to the link's thread.
        self._connected = False
        self._connection = 0
        self._will: WillMessage | None = None
        self._raw: list[_Raw] = []
        self._mids: dict[int, tuple[int, float]] = {}
        self._early_acks: dict[int, _RawPuback] = {}
        self._connect_started = 0.0
        self._next_traffic = 0.0
        self._closing_reason: tuple[str, bool] | None = None

    # ------------------------------------------------------------ any thread

    def start(self, will: WillMessage | None = None) -> None:
        self._requests.put(_SetWill(will))
        self._start()

    def publish(
        self,
        token: int,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        correlation: bytes | None = None,
    ) -> None:
        """Send one message; an :class:`Acked` with ``token`` follows when the broker has it (QoS 1)."""
        self._request(_Publish(token, topic, payload, qos, retain, correlation))

    def set_will(self, will: WillMessage | None) -> None:
        """The Last Will for the next connection."""
        self._request(_SetWill(will))

    def stop(self, timeout: float = 5.0) -> None:
        """Disconnect cleanly (no will) and end the thread."""
        if self.running:
            self._request(_Stop())
        self._join(timeout)

    # ------------------------------------------------------------ the link's thread

    def _finished(self) -> None:
        self.events.put(Stopped())

    def _take_requests(self) -> None:
        while True:
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Stop):
                self._stopping = True
            elif isinstance(item, _SetWill):
                self._will = item.will
            elif self._connected:
                self._send(item)
            else:
                # The publisher sends again everything unacknowledged after the next Connected.
                log.debug("publish of token %d dropped: not connected", item.token)

    def _send(self, item: _Publish) -> None:
        assert self._client is not None
        properties = None
        if item.correlation is not None and self.settings.protocol == "5":
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.CorrelationData = item.correlation
        info = self._client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain, properties=properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            log.debug("publish of token %d not sent (rc %s); resent after reconnect", item.token, info.rc)
            return
        if item.qos == 0:
            self.events.put(Acked(item.token, True, "qos0"))
            return
        self._mids[info.mid] = (item.token, self._clock())
        early = self._early_acks.pop(info.mid, None)
        if early is not None:
            self._handle_raw(early)

    # ---- connecting

    def _new_client(self) -> paho.Client:
        settings = self.settings
        v5 = settings.protocol == "5"
        client = self._paho_client(
            settings.client_id,
            v5=v5,
            clean_session=None if v5 else False,
            tls=self._tls_context,
            username=settings.username,
            password=self._password,
            client_class=_BoundedClient,
        )
        assert isinstance(client, _BoundedClient)
        client.connect_timeout = settings.connect_timeout
        client.max_packet_size = settings.max_packet_size
        if self._will is not None:
            client.will_set(self._will.topic, self._will.payload, qos=self._will.qos, retain=self._will.retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_socket_close = self._on_socket_close
        return client

    def _connect(self) -> None:
        settings = self.settings
        keepalive = self._keepalive.current
        client = self._new_client()
        self._connection += 1
        try:
            if settings.protocol == "5":
                properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                properties.SessionExpiryInterval = settings.session_expiry
                properties.MaximumPacketSize = settings.max_packet_size
                client.connect(
                    settings.host, settings.port, keepalive=keepalive, clean_start=False, properties=properties
                )
            else:
                client.connect(settings.host, settings.port, keepalive=keepalive)
        except OSError as exc:  # ssl.SSLError included
            self._connect_failed(*connect_failure(exc, settings.host, settings.port))
            return
        self._client = client
        sock = client.socket()
        if isinstance(sock, socket.socket) and hasattr(socket, "TCP_USER_TIMEOUT"):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(settings.tcp_user_timeout * 1000))
        self._connect_started = self._clock()

    def _connect_failed(self, code: str, message: str) -> None:
        delay = self._backoff.next_delay()
        self._next_attempt = self._clock() + delay
        log.info("MQTT connect failed (%s): %s; next try in %.1f s", code, message, delay)
        self.events.put(ConnectFailed(code, message, delay))

    # ---- running

    def _after_step(self, client: paho.Client) -> None:
        self._process_raw()
        if self._client is not None:
            self._check_health()

    def _check_health(self) -> None:
        now = self._clock()
        if not self._connected:
            if now - self._connect_started > self.settings.connect_timeout:
                self._close("no CONNACK", dead=True)
            return
        oldest = min((sent for _, sent in self._mids.values()), default=None)
        if oldest is not None and now - oldest > self.settings.ack_timeout:
            self._close("PUBACK overdue", dead=True)
            return
        if now >= self._next_traffic:
            self._next_traffic = now + self.settings.traffic_every
            self._sample_traffic(at_connect=False)
            before = self._keepalive.current
            if self._keepalive.tick(now) != before:
                self._learned()

    def _sample_traffic(self, *, at_connect: bool) -> None:
        sock = self._client.socket() if self._client is not None else None
        if isinstance(sock, socket.socket):
            sample = read_tcp_info(sock, self._connection)
            if sample is not None:
                self.events.put(Traffic(sample, at_connect=at_connect))

    def _learned(self) -> None:
        policy = self._keepalive
        self.events.put(KeepaliveLearned(policy.current, policy.known_good, policy.too_long))

    def _process_raw(self) -> None:
        while self._raw:
            self._handle_raw(self._raw.pop(0))

    def _handle_raw(self, raw: _Raw) -> None:
        if isinstance(raw, _RawPuback):
            entry = self._mids.pop(raw.mid, None)
            if entry is None:
                self._early_acks[raw.mid] = raw
            else:
                self.events.put(Acked(entry[0], raw.ok, raw.reason))
        elif isinstance(raw, _RawMessage):
            self.events.put(raw.message)
        elif isinstance(raw, _RawConnack):
            self._connack(raw)
        elif isinstance(raw, _RawSocketClosed):
            if raw.sample is not None:
                self.events.put(Traffic(raw.sample))
            if raw.so_error == errno.ETIMEDOUT:
                self._closing_reason = ("TCP timeout", True)
        elif isinstance(raw, _RawDisconnect):
            reason, dead = self._closing_reason or (raw.reason, raw.reason == "keepalive timeout")
            self._close(reason, dead=dead)

    def _connack(self, raw: _RawConnack) -> None:
        if not raw.ok:
            code = {0x86: "bad_credentials", 0x87: "not_authorized", 4: "bad_credentials", 5: "not_authorized"}
            self._drop_client()
            self._connect_failed(
                code.get(raw.value, "broker_refused"), f"the broker refused the connection: {raw.reason}"
            )
            return
        self._connected = True
        now = self._clock()
        self._backoff.connected(now)
        keepalive = raw.server_keepalive or self._keepalive.connected(now)
        self._sample_traffic(at_connect=True)
        self._next_traffic = now + self.settings.traffic_every
        assert self._client is not None
        remember_tls_session(self._tls_context, self._client.socket())
        if not raw.session_present:
            for topic in self.settings.subscriptions:
                if self.settings.protocol == "5":
                    # Retain As Published: a retained command published while we are subscribed keeps its flag,
                    # so it is refused like one delivered at subscription (the broker clears it otherwise).
                    options = SubscribeOptions(qos=1, retainAsPublished=True)
                    self._client.subscribe(topic, options=options)
                else:
                    self._client.subscribe(topic, qos=1)
        self.events.put(Connected(raw.session_present, keepalive, self._connection))

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.on_disconnect = None
            client.on_socket_close = None
            try:
                client.disconnect()
            except Exception:  # paho may already have closed it
                log.debug("disconnect after failure", exc_info=True)
            sock = client.socket()
            if sock is not None:
                sock.close()
        self._raw.clear()

    def _close(self, reason: str, *, final: bool = False, dead: bool = False) -> None:
        """End the current connection (if any), report it, and schedule the next attempt; ``final``: the link stops
        (a clean DISCONNECT, so no will; nothing reported, nothing scheduled)."""
        client = self._client
        if client is None:
            return
        if final and self._connected:
            self._disconnect(client)
        self._sample_traffic(at_connect=False)
        was_connected = self._connected
        # Keep the socket-close callback: it posts the final counters.
        client.on_disconnect = None
        sock = client.socket()
        if sock is not None:
            self._on_socket_close(client, None, sock)
            client.on_socket_close = None
            sock.close()
        self._client = None
        self._connected = False
        self._closing_reason = None
        for entry in list(self._raw):
            if isinstance(entry, _RawSocketClosed) and entry.sample is not None:
                self.events.put(Traffic(entry.sample))
        self._raw.clear()
        self._mids.clear()
        self._early_acks.clear()
        now = self._clock()
        if was_connected:
            self._backoff.disconnected(now)
            if dead:
                self._keepalive.found_dead(now)
                self._learned()
            else:
                self._keepalive.lost(now)
        if final:
            return
        delay = self._backoff.next_delay()
        self._next_attempt = now + delay
        log.info("MQTT connection ended (%s%s); next try in %.1f s", reason, ", found dead" if dead else "", delay)
        if was_connected:
            self.events.put(Disconnected(reason, dead, delay))
        else:
            self.events.put(ConnectFailed("no_connack" if dead else "lost", reason, delay))

    # ------------------------------------------------------------ paho callbacks: only record what happened

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        server_keepalive = getattr(properties, "ServerKeepAlive", None) if properties is not None else None
        value = reason.value if hasattr(reason, "value") else int(reason)
        self._raw.append(
            _RawConnack(not reason.is_failure, str(reason), value, bool(flags.session_present), server_keepalive)
        )

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        text = str(reason)
        if getattr(reason, "value", None) == 0x8D or "keep alive" in text.lower():
            text = "keepalive timeout"
        self._raw.append(_RawDisconnect(text, bool(getattr(flags, "is_disconnect_packet_from_server", False))))

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self._raw.append(_RawPuback(mid, not reason.is_failure, str(reason)))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        props = message.properties
        response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        self._raw.append(
            _RawMessage(
                Received(message.topic, bytes(message.payload), bool(message.retain), response_topic, correlation)
            )
        )

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        sample = read_tcp_info(sock, self._connection) if isinstance(sock, socket.socket) else None
        try:
            so_error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if isinstance(sock, socket.socket) else 0
        except OSError:
            so_error = 0
        self._raw.append(_RawSocketClosed(sample, so_error))
