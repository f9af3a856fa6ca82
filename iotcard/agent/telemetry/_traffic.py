"""Counting the agent's own traffic on the MQTT socket, both ways, by message type.

How the bytes are counted (Linux):

- **Totals are exact, from the kernel.** ``getsockopt(TCP_INFO)`` on the MQTT socket gives ``tcpi_bytes_sent``
  (TCP payload sent, retransmissions included), ``tcpi_bytes_received`` and the segment counts both ways
  (``tcpi_segs_out``/``tcpi_segs_in``, which include SYN/FIN and pure ACKs). The TCP payload *is* the TLS records:
  handshake, certificates, session tickets, record headers and tags, alerts, and the MQTT PINGREQ/PINGRESP
  keepalives inside them. The link samples it after each CONNACK, every minute, and as the socket closes.
- **TCP/IP headers are estimated per segment**: 52 bytes on IPv4 (20 IP + 20 TCP + 12 timestamp option), 72 on
  IPv6. Carriers bill IP bytes, so this is what a metered card pays for.
- **The split by type is estimated** from each message's MQTT packet size plus a TLS record overhead, the PUBACK
  back and the segments they take; ``connect`` is measured (the sample at CONNACK: TCP handshake + TLS handshake +
  CONNECT/CONNACK); ``keepalive_other`` is what the exact total leaves after the estimates (PINGREQ/PINGRESP,
  their ACKs, SUBSCRIBE, DISCONNECT, TCP teardown).

Without ``TCP_INFO`` (not Linux) the totals fall back to the estimates and ``exact`` is false.
"""

from __future__ import annotations

import math
import socket
import struct
from dataclasses import dataclass, field

__all__ = [
    "SEGMENT_PAYLOAD",
    "TLS_RECORD_OVERHEAD",
    "TrafficMeter",
    "TrafficSample",
    "header_bytes_per_segment",
    "mqtt_publish_size",
    "publish_wire_estimate",
    "read_tcp_info",
]

#: TLS 1.3 AEAD record: 5 header + 1 inner content type + 16 tag (TLS 1.2 GCM: 5 + 8 nonce + 16 = 29).
TLS_RECORD_OVERHEAD = 22
#: A cellular path's MSS with timestamps (1500 MTU − 52); used to count segments of a large message.
SEGMENT_PAYLOAD = 1448

_IPV4_TCP_HEADERS = 52
_IPV6_TCP_HEADERS = 72
# struct tcp_info offsets (linux/tcp.h): bytes_received @128, segs_out/segs_in @136, bytes_sent @200.
_TI_BYTES_RECEIVED = 128
_TI_SEGS = 136
_TI_BYTES_SENT = 200
_TI_SIZE = 208


@dataclass(frozen=True, slots=True)
class TrafficSample:
    """Cumulative counters of one connection (``connection`` numbers them within one link)."""

    connection: int
    bytes_out: int
    bytes_in: int
    segments_out: int
    segments_in: int
    header_bytes: int = _IPV4_TCP_HEADERS

    @property
    def wire_bytes(self) -> int:
        return self.bytes_out + self.bytes_in + (self.segments_out + self.segments_in) * self.header_bytes


def header_bytes_per_segment(family: int) -> int:
    return _IPV6_TCP_HEADERS if family == socket.AF_INET6 else _IPV4_TCP_HEADERS


