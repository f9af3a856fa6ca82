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

from ._messages import IP_TARGET_TEXT, REASON_TEXT, TARGET_HINT
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
        return problem_message(result.problem, lang), TARGET_HINT.get(lang, TARGET_HINT["en"])
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
    texts = IP_TARGET_TEXT.get(result.reason) if dns is None else None
    texts = texts or REASON_TEXT[result.reason]
    explanation, hint = texts.get(lang, texts["en"])
    return explanation.format(**values), hint.format(**values) if hint else None


def describe_binding(binding: Binding, lang: str = "en") -> str:
    """How the probes were tied to the interface, in one sentence."""
    if lang != "zh":
        return binding.note
    interface = binding.interface or "-"
    if binding.method is BindMethod.DEVICE:
        return f"已用 SO_BINDTODEVICE 绑定到 {interface}：所有探测都从 {interface} 发出"
    if binding.method is BindMethod.SOURCE_ADDRESS:
        sources = "、".join(address for address in (binding.source_v4, binding.source_v6) if address)
        return (
            f"已绑定到 {interface} 的地址 {sources}（无法使用 SO_BINDTODEVICE）：回包经 {interface} 返回，"
            f"但出口由路由表决定，除非有按源地址的路由规则"
        )
    return "未绑定接口：探测按路由表发出"
