"""Probing many targets at once: one worker per target (bounded), each owning its sockets from start to end.

Nothing is shared between workers but frozen values (options, binding, TLS context), so the run takes about as long
as the slowest single probe.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from iotcard.agent.errors import ProbeError

from ._bind import check_servers_bindable, plan_binding
from ._dns import resolve, system_dns_servers
from ._icmp import ping
from ._model import (
    Binding,
    DnsResult,
    DnsServer,
    DnsStatus,
    InvalidTarget,
    ProbeOptions,
    ProbeResult,
    Reason,
    Target,
    TargetProblem,
    TlsResult,
    Verdict,
)
from ._targets import parse_target
from ._tcp import connect_first
from ._tls import handshake, make_tls_context
from ._verdict import judge

__all__ = ["probe_targets", "probe_texts", "refused_result"]


def refused_result(text: str, error: InvalidTarget) -> ProbeResult:
    """The result for a target text that was refused: verdict ``invalid_target``, nothing sent."""
    return ProbeResult(
        text=text, target=None, verdict=Verdict.INVALID_TARGET, reason=Reason.INVALID_TARGET, problem=error.problem
    )


def _probe_one(
    target: Target,
    options: ProbeOptions,
    binding: Binding,
    servers: tuple[DnsServer, ...],
    tls_context: ssl.SSLContext | None,
) -> ProbeResult:
    clock = options.clock
    dns: DnsResult | None = None
    if target.is_ip:
        addresses: tuple[str, ...] = (target.host,)
    else:
        dns = resolve(
            target.host, servers, timeout=options.timeout, attempts=options.dns_attempts, binding=binding, clock=clock
        )
        if dns.status is not DnsStatus.OK:
            verdict, reason = judge(dns, None, None)
            return ProbeResult(target.text, target, verdict, reason, dns=dns, binding=binding)
        addresses = dns.addresses
    if options.address_filter is not None:
        refused = _refuse(target, addresses, options.address_filter, dns, binding)
        if refused is not None:
            return refused
        addresses = tuple(a for a in addresses if options.address_filter(a) is None)
    tcp, sock = connect_first(
        addresses, target.port, timeout=options.timeout, stagger=options.stagger, binding=binding, clock=clock
    )
    tls: TlsResult | None = None
    if sock is not None:
        try:
            if tls_context is not None:
                tls = handshake(sock, target, tls_context, timeout=options.timeout, clock=clock)
        finally:
            sock.close()
    icmp = None
    if options.icmp:
        icmp_address = tcp.address or addresses[0]
        icmp = ping(icmp_address, timeout=options.timeout, binding=binding, command=options.ping_command, clock=clock)
    verdict, reason = judge(dns, tcp, tls)
    return ProbeResult(target.text, target, verdict, reason, dns=dns, tcp=tcp, tls=tls, icmp=icmp, binding=binding)


def _refuse(
    target: Target,
    addresses: tuple[str, ...],
    address_filter: Callable[[str], str | None],
    dns: DnsResult | None,
    binding: Binding,
) -> ProbeResult | None:
    """An ``invalid_target`` result when no address of ``target`` may be probed (nothing is sent to any)."""
    reasons = [(address, address_filter(address)) for address in addresses]
    if any(why is None for _, why in reasons):
        return None
    address, why = reasons[0]
    problem = TargetProblem("refused_address", target.text, f"{address} ({why})")
    return ProbeResult(
        target.text, target, Verdict.INVALID_TARGET, Reason.INVALID_TARGET, dns=dns, problem=problem, binding=binding
    )


def probe_targets(targets: Sequence[Target], options: ProbeOptions) -> list[ProbeResult]:
    """Probe every target concurrently; results in input order.

    Raises :class:`BindingError` when ``options.interface`` cannot be bound (nothing is sent then),
    :class:`InvalidOption` for an unreadable CA file, and :class:`ProbeError` (``no_dns_server``) when a name must
    be resolved and no DNS server is given or configured.
    """
    if not targets:
        return []
    binding = plan_binding(options.interface, options.bind_method)
    servers = options.dns_servers
    if not servers and any(not target.is_ip for target in targets):
        servers = system_dns_servers()
        if not servers:
            raise ProbeError(
                "no DNS server to ask: none given (--dns) and none in /etc/resolv.conf", code="no_dns_server"
            )
    check_servers_bindable(servers, binding)
    tls_context = make_tls_context(options.ca_file) if options.tls else None
    workers = max(1, min(options.max_parallel, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        futures = [pool.submit(_probe_one, target, options, binding, servers, tls_context) for target in targets]
        return [future.result() for future in futures]


def probe_texts(texts: Sequence[str], options: ProbeOptions, default_port: int = 443) -> list[ProbeResult]:
    """Parse and probe ``texts``; a refused text gets an ``invalid_target`` result in its place."""
    parsed: list[Target | ProbeResult] = []
    for text in texts:
        try:
            parsed.append(parse_target(text, default_port))
        except InvalidTarget as exc:
            parsed.append(refused_result(text, exc))
    probed = iter(probe_targets([item for item in parsed if isinstance(item, Target)], options))
    return [item if isinstance(item, ProbeResult) else next(probed) for item in parsed]
