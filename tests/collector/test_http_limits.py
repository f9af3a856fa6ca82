"""The API server cannot be held by slow or half-sent requests (threat model: the collector, resource limits)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from collector_support import clock

import iotcard.collector._http as http
from iotcard.collector import Store
from iotcard.collector._http import ApiServer


def test_half_sent_requests_are_dropped_and_the_server_keeps_answering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "HEAD_TIMEOUT", 0.5)
    with Store(f"sqlite:///{tmp_path / 'c.sqlite3'}", clock=clock) as store:
        server = ApiServer(store, "127.0.0.1", 0)
        server.start()
        slow = []
        try:
            for _ in range(200):  # half a request each, then nothing (a slowloris)
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                slow.append(sock)
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as ok:
                ok.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert ok.recv(64).startswith(b"HTTP/1.1 200")
            time.sleep(1.5)  # past the head deadline (not a wait for the code: the deadline is the subject)
            closed = 0
            for sock in slow:
                sock.settimeout(2)
                closed += sock.recv(16) == b""
            assert closed == len(slow)
        finally:
            for sock in slow:
                sock.close()
            server.stop()


def test_responses_are_not_held_back_by_nagle(tmp_path: Path) -> None:
    """A response's head and body are two writes: with Nagle on, the body waited for the client's delayed ACK (40 ms
    on every keep-alive request). The server's connections have TCP_NODELAY."""
    with Store(f"sqlite:///{tmp_path / 'c.sqlite3'}", clock=clock) as store:
        server = ApiServer(store, "127.0.0.1", 0)
        server.start()
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
                client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert client.recv(64).startswith(b"HTTP/1.1 200")
                connections = list(server.server.server_state.connections)
                assert len(connections) == 1
                sock = connections[0].transport.get_extra_info("socket")  # type: ignore[attr-defined]
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            server.stop()
