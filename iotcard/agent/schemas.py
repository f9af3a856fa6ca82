"""JSON shapes the CLI prints: plain dataclasses written as JSON (see :mod:`iotcard.agent._json_out`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from iotcard.agent._json_out import JsonOut
from iotcard.drivers.models import ModemSnapshot

__all__ = ["ErrorOut", "InfoOut", "snapshot_out"]


@dataclass(frozen=True, kw_only=True)
class ModemOut(JsonOut):
    manufacturer: str | None
    model: str | None
    revision: str | None
    imei: str | None
    imei_luhn_ok: bool | None
    temperature_c: float | None = None


@dataclass(frozen=True, kw_only=True)
class SimOut(JsonOut):
    state: str
    iccid: str | None
    imsi: str | None
    carrier: str | None
    slot: int | None = None


@dataclass(frozen=True, kw_only=True)
class OperatorOut(JsonOut):
    mcc_mnc: str | None
    name: str | None


@dataclass(frozen=True, kw_only=True)
class RejectCauseOut(JsonOut):
    """Why the network refused the card: ``type`` emm (TS 24.301), gmm/mm (TS 24.008) or 5gmm (TS 24.501)."""

    type: str
    code: int
    name: str


@dataclass(frozen=True, kw_only=True)
class NetworkOut(JsonOut):
    registration: str | None
    registration_domain: str | None
    access_technology: str | None
    operator: OperatorOut
    lac: int | None
    tac: int | None
    cell_id: int | None
    band: str | None
    attached: bool | None
    apn: str | None
    ip_address: str | None
    radio: str | None = None
    reject_cause: RejectCauseOut | None = None
    last_error: str | None = None
    dns: list[str] = field(default_factory=list)
    earfcn: int | None = None
    pci: int | None = None
    time: str | None = None


@dataclass(frozen=True, kw_only=True)
class SignalOut(JsonOut):
    rssi_dbm: float | None
    rsrp_dbm: float | None
    rsrq_db: float | None
    sinr_db: float | None
    bars: int


@dataclass(frozen=True, kw_only=True)
class InfoOut(JsonOut):
    """``iotcard info --json``."""

    modem: ModemOut
    sim: SimOut
    network: NetworkOut
    signal: SignalOut
    dialect: str
    port: str | None
    commands_sent: int
    duration_ms: int
    problems: list[str]


@dataclass(frozen=True, kw_only=True)
class ErrorDetail(JsonOut):
    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True, kw_only=True)
class ErrorOut(JsonOut):
    error: ErrorDetail


def snapshot_out(snapshot: ModemSnapshot, duration_ms: int) -> InfoOut:
    ident, sim, net, sig = snapshot.identity, snapshot.sim, snapshot.network, snapshot.signal
    return InfoOut(
        modem=ModemOut(
            manufacturer=ident.manufacturer,
            model=ident.model,
            revision=ident.revision,
            imei=ident.imei,
            imei_luhn_ok=ident.imei_luhn_ok,
            temperature_c=ident.temperature_c,
        ),
        sim=SimOut(
            state=sim.state.value,
            iccid=sim.iccid,
            imsi=sim.imsi,
            carrier=sim.carrier.value if sim.carrier else None,
            slot=sim.slot,
        ),
        network=NetworkOut(
            registration=net.registration.value if net.registration else None,
            registration_domain=net.registration_domain.value if net.registration_domain else None,
            access_technology=net.access_technology.value if net.access_technology else None,
            operator=OperatorOut(mcc_mnc=net.mcc_mnc, name=net.operator_name),
            lac=net.lac,
            tac=net.tac,
            cell_id=net.cell_id,
            band=net.band,
            attached=net.attached,
            apn=net.apn,
            ip_address=net.ip_address,
            radio=net.radio,
            reject_cause=RejectCauseOut(
                type=net.reject_cause.kind, code=net.reject_cause.code, name=net.reject_cause.name
            )
            if net.reject_cause
            else None,
            last_error=net.last_error,
            dns=list(net.dns),
            earfcn=net.earfcn,
            pci=net.pci,
            time=net.time.isoformat() if net.time else None,
        ),
        signal=SignalOut(
            rssi_dbm=sig.rssi_dbm, rsrp_dbm=sig.rsrp_dbm, rsrq_db=sig.rsrq_db, sinr_db=sig.sinr_db, bars=sig.bars
        ),
        dialect=snapshot.dialect,
        port=snapshot.port,
        commands_sent=snapshot.commands_sent,
        duration_ms=duration_ms,
        problems=list(snapshot.problems),
    )
