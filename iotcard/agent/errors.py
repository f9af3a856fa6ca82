"""The agent's errors: the CLI's and the daemon's own failures, beside the drivers' (the modem's).

They derive from :class:`iotcard.contract.errors.IotcardError`, whose docstring draws every layer's tree::

    IotcardError
    ├── ConfigError         a config file or option is wrong
    ├── ProbeError          a directed-query target or probe failed to run (InvalidTarget, InvalidOption, BindingError)
    ├── PublishError        a report could not be queued or sent
    ├── OwnerTimeout        a daemon owner (modem worker, meter) did not finish a request in time
    ├── StorageUnavailable  the state directory cannot hold the meter or the outbox (iotcard.agent.daemon._storage)
    ├── CommandRejected     a handler refused a valid cloud command (iotcard.agent.telemetry._commands)
    └── ForwardFailed       the CLI could not hand a command to the daemon's control socket: run it here
        └── OtherPort       the command names a modem port the daemon does not own
"""

from __future__ import annotations

from iotcard.contract.errors import IotcardError

__all__ = [
    "ConfigError",
    "ForwardFailed",
    "IotcardError",
    "OtherPort",
    "OwnerTimeout",
    "ProbeError",
    "PublishError",
]


class ConfigError(IotcardError):
    code = "config_invalid"


class ProbeError(IotcardError):
    code = "probe_failed"


class PublishError(IotcardError):
    code = "publish_failed"


class OwnerTimeout(IotcardError):
    """An owner's thread did not finish the work in time; it goes on, the caller stops waiting.

    ``owner`` names the thread (``modem``, ``meter``); ``timeout`` is how long the caller waited, in seconds."""

    code = "owner_timeout"

    def __init__(self, owner: str, timeout: float) -> None:
        super().__init__(f"the {owner} owner did not finish within {timeout:g} s")
        self.owner = owner
        self.timeout = timeout


class ForwardFailed(IotcardError):
    """No daemon answered on the control socket (none running, or a stale socket file): run the command here."""

    code = "forward_failed"


class OtherPort(ForwardFailed):
    """The command names a modem port the daemon does not own: the daemon ran nothing; run the command here.

    The daemon's dispatcher raises it; :func:`iotcard.agent.control.forward` raises it again on the CLI's side."""

    code = "other_port"

    def __init__(self, agent_port: str) -> None:
        super().__init__(f"the agent owns {agent_port}")
        self.agent_port = agent_port
