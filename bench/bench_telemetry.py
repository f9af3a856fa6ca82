"""MQTT traffic and outbox benchmark against a real Mosquitto with TLS on loopback.

Measures, with the kernel's TCP_INFO counters on the agent's socket (TLS records and TCP/IP headers included):
the cost of connecting (first connect, and a reconnect resuming the TLS session and the MQTT session), each message
type, and one keepalive; then projects 30 days at the default settings, with cellular drops, next to a naive agent
(60 s keepalive, one message a minute, full handshakes). Then the outbox: messages stored and drained per second,
and bytes written per day at the default rates.

    .venv/bin/python bench/bench_telemetry.py [--key rsa|ec]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "agent" / "telemetry")]

from mosquitto_support import MOSQUITTO, OPENSSL, Broker, make_certs  # noqa: E402

from iotcard.agent.telemetry import (  # noqa: E402
    AdaptiveKeepalive,
    CommandOutcome,
    Connected,
    KeepaliveLimits,
    LinkSettings,
    MqttLink,
    Outbox,
    OutboxLimits,
    Reporter,
    SampleWindow,
    TlsSettings,
    TrafficSample,
    read_tcp_info,
)
from iotcard.contract.messages import (  # noqa: E402
    DiagnosisFinding,
    DirectedTargetResult,
    EventName,
    HourlyUsage,
    IdentityDevice,
    PlanStatus,
    Topic,
    Topics,
    TrafficSummary,
    UsageReport,
)
from iotcard.drivers.models import (  # noqa: E402
    AccessTechnology,
    Carrier,
    ModemIdentity,
    ModemSnapshot,
    NetworkInfo,
    RegistrationState,
    SignalInfo,
    SimInfo,
    SimState,
)

DEVICE = "861234567890123"
TOPICS = Topics(DEVICE)
SNAPSHOT = ModemSnapshot(
    identity=ModemIdentity(manufacturer="Quectel", model="EC25", revision="EC25EFAR06A03M4G", imei=DEVICE),
    sim=SimInfo(
        state=SimState.READY, iccid="89860412345678901234", imsi="460041234567890", carrier=Carrier.CHINA_MOBILE
    ),
    network=NetworkInfo(
        registration=RegistrationState.HOME,
        access_technology=AccessTechnology.LTE,
        mcc_mnc="46000",
        operator_name="CHINA MOBILE",
        tac=0x5A3C,
        cell_id=0x0B2C4D1,
    ),
    signal=SignalInfo(rssi_dbm=-71.0, rsrp_dbm=-96.0, rsrq_db=-11.0, sinr_db=8.0, bars=3),
)

# Defaults (iotcard/agent/config.py): telemetry every 4 h, directed probes daily, keepalive 1200 s initial.
DAY = 86400
DEFAULTS = {
    "keepalive_s": 1200,
    "telemetry_per_day": DAY / (4 * 3600),
    "directed_per_day": 1,
    "events_per_day": 2,
    "diagnosis_per_day": 1,
    "identity_per_day": 0.1,
    "results_per_day": 0.2,
    "reconnects_per_day": 4,
}
TARGET_30D = 1_500_000  # bytes (decimal MB: the stricter reading of "1.5 MB")


class Meter:
    """TCP_INFO on the link's socket, read from this thread (getsockopt is safe to call alongside the link)."""

    def __init__(self, link: MqttLink) -> None:
        self.link = link

    def sample(self) -> TrafficSample:
        client = self.link._client
        sock = client.socket() if client is not None else None
        sample = read_tcp_info(sock, 0) if sock is not None else None  # type: ignore[arg-type]
        assert sample is not None, "no TCP_INFO on this system"
        return sample


def settle(seconds: float = 0.25) -> None:
    time.sleep(seconds)  # let delayed ACKs go out before reading the counters


