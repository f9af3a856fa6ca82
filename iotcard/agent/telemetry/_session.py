"""One device's telemetry session built from the config: outbox, MQTT link, command processor and publisher.

``iotcard report --once`` and the daemon both publish through the same four objects, wired the same way; this
module is the one place that wires them. The caller keeps what differs: which commands it answers (``register``),
how the outbox is opened (the daemon falls back to one in memory when the disk cannot be written), and how long it
runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from iotcard.contract.mqtt import BrokerUrl
from iotcard.contract.wire import IdentityDevice

from ..config import AgentConfig
from ._commands import CommandProcessor, daily_command_allowance
from ._mqtt import MqttLink
from ._outbox import Outbox
from ._publisher import TelemetryPublisher, load_keepalive
from ._reporter import Reporter
from ._setup import TelemetrySetup, outbox_path, telemetry_setup

__all__ = ["TelemetrySession", "open_telemetry", "reporter_for"]


def reporter_for(config: AgentConfig, *, agent_version: str, started_at: datetime) -> Reporter:
    """The reporter of the device the config describes (its id, else the IMEI of the first snapshot)."""
    device = config.device
    return Reporter(
        IdentityDevice(name=device.name, pn=device.pn, type=device.type, company=device.company),
        agent_version=agent_version,
        started_at=started_at,
        device_id=device.id,
    )


class TelemetrySession:
    """The outbox, link, commands and publisher of one device, from :func:`open_telemetry` to :meth:`close`.

    Used from one thread (the publisher's owner). :meth:`start` connects; :meth:`stop` says ``offline`` (when
    asked and connected) and ends the link's thread; :meth:`close` stops if that was not done and closes the outbox.
    As a context manager it closes on exit; leaving by an exception ends the link without the ``offline`` status.
    """

    def __init__(self, setup: TelemetrySetup, outbox: Outbox, publisher: TelemetryPublisher) -> None:
        self.setup = setup
        self.outbox = outbox
        self.publisher = publisher
        self._started = False
        self._stopped = False
        self._closed = False

    @property
    def link(self) -> MqttLink:
        return self.publisher.link

    @property
    def commands(self) -> CommandProcessor | None:
        return self.publisher.commands

    def start(self) -> None:
        """Start the link's thread (it connects, with backoff, until stopped)."""
        self._started = True
        self.publisher.start()

    def stop(self, *, offline: bool = True, timeout: float = 5.0) -> None:
        """Publish ``offline`` (reason ``shutdown``) if ``offline`` and connected, then end the link; once only.

        The outbox stays open (its counts can still be read); it may raise ``sqlite3.Error`` from a failing disk."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        self.publisher.stop(offline=offline, timeout=timeout)

    def close(self, *, offline: bool = True, timeout: float = 5.0) -> None:
        """:meth:`stop` (if not done yet) and close the outbox, even when stopping fails."""
        if self._closed:
            return
        self._closed = True
        try:
            self.stop(offline=offline, timeout=timeout)
        finally:
            self.outbox.close()

    def __enter__(self) -> TelemetrySession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close(offline=kind is None)


def open_telemetry(
    config: AgentConfig,
    reporter: Reporter,
    *,
    broker: BrokerUrl | None = None,
    register: Callable[[CommandProcessor], None] | None = None,
    open_outbox: Callable[[TelemetrySetup], Outbox] | None = None,
    make_commands: Callable[..., CommandProcessor] = CommandProcessor,
) -> TelemetrySession:
    """Build the telemetry session of ``reporter``'s device from ``config``; nothing is connected yet.

    ``broker`` (``--broker``) overrides the config's broker. ``register`` adds the cloud commands the caller answers
    to the processor (whose daily allowance follows the configured traffic budget). ``open_outbox`` opens the
    outbox for the setup (default: the file in the state directory); ``make_commands`` makes the command processor
    (the daemon's answers its slow commands later). Raises ``ConfigError`` (an ``IotcardError``)
    for an unusable MQTT config (no broker, bad topic prefix, unreadable TLS or password files) or an outbox that
    cannot be opened; nothing is left open then.

    The device id must be known when this is called (the configured one, or ``reporter.observe`` a snapshot
    first): it names the topics and the client id.

    The CLI (``iotcard report --once``)::

        reporter = reporter_for(config, agent_version=version(), started_at=started)
        reporter.observe(snapshot)
        with open_telemetry(config, reporter, broker=broker, register=add_ping) as session:
            session.start()
            ...  # session.publisher.send(...), session.publisher.drain(...)
            session.stop(offline=drained)

    The daemon's MQTT thread, in place of building Outbox, MqttLink, CommandProcessor and TelemetryPublisher::

        try:
            session = open_telemetry(
                self.config, reporter, register=self._register_commands, open_outbox=self._open_outbox
            )
        except IotcardError as exc:
            ...  # "config error" state, MQTT off, as today
            return
        with session:
            publisher, outbox = session.publisher, session.outbox
            session.start()
            while not stopping:
                ...  # publisher.step(0.2) and the posts, as today
            try:
                session.stop(offline=True, timeout=2)
            except sqlite3.Error as exc:
                log.warning("the outbox could not be closed cleanly: %s", exc)
    """
    setup = telemetry_setup(config, reporter.device_id, broker)
    outbox = open_outbox(setup) if open_outbox is not None else Outbox(outbox_path(config), setup.outbox)
    try:
        link = MqttLink(setup.link, keepalive=load_keepalive(outbox, setup.keepalive))
        commands = make_commands(dedup=outbox, per_day=daily_command_allowance(setup.budget.budget_bytes))
        if register is not None:
            register(commands)
        publisher = TelemetryPublisher(outbox, link, reporter, setup.topics, commands=commands, budget=setup.budget)
    except BaseException:
        outbox.close()
        raise
    return TelemetrySession(setup, outbox, publisher)
