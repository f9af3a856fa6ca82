"""The collector's paho client: buffered reads and the short path for plain PUBLISH packets give what paho gives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from iotcard.collector._mqtt import _BufferedClient, _client_class


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _publish(
    topic: bytes, payload: bytes, *, qos: int = 1, mid: int = 7, retain: bool = False, props: bytes = b""
) -> bytes:
    """A PUBLISH packet as a broker sends it (MQTT 5 §3.3)."""
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    body += _varint(len(props)) + props + payload
    return bytes([0x30 | (qos << 1) | int(retain)]) + _varint(len(body)) + body


@pytest.fixture
def client() -> Iterator[tuple[_BufferedClient, socket.socket, list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client = _BufferedClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=paho.MQTTv5, manual_ack=True)
    client._sock = ours  # type: ignore[assignment]
    short: list[tuple[Any, ...]] = []
    paho_path: list[tuple[Any, ...]] = []
    client.on_delivery = lambda *args: short.append(args)

    def on_message(_client: Any, _userdata: Any, m: paho.MQTTMessage) -> None:
        paho_path.append((m.mid, m.qos, m.topic, bytes(m.payload), bool(m.retain)))

    client.on_message = on_message
    yield client, broker, short, paho_path
    ours.close()
    broker.close()


def _read_all(client: _BufferedClient) -> None:
    for _ in range(100):
        assert client.loop_read() == paho.MQTT_ERR_SUCCESS
        if not client.buffered:
            return


def test_packets_that_arrive_together_are_read_from_one_buffer(client: Any) -> None:
    paho_client, broker, short, paho_path = client
    packets = [_publish(b"iotcard/v1/d-%d/telemetry" % n, b'{"n": %d}' % n, mid=n + 1) for n in range(50)]
    packets.append(_publish(b"iotcard/v1/d-x/status", b"x" * 300, qos=0, retain=True))  # 2-byte remaining length
    broker.sendall(b"".join(packets))
    reads: list[int] = []
    recv = paho_client._sock_recv

    def counted(size: int) -> bytes:
        reads.append(size)
        return recv(size)  # type: ignore[no-any-return]

    paho_client._sock_recv = counted
    _read_all(paho_client)
    assert not paho_client.buffered and not paho_path
    assert len(reads) <= 4  # the first packet read by paho, byte by byte; the other 50 taken whole from the buffer
    assert short[:2] == [
        (1, 1, "iotcard/v1/d-0/telemetry", b'{"n": 0}', False),
        (2, 1, "iotcard/v1/d-1/telemetry", b'{"n": 1}', False),
    ]
    assert len(short) == 51 and short[-1] == (0, 0, "iotcard/v1/d-x/status", b"x" * 300, True)


def test_a_packet_split_across_reads_is_put_together(client: Any) -> None:
    paho_client, broker, short, _ = client
    packet = _publish(b"iotcard/v1/d-1/event", b"e" * 1000)
    broker.sendall(packet[:3])
    _read_all(paho_client)
    broker.sendall(packet[3:500])
    _read_all(paho_client)
    assert not short
    broker.sendall(packet[500:])
    _read_all(paho_client)
    assert short == [(7, 1, "iotcard/v1/d-1/event", b"e" * 1000, False)]


def test_what_the_short_path_does_not_know_goes_through_paho(client: Any) -> None:
    paho_client, broker, short, paho_path = client
    expiry = bytes([0x02]) + (60).to_bytes(4, "big")  # Message Expiry Interval
    broker.sendall(_publish(b"iotcard/v1/d-1/event", b"{}", props=expiry))
    broker.sendall(_publish(b"iotcard/v1/d-2/event", b"{}", qos=2, mid=9))
    _read_all(paho_client)
    assert not short
    assert paho_path == [(7, 1, "iotcard/v1/d-1/event", b"{}", False)]
    assert 9 in paho_client._in_messages  # QoS 2: paho's, delivered at PUBREL


def test_the_installed_paho_takes_the_short_path() -> None:
    # The shortcuts stand on paho's private members; when an upgrade removes one, the collector falls back to paho's
    # own client (slower), and this test says so.
    assert _client_class() is _BufferedClient
    made = _BufferedClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=paho.MQTTv5)
    assert all(hasattr(made, name) for name in _BufferedClient.instance_needs)


def test_a_paho_without_what_the_short_path_uses_gets_its_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_BufferedClient, "class_needs", ("_sock_recv", "_no_such_method"))
    assert _client_class() is paho.Client


def test_without_a_delivery_callback_every_publish_goes_through_paho(client: Any) -> None:
    made, broker, short, paho_path = client
    made.on_delivery = None
    broker.sendall(_publish(b"iotcard/d1/telemetry", b"{}", mid=3))
    _read_all(made)
    assert short == [] and paho_path == [(3, 1, "iotcard/d1/telemetry", b"{}", False)]


def test_other_packets_between_publishes_go_through_paho(client: Any) -> None:
    paho_client, broker, short, _ = client
    pingresp = bytes([0xD0, 0x00])
    broker.sendall(
        _publish(b"iotcard/v1/d-1/event", b"a", mid=1) + pingresp + _publish(b"iotcard/v1/d-2/event", b"b", mid=2)
    )
    paho_client._ping_t = 1.0  # a ping in flight, which the PINGRESP answers
    _read_all(paho_client)
    assert [s[0] for s in short] == [1, 2] and paho_client._ping_t == 0


def test_a_remaining_length_of_more_than_four_bytes_is_a_protocol_error(client: Any) -> None:
    paho_client, broker, short, _ = client
    broker.sendall(bytes([0x32, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) + b"x" * 64)
    assert paho_client.loop_read() == paho.MQTT_ERR_PROTOCOL
    assert not short


def test_the_acknowledgements_of_a_batch_go_out_in_one_write(client: Any) -> None:
    paho_client, broker, _, _ = client
    paho_client.ack_many([1, 2, 300])
    assert broker.recv(100) == bytes([0x40, 2, 0, 1, 0x40, 2, 0, 2, 0x40, 2, 1, 44])  # PUBACK of mid 1, 2, 300


def test_without_manual_acknowledgement_the_batch_sends_nothing(client: Any) -> None:
    paho_client, broker, _, _ = client
    paho_client._manual_ack = False  # paho acknowledged each message on arrival
    paho_client.ack_many([1, 2])
    broker.setblocking(False)
    with pytest.raises(BlockingIOError):
        broker.recv(100)
