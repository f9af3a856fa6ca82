"""A fleet of simulated agents: devices with cards, plans and usage, and the contract messages they publish.

Each :class:`SimDevice` is an HMI or gateway with one card and the agent's view of it: a ``seq`` counter that only
goes up, identity, status, telemetry with the usage meter's absolute figures (the cycle's, and the running hour's,
day's and month's totals, in Asia/Shanghai like the agent's default) and the plan the device knows, and events.
Which cards are near their limits is decided by the device's index, so tests know exactly
which cards each of the app's filters must return (:meth:`Fleet.expected`).

Messages are built with the shared contract models (``iotcard.contract.messages``), so a fleet message is exactly what
a real
agent would send.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from iotcard.contract.messages import (
    DEFAULT_TOPIC_PREFIX,
    DailyUsage,
    DiagnosisFinding,
    DiagnosisMessage,
    EventMessage,
    EventName,
    HourlyUsage,
    IdentityDevice,
    IdentityMessage,
    IdentityModem,
    IdentitySim,
    MonthlyUsage,
    PlanStatus,
    SignalStat,
    SignalSummary,
    StatusMessage,
    TelemetryMessage,
    Topic,
    Topics,
    UsageReport,
    encode,
)
from iotcard.simulators.modem import luhn_check_digit

__all__ = ["PROFILES", "Fleet", "Message", "SimDevice"]

MIB = 1024 * 1024
DEVICE_ZONE = ZoneInfo("Asia/Shanghai")
#: What each profile means for the card: share of the plan used, days until the card's expiry.
PROFILES: dict[str, tuple[float, int]] = {
    "normal": (0.30, 200),
    "low": (0.95, 200),  # 5 % left: 流量不足
    "exhausted": (1.02, 200),  # over the plan: 流量耗尽
    "expiring": (0.30, 3),  # valid three more days: 卡临期
    "expired": (0.30, -5),  # expired five days ago: 卡到期
}
_PROFILE_CYCLE = ("low", "exhausted", "expiring", "expired") + ("normal",) * 16  # 1 in 20 of each
_COMPANIES = ("ACME", "Globex", "Initech")
_PLANS = ((30.0, "IoT 30MB/月"), (100.0, "IoT 100MB/月"), (1024.0, "IoT 1GB/月"))
_CARRIERS = ("china_mobile", "china_unicom", "china_telecom")
_AGENT_VERSION = "0.1.0-fleet"


@dataclass(frozen=True, slots=True)
class Message:
    """One publish: the topic, the wire payload, the retain flag, and the envelope's (device_id, seq)."""

    topic: str
    payload: bytes
    retain: bool
    device_id: str
    seq: int


