"""From the config file's sections to the telemetry objects (shared by ``iotcard report`` and the daemon)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from iotcard.agent.errors import ConfigError
from iotcard.contract.mqtt import BrokerUrl
from iotcard.contract.wire import Topics

from ..config import AgentConfig, MqttConfig
from ._budget import TrafficBudget
from ._keepalive import KeepaliveLimits
from ._mqtt import LinkSettings, TlsSettings
from ._outbox import OutboxLimits

__all__ = ["TelemetrySetup", "outbox_path", "telemetry_setup"]

MB = 1024 * 1024


def outbox_path(config: AgentConfig) -> Path:
    return config.paths.state_dir / "outbox.sqlite3"


@dataclass(frozen=True, slots=True)
class TelemetrySetup:
    link: LinkSettings
    keepalive: KeepaliveLimits
    outbox: OutboxLimits
    budget: TrafficBudget
    topics: Topics


def telemetry_setup(config: AgentConfig, device_id: str, broker: BrokerUrl | None = None) -> TelemetrySetup:
    """Link settings, policies and topics for ``device_id``; ``broker`` (from ``--broker``) overrides the file's host
    and TLS, and its port when it names one (else the file's port, else the scheme's)."""
    mqtt: MqttConfig = config.mqtt
    host = broker.host if broker else mqtt.host
    use_tls = broker.tls if broker else mqtt.tls
    port = (broker.port if broker else None) or mqtt.port or (8883 if use_tls else 1883)
    if not host:
        raise ConfigError("no MQTT broker: set [mqtt] host in the config or pass --broker", code="no_broker")
    try:
        topics = Topics(device_id, mqtt.topic_prefix)
    except ValueError as exc:
        raise ConfigError(str(exc), code="bad_topic") from None
    tls = (
        TlsSettings(ca_file=mqtt.ca_file, cert_file=mqtt.cert_file, key_file=mqtt.key_file, insecure=mqtt.insecure)
        if use_tls
        else None
    )
    link = LinkSettings(
        host=host,
        port=port,
        client_id=mqtt.client_id or f"iotcard-{device_id}",
        protocol=mqtt.protocol,
        tls=tls,
        username=mqtt.username,
        password_file=mqtt.password_file,
        session_expiry=mqtt.session_expiry,
        subscriptions=(topics.command_filter,),
    )
    keepalive = KeepaliveLimits(
        initial=mqtt.keepalive_initial, floor=mqtt.keepalive_floor, ceiling=mqtt.keepalive_ceiling
    )
    report = config.report
    outbox = OutboxLimits(
        max_messages=report.outbox_max_messages,
        max_bytes=int(report.outbox_max_mb * MB),
        max_age_s=report.outbox_max_age_days * 86400,
    )
    budget = TrafficBudget(budget_bytes=int(mqtt.monthly_budget_mb * MB))
    return TelemetrySetup(link, keepalive, outbox, budget, topics)
