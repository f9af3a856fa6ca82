"""Issue 17, findings 6 and 7: a full, read-only or damaged state dir degrades the agent instead of killing MQTT or
crash-looping it, and the watchdog is fed only while every owner makes progress.

The disk tests mount a real 200 KiB tmpfs as the state dir (root only; skipped otherwise), run the daemon as a
process with the pty simulator and a real Mosquitto, and fill the disk under it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from test_daemon import ROOT, Cloud, Running, wait_for, write_config

from iotcard.agent.config import parse_config
from iotcard.agent.daemon import ModemWorker, WorkerModem
from iotcard.agent.daemon._agent import Agent
from iotcard.drivers.at import Command
from iotcard.drivers.errors import ReadTimeout
from iotcard.simulators.modem import ModemSimulator

sys.path.append(str(Path(__file__).resolve().parents[1] / "telemetry"))
from mosquitto_support import MOSQUITTO, Broker

# ---------------------------------------------------------------- the watchdog's bookkeeping (no I/O)


def agent_for(tmp_path: Path, **mqtt: object) -> Agent:
    config = parse_config(
        {"modem": {"port": str(tmp_path / "ttyNONE")}, "paths": {"state_dir": str(tmp_path / "state")}, "mqtt": mqtt}
    )
    return Agent(config, socket_path=None)


def test_failed_jobs_are_not_progress(tmp_path: Path) -> None:
    agent = agent_for(tmp_path, host="127.0.0.1")
    long_ago = time.monotonic() - 10_000
    agent.health.set_beats({"modem": long_ago, "meter": long_ago, "mqtt": long_ago})
    failed = JobExecutionEvent(EVENT_JOB_ERROR, "usage", None, None, exception=RuntimeError("disk I/O error"))
    for _ in range(5):
        agent.jobs.job_done(failed)
    assert not agent._making_progress()
    assert sorted(agent.stale_owners()) == ["meter", "modem", "mqtt"]
    agent.health.beat("modem")
    agent.health.beat("meter")
    assert agent.stale_owners() == ["mqtt"]  # the MQTT owner stopped: no WATCHDOG=1
    agent.health.beat("mqtt")
    assert agent._making_progress()
    assert agent.status()["jobs"] == {"run": 5, "failed": 5}


def test_a_wedged_modem_worker_stops_the_watchdog(tmp_path: Path) -> None:
    release = threading.Event()
    worker = ModemWorker("/dev/null", make_modem=lambda port, baud: object())  # type: ignore[arg-type,return-value]
    worker.submit(lambda modem: release.wait(5), allowed=1.0)
    wait_for(lambda: worker._busy is not None, 5, "the worker to start")
    assert not worker.stuck(time.monotonic())
    assert worker.stuck(time.monotonic() + 60)
    release.set()
    wait_for(lambda: worker._busy is None, 5, "the worker to finish")
    assert not worker.stuck(time.monotonic() + 60)
    worker.close()


@pytest.mark.parametrize("timeout", [10_000_000.0, 601.0, float("inf")])
def test_the_daemon_refuses_an_unbounded_at_timeout(timeout: float) -> None:
    worker = ModemWorker("/dev/null", make_modem=lambda port, baud: object())  # type: ignore[arg-type,return-value]
    with pytest.raises(ReadTimeout) as caught:
        WorkerModem(worker).execute(Command("AT+CSQ", timeout=timeout))
    assert "at most 600 s" in caught.value.message
    assert worker.requests == 0  # nothing reached the modem thread
    worker.close()


# ---------------------------------------------------------------- a real daemon on a small tmpfs


def _can_mount() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount a 200 KiB tmpfs as the state dir"
    if MOSQUITTO is None:
        return "mosquitto is not installed ('make test' as root installs it)"
    return None


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "200k") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Fill the file system under ``directory`` until ENOSPC."""
    filler = directory / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 4096)
            out.flush()
    return filler