@dataclass
class SimDevice:
    index: int
    device_id: str
    name: str
    pn: str
    type: str
    company: str
    imei: str
    iccid: str
    imsi: str
    carrier: str
    profile: str
    plan_name: str
    total_mb: float
    used_bytes: int
    cycle_start: date
    cycle_end: date
    expiry: date
    card_type: str = "data"
    prefix: str = DEFAULT_TOPIC_PREFIX
    seq: int = 0
    started_at: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    # The meter's buckets: what this simulated device metered per UTC hour, local day and local month.
    hours: dict[datetime, int] = field(default_factory=dict)
    days: dict[date, int] = field(default_factory=dict)
    months: dict[str, int] = field(default_factory=dict)

    @property
    def topics(self) -> Topics:
        return Topics(self.device_id, self.prefix)

    def _header(self, ts: datetime) -> dict[str, object]:
        self.seq += 1
        return {"device_id": self.device_id, "iccid": self.iccid, "imei": self.imei, "seq": self.seq, "ts": ts}

    def _message(self, topic: Topic, model: object, retain: bool = False) -> Message:
        assert isinstance(model, StatusMessage | IdentityMessage | TelemetryMessage | EventMessage | DiagnosisMessage)
        return Message(self.topics.topic(topic), encode(model), retain, self.device_id, model.seq)

    def status(self, ts: datetime, state: str = "online") -> Message:
        model = StatusMessage(
            **self._header(ts),  # type: ignore[arg-type]
            state=state,  # type: ignore[arg-type]
            agent_version=_AGENT_VERSION,
            started_at=self.started_at,
        )
        return self._message(Topic.STATUS, model, retain=True)

    def identity(self, ts: datetime) -> Message:
        model = IdentityMessage(
            **self._header(ts),  # type: ignore[arg-type]
            device=IdentityDevice(name=self.name, pn=self.pn, type=self.type, company=self.company),
            modem=IdentityModem(manufacturer="Quectel", model="EC25", revision="EC25EFAR06A03M4G", imei=self.imei),
            sim=IdentitySim(state="ready", iccid=self.iccid, imsi=self.imsi, carrier=self.carrier),
        )
        return self._message(Topic.IDENTITY, model, retain=True)

    def telemetry(self, ts: datetime, *, add_bytes: int = 4096, signal: bool = True) -> Message:
        """One report at ``ts`` after ``add_bytes`` more on the meter (in the hour, day and month ``ts`` falls in).

        Every usage figure is the bucket's total so far; ``add_bytes=0`` repeats them (a flow check, 流量校验),
        ``signal=False`` reports no signal samples (a report made right after a flow check)."""
        self.used_bytes += add_bytes
        hour = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        local = ts.astimezone(DEVICE_ZONE)
        day, month = local.date(), f"{local:%Y-%m}"
        self.hours[hour] = self.hours.get(hour, 0) + add_bytes
        self.days[day] = self.days.get(day, 0) + add_bytes
        self.months[month] = self.months.get(month, 0) + add_bytes

        def split(total: int) -> tuple[int, int]:
            return total * 3 // 4, total - total * 3 // 4

        total = round(self.total_mb * MIB)
        flags = []
        if self.used_bytes >= total:
            flags.append("data_exhausted")
        elif (total - self.used_bytes) * 100 < total * 10:
            flags.append("data_low")
        signal_summary = SignalSummary(
            rssi_dbm=SignalStat(min=-85.0, avg=-71.0 - self.index % 15, max=-65.0),
            rsrp_dbm=SignalStat(min=-110.0, avg=-95.0 - self.index % 10, max=-88.0),
            bars=SignalStat(min=2.0, avg=3.0, max=4.0),
        )
        model = TelemetryMessage(
            **self._header(ts),  # type: ignore[arg-type]
            period_start=ts - timedelta(hours=4),
            period_end=ts,
            samples=240 if signal else 0,
            signal=signal_summary if signal else SignalSummary(),
            registration="home" if signal else None,
            technology="lte" if signal else None,
            operator="46000" if signal else None,
            tac=0x1A2B,
            cell_id=0x0ABCDE0 + self.index,
            usage=UsageReport(
                cycle_start=self.cycle_start,
                cycle_end=self.cycle_end,
                cycle_rx_bytes=split(self.used_bytes)[0],
                cycle_tx_bytes=split(self.used_bytes)[1],
                cycle_total_bytes=self.used_bytes,
                timezone=DEVICE_ZONE.key,
                hourly=[HourlyUsage(hour=hour, rx_bytes=split(n)[0], tx_bytes=split(n)[1]) for n in [self.hours[hour]]]
                if self.hours[hour]
                else [],
                days=[DailyUsage(day=day, rx_bytes=split(self.days[day])[0], tx_bytes=split(self.days[day])[1])],
                months=[
                    MonthlyUsage(
                        month=month, rx_bytes=split(self.months[month])[0], tx_bytes=split(self.months[month])[1]
                    )
                ],
                plan=PlanStatus(
                    name=self.plan_name,
                    total_mb=self.total_mb,
                    remaining_mb=round(max(total - self.used_bytes, 0) / MIB, 3),
                    expiry=self.expiry,
                    flags=flags,
                ),
            ),
        )
        return self._message(Topic.TELEMETRY, model)

    def event(self, ts: datetime, name: EventName, previous: str | None = None, current: str | None = None) -> Message:
        model = EventMessage(**self._header(ts), event=name, previous=previous, current=current)  # type: ignore[arg-type]
        return self._message(Topic.EVENT, model)

    def diagnosis(self, ts: datetime) -> Message:
        findings = [DiagnosisFinding(code="ok", severity="info", summary="nothing is wrong")]
        if self.profile in ("low", "exhausted"):
            findings = [DiagnosisFinding(code=f"data_{self.profile}", severity="warning", summary="plan nearly used")]
        model = DiagnosisMessage(
            **self._header(ts),  # type: ignore[arg-type]
            overall="ok" if findings[0].code == "ok" else "warning",
            findings=findings,
        )
        return self._message(Topic.DIAGNOSIS, model, retain=True)


