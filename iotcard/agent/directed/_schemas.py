"""``iotcard probe --json``: plain dataclasses written as JSON (see :mod:`iotcard.agent._json_out`), built from the
frozen facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from iotcard.agent._json_out import JsonOut

from ._model import Binding, BindMethod, ProbeResult
from ._verdict import explain

__all__ = ["ProbeOut", "ResultOut", "probe_out"]


@dataclass(frozen=True, kw_only=True)
class DnsOut(JsonOut):
    status: str
    server: str | None
    addresses: list[str]
    elapsed_ms: int


@dataclass(frozen=True, kw_only=True)
class TcpAttemptOut(JsonOut):
    address: str
    status: str
    elapsed_ms: int
    error: str | None


@dataclass(frozen=True, kw_only=True)
class TcpOut(JsonOut):
    status: str
    address: str | None
    elapsed_ms: int
    error: str | None
    attempts: list[TcpAttemptOut]


@dataclass(frozen=True, kw_only=True)
class TlsOut(JsonOut):
    status: str
    protocol: str | None
    cipher: str | None
    server_name: str | None
    verify_error: str | None
    error: str | None
    elapsed_ms: int


@dataclass(frozen=True, kw_only=True)
class IcmpOut(JsonOut):
    status: str
    address: str | None
    rtt_ms: float | None
    elapsed_ms: int
    detail: str | None


@dataclass(frozen=True, kw_only=True)
class ResultOut(JsonOut):
    """One target. ``dns`` is null for an IP target or a refused one; ``tls`` and ``icmp`` when not asked for."""

    target: str
    host: str | None
    port: int | None
    verdict: str
    reason: str
    explanation: str
    hint: str | None
    dns: DnsOut | None
    tcp: TcpOut | None
    tls: TlsOut | None
    icmp: IcmpOut | None


@dataclass(frozen=True, kw_only=True)
class BindingOut(JsonOut):
    interface: str
    method: str
    source_v4: str | None
    source_v6: str | None
    note: str


@dataclass(frozen=True, kw_only=True)
class ProbeOut(JsonOut):
    results: list[ResultOut]
    binding: BindingOut | None
    elapsed_ms: int


def _result_out(result: ProbeResult, lang: str) -> ResultOut:
    explanation, hint = explain(result, lang)
    dns, tcp, tls, icmp = result.dns, result.tcp, result.tls, result.icmp
    return ResultOut(
        target=result.text,
        host=result.target.host if result.target else None,
        port=result.target.port if result.target else None,
        verdict=result.verdict.value,
        reason=result.reason.value,
        explanation=explanation,
        hint=hint,
        dns=DnsOut(status=dns.status.value, server=dns.server, addresses=list(dns.addresses), elapsed_ms=dns.elapsed_ms)
        if dns
        else None,
        tcp=TcpOut(
            status=tcp.status.value,
            address=tcp.address,
            elapsed_ms=tcp.elapsed_ms,
            error=tcp.error,
            attempts=[
                TcpAttemptOut(address=a.address, status=a.status.value, elapsed_ms=a.elapsed_ms, error=a.error)
                for a in tcp.attempts
            ],
        )
        if tcp
        else None,
        tls=TlsOut(
            status=tls.status.value,
            protocol=tls.protocol,
            cipher=tls.cipher,
            server_name=tls.server_name,
            verify_error=tls.verify_error,
            error=tls.error,
            elapsed_ms=tls.elapsed_ms,
        )
        if tls
        else None,
        icmp=IcmpOut(
            status=icmp.status.value,
            address=icmp.address,
            rtt_ms=icmp.rtt_ms,
            elapsed_ms=icmp.elapsed_ms,
            detail=icmp.detail,
        )
        if icmp
        else None,
    )


def _binding_out(binding: Binding) -> BindingOut | None:
    if binding.interface is None or binding.method is BindMethod.NONE:
        return None
    return BindingOut(
        interface=binding.interface,
        method=binding.method.value,
        source_v4=binding.source_v4,
        source_v6=binding.source_v6,
        note=binding.note,
    )


def probe_out(results: Sequence[ProbeResult], lang: str, elapsed_ms: int) -> ProbeOut:
    """The JSON document for ``results`` (input order), explanations in ``lang``."""
    binding = next((_binding_out(r.binding) for r in results if r.target is not None), None)
    return ProbeOut(results=[_result_out(r, lang) for r in results], binding=binding, elapsed_ms=elapsed_ms)
