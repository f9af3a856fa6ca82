"""A and AAAA over UDP (TCP when truncated), on sockets we create and bind ourselves.

The resolver is ours rather than a library's because every socket must carry the interface binding and the facts
must say which server answered what. Both queries go out together on one socket; the whole lookup has one
deadline on the injected clock, split over the tries (servers × attempts). The messages are :mod:`._dnswire`'s.
"""

from __future__ import annotations

import ipaddress
import select
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._bind import apply_binding
from ._dnswire import AAAA, NOERROR, NXDOMAIN, REFUSED, A, DnsWireError, Query, Response, make_query, parse_response
from ._model import Binding, DnsResult, DnsServer, DnsStatus

__all__ = ["resolve", "system_dns_servers"]

RESOLV_CONF = Path("/etc/resolv.conf")
_RDTYPES = (A, AAAA)
_SLICE = 0.25  # longest wait before the clock is read again


@dataclass(frozen=True)
class _Answer:
    status: str  # "noerror" | "nxdomain" | "servfail" | "refused"
    addresses: tuple[str, ...] = ()


def system_dns_servers(resolv_conf: Path = RESOLV_CONF) -> tuple[DnsServer, ...]:
    """The nameservers of ``/etc/resolv.conf`` (empty when there is none), port 53 (resolv.conf(5))."""
    try:
        text = resolv_conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    servers = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0] != "nameserver":
            continue
        try:
            address = str(ipaddress.ip_address(fields[1]))
        except ValueError:
            continue
        servers.append(DnsServer(address=address))
    return tuple(servers)


def _classify(response: Response, rdtype: int) -> _Answer:
    rcode = response.rcode
    if rcode == NXDOMAIN:
        return _Answer("nxdomain")
    if rcode == REFUSED:
        return _Answer("refused")
    if rcode != NOERROR:
        return _Answer("servfail")  # SERVFAIL, and FORMERR/NOTIMP: the server could not give an answer
    # Any owner: the records at the end of a CNAME chain belong to the chain's last name.
    return _Answer("noerror", response.addresses(rdtype))


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the DNS server closed the connection")
        data += chunk
    return data


def _over_tcp(query: Query, server: DnsServer, timeout: float, binding: Binding) -> Response | None:
    """The same query over TCP (RFC 1035 §4.2.2: each message after its two-byte length), for a truncated answer."""
    family = socket.AF_INET6 if server.family_v6 else socket.AF_INET
    wire = query.to_wire()
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            apply_binding(sock, binding, family)
            sock.settimeout(timeout)
            sock.connect((server.address, server.port))
            sock.sendall(len(wire).to_bytes(2, "big") + wire)
            size = int.from_bytes(_recv_exactly(sock, 2), "big")
            response = parse_response(_recv_exactly(sock, size))
    except (OSError, DnsWireError):
        return None
    return response if query.is_response(response) else None


def _exchange(
    host: str, server: DnsServer, timeout: float, binding: Binding, clock: Callable[[], float]
) -> dict[int, _Answer]:
    """Send A and AAAA to ``server`` together; return the answers that arrived before ``timeout``."""
    deadline = clock() + timeout
    queries = {rdtype: make_query(host, rdtype) for rdtype in _RDTYPES}
    answers: dict[int, _Answer] = {}
    family = socket.AF_INET6 if server.family_v6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            apply_binding(sock, binding, family)
            # Connected: the kernel drops datagrams from anyone else, and an ICMP "port unreachable" ends the wait.
            sock.connect((server.address, server.port))
            sock.setblocking(False)
            for query in queries.values():
                sock.send(query.to_wire())
        except OSError:
            return answers
        while len(answers) < len(queries) and (remaining := deadline - clock()) > 0:
            readable, _, _ = select.select([sock], [], [], min(remaining, _SLICE))
            if not readable:
                continue
            try:
                data = sock.recv(65535)
            except BlockingIOError:
                continue
            except OSError:
                break  # nothing listens at the server's port: no DNS answer from it
            try:
                response = parse_response(data)
            except DnsWireError:
                continue
            for rdtype, query in queries.items():
                if rdtype in answers or not query.is_response(response):
                    continue
                if response.truncated:
                    full = _over_tcp(query, server, max(deadline - clock(), 0.05), binding)
                    response = full if full is not None else response
                answers[rdtype] = _classify(response, rdtype)
    return answers


def resolve(
    host: str,
    servers: Sequence[DnsServer],
    *,
    timeout: float,
    attempts: int,
    binding: Binding,
    clock: Callable[[], float],
) -> DnsResult:
    """Look up A and AAAA for ``host`` at ``servers`` (in order, ``attempts`` rounds) within ``timeout`` seconds.

    A definite answer (addresses, NXDOMAIN, no A/AAAA record) ends the lookup; SERVFAIL, REFUSED and silence move
    on to the next try. With no definite answer the status is the last failure a server answered with (SERVFAIL
    or REFUSED), else ``timeout``.
    """
    started = clock()
    deadline = started + timeout
    tries = [server for _ in range(max(1, attempts)) for server in servers]

    def result(status: DnsStatus, server: DnsServer | None, addresses: tuple[str, ...] = ()) -> DnsResult:
        return DnsResult(
            status=status,
            server=str(server) if server else None,
            addresses=addresses,
            elapsed_ms=round((clock() - started) * 1000),
        )

    if not tries:
        return result(DnsStatus.TIMEOUT, None)
    per_try = timeout / len(tries)
    failure: tuple[DnsStatus, DnsServer | None] = (DnsStatus.TIMEOUT, None)
    partly_empty: DnsServer | None = None
    for server in tries:
        remaining = deadline - clock()
        if remaining <= 0:
            break
        answers = _exchange(host, server, min(per_try, remaining), binding, clock)
        addresses = tuple(dict.fromkeys(a for answer in answers.values() for a in answer.addresses))
        statuses = [answer.status for answer in answers.values()]
        if addresses:
            return result(DnsStatus.OK, server, addresses)
        if "nxdomain" in statuses:
            return result(DnsStatus.NXDOMAIN, server)
        if len(statuses) == len(_RDTYPES) and all(status == "noerror" for status in statuses):
            return result(DnsStatus.NO_ANSWER, server)
        if "noerror" in statuses:
            partly_empty = server
        for status in ("refused", "servfail"):
            if status in statuses:
                failure = (DnsStatus(status), server)
    if partly_empty is not None:
        return result(DnsStatus.NO_ANSWER, partly_empty)
    return result(*failure)


def dns_for_probes(
    configured: Sequence[str], interface: str | None, network_dns: Sequence[str]
) -> tuple[list[str], str]:
    """The resolvers directed probes use, and where they come from ("configured", "network" or "system").

    ``--dns``/``[directed] dns`` win. Probes bound to the cellular interface otherwise ask the DNS servers the
    carrier gave the PDP context (+CGCONTRDP): on a gateway with Ethernet and 4G the system's resolver is often the
    LAN's, which a directed card cannot reach. Unbound probes follow the system (routing table and resolv.conf).
    """
    if configured:
        return list(configured), "configured"
    if interface and network_dns:
        return list(network_dns), "network"
    return [], "system"
