"""The agent killed with -9 while publishing with a backlog: after a restart everything it stored is delivered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mosquitto_support import Broker, Certs
from telemetry_support import DEVICE_ID, Subscriber, fast_link, link_settings, reporter, wait_until

from iotcard.agent.telemetry import Outbox, TelemetryPublisher
from iotcard.contract.messages import EventName, Topics

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]

AGENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:0] = [{repo!r}, {tests!r}, {repo!r} + "/tests"]
    from mosquitto_support import Broker
    from telemetry_support import publisher, link_settings
    from iotcard.contract.messages import EventName
    from iotcard.agent.telemetry import TlsSettings

    class Ports:
        port = {port}
        tls_port = {tls_port}

    settings = link_settings(Ports, mode="tls", tls=TlsSettings(ca_file=Path({ca!r})))
    pub = publisher(Path({state!r}), settings)
    pub.start()
    n = 0
    while True:
        seq = pub.send(pub.reporter.event(EventName.ROAMING, current=str(n)))
        print(seq, flush=True)
        pub.step(0.002)
        n += 1
    """
)


def test_kill_9_with_a_backlog_then_restart_delivers_everything(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    cloud = Subscriber(broker.port)
    code = AGENT.format(
        repo=str(REPO),
        tests=str(Path(__file__).parent),
        port=broker.port,
        tls_port=broker.tls_port,
        ca=str(certs.ca),
        state=str(tmp_path),
    )
    # The broker goes away while the agent keeps storing: a backlog builds up in the outbox.
    agent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert agent.stdout is not None
    stored: list[int] = []
    try:
        for line in agent.stdout:
            stored.append(int(line))
            if len(stored) == 100:
                broker.kill()
            if len(stored) == 300:
                break
    finally:
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait(5)
    assert len(stored) == 300, "the agent process stopped early"
    broker.start()
    with Outbox(tmp_path / "state" / "outbox.sqlite3") as outbox:
        assert len(outbox) >= 150  # most of it never reached the broker
        again = TelemetryPublisher(outbox, fast_link(link_settings(broker, certs)), reporter(), Topics(DEVICE_ID))
        again.start()
        assert again.drain(20), again.last_error
        again.stop()
    assert wait_until(lambda: set(stored) <= set(cloud.seqs("/event")), 15)
    events = cloud.on("/event")
    assert all(m.doc["event"] == EventName.ROAMING.value for m in events)
    cloud.close()