@contextlib.contextmanager
def daemon(tmp_path: Path, state: Path) -> Iterator[Running]:
    broker = Broker(tmp_path / "broker")
    broker.start()
    sim = ModemSimulator(profile="quectel_ec25", link=str(tmp_path / "ttyIOT0"))
    sim.start()
    config = tmp_path / "agent.toml"
    write_config(config, str(tmp_path / "ttyIOT0"), broker.port, state)
    cloud = Cloud(broker.port)
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    control = tmp_path / "agent.sock"
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "2000000"}
    process = subprocess.Popen(
        [sys.executable, "-m", "iotcard.agent.cli", "run", "--config", str(config), "--control-socket", str(control)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Running(process, control, notify, sim, broker, cloud, config)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        cloud.close()
        sim.stop()
        broker.stop()
        notify.close()


def agent_status(run: Running) -> dict:
    result = run.cli("status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["agent"]


def ping_result(run: Running, request_id: str) -> bool:
    return any(doc.get("request_id") == request_id for doc in run.cloud.seen("/result/ping"))


def test_a_full_disk_degrades_and_recovers_without_a_restart(tmp_path: Path) -> None:
    if reason := _can_mount():
        pytest.skip(reason)
    with small_tmpfs(tmp_path / "state", "1m") as state, daemon(tmp_path, state) as run:
        wait_for(lambda: run.cloud.seen("/telemetry"), 40, "the first telemetry")
        filler = fill(state)
        for n in range(3):
            run.cloud.command("ping", {"request_id": f"full-{n}"})
        wait_for(lambda: "outbox" in agent_status(run).get("degraded", {}), 20, "the outbox reported degraded")
        assert "full" in agent_status(run)["degraded"]["outbox"]
        assert any("degraded" in n for n in run.notifications(0.5))  # in systemd's STATUS too
        assert run.process.poll() is None
        watchdogs = sum("WATCHDOG=1" in n for n in run.notified)
        wait_for(lambda: sum("WATCHDOG=1" in n for n in run.notified) > watchdogs, 15, "WATCHDOG=1 while degraded")
        filler.unlink()
        wait_for(lambda: "outbox" not in agent_status(run).get("degraded", {}), 30, "the outbox recovered")
        run.cloud.command("ping", {"request_id": "after"})
        wait_for(lambda: ping_result(run, "after"), 20, "a command answered after space came back")
        assert agent_status(run)["mqtt"]["state"] == "connected"

        # The cloud hears of it: the outbox itself could not keep the storage_degraded event, so the recovery says
        # what it was.
        def recovered() -> list[dict]:
            return [
                e
                for e in run.cloud.seen("/event")
                if (e["event"], e.get("previous")) == ("storage_recovered", "outbox")
            ]

        wait_for(recovered, 20, "the storage_recovered event")
        assert "full" in recovered()[0]["current"]


def test_a_damaged_usage_database_is_set_aside(tmp_path: Path) -> None:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed ('make test' as root installs it)")
    state = tmp_path / "state"
    state.mkdir()
    (state / "usage.sqlite3").write_bytes(b"this is not a database, it is a scrambled flash page\n" * 200)
    with daemon(tmp_path, state) as run:
        wait_for(lambda: run.cloud.seen("/telemetry"), 40, "telemetry despite the damaged database")
        assert list(state.glob("usage.sqlite3.corrupt-*"))
        assert "usage_reset" in agent_status(run)["degraded"]
        wait_for(
            lambda: any(e["event"] == "usage_reset" for e in run.cloud.seen("/event")), 20, "the usage_reset event"
        )
        assert run.process.poll() is None


def test_a_read_only_state_dir_degrades_and_mqtt_still_runs(tmp_path: Path) -> None:
    if reason := _can_mount():
        pytest.skip(reason)
    with small_tmpfs(tmp_path / "state") as state:
        subprocess.run(["mount", "-o", "remount,ro", str(state)], check=True)
        with daemon(tmp_path, state) as run:
            wait_for(lambda: run.cloud.seen("/telemetry"), 40, "telemetry from a read-only state dir")
            degraded = agent_status(run)["degraded"]
            assert "read-only" in degraded["usage"] and "memory" in degraded["outbox_memory"]
            run.cloud.command("ping", {"request_id": "ro"})
            wait_for(lambda: ping_result(run, "ro"), 20, "a command answered")
            assert run.process.poll() is None
