"""The root of every error iotcard raises on purpose, and the map of the trees that grow from it.

Each layer keeps its own tree in its own ``errors`` module and never raises another layer's errors::

    IotcardError                        iotcard.contract.errors (this module)
    ├── drivers (iotcard.drivers.errors): the modem and its port
    │   ├── TransportError              the byte pipe to the modem failed
    │   │   ├── PortError               the port cannot be opened or vanished (missing, busy, permission, not a tty)
    │   │   ├── ReadTimeout             the modem stopped answering (no final result code in time)
    │   │   └── ModemRebooted           the modem announced a (re)boot while a command was in flight
    │   ├── ProtocolError               the AT engine was misused or its buffer overflowed
    │   ├── ParseError                  a modem answer does not have the expected shape
    │   └── CommandError                the modem answered with a final error result code
    │       ├── CmeError                +CME ERROR: <n|text>  (27.007 §9.2)
    │       └── CmsError                +CMS ERROR: <n|text>  (27.005 §3.2.5)
    ├── agent (iotcard.agent.errors): the CLI and the daemon
    │   ├── ConfigError                 a config file or option is wrong
    │   ├── ProbeError                  a directed-query target or probe failed to run
    │   ├── PublishError                a report could not be queued or sent
    │   ├── OwnerTimeout                a daemon owner (modem worker, meter, command lane) did not answer in time
    │   ├── StorageUnavailable          the state directory cannot hold the meter or the outbox (daemon/_storage)
    │   ├── CommandRejected             a handler refused a valid cloud command (telemetry/_commands)
    │   └── ForwardFailed               the CLI could not hand a command to the daemon's control socket
    │       └── OtherPort               the command names a modem port the daemon does not own
    └── collector (iotcard.collector errors): the cloud side
        └── CollectorError              SettingsError, PlanImportError, StoreError, BrokerError, NotFound, ...

``code`` is a stable machine-readable word (``port_busy``, ``modem_unresponsive``...) that the CLI prints and JSON
output carries; the message is one sentence for a person. A caller that wants "anything iotcard refused" catches
:class:`IotcardError`; one that can act on a cause catches the leaf.
"""

from __future__ import annotations

__all__ = ["IotcardError"]


class IotcardError(Exception):
    """Root of every error iotcard raises on purpose: ``code`` for programs, ``message`` for people."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""
