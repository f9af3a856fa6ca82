"""Directed query (定向查询): does this card's path reach a host, and if not, why?

A directed card (定向卡) reaches only the domains and IPs registered with the carrier; everything else is dropped
silently. A probe resolves the target (A and AAAA, with the given DNS servers), connects over TCP to every
address, optionally runs a TLS handshake and a ping, and turns the facts into a verdict::

    reachable | dns_failed | blocked | port_closed | tls_failed | invalid_target

A wildcard whitelist entry (``*.haiwell.com``, or the app's ``**.haiwell.com``) is not a host: probe a concrete
name one level below it, e.g. ``ecloud.haiwell.com``. An IP entry is probed as the IP.

Public API::

    parse_target(text: str, default_port: int = 443) -> Target
        host, host:port, [IPv6]:port, IPv4, URL (scheme gives the port), IDNA names.
        Raises InvalidTarget (a ProbeError, code "invalid_target", .problem says why) and nothing else.
    parse_dns_server(text: str) -> DnsServer                  raises InvalidOption
    probe_targets(targets: Sequence[Target], options: ProbeOptions) -> list[ProbeResult]
        concurrent, results in input order; raises BindingError when the interface cannot be bound.
    probe_texts(texts: Sequence[str], options: ProbeOptions, default_port: int = 443) -> list[ProbeResult]
        the same from text; refused texts get an invalid_target result in place.
    judge(dns: DnsResult | None, tcp: TcpResult | None, tls: TlsResult | None) -> tuple[Verdict, Reason]
        pure: the verdict from the facts.
    explain(result: ProbeResult, lang: str = "en") -> tuple[str, str | None]
        one-sentence explanation and hint, English or Chinese.
    probe_out(results, lang, elapsed_ms) -> ProbeOut          the ``--json`` document

``ProbeOptions.dns_servers`` empty means the system's resolvers; a caller that read the PDP context's DNS servers
from the modem passes them there (nothing in this package talks to the modem). ``ProbeOptions.interface`` binds
every DNS and TCP socket to that interface (SO_BINDTODEVICE, else the interface's source address).
"""

from __future__ import annotations

from ._bind import interface_addresses, plan_binding
from ._dns import dns_for_probes, system_dns_servers
from ._icmp import ping_argv
from ._model import (
    Binding,
    BindingError,
    BindMethod,
    DnsResult,
    DnsServer,
    DnsStatus,
    IcmpResult,
    IcmpStatus,
    InvalidOption,
    InvalidTarget,
    ProbeOptions,
    ProbeResult,
    Reason,
    Target,
    TargetKind,
    TargetProblem,
    TcpAttempt,
    TcpResult,
    TcpStatus,
    TlsResult,
    TlsStatus,
    Verdict,
)
from ._policy import refused_address
from ._runner import probe_targets, probe_texts, refused_result
from ._schemas import ProbeOut, ResultOut, probe_out
from ._targets import (
    check_interface_name,
    parse_dns_server,
    parse_target,
    parse_wildcard_pattern,
    probe_host_in_pattern,
    problem_message,
)
from ._verdict import describe_binding, explain, judge

__all__ = [
    "BindMethod",
    "Binding",
    "BindingError",
    "DnsResult",
    "DnsServer",
    "DnsStatus",
    "IcmpResult",
    "IcmpStatus",
    "InvalidOption",
    "InvalidTarget",
    "ProbeOptions",
    "ProbeOut",
    "ProbeResult",
    "Reason",
    "ResultOut",
    "Target",
    "TargetKind",
    "TargetProblem",
    "TcpAttempt",
    "TcpResult",
    "TcpStatus",
    "TlsResult",
    "TlsStatus",
    "Verdict",
    "check_interface_name",
    "describe_binding",
    "dns_for_probes",
    "explain",
    "interface_addresses",
    "judge",
    "parse_dns_server",
    "parse_target",
    "parse_wildcard_pattern",
    "ping_argv",
    "plan_binding",
    "probe_host_in_pattern",
    "probe_out",
    "probe_targets",
    "probe_texts",
    "problem_message",
    "refused_address",
    "refused_result",
    "system_dns_servers",
]
