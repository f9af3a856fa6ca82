"""The agent as a daemon: the modem worker, the control socket, systemd notification and the scheduled jobs."""

from __future__ import annotations

from iotcard.agent.control import CONTROL_GROUP, DEFAULT_SOCKET

from ._notify import Notifier
from ._worker import ModemWorker, WorkerModem

__all__ = ["CONTROL_GROUP", "DEFAULT_SOCKET", "ModemWorker", "Notifier", "WorkerModem"]