def wait_for(link: MqttLink, kind: type, timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = link.events.get(timeout=deadline - time.monotonic())
        if isinstance(event, kind):
            return event
    raise RuntimeError(f"no {kind.__name__}")


def make_link(broker: Broker, ca: Path, keepalive: int, client_id: str = f"iotcard-{DEVICE}") -> MqttLink:
    settings = LinkSettings(
        host="localhost",
        port=broker.tls_port or 0,
        client_id=client_id,
        tls=TlsSettings(ca_file=ca),
        subscriptions=(TOPICS.command_filter,),
        traffic_every=3600,
    )
    limits = KeepaliveLimits(initial=keepalive, floor=min(keepalive, 120), ceiling=max(keepalive, 1740))
    return MqttLink(settings, keepalive=AdaptiveKeepalive(limits))


def drafts(reporter: Reporter) -> dict[str, Callable[[], bytes]]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    window = SampleWindow(now)
    for _ in range(240):
        window.add(SNAPSHOT)
    usage = UsageReport(
        cycle_start=date(2026, 11, 1),
        cycle_end=date(2026, 11, 30),
        cycle_rx_bytes=12_345_678,
        cycle_tx_bytes=2_345_678,
        cycle_total_bytes=14_691_356,
        hourly=[HourlyUsage(hour=now, rx_bytes=51_234 + n, tx_bytes=9_876 + n) for n in range(4)],
        plan=PlanStatus(name="30MB/月", total_mb=30, remaining_mb=15.99, expiry=date(2027, 6, 30), flags=[]),
    )
    traffic = TrafficSummary(
        period_bytes=5_210,
        month_bytes=812_345,
        month_budget_bytes=1_572_864,
        by_type={"connect": 20_000, "telemetry": 9_000, "keepalive_other": 40_000, "status": 2_000},
        keepalive_s=900,
        reconnects=12,
        outbox_pending=0,
    )
    findings = [
        DiagnosisFinding(code="signal_weak", severity="warning", summary="RSRP -112 dBm: weak coverage"),
        DiagnosisFinding(code="sim_ok", severity="info", summary="SIM ready, registered home"),
    ]
    results = [
        DirectedTargetResult(target=f"iot{n}.example.cn:443", verdict="reachable", dns="ok", tcp="ok", elapsed_ms=312)
        for n in range(3)
    ]
    outcome = CommandOutcome("ping", "req-0001", True, {"pong": True, "agent_version": "0.1.0", "uptime_s": 86400})
    return {
        "status": lambda: reporter.status("online").payload(1),
        "identity": lambda: reporter.identity().payload(2),
        "telemetry": lambda: reporter.telemetry(window, usage=usage, traffic=traffic).payload(3),
        "event": lambda: reporter.event(EventName.REGISTRATION_LOST, previous="home", current="searching").payload(4),
        "diagnosis": lambda: reporter.diagnosis(findings).payload(5),
        "directed": lambda: reporter.directed(results).payload(6),
        "result": lambda: reporter.result(outcome).payload(7),
    }


def measure_messages(broker: Broker, ca: Path) -> dict[str, tuple[int, int]]:
    reporter = Reporter(
        IdentityDevice(name="HMI-7", pn="PN-100", type="hmi", company="ACME"),
        agent_version="0.1.0",
        started_at=datetime.now(UTC),
    )
    reporter.observe(SNAPSHOT)
    link = make_link(broker, ca, keepalive=3600)
    link.start()
    wait_for(link, Connected)
    meter = Meter(link)
    settle()
    costs: dict[str, tuple[int, int]] = {}
    for token, (name, build) in enumerate(drafts(reporter).items()):
        payload = build()
        topic = TOPICS.topic(Topic.RESULT, "ping") if name == "result" else TOPICS.topic(Topic(name))
        before = meter.sample()
        link.publish(token, topic, payload, retain=name in ("status", "identity", "diagnosis"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            event = link.events.get(timeout=5)
            if getattr(event, "token", None) == token:
                break
        settle()
        after = meter.sample()
        costs[name] = (len(payload), after.wire_bytes - before.wire_bytes)
    link.stop()
    return costs


def measure_connect(broker: Broker, ca: Path) -> tuple[int, int, bool]:
    """First connect (full TLS handshake, new MQTT session) and a reconnect of the same link."""
    link = make_link(broker, ca, keepalive=3600, client_id="bench-connect")
    link.start()
    first = wait_for(link, Connected)
    assert isinstance(first, Connected)
    meter = Meter(link)
    settle()
    first_cost = meter.sample().wire_bytes  # TCP + TLS handshake + CONNECT/CONNACK + SUBSCRIBE/SUBACK
    sock = link._client.socket() if link._client else None
    assert sock is not None
    sock.shutdown(2)  # the link sees a dead socket and reconnects at once (first backoff draw is short)
    second = wait_for(link, Connected, 30)
    assert isinstance(second, Connected)
    settle()
    resumed_sock = link._client.socket() if link._client else None
    resumed = bool(getattr(resumed_sock, "session_reused", False))
    again_cost = Meter(link).sample().wire_bytes
    link.stop()
    return first_cost, again_cost, resumed and second.session_present


def measure_keepalive(broker: Broker, ca: Path, keepalive: int = 2, pings: int = 4) -> int:
    link = make_link(broker, ca, keepalive=keepalive, client_id="bench-keepalive")
    link.start()
    wait_for(link, Connected)
    meter = Meter(link)
    settle(0.5)
    before = meter.sample()
    time.sleep(keepalive * pings + 0.5)
    after = meter.sample()
    link.stop()
    return round((after.wire_bytes - before.wire_bytes) / pings)


def project(
    costs: dict[str, tuple[int, int]], keepalive_bytes: int, reconnect: int, keepalive_s: int
) -> dict[str, float]:
    d = DEFAULTS
    per_day = {
        "keepalive": DAY / keepalive_s * keepalive_bytes,
        "telemetry": d["telemetry_per_day"] * costs["telemetry"][1],
        "directed": d["directed_per_day"] * costs["directed"][1],
        "event": d["events_per_day"] * costs["event"][1],
        "diagnosis": d["diagnosis_per_day"] * costs["diagnosis"][1],
        "identity": d["identity_per_day"] * costs["identity"][1],
        "result": d["results_per_day"] * costs["result"][1],
        # Each drop: a reconnect and the status online that follows it. Counted as a full TLS handshake: a ticket
        # only helps when the broker's ticket lifetime outlasts the gap between drops (OpenSSL's default is 2 h).
        "reconnects": d["reconnects_per_day"] * (reconnect + costs["status"][1]),
    }
    return per_day


def bench_outbox(workdir: Path, n: int = 2000) -> tuple[float, float, float]:
    """Enqueue rate, drain rate (batches of 10 acked in one transaction), bytes written per message stored+acked."""
    payload = b"x" * 900

    def wchar() -> int:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
        return 0

    path = workdir / "bench-outbox.sqlite3"
    with Outbox(path, OutboxLimits(max_messages=n * 2)) as box:
        start = time.perf_counter()
        for _ in range(n):
            box.enqueue("iotcard/v1/d/telemetry", payload)
        enqueue_rate = n / (time.perf_counter() - start)
        start = time.perf_counter()
        while True:
            batch = box.next_batch(10)
            if not batch:
                break
            box.ack(m.seq for m in batch)
        drain_rate = n / (time.perf_counter() - start)
        written_before = wchar()
        for _ in range(50):
            seq = box.enqueue("iotcard/v1/d/telemetry", payload)
            box.next_batch(1)
            box.ack([seq])
        per_message = (wchar() - written_before) / 50
    return enqueue_rate, drain_rate, per_message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key", choices=("rsa", "ec"), default="rsa", help="server key type (default rsa 2048)")
    args = parser.parse_args()
    if MOSQUITTO is None or OPENSSL is None:
        print("mosquitto and openssl are needed (apt-get install mosquitto openssl)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        certs = make_certs(work / "certs", key=args.key)
        broker = Broker(work / "broker", certs=certs)
        broker.start()
        try:
            first, reconnect, resumed = measure_connect(broker, certs.ca)
            costs = measure_messages(broker, certs.ca)
            keepalive = measure_keepalive(broker, certs.ca)
        finally:
            broker.stop()
        outbox_dir = Path(os.environ.get("BENCH_DIR", work))
        enqueue_rate, drain_rate, written = bench_outbox(outbox_dir)

    key = "RSA 2048" if args.key == "rsa" else "EC P-256"
    print(f"MQTT 5 over TLS 1.3 to Mosquitto on loopback, server key {key}; bytes both ways incl. TCP/IP headers")
    print(f"{'what':<22}{'payload B':>10}{'wire B':>9}")
    print(f"{'connect (first)':<22}{'':>10}{first:>9}")
    print(f"{'reconnect':<22}{'':>10}{reconnect:>9}   TLS session resumed + MQTT session present: {resumed}")
    for name, (size, wire) in costs.items():
        print(f"{name:<22}{size:>10}{wire:>9}")
    print(f"{'keepalive (ping)':<22}{'':>10}{keepalive:>9}")
    print()
    per_day = project(costs, keepalive, first, DEFAULTS["keepalive_s"])
    resumed_total = sum(project(costs, keepalive, reconnect, DEFAULTS["keepalive_s"]).values()) * 30
    total_day = sum(per_day.values())
    print("30 days at defaults (keepalive 1200 s, telemetry 4 h, directed daily, 2 events, 4 drops a day, full TLS")
    print("handshake on every reconnect):")
    for name, value in per_day.items():
        print(f"  {name:<12}{value * 30 / 1e6:>8.3f} MB")
    total = total_day * 30
    verdict = "meets" if total <= TARGET_30D else "MISSES"
    print(f"  {'total':<12}{total / 1e6:>8.3f} MB  ({verdict} the 1.5 MB target)")
    print(f"  with TLS session resumption on every reconnect: {resumed_total / 1e6:.3f} MB")
    naive = 30 * (DAY / 60 * keepalive + DAY / 60 * costs["telemetry"][1] + 4 * (first + costs["status"][1]))
    naive_keepalive_only = 30 * DAY / 60 * keepalive
    print(
        f"naive agent (60 s keepalive, telemetry every minute, full handshakes): {naive / 1e6:.1f} MB "
        f"(keepalives alone {naive_keepalive_only / 1e6:.1f} MB)"
    )
    floor = sum(project(costs, keepalive, first, 120).values()) * 30
    print(f"if the carrier's NAT forces the keepalive floor (120 s): {floor / 1e6:.3f} MB (the budget then stretches)")
    print()
    per_day_messages = (
        DEFAULTS["telemetry_per_day"]
        + DEFAULTS["directed_per_day"]
        + DEFAULTS["events_per_day"]
        + DEFAULTS["diagnosis_per_day"]
        + DEFAULTS["reconnects_per_day"]
        + 1
    )
    counters = 24  # traffic counters saved hourly
    print(f"outbox (SQLite WAL, synchronous=FULL) in {outbox_dir} (set BENCH_DIR for another disk):")
    print(f"  store {enqueue_rate:,.0f} msg/s, drain {drain_rate:,.0f} msg/s (batches of 10, one ack transaction each)")
    print(
        f"  written per message stored and acknowledged: {written / 1024:.1f} KiB; at defaults "
        f"(~{per_day_messages:.0f} messages + {counters} counter saves a day): "
        f"{(per_day_messages + counters / 2) * written / 1024:.0f} KiB/day"
    )
    return 0 if total <= TARGET_30D else 1


if __name__ == "__main__":
    sys.exit(main())
