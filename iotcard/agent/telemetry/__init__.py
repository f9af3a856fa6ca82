"""Telemetry over MQTT: the durable outbox, the MQTT link, cloud commands and the traffic budget.

The contract (topics and payload models) is :mod:`iotcard.contract.messages`; this package produces and moves those
messages as their plain twins of :mod:`iotcard.contract.wire` (no pydantic in the daemon):

- :class:`Outbox` stores every message in SQLite until the broker acknowledged it;
- :class:`MqttLink` is the only user of paho-mqtt: one thread, events out on a queue;
- :class:`TelemetryPublisher` pumps the outbox into the link and answers commands with :class:`CommandProcessor`;
- :class:`Reporter` and :class:`SampleWindow` turn facts (ModemSnapshot, ...) into messages;
- :class:`AdaptiveKeepalive`, :class:`Backoff` and :class:`TrafficBudget` are pure policies with injected clocks;
- :func:`open_telemetry` builds the outbox, link, commands and publisher of one device from the config, as a
  :class:`TelemetrySession` (used by ``iotcard report`` and the daemon).
"""

from __future__ import annotations

from ._backoff import Backoff, BackoffPolicy, backoff_ceiling, full_jitter_delay
from ._budget import BudgetState, TrafficBudget, month_bounds
from ._commands import (
    CommandHandler,
    CommandOutcome,
    CommandProcessor,
    CommandRejected,
    DedupStore,
    MemoryDedup,
    Reply,
    TokenBucket,
    daily_command_allowance,
    ping_handler,
)
from ._keepalive import AdaptiveKeepalive, KeepaliveLimits
from ._mqtt import (
    Acked,
    Connected,
    ConnectFailed,
    Disconnected,
    KeepaliveLearned,
    LinkEvent,
    LinkSettings,
    MqttLink,
    Received,
    Stopped,
    TlsSettings,
    Traffic,
    WillMessage,
    make_tls_context,
)
from ._outbox import Outbox, OutboxLimits, OutboxMessage, OutboxStats
from ._publisher import TelemetryPublisher, load_keepalive, month_key
from ._reporter import Draft, Reporter, SampleWindow, events_between, identity_key
from ._session import TelemetrySession, open_telemetry, reporter_for
from ._setup import TelemetrySetup, outbox_path, telemetry_setup
from ._traffic import (
    TrafficMeter,
    TrafficSample,
    mqtt_publish_size,
    publish_wire_estimate,
    read_tcp_info,
)

__all__ = [
    "Acked",
    "AdaptiveKeepalive",
    "Backoff",
    "BackoffPolicy",
    "BudgetState",
    "CommandHandler",
    "CommandOutcome",
    "CommandProcessor",
    "CommandRejected",
    "ConnectFailed",
    "Connected",
    "DedupStore",
    "Disconnected",
    "Draft",
    "KeepaliveLearned",
    "KeepaliveLimits",
    "LinkEvent",
    "LinkSettings",
    "MemoryDedup",
    "MqttLink",
    "Outbox",
    "OutboxLimits",
    "OutboxMessage",
    "OutboxStats",
    "Received",
    "Reply",
    "Reporter",
    "SampleWindow",
    "Stopped",
    "TelemetryPublisher",
    "TelemetrySession",
    "TelemetrySetup",
    "TlsSettings",
    "TokenBucket",
    "Traffic",
    "TrafficBudget",
    "TrafficMeter",
    "TrafficSample",
    "WillMessage",
    "backoff_ceiling",
    "daily_command_allowance",
    "events_between",
    "full_jitter_delay",
    "identity_key",
    "load_keepalive",
    "make_tls_context",
    "month_bounds",
    "month_key",
    "mqtt_publish_size",
    "open_telemetry",
    "outbox_path",
    "ping_handler",
    "publish_wire_estimate",
    "read_tcp_info",
    "reporter_for",
    "telemetry_setup",
]
