"""The agent as a daemon: the modem worker, the control socket, systemd notification and the scheduled jobs."""

from __future__ import annotations

from ._control import (
    CONTROL_GROUP,
    DEFAULT_SOCKET,
    FORWARDED,
    ControlServer,
    ForwardFailed,
    OtherPort,
    forward,
    same_port,
)
from ._notify import Notifier
from ._worker import ModemWorker, WorkerModem

__all__ = [
    "CONTROL_GROUP",
    "DEFAULT_SOCKET",
    "FORWARDED",
    "ControlServer",
    "ForwardFailed",
    "ModemWorker",
    "Notifier",
    "OtherPort",
    "WorkerModem",
    "forward",
    "same_port",
]
