"""The collector's errors: one root under :class:`iotcard.contract.errors.IotcardError`, named for the phase that
went wrong, each with a stable ``code``.

::

    CollectorError
    ├── SettingsError        a bad option, URL or file given to the collector (exit 2)
    ├── PlanImportError      a plan CSV that cannot be read at all (bad rows are reported, not raised)
    ├── StoreError           the database cannot be reached, or its schema is newer than this collector (exit 3)
    ├── BrokerError          the MQTT broker cannot be reached or refused the collector (exit 3)
    ├── NotFound             no such card or device (exit 1)
    └── DeviceNotAnswering   a command got no result: the device is offline or did not answer in time (exit 4)
"""

from __future__ import annotations

from iotcard.contract.errors import IotcardError

__all__ = [
    "BrokerError",
    "CollectorError",
    "DeviceNotAnswering",
    "NotFound",
    "PlanImportError",
    "SettingsError",
    "StoreError",
]


class CollectorError(IotcardError):
    """Root of the collector's errors: ``message`` is one sentence for people, ``code`` is stable for scripts."""

    code = "collector_error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, code=code)
        self.hint = hint


class SettingsError(CollectorError):
    code = "bad_setting"


class PlanImportError(CollectorError):
    code = "plan_import_failed"


class StoreError(CollectorError):
    code = "database_unavailable"


class BrokerError(CollectorError):
    code = "broker_unavailable"


class NotFound(CollectorError):
    code = "not_found"


class DeviceNotAnswering(CollectorError):
    """``offline``: the broker holds the device's ``offline`` status (or none at all); else a plain timeout."""

    code = "no_result"

    def __init__(self, message: str, *, offline: bool, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, code=code, hint=hint)
        self.offline = offline
