"""The daemon's house: cloud commands are messages to owners (not work on the MQTT thread), each command is one
module registered in one table, and the settings the jobs read are frozen snapshots replaced whole."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import queue
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from iotcard.agent.config import parse_config
from iotcard.agent.daemon import ModemWorker, cloud
from iotcard.agent.daemon._agent import Agent
from iotcard.agent.daemon._inbox import Inbox
from iotcard.agent.daemon._messages import Answer, Message, SendDiagnosis
from iotcard.agent.daemon.cloud import COMMANDS, CloudCommand, CloudCommands, House
from iotcard.agent.errors import OwnerTimeout
from iotcard.agent.telemetry import CommandOutcome, Reply, open_telemetry


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    config = parse_config(
        {"modem": {"port": str(tmp_path / "ttyNONE")}, "paths": {"state_dir": str(tmp_path / "state")}}
    )
    made = Agent(config, socket_path=None)
    yield made
    made.jobs.stop()
    made.meter.close()
    made.worker.close()


def posted_to(agent: Agent) -> queue.Queue[Message]:
    """What the agent's owners post its MQTT session, in order."""
    posted: queue.Queue[Message] = queue.Queue()
    agent.post = posted.put  # type: ignore[method-assign]
    return posted


def answer(posted: queue.Queue[Message]) -> CommandOutcome:
    while not isinstance(message := posted.get(timeout=10), Answer):
        pass
    return message.outcome


