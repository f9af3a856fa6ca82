"""The agent's errors: the CLI's and the daemon's own failures, beside the drivers' (the modem's).

They derive from :class:`iotcard.contract.errors.IotcardError`, whose docstring draws every layer's tree::

    IotcardError
    ├── ConfigError         a config file or option is wrong
    ├── ProbeError          a directed-query target or probe failed to run (InvalidTarget, InvalidOption, BindingError)
    └── PublishError        a report could not be queued or sent
"""

from __future__ import annotations

from iotcard.contract.errors import IotcardError

__all__ = ["ConfigError", "IotcardError", "ProbeError", "PublishError"]


class ConfigError(IotcardError):
    code = "config_invalid"


class ProbeError(IotcardError):
    code = "probe_failed"


class PublishError(IotcardError):
    code = "publish_failed"
