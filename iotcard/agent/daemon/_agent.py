"""The agent daemon: a few owners, each with its own thread and inbox, that talk through queues.

::

    Agent (main thread: signals, systemd watchdog and STATUS, shutdown)
    ├── ModemWorker   "modem"    the serial port and the driver; requests run one at a time
    ├── MeterOwner    "meter"    the usage meter and its SQLite connection
    ├── MqttSession   "mqtt"     outbox, paho link, reporter, sample window; cloud commands come in here
    ├── Jobs          APScheduler's pools (timed jobs) and the "commands" lane (the cloud's slow commands)
    └── ControlServer "control"  the CLI's requests (ControlRequests), run with the dispatcher handed in

Jobs and cloud commands only send work to the owner of a resource (``worker.call``, ``meter.call``) and post the
session what to send (:mod:`._messages`). What several threads read is on the :class:`~._board.Board`, each value
frozen and replaced whole; progress and degraded states are in :class:`~._board.Health`. docs/architecture.md
walks a request through them.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from iotcard import version as agent_version
from iotcard.agent.config import AgentConfig
from iotcard.agent.control import ControlServer, DaemonDefaults, Dispatch
from iotcard.agent.errors import ConfigError
from iotcard.agent.telemetry import CommandProcessor
from iotcard.agent.usage import meter_settings, plan_from_config
from iotcard.contract.wire import EventName
from iotcard.drivers.modem import Modem

from . import cloud
from ._board import Board, Health, Settings
from ._jobs import Jobs
from ._messages import Message
from ._meter import MeterOwner
from ._notify import Notifier
from ._requests import ControlRequests
from ._session import FIRST_READ_WAIT, MqttSession
from ._worker import ModemWorker

__all__ = ["Agent", "agent_version"]

log = logging.getLogger("iotcard.daemon")


class Agent:
    """Builds the owners; ``run()`` blocks until ``stop()`` (SIGTERM) and returns the process exit code."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        socket_path: Path | None,
        config_path: Path | None = None,
        notifier: Notifier | None = None,
        make_modem: Callable[[str, int], Modem] | None = None,
        dispatch: Dispatch | None = None,
    ) -> None:
        if not config.modem.port:
            raise ConfigError("no modem port: set [modem] port in the config", code="no_port")
        self.config = config
        self.config_path = config_path
        self.socket_path = socket_path
        self.notifier = notifier or Notifier()
        self.state_dir = config.paths.state_dir
        self.version = agent_version()
        self.stopping = threading.Event()
        self.health = Health()
        self.board = Board(Settings.from_config(config))
        self.session: MqttSession | None = None  # built below when MQTT is configured
        self.worker = (
            ModemWorker(config.modem.port, config.modem.baud, make_modem=make_modem)
            if make_modem is not None
            else ModemWorker(config.modem.port, config.modem.baud)
        )
        # A plan the cloud set (set_plan) is kept in the state dir and wins over the config file's.
        plan = cloud.set_plan.load_cloud_plan(self.state_dir) or plan_from_config(config.plan)
        self.meter = MeterOwner(self.state_dir, meter_settings(config.usage), plan, health=self.health, tell=self._tell)
        if config.mqtt.host:
            self.session = MqttSession(
                config,
                version=self.version,
                board=self.board,
                health=self.health,
                meter=self.meter,
                stopping=self.stopping,
                register=self.register_commands,
                make_commands=cloud.CloudCommands,
            )
        self.jobs = Jobs(
            config,
            board=self.board,
            health=self.health,
            worker=self.worker,
            meter=self.meter,
            post=self.post,
            state_dir=self.state_dir,
        )
        self.requests = ControlRequests(
            worker=self.worker,
            meter=self.meter,
            defaults=DaemonDefaults(port=self.worker.port, config=config_path, state_dir=self.state_dir),
            status=self.status,
            dispatch=dispatch,
        )
        self.control: ControlServer | None = None

    # -- how owners reach the MQTT session --------------------------------------------------------------------------

    def post(self, message: Message) -> None:
        """Hand the MQTT session a message (nothing is sent without MQTT)."""
        if self.session is not None:
            self.session.post(message)

    def _tell(self, name: EventName, previous: str, current: str) -> None:
        if self.session is not None:
            self.session.tell(name, previous, current)

    def register_commands(self, processor: CommandProcessor) -> None:
        """Give a command processor the cloud's commands (:mod:`.cloud`), reaching this agent's owners."""
        cloud.register(processor, self)

    # -- life ------------------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> int:
        self.notifier.status("starting")
        self.meter.open_now()
        self.health.set_beats(dict.fromkeys(self._owners(), time.monotonic()))
        if self.socket_path is not None:
            self.control = ControlServer(self.socket_path, self.requests).start()
        self.jobs.start()
        if self.session is not None:
            self.session.start()
        # READY once the loop runs: a missing modem makes the agent degraded, not failed.
        self.notifier.ready(self._status_line())
        # What start-up made (imported code, config, owners) lives as long as the agent: out of the collector's
        # sight, so the full collection after each control request (._requests) only walks what came since.
        gc.freeze()
        interval = self.notifier.watchdog_interval or 10.0
        while not self.stopping.wait(min(interval, 10.0)):
            if self._making_progress():
                self.notifier.watchdog()
            self.notifier.status(self._status_line())
        self._shutdown()
        return 0

    def _shutdown(self) -> None:
        """Within systemd's TimeoutStopSec (15 s): say offline, write the meter's last batch, free the port."""
        started = time.monotonic()
        self.notifier.stopping()
        self.jobs.stop()
        if self.control is not None:
            self.control.close()
        if self.session is not None:
            self.session.join(timeout=5)
        self.meter.close(timeout=3)
        self.worker.close(timeout=2)
        gc.unfreeze()  # an agent run inside another program (the tests) leaves its collector as it found it
        log.info("stopped in %.1f s", time.monotonic() - started)

    # -- the watchdog ----------------------------------------------------------------------------------------------

    def _owners(self) -> dict[str, float]:
        """Each owner and how long it may go without progress: three missed rounds of its job, or a minute."""
        intervals = self.board.settings.intervals
        owners = {
            "modem": 3 * max(intervals.signal, 10) + 60.0,
            "meter": 3 * max(intervals.usage, 10) + 60.0,
        }
        if self.session is not None and not self.session.off:
            owners["mqtt"] = 60.0 + FIRST_READ_WAIT
        return owners

    def stale_owners(self, now: float | None = None) -> list[str]:
        """Owners that showed no progress within their deadline (a failed job is not progress; a handled
        degraded state, such as a full disk or a vanished port, is), and a modem worker stuck past its request's
        deadline."""
        now = time.monotonic() if now is None else now
        beats = self.health.beats()
        stale = [owner for owner, limit in self._owners().items() if now - beats.get(owner, now) > limit]
        if "modem" not in stale and self.worker.stuck(now):
            stale.append("modem")
        return stale

    def _making_progress(self) -> bool:
        stale = self.stale_owners()
        if stale:
            log.warning("no progress from %s: the watchdog is not fed", ", ".join(stale))
        return not stale

    # -- status ----------------------------------------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """The live state for ``iotcard status`` (any thread: it reads the board's snapshots and the health book)."""
        board = self.board
        last_read = board.last_read
        snapshot = last_read.snapshot if last_read is not None else None
        counts = self.health.counts()
        return {
            "agent_version": self.version,
            "uptime_s": round(time.monotonic() - self.health.started),
            "modem": {
                **self.worker.status(),
                "registration": snapshot.network.registration.value
                if snapshot and snapshot.network.registration
                else None,
                "bars": snapshot.signal.bars if snapshot else None,
                "iccid": snapshot.sim.iccid if snapshot else None,
                "last_read": last_read.at.isoformat() if last_read is not None else None,
            },
            "mqtt": dict(board.mqtt),
            "last_report": board.last_telemetry_at.isoformat() if board.last_telemetry_at else None,
            "last_diagnosis": board.last_diagnosis,
            "usage_flags": list(board.usage_flags),
            "jobs": {"run": counts["jobs_run"], "failed": counts["jobs_failed"]},
            "degraded": self.health.degraded(),
            "queue_dropped": counts["posts_dropped"],
        }

    def _status_line(self) -> str:
        state = self.status()
        modem = state["modem"]
        mqtt = state["mqtt"]
        assert isinstance(modem, dict) and isinstance(mqtt, dict)
        line = f"modem {modem.get('state')}, mqtt {mqtt.get('state')}, outbox {mqtt.get('outbox_pending', '-')}"
        degraded = state.get("degraded")
        if isinstance(degraded, dict) and degraded:
            line += "; degraded: " + "; ".join(str(v) for v in degraded.values())
        return line
