"""Many lightweight MQTT 3.1.1 publishers in one thread: the fleet's side of the wire.

A simulated agent needs only CONNECT, PUBLISH at QoS 1, PUBACK, PINGREQ and DISCONNECT (MQTT 3.1.1 §3), so a
thousand of them fit in one selector loop with a few bytes of state each, where a thousand paho clients would
need a thousand threads or loops. Like the real agent's outbox, a connection keeps every PUBLISH until its PUBACK
arrives and sends the unacknowledged ones again, with the DUP flag and the same payload (so the same ``seq``),
after reconnecting: a broker restart loses nothing, and the collector sees the repeats it must not count twice.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["FleetLink", "encode_connect", "encode_publish"]

_CONNACK = 0x20
_PUBACK = 0x40
_PINGRESP = 0xD0
_PINGREQ = b"\xc0\x00"
_DISCONNECT = b"\xe0\x00"


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(value: str) -> bytes:
    raw = value.encode("utf-8")
    return len(raw).to_bytes(2, "big") + raw


def encode_connect(client_id: str, keepalive: int, *, clean_session: bool = True) -> bytes:
    """CONNECT, MQTT 3.1.1 §3.1: protocol name, level 4, flags, keepalive, client id."""
    body = _string("MQTT") + bytes([4, 0x02 if clean_session else 0x00]) + keepalive.to_bytes(2, "big")
    body += _string(client_id)
    return b"\x10" + _remaining_length(len(body)) + body


def encode_publish(topic: str, payload: bytes, packet_id: int, *, retain: bool = False, dup: bool = False) -> bytes:
    """PUBLISH at QoS 1, MQTT 3.1.1 §3.3."""
    first = 0x30 | (0x08 if dup else 0) | 0x02 | (0x01 if retain else 0)
    body = _string(topic) + packet_id.to_bytes(2, "big") + payload
    return bytes([first]) + _remaining_length(len(body)) + body


@dataclass
class _Connection:
    client_id: str
    sock: socket.socket | None = None
    connected: bool = False
    next_pid: int = 1
    backlog: deque[tuple[str, bytes, bool]] = field(default_factory=deque)
    unacked: OrderedDict[int, bytes] = field(default_factory=OrderedDict)
    out: bytearray = field(default_factory=bytearray)
    inbuf: bytearray = field(default_factory=bytearray)
    retry_at: float = 0.0
    last_sent: float = 0.0
    reconnects: int = 0

    def take_pid(self) -> int:
        pid = self.next_pid
        self.next_pid = pid % 65535 + 1
        return pid


class FleetLink:
    """One MQTT connection per simulated device, all driven by :meth:`pump` in the caller's thread."""

    def __init__(
        self,
        host: str,
        port: int,
        client_ids: Iterable[str],
        *,
        max_inflight: int = 20,
        keepalive: int = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self.max_inflight = max_inflight
        self.keepalive = keepalive
        self._clock = clock
        self._selector = selectors.DefaultSelector()
        self._connections = {client_id: _Connection(client_id) for client_id in client_ids}
        self._by_fd: dict[int, _Connection] = {}
        self.acked = 0
        self.resent = 0

    # ------------------------------------------------------------ API

    def publish(self, client_id: str, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue one QoS 1 message; it goes out from :meth:`pump`."""
        connection = self._connections[client_id]
        connection.backlog.append((topic, payload, retain))
        if connection.connected:
            self._feed(connection)

    @property
    def pending(self) -> int:
        """Messages queued or sent but not yet acknowledged."""
        return sum(len(c.backlog) + len(c.unacked) for c in self._connections.values())

    @property
    def connected(self) -> int:
        return sum(1 for c in self._connections.values() if c.connected)

    @property
    def reconnects(self) -> int:
        return sum(c.reconnects for c in self._connections.values())

    def drain(self, timeout: float) -> bool:
        """Pump until every queued message is acknowledged; False at the deadline."""
        return self.pump(lambda: self.pending == 0, timeout)

    def pump(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = self._clock() + timeout
        while True:
            if done():
                return True
            now = self._clock()
            if now >= deadline:
                return done()
            self._maintain(now)
            for key, events in self._selector.select(min(0.05, deadline - now)):
                connection = self._by_fd.get(key.fd)
                if connection is None:
                    continue
                if events & selectors.EVENT_READ:
                    self._read(connection)
                if events & selectors.EVENT_WRITE and connection.sock is not None:
                    self._flush(connection)

    def close(self) -> None:
        """DISCONNECT every connection cleanly and close the sockets."""
        for connection in self._connections.values():
            if connection.sock is not None and connection.connected:
                with contextlib.suppress(OSError):
                    connection.sock.setblocking(True)
                    connection.sock.settimeout(1.0)
                    connection.sock.sendall(bytes(connection.out) + _DISCONNECT)
            self._drop(connection, reconnect=False)
        self._selector.close()

    # ------------------------------------------------------------ connections

    def _maintain(self, now: float) -> None:
        for connection in self._connections.values():
            if connection.sock is None and now >= connection.retry_at:
                self._open(connection, now)
            elif connection.connected and now - connection.last_sent > self.keepalive / 2:
                connection.out += _PINGREQ
                connection.last_sent = now
                self._flush(connection)

    def _open(self, connection: _Connection, now: float) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        try:
            sock.connect((self.host, self.port))
        except BlockingIOError:
            pass
        except OSError:
            sock.close()
            connection.retry_at = now + 0.2
            return
        connection.sock = sock
        connection.inbuf.clear()
        connection.out = bytearray(encode_connect(connection.client_id, self.keepalive))
        connection.last_sent = now
        self._by_fd[sock.fileno()] = connection
        self._selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def _drop(self, connection: _Connection, *, reconnect: bool = True) -> None:
        sock = connection.sock
        if sock is not None:
            self._by_fd.pop(sock.fileno(), None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()
        if connection.connected and reconnect:
            connection.reconnects += 1
        connection.sock = None
        connection.connected = False
        connection.out.clear()
        connection.retry_at = self._clock() + 0.2

    def _flush(self, connection: _Connection) -> None:
        sock = connection.sock
        if sock is None:
            return
        try:
            while connection.out:
                sent = sock.send(connection.out)
                del connection.out[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOTCONN):
                pass
            else:
                self._drop(connection)
                return
        with contextlib.suppress(KeyError, ValueError):
            wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.out else 0)
            if self._selector.get_key(sock).events != wanted:
                self._selector.modify(sock, wanted)

    def _feed(self, connection: _Connection) -> None:
        """Move queued messages into the send buffer while the in-flight window allows."""
        while connection.backlog and len(connection.unacked) < self.max_inflight:
            topic, payload, retain = connection.backlog.popleft()
            pid = connection.take_pid()
            packet = encode_publish(topic, payload, pid, retain=retain)
            connection.unacked[pid] = packet
            connection.out += packet
        connection.last_sent = self._clock()
        self._flush(connection)

    def _read(self, connection: _Connection) -> None:
        sock = connection.sock
        assert sock is not None
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(connection)
            return
        if not data:
            self._drop(connection)
            return
        buf = connection.inbuf
        buf += data
        while len(buf) >= 2:
            length, shift, index = 0, 0, 1
            while True:
                if index >= len(buf):
                    return
                byte = buf[index]
                length |= (byte & 0x7F) << shift
                index += 1
                if not byte & 0x80:
                    break
                shift += 7
            if len(buf) < index + length:
                return
            kind, body = buf[0] & 0xF0, bytes(buf[index : index + length])
            del buf[: index + length]
            if kind == _PUBACK:
                if connection.unacked.pop(int.from_bytes(body[:2], "big"), None) is not None:
                    self.acked += 1
                self._feed(connection)
            elif kind == _CONNACK:
                if len(body) < 2 or body[1] != 0:
                    self._drop(connection)
                    return
                self._connected(connection)
            elif kind == _PINGRESP:
                pass

    def _connected(self, connection: _Connection) -> None:
        connection.connected = True
        # Unacknowledged messages go again first, in order, flagged DUP (MQTT 3.1.1 §4.4).
        for packet in connection.unacked.values():
            connection.out += bytes([packet[0] | 0x08]) + packet[1:]
            self.resent += 1
        self._feed(connection)