def read_tcp_info(sock: socket.socket, connection: int) -> TrafficSample | None:
    """The kernel's counters for ``sock``, or None where TCP_INFO is missing or too old to have them."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, option, 256)
    except OSError:
        return None
    if len(raw) < _TI_SIZE:
        return None
    bytes_in = struct.unpack_from("=Q", raw, _TI_BYTES_RECEIVED)[0]
    segs_out, segs_in = struct.unpack_from("=II", raw, _TI_SEGS)
    bytes_out = struct.unpack_from("=Q", raw, _TI_BYTES_SENT)[0]
    return TrafficSample(connection, bytes_out, bytes_in, segs_out, segs_in, header_bytes_per_segment(sock.family))


def _varint_len(value: int) -> int:
    n = 1
    while value >= 128:
        value //= 128
        n += 1
    return n


def mqtt_publish_size(topic: str, payload_len: int, *, qos: int = 1, v5: bool = True, properties_len: int = 0) -> int:
    """Bytes of one PUBLISH packet (MQTT 3.1.1 §3.3, MQTT 5 §3.3)."""
    remaining = 2 + len(topic.encode()) + (2 if qos else 0) + payload_len
    if v5:
        remaining += _varint_len(properties_len) + properties_len
    return 1 + _varint_len(remaining) + remaining


def publish_wire_estimate(
    topic: str, payload_len: int, *, qos: int = 1, v5: bool = True, tls: bool = True, properties_len: int = 0
) -> int:
    """IP bytes one QoS 1 PUBLISH costs both ways: the packet, its PUBACK, their TLS records and TCP/IP headers."""
    packet = mqtt_publish_size(topic, payload_len, qos=qos, v5=v5, properties_len=properties_len)
    record = TLS_RECORD_OVERHEAD if tls else 0
    sent = packet + record * math.ceil(packet / 16384)
    segments = math.ceil(sent / SEGMENT_PAYLOAD)
    total = sent + segments * _IPV4_TCP_HEADERS
    if qos:
        total += 4 + record + _IPV4_TCP_HEADERS  # PUBACK (4 bytes) in its own record and segment
        total += 2 * _IPV4_TCP_HEADERS  # the pure ACKs of both
    return total


@dataclass
class TrafficMeter:
    """Accumulates estimated bytes by type and exact totals from :class:`TrafficSample` deltas.

    Owned by one thread (the publisher's). ``take_deltas`` hands over what accumulated since the last call, for
    persisting by month. The sum over types tracks the exact total: growth the estimates do not explain is
    ``keepalive_other``.
    """

    by_type: dict[str, int] = field(default_factory=dict)
    exact_total: int = 0
    estimated_total: int = 0
    exact: bool = False
    _last: dict[int, int] = field(default_factory=dict)
    _unsaved: dict[str, int] = field(default_factory=dict)
    _unexplained: int = 0
    sent_total: int = 0
    received_total: int = 0
    _last_sent: dict[int, int] = field(default_factory=dict)

    def _add(self, kind: str, amount: int) -> None:
        if amount <= 0:
            return
        self.by_type[kind] = self.by_type.get(kind, 0) + amount
        self._unsaved[kind] = self._unsaved.get(kind, 0) + amount

    def message(self, kind: str, wire_bytes: int) -> None:
        """A message of ``kind`` was sent (and acknowledged) or received: its estimated cost."""
        self.estimated_total += wire_bytes
        self._unexplained += wire_bytes
        self._add(kind, wire_bytes)

    def _growth(self, sample: TrafficSample) -> int:
        growth = sample.wire_bytes - self._last.get(sample.connection, 0)
        if growth <= 0:
            return 0
        self.exact = True
        self._last[sample.connection] = sample.wire_bytes
        self.exact_total += growth
        # The same growth split by direction (headers charged per segment each way), for the usage meter.
        sent = sample.bytes_out + sample.segments_out * sample.header_bytes
        last_sent = self._last_sent.get(sample.connection, 0)
        self._last_sent[sample.connection] = sent
        self.sent_total += max(0, sent - last_sent)
        self.received_total = self.exact_total - self.sent_total
        return growth

    def connected(self, sample: TrafficSample | None) -> None:
        """The sample taken at CONNACK: everything so far on this connection is the cost of connecting."""
        if sample is not None:
            self._add("connect", self._growth(sample))

    def sampled(self, sample: TrafficSample | None) -> None:
        """A later sample: growth not explained by the messages' estimates is keepalive and protocol overhead."""
        if sample is None:
            return
        growth = self._growth(sample)
        explained = min(growth, self._unexplained)
        self._unexplained -= explained
        self._add("keepalive_other", growth - explained)

    @property
    def total(self) -> int:
        return self.exact_total if self.exact else self.estimated_total

    def take_deltas(self) -> dict[str, int]:
        deltas, self._unsaved = self._unsaved, {}
        return deltas
