"""``iotcard schema``, ``iotcard report --once`` and ``iotcard status``: the MQTT contract end to end.

``report --once`` reads the modem, publishes one round (status, identity, telemetry) through the durable outbox
and waits for the broker's acknowledgements: exit 0 when everything in the outbox was acknowledged, 1 otherwise
(what was not acknowledged stays in the outbox and goes first next time).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iotcard import version
from iotcard.agent.errors import ConfigError, PublishError
from iotcard.contract.mqtt import BrokerUrl, parse_broker_url
from iotcard.contract.wire import Priority
from iotcard.drivers.models import ModemSnapshot

from .._context import EXIT_FAIL, EXIT_OK, EXIT_USAGE, Context
from ..config import DEFAULT_CONFIG_PATH, AgentConfig, load_config
from ..telemetry import (
    CommandProcessor,
    Outbox,
    SampleWindow,
    TrafficBudget,
    month_key,
    open_telemetry,
    outbox_path,
    ping_handler,
    reporter_for,
)

ORDER = 60


def register(sub: Any) -> None:
    schema = sub.add_parser(
        "schema",
        help="write the MQTT contract as JSON Schema files",
        description="Write one JSON Schema file per MQTT payload (status, identity, telemetry, diagnosis, "
        "directed, event, result) and per cloud command, generated from the contract models.",
    )
    schema.add_argument("--out", type=Path, help="directory to write NAME.schema.json files into (default: stdout)")
    schema.add_argument("--json", action="store_true", help="print what was written as JSON")
    schema.set_defaults(handler=run_schema)

    report = sub.add_parser(
        "report",
        help="publish one round of telemetry to the MQTT broker",
        description="Read the modem and publish status, identity and telemetry through the durable outbox, "
        "then wait for the broker to acknowledge everything the outbox holds.",
        epilog="exit: 0 all acknowledged, 1 not all acknowledged in time (kept for the next run), 2 bad config, "
        "3 port unusable, 4 modem not answering.",
    )
    report.add_argument("--once", action="store_true", required=True, help="one round, then exit")
    _config_arguments(report)
    report.add_argument("--port", help="the modem's AT port (default: [modem] port in the config)")
    report.add_argument("--broker", help="mqtts://HOST[:PORT] or mqtt://HOST[:PORT] (default: [mqtt] in the config)")
    report.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for acknowledgements")
    report.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    report.set_defaults(handler=run_report)

    status = sub.add_parser(
        "status",
        help="the agent's MQTT traffic this month, its budget, and the outbox",
        description="Bytes on the MQTT socket this month by message type (TLS and TCP/IP headers included), the "
        "monthly budget and how far it stretches report intervals, the learned keepalive, and the outbox.",
    )
    _config_arguments(status)
    status.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    status.set_defaults(handler=run_status)


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG_PATH, help=f"config file (default {DEFAULT_CONFIG_PATH})"
    )


def run_schema(args: argparse.Namespace, ctx: Context) -> int:
    # The models load pydantic: only this command needs them, and the daemon runs the others (tests/agent/
    # test_daemon_footprint.py).
    from iotcard.contract.messages import json_schemas

    schemas = json_schemas()
    if args.out is None:
        ctx.out.write(json.dumps(schemas, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, schema in schemas.items():
            path = args.out / f"{name}.schema.json"
            path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            written.append(str(path))
    except OSError as exc:
        return ctx.fail("write_failed", f"cannot write schemas to {args.out}: {exc.strerror}", None, EXIT_FAIL)
    if args.json:
        ctx.out.write(json.dumps({"written": written}) + "\n")
    else:
        ctx.out.writelines(f"{path}\n" for path in written)
    return EXIT_OK


def _read_modem(config: AgentConfig, port: str | None, ctx: Context) -> ModemSnapshot:
    port = port or config.modem.port
    if not port:
        raise ConfigError("no modem port: set [modem] port in the config or pass --port", code="port_required")
    with ctx.open_modem(port, config.modem.baud) as modem:
        return modem.read_snapshot()


def run_report(args: argparse.Namespace, ctx: Context) -> int:
    config = load_config(args.config)
    broker = _broker(args.broker) if args.broker else None
    started = datetime.now(UTC)
    snapshot = _read_modem(config, args.port, ctx)
    agent_version = version()
    reporter = reporter_for(config, agent_version=agent_version, started_at=started)
    reporter.observe(snapshot)

    def answer_ping(commands: CommandProcessor) -> None:
        commands.register("ping", ping_handler(agent_version, started=time.monotonic()))

    with open_telemetry(config, reporter, broker=broker, register=answer_ping) as session:
        publisher, outbox, link = session.publisher, session.outbox, session.setup.link
        window = SampleWindow(started)
        window.add(snapshot)
        backlog = len(outbox)
        session.start()
        publisher.send(reporter.identity())
        # The traffic summary goes in the telemetry itself once connected, so it carries this connection's cost.
        deadline = time.monotonic() + args.timeout
        while not publisher.connected and time.monotonic() < deadline:
            publisher.step(0.2)
        publisher.send(
            reporter.telemetry(window, traffic=publisher.traffic_summary(), priority=Priority.ROUTINE),
        )
        drained = publisher.drain(max(0.0, deadline - time.monotonic()))
        error = publisher.last_error
        session.stop(offline=drained, timeout=min(5.0, args.timeout))
        left = len(outbox)
        summary = {
            "ok": drained,
            "device_id": reporter.device_id,
            "broker": f"{link.host}:{link.port}",
            "tls": link.tls is not None,
            "backlog_before": backlog,
            "pending": left,
            "next_seq": outbox.stats().next_seq,
            "traffic_bytes": publisher.meter.total,
            "error": None if error is None or drained else {"code": error.code, "message": error.message},
        }
    if args.json:
        ctx.out.write(json.dumps(summary) + "\n")
    elif drained:
        ctx.out.write(
            f"published to {summary['broker']} as {summary['device_id']}: all acknowledged "
            f"({summary['traffic_bytes']} bytes on the wire)\n"
        )
    if not drained:
        if error is not None:
            message = f"not all messages reached the broker: {error.message}"
            hint = _hint(error.code)
        else:
            message = "not all messages were acknowledged in time"
            hint = "they stay in the outbox and are sent first next time; raise --timeout on slow links"
        if args.json:
            return EXIT_FAIL
        return ctx.fail(error.code if error else "publish_timeout", f"{message} ({left} pending)", hint, EXIT_FAIL)
    return EXIT_OK


def _broker(url: str) -> BrokerUrl:
    try:
        return parse_broker_url(url)
    except ValueError as exc:
        raise ConfigError(str(exc), code="bad_broker") from None


def _hint(code: str) -> str:
    return {
        "tls_verify_failed": "check [mqtt] ca_file and that the broker's certificate names the host you connect to",
        "bad_credentials": "check [mqtt] username and the password in [mqtt] password_file",
        "not_authorized": "the broker refuses this client: check its ACL for the client id and topics",
        "refused": "is the broker running on that port? (8883 for TLS, 1883 plain)",
        "unreachable": "check the host name, DNS and the cellular data connection",
        "timeout": "check the data connection; directed cards may not allow this broker (see iotcard probe)",
    }.get(code, "the messages stay in the outbox and are sent first next time")


def run_status(args: argparse.Namespace, ctx: Context) -> int:
    config = load_config(args.config)
    path = outbox_path(config)
    live = ctx.agent_status() if ctx.agent_status is not None else None
    if not path.exists():
        if live is not None:
            ctx.out.write((json.dumps({"agent": live}, default=str) if args.json else _render_live(live)) + "\n")
            return EXIT_OK
        return ctx.fail("no_state", f"no outbox at {path} yet", "run 'iotcard report --once' first", EXIT_USAGE)
    now = datetime.now(UTC)
    month = month_key(now)
    try:
        with Outbox(path) as outbox:
            stats = outbox.stats()
            traffic = {k.rsplit(".", 1)[1]: v for k, v in outbox.counters(f"traffic.{month}.").items()}
            keepalive = outbox.counters("keepalive.")
    except PublishError as exc:
        return ctx.fail(exc.code, exc.message, None, EXIT_FAIL)
    reconnects = traffic.pop("reconnects", 0)
    used = sum(traffic.values())
    budget = int(config.mqtt.monthly_budget_mb * 1024 * 1024)
    state = TrafficBudget(budget).state(used, now)
    doc = {
        "month": month,
        "traffic_bytes": used,
        "by_type": traffic,
        "reconnects": reconnects,
        "budget_bytes": budget,
        "projected_bytes": state.projected_bytes,
        "stretch": round(state.stretch, 2),
        "keepalive_s": keepalive.get("keepalive.current") or config.mqtt.keepalive_initial,
        "outbox": {
            "pending": stats.pending,
            "pending_bytes": stats.pending_bytes,
            "next_seq": stats.next_seq,
            "dropped": {p.name.lower(): n for p, n in stats.dropped.items()},
        },
    }
    if live is not None:
        doc["agent"] = live
    if args.json:
        ctx.out.write(json.dumps(doc, default=str) + "\n")
        return EXIT_OK
    lines = [
        f"MQTT traffic {month}: {used} bytes of {budget} budget (projected {state.projected_bytes}, "
        f"intervals x{state.stretch:.2f})",
        *(f"  {kind:<16}{n:>10}" for kind, n in sorted(traffic.items())),
        f"reconnects: {reconnects}   keepalive: {doc['keepalive_s']} s",
        f"outbox: {stats.pending} pending ({stats.pending_bytes} bytes), next seq {stats.next_seq}, "
        f"dropped {stats.dropped_total}",
    ]
    if live is not None:
        lines.append(_render_live(live))
    ctx.out.write("\n".join(lines) + "\n")
    return EXIT_OK


def _render_live(live: dict[str, object]) -> str:
    """The running agent's own status (inside the daemon): one aligned line per part, nested values as k=v."""
    lines = ["agent (running):"]
    for key, value in live.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "-"
        lines.append(f"  {key.replace('_', ' '):<16}{value if value is not None else '-'}")
    return "\n".join(lines)
