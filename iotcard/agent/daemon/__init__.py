"""The agent as a daemon (``iotcard run``): a few owners, each with its thread and inbox, that talk through queues.

Where to look:

- ``_agent.py``     :class:`Agent` builds the owners, runs the watchdog loop, shuts down in order, answers status
- ``_worker.py``    the modem worker (the serial port), and the :class:`WorkerModem` the CLI's commands get
- ``_meter.py``     the meter owner (the usage meter and its SQLite connection)
- ``_session.py``   the MQTT session owner (outbox, publisher, reporter); ``_messages.py`` is what it is sent
- ``_jobs.py``      the scheduler owner: APScheduler's timed jobs and the lane for the cloud's slow commands
- ``_board.py``     the frozen snapshots several threads read, and the watchdog's health book
- ``cloud/``        one module per cloud command, registered in ``cloud.COMMANDS``
- ``_requests.py``  the control socket's requests (the protocol itself is :mod:`iotcard.agent.control`)
- ``_checks.py``    directed probes and the diagnosis as the daemon runs them; ``_mapping.py`` turns facts into
  the contract's messages; ``_storage.py`` the state dir's failures; ``_notify.py`` systemd's notify protocol
"""

from __future__ import annotations

from iotcard.agent.control import CONTROL_GROUP, DEFAULT_SOCKET

from ._notify import Notifier
from ._worker import ModemWorker, WorkerModem

__all__ = ["CONTROL_GROUP", "DEFAULT_SOCKET", "ModemWorker", "Notifier", "WorkerModem"]
