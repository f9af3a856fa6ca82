"""Issue 17, finding 8: the control socket is bounded (clients, whole-request deadline, size), says who asked for an
AT command, survives arguments argparse refuses, and `usage sample` through it cannot wear the flash."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from iotcard.agent.config import parse_config
from iotcard.agent.control import ControlServer, forward
from iotcard.agent.daemon._agent import Agent


class Handler:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], lang: str, tty: bool, port: str | None) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        if argv[:2] == ["at", "--timeout"]:
            raise SystemExit(2)  # what argparse does with a refused argument
        return 0, "done\n", ""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ControlServer, Handler]]:
    handler = Handler()
    control = ControlServer(tmp_path / "agent.sock", handler, group=None, max_clients=3, request_deadline=1.0)
    control.start()
    yield control, handler
    control.close()


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(str(path))
    return sock


def reply_of(sock: socket.socket) -> dict:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return json.loads(data or b"{}")


def test_a_slow_client_cannot_hold_a_thread(server: tuple[ControlServer, Handler]) -> None:
    control, handler = server
    sock = connect(control.path)
    started = time.monotonic()
    closed = False
    # A byte every 0.3 s: each read is quick, the request as a whole is not.
    for byte in b'{"argv": ["status"]' + b" " * 20:
        try:
            sock.send(bytes([byte]))
        except OSError:
            closed = True
            break
        time.sleep(0.3)
        if time.monotonic() - started > 4:
            break
    reply = reply_of(sock) if not closed else {"stderr": "in time"}
    assert time.monotonic() - started < 4
    assert "in time" in reply["stderr"]
    assert handler.calls == []
    sock.close()


def test_clients_over_the_cap_are_told_busy_without_a_thread(server: tuple[ControlServer, Handler]) -> None:
    control, _ = server
    threads_before = threading.active_count()
    idle = [connect(control.path) for _ in range(3)]  # hold every slot
    time.sleep(0.2)
    extra = [connect(control.path) for _ in range(20)]
    replies = [reply_of(sock) for sock in extra]
    assert all(r["status"] == 75 and "busy" in r["stderr"] for r in replies)
    assert threading.active_count() <= threads_before + 3
    for sock in idle + extra:
        sock.close()
    # Once the slots are free (the idle ones ran into the deadline or closed), requests are served again.
    time.sleep(1.2)
    assert forward(control.path, ["status"], "en", False, timeout=5) == (0, "done\n", "")


def test_at_requests_are_logged_with_the_callers_uid(
    server: tuple[ControlServer, Handler], caplog: pytest.LogCaptureFixture
) -> None:
    control, _ = server
    with caplog.at_level(logging.INFO, logger="iotcard.control"):
        forward(control.path, ["at", "AT+CSQ"], "en", False, timeout=5)
    [record] = [r for r in caplog.records if "AT+CSQ" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert f"uid {os.getuid()} (pid {os.getpid()})" in record.getMessage()


def test_refused_arguments_get_a_reply_not_a_dead_thread(server: tuple[ControlServer, Handler]) -> None:
    control, _ = server
    status, _, err = forward(control.path, ["at", "--timeout", "inf", "AT"], "en", False, timeout=5)
    assert status == 2 and "refused" in err
    assert forward(control.path, ["status"], "en", False, timeout=5)[0] == 0


def test_an_oversized_request_is_refused(server: tuple[ControlServer, Handler]) -> None:
    control, handler = server
    sock = connect(control.path)
    try:
        sock.sendall(json.dumps({"argv": ["status", "x" * 20_000]}).encode() + b"\n")
        reply = reply_of(sock)
    except OSError:  # the agent stopped reading and closed on unread data (reset): refused all the same
        reply = {"stderr": "longer than"}
    assert "longer than" in reply["stderr"]
    assert handler.calls == []


def test_usage_sample_through_the_socket_is_coalesced(tmp_path: Path) -> None:
    config = parse_config({"modem": {"port": str(tmp_path / "tty")}, "paths": {"state_dir": str(tmp_path / "s")}})
    agent = Agent(config, socket_path=None)
    samples: list[str] = []
    agent.meter.call = lambda work, timeout=30.0: samples.append("sample")  # type: ignore[method-assign,assignment,return-value]
    start = 1000.0
    done = [agent.meter.sample_for_cli(now=start + n * 0.06) for n in range(200)]  # 200 requests in 12 s
    assert sum(done) == 1 and samples == ["sample"]
    assert agent.meter.sample_for_cli(now=start + 61)