def on_the_mqtt_thread(work: Any) -> Any:
    """Run ``work`` on a thread named as the MQTT session's, and return what it returned."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()), name="mqtt")
    thread.start()
    thread.join(10)
    return result[0]


def test_a_slow_command_runs_on_the_command_lane_not_the_mqtt_thread(agent: Agent) -> None:
    ran_on: list[str] = []

    def spy(house: House, command: Any) -> Mapping[str, Any]:
        ran_on.append(threading.current_thread().name)
        return {"done": command.request_id}

    commands = CloudCommands()
    cloud.register(commands, agent, commands=(CloudCommand("diagnose", spy),))
    posted = posted_to(agent)
    now = on_the_mqtt_thread(lambda: commands.handle("diagnose", b'{"request_id": "d1"}'))
    assert now.ok and not now.publish  # nothing published from the MQTT thread: the answer comes later
    outcome = answer(posted)
    assert (outcome.ok, outcome.request_id, outcome.result) == (True, "d1", {"done": "d1"})
    assert ran_on and ran_on[0].startswith("commands") and ran_on[0] != "mqtt"


def test_a_command_answered_later_keeps_the_response_topic_it_was_asked_with(agent: Agent) -> None:
    """MQTT 5 request/response: the lane's answer goes where the request asked (the publisher still checks that
    the topic is under the device's own result/ level), with the request's correlation data."""
    commands = CloudCommands()
    cloud.register(commands, agent, commands=(CloudCommand("diagnose", lambda house, command: {"ok": 1}),))
    posted = posted_to(agent)
    asked = Reply("iotcard/v1/dev/result/console-7", b"\x01corr")
    assert not commands.handle("diagnose", b'{"request_id": "r1"}', reply=asked).publish
    assert commands.reply is None  # kept only while the MQTT thread hands the command on
    while not isinstance(message := posted.get(timeout=10), Answer):
        pass
    assert message.reply == asked and message.outcome.request_id == "r1"
    # Without a route the answer takes the default result topic.
    assert not commands.handle("diagnose", b'{"request_id": "r2"}').publish
    while not isinstance(message := posted.get(timeout=10), Answer):
        pass
    assert message.reply is None


def test_ping_is_answered_at_once(agent: Agent) -> None:
    commands = CloudCommands()
    agent.register_commands(commands)
    outcome = commands.handle("ping", b'{"request_id": "p1"}')
    assert outcome.publish and outcome.ok and outcome.result is not None and outcome.result["pong"] is True


def test_the_real_diagnose_answers_from_the_lane_with_the_owners_facts(agent: Agent) -> None:
    commands = CloudCommands()
    agent.register_commands(commands)
    posted = posted_to(agent)
    assert not commands.handle("diagnose", b'{"request_id": "d2"}').publish
    report = posted.get(timeout=10)
    assert isinstance(report, SendDiagnosis) and report.key is None  # asked for: published even if unchanged
    outcome = answer(posted)
    assert outcome.ok and outcome.result is not None
    assert "modem_unresponsive" in outcome.result["findings"]  # no read yet: the worker has not answered
    assert agent.board.last_diagnosis == outcome.result["verdict"]


def test_a_refused_command_is_answered_with_its_code(agent: Agent) -> None:
    commands = CloudCommands()
    agent.register_commands(commands)
    posted = posted_to(agent)
    commands.handle("set_config", json.dumps({"request_id": "c1", "directed_targets": ["10.0.0.1"]}).encode())
    outcome = answer(posted)
    assert (outcome.ok, outcome.request_id, outcome.error_code) == (False, "c1", "refused_target")


def test_set_config_replaces_the_settings_whole(agent: Agent) -> None:
    commands = CloudCommands()
    agent.register_commands(commands)
    posted = posted_to(agent)
    before = agent.board.settings
    body = {"request_id": "c2", "directed_targets": ["example.com"], "directed_interval_s": 7200}
    commands.handle("set_config", json.dumps(body).encode())
    assert answer(posted).ok
    after = agent.board.settings
    assert after is not before
    assert (after.targets, after.targets_from_cloud, after.intervals.directed) == (("example.com",), True, 7200)
    assert (before.targets, before.targets_from_cloud) == ((), False)  # a reader's snapshot never changes under it
    assert after.intervals.signal == before.intervals.signal
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.targets = ()  # type: ignore[misc]


def test_every_command_module_is_registered_once() -> None:
    """A new cloud command is one module with a COMMAND, and one line in cloud.COMMANDS: forgetting the line fails
    here."""
    modules = [
        importlib.import_module(f"{cloud.__name__}.{info.name}")
        for info in pkgutil.iter_modules(cloud.__path__)
        if not info.name.startswith("_")
    ]
    assert sorted(module.COMMAND.name for module in modules) == sorted(command.name for command in COMMANDS)
    assert len({command.name for command in COMMANDS}) == len(COMMANDS)
    for module in modules:
        assert module.COMMAND in COMMANDS, f"{module.__name__}.COMMAND is not in cloud.COMMANDS"


def test_a_failed_answer_is_published_and_replaces_the_remembered_ok(tmp_path: Path) -> None:
    """The processor remembers "ok" for a request id when it hands the command on; a failure on the lane replaces
    it, so a repeat of the request is acknowledged with the failure."""
    config = parse_config(
        {
            "device": {"id": "gw-1"},
            "modem": {"port": str(tmp_path / "ttyNONE")},
            "paths": {"state_dir": str(tmp_path / "state")},
            "mqtt": {"host": "127.0.0.1", "port": 1, "tls": False},
        }
    )
    agent = Agent(config, socket_path=None)
    session = agent.session
    assert session is not None
    telemetry = open_telemetry(config, session.reporter, register=agent.register_commands, make_commands=CloudCommands)
    session._telemetry = telemetry  # opened as the mqtt thread does, never connected
    try:
        processor = telemetry.commands
        assert processor is not None
        handed_on = processor.handle("refresh_usage", b'{"request_id": "r1"}')
        assert handed_on.ok and not handed_on.publish
        assert json.loads(telemetry.outbox.recall_command("r1") or "{}")["ok"] is True
        failed = CommandOutcome("refresh_usage", "r1", False, error_code="storage_unavailable", error_message="full")
        session._handle(Answer(failed))
        assert json.loads(telemetry.outbox.recall_command("r1") or "{}")["error_code"] == "storage_unavailable"
        assert [topic for _, topic in telemetry.outbox.pending_topics()] == ["iotcard/v1/gw-1/result/refresh_usage"]
        repeat = processor.handle("refresh_usage", b'{"request_id": "r1"}')
        assert (repeat.duplicate, repeat.ok, repeat.error_code) == (True, False, "storage_unavailable")
    finally:
        telemetry.close(offline=False)
        agent.jobs.stop()
        agent.meter.close()
        agent.worker.close()


def test_every_owner_gives_up_waiting_the_same_way() -> None:
    """One error for an owner that does not answer in time, whichever owner it is; the owner itself goes on."""
    release = threading.Event()
    worker = ModemWorker("/dev/null", make_modem=lambda port, baud: object())  # type: ignore[arg-type,return-value]
    lane = Inbox("commands")
    try:
        worker.submit(lambda modem: release.wait(5))
        lane.put(release.wait, 5)
        with pytest.raises(OwnerTimeout) as modem_late:
            worker.call(lambda modem: "late", timeout=0.05)
        with pytest.raises(OwnerTimeout) as lane_late:
            lane.ask(lambda: "late", 0.05)
        assert (modem_late.value.owner, lane_late.value.owner) == ("modem", "commands")
        assert modem_late.value.code == lane_late.value.code == "owner_timeout"
        release.set()
        assert worker.call(lambda modem: "answered", timeout=5) == "answered"
        assert lane.ask(lambda: "answered", 5) == "answered"
    finally:
        release.set()
        worker.close()
        lane.close()
