"""The verdict is a pure function of the facts, so diagnosis can reuse it without probing anything.

========================  ==================================================================================
facts                     verdict (reason)
========================  ==================================================================================
refused target            ``invalid_target``
DNS not ok                ``dns_failed`` (``dns_nxdomain``, ``dns_no_answer``, ``dns_servfail``,
                          ``dns_refused``, ``dns_timeout``: on a directed card DNS itself may not be whitelisted)
TCP timeout               ``blocked`` (``tcp_timeout``): resolved, but the carrier drops the packets silently
TCP unreachable           ``blocked`` (``tcp_unreachable``): ENETUNREACH/EHOSTUNREACH; no route from this link,
                          or the network rejected the address. Kept under ``blocked`` because for the technician
                          the answer is the same question to the card provider; the explanation says which.
TCP refused (RST)         ``port_closed`` (``tcp_refused``): the whitelist let it through, the service is down
TCP open, TLS not ok      ``tls_failed`` (``tls_verify``, ``tls_handshake``, ``tls_timeout``)
TCP open (TLS ok or off)  ``reachable`` (``reachable``, ``reachable_tls``)
========================  ==================================================================================
"""

from __future__ import annotations

from iotcard.agent import messages

from ._model import (
    Binding,
    BindMethod,
    DnsResult,
    DnsStatus,
    ProbeResult,
    Reason,
    TcpResult,
    TcpStatus,
    TlsResult,
    TlsStatus,
    Verdict,
)
from ._targets import problem_message

__all__ = ["describe_binding", "explain", "judge"]

_DNS_REASONS = {
    DnsStatus.NXDOMAIN: Reason.DNS_NXDOMAIN,
    DnsStatus.NO_ANSWER: Reason.DNS_NO_ANSWER,
    DnsStatus.SERVFAIL: Reason.DNS_SERVFAIL,
    DnsStatus.REFUSED: Reason.DNS_REFUSED,
    DnsStatus.TIMEOUT: Reason.DNS_TIMEOUT,
}
_TCP_VERDICTS = {
    TcpStatus.REFUSED: (Verdict.PORT_CLOSED, Reason.TCP_REFUSED),
    TcpStatus.TIMEOUT: (Verdict.BLOCKED, Reason.TCP_TIMEOUT),
    TcpStatus.UNREACHABLE: (Verdict.BLOCKED, Reason.TCP_UNREACHABLE),
    TcpStatus.CANCELLED: (Verdict.BLOCKED, Reason.TCP_TIMEOUT),
}
_TLS_REASONS = {
    TlsStatus.VERIFY_FAILED: Reason.TLS_VERIFY,
    TlsStatus.HANDSHAKE_FAILED: Reason.TLS_HANDSHAKE,
    TlsStatus.TIMEOUT: Reason.TLS_TIMEOUT,
}


def judge(dns: DnsResult | None, tcp: TcpResult | None, tls: TlsResult | None) -> tuple[Verdict, Reason]:
    """Verdict and reason from the facts. ``dns`` None: an IP target; ``tls`` None: TLS was not asked for."""
    if dns is not None and dns.status is not DnsStatus.OK:
        return Verdict.DNS_FAILED, _DNS_REASONS[dns.status]
    if tcp is None:
        raise ValueError("a target that resolved needs a TCP result to be judged")
    if tcp.status is not TcpStatus.OPEN:
        return _TCP_VERDICTS[tcp.status]
    if tls is not None and tls.status is not TlsStatus.OK:
        return Verdict.TLS_FAILED, _TLS_REASONS[tls.status]
    return Verdict.REACHABLE, Reason.REACHABLE_TLS if tls is not None else Reason.REACHABLE


def explain(result: ProbeResult, lang: str = "en") -> tuple[str, str | None]:
    """One-sentence explanation and a hint (None when nothing needs doing), in ``lang`` (``en`` or ``zh``)."""
    if result.problem is not None:
        return problem_message(result.problem, lang), messages.render("directed.target_hint", lang)
    target, dns, tcp, tls = result.target, result.dns, result.tcp, result.tls
    address = (tcp.address if tcp else None) or (dns.addresses[0] if dns and dns.addresses else None)
    values = {
        "host": target.host if target else result.text,
        "port": target.port if target else "",
        "address": address or (target.host if target else ""),
        "server": (dns.server if dns else None) or "-",
        "error": (tls.verify_error or tls.error if tls else None) or (tcp.error if tcp else None) or "-",
        "protocol": (tls.protocol if tls else None) or "-",
    }
    code = f"directed.{result.reason.value}"
    if dns is None and messages.has(f"directed.ip.{result.reason.value}"):
        code = f"directed.ip.{result.reason.value}"
    hint = messages.render(f"{code}.hint", lang, **values) if messages.has(f"{code}.hint") else None
    return messages.render(code, lang, **values), hint


def describe_binding(binding: Binding, lang: str = "en") -> str:
    """How the probes were tied to the interface, in one sentence. In English the binding's own note (it says why
    SO_BINDTODEVICE was refused); otherwise ``directed.binding.*`` from the catalogue."""
    if lang == "en" and binding.note:
        return binding.note
    interface = binding.interface or "-"
    if binding.method is BindMethod.DEVICE:
        return messages.render("directed.binding.device", lang, interface=interface)
    if binding.method is BindMethod.SOURCE_ADDRESS:
        joiner = messages.render("directed.binding.sources_joiner", lang)
        sources = joiner.join(address for address in (binding.source_v4, binding.source_v6) if address)
        return messages.render("directed.binding.source_address", lang, interface=interface, sources=sources)
    return messages.render("directed.binding.none", lang)