@dataclass
class Fleet:
    """``n`` devices; device ``i`` has profile ``_PROFILE_CYCLE[i % 20]`` and company ``_COMPANIES[i % 3]``."""

    devices: list[SimDevice]
    today: date

    @classmethod
    def build(
        cls,
        n: int,
        *,
        today: date,
        prefix: str = DEFAULT_TOPIC_PREFIX,
        id_prefix: str = "sim",
        first: int = 0,
    ) -> Fleet:
        cycle_start = today.replace(day=1)
        cycle_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        devices = []
        for i in range(first, first + n):
            profile = _PROFILE_CYCLE[i % len(_PROFILE_CYCLE)]
            share, expiry_days = PROFILES[profile]
            total_mb, plan_name = _PLANS[i % len(_PLANS)]
            imei = f"86{i:012d}"
            iccid = f"898600{i:012d}"
            devices.append(
                SimDevice(
                    index=i,
                    device_id=f"{id_prefix}-{i:05d}",
                    name=f"HMI-{i:05d}",
                    pn=f"PN-{100 + i % 7}",
                    type="hmi" if i % 2 else "gateway",
                    company=_COMPANIES[i % len(_COMPANIES)],
                    imei=imei + luhn_check_digit(imei),
                    iccid=iccid + luhn_check_digit(iccid),
                    imsi=f"46000{i:010d}",
                    carrier=_CARRIERS[i % len(_CARRIERS)],
                    profile=profile,
                    plan_name=plan_name,
                    total_mb=total_mb,
                    used_bytes=round(total_mb * MIB * share),
                    cycle_start=cycle_start,
                    cycle_end=cycle_end,
                    expiry=today + timedelta(days=expiry_days),
                    prefix=prefix,
                )
            )
        return cls(devices, today)

    def by_id(self, device_id: str) -> SimDevice:
        return next(d for d in self.devices if d.device_id == device_id)

    def expected(self, profile: str, company: str | None = None) -> set[str]:
        """The ICCIDs the app's filter of that name must show (profiles map one to one to filters)."""
        return {d.iccid for d in self.devices if d.profile == profile and company in (None, d.company)}

    def hello(self, ts: datetime) -> Iterator[Message]:
        """What every agent sends when it connects: status online, identity."""
        for device in self.devices:
            yield device.status(ts)
            yield device.identity(ts)

    def rounds(self, start: datetime, count: int, *, every: timedelta = timedelta(hours=4)) -> Iterator[Message]:
        """``count`` report rounds: a telemetry from every device per round; a diagnosis in the first."""
        for number in range(count):
            ts = start + every * number
            for device in self.devices:
                yield device.telemetry(ts)
                if number == 0:
                    yield device.diagnosis(ts)

    def swap(self, first: SimDevice, second: SimDevice, ts: datetime) -> list[Message]:
        """Take the cards out of two devices and put each in the other (机卡分离); both agents report it."""
        fields = ("iccid", "imsi", "carrier", "profile", "plan_name", "total_mb", "used_bytes", "expiry")
        for name in fields:
            a, b = getattr(first, name), getattr(second, name)
            setattr(first, name, b)
            setattr(second, name, a)
        messages = []
        for device, previous in ((first, second.iccid), (second, first.iccid)):
            messages.append(device.event(ts, EventName.SIM_CHANGED, previous, device.iccid))
            messages.append(device.identity(ts))
        return messages

    def plans_csv(self) -> str:
        """The plan import file for these cards (``iotcard-collector plans import``)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["iccid", "plan_name", "total_mb", "cycle_start", "cycle_end", "expiry", "card_type", "company"]
        )
        for d in self.devices:
            writer.writerow(
                [d.iccid, d.plan_name, f"{d.total_mb:g}", d.cycle_start, d.cycle_end, d.expiry, d.card_type, d.company]
            )
        return out.getvalue()
