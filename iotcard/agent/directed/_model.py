"""The facts of a directed query: frozen values, no I/O. Everything downstream (verdicts, JSON, diagnosis) reads
these."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from iotcard.agent.errors import ProbeError

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
    "ProbeResult",
    "Reason",
    "Target",
    "TargetKind",
    "TargetProblem",
    "TcpAttempt",
    "TcpResult",
    "TcpStatus",
    "TlsResult",
    "TlsStatus",
    "Verdict",
]


class TargetKind(StrEnum):
    NAME = "name"
    IPV4 = "ipv4"
    IPV6 = "ipv6"


@dataclass(frozen=True)
class Target:
    """One thing to probe. ``host`` is the ASCII form (IDNA-encoded, lower case) or the IP address."""

    text: str
    host: str
    port: int
    kind: TargetKind

    @property
    def is_ip(self) -> bool:
        return self.kind is not TargetKind.NAME

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.kind is TargetKind.IPV6 else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class TargetProblem:
    """Why a target text was refused: a stable ``reason`` word, the offending ``text`` and one ``detail`` value."""

    reason: str
    text: str
    detail: str = ""


class InvalidTarget(ProbeError):
    """A target text that cannot be probed (wildcard, bad characters, bad port...). Nothing was sent for it."""

    code = "invalid_target"

    def __init__(self, message: str, *, problem: TargetProblem) -> None:
        super().__init__(message)
        self.problem = problem


class InvalidOption(ProbeError):
    """A probe option (DNS server, interface name, wildcard pattern) that cannot be used as given."""

    code = "invalid_option"

    def __init__(self, message: str, *, problem: TargetProblem) -> None:
        super().__init__(message)
        self.problem = problem


class BindingError(ProbeError):
    """The probes cannot be tied to the requested interface, so they would test another path: nothing is sent."""

    code = "binding_impossible"

    def __init__(self, message: str, *, interface: str, hint: str = "") -> None:
        super().__init__(message)
        self.interface = interface
        self.hint = hint


@dataclass(frozen=True)
class DnsServer:
    address: str
    port: int = 53

    @property
    def family_v6(self) -> bool:
        return ":" in self.address

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.family_v6 else self.address
        return f"{host}:{self.port}"


class BindMethod(StrEnum):
    NONE = "none"
    DEVICE = "device"  # SO_BINDTODEVICE: every packet leaves through the interface
    SOURCE_ADDRESS = "source_address"  # bind() to the interface's address: the routing table still chooses


@dataclass(frozen=True)
class Binding:
    """How the probe sockets are tied to an interface; ``note`` says it in one sentence."""

    interface: str | None = None
    method: BindMethod = BindMethod.NONE
    source_v4: str | None = None
    source_v6: str | None = None
    note: str = "not bound to an interface: probes follow the routing table"


class DnsStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NO_ANSWER = "no_answer"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class DnsResult:
    status: DnsStatus
    server: str | None
    addresses: tuple[str, ...]
    elapsed_ms: int


class TcpStatus(StrEnum):
    OPEN = "open"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"  # another address answered first (only in ``TcpResult.attempts``)


@dataclass(frozen=True)
class TcpAttempt:
    address: str
    status: TcpStatus
    elapsed_ms: int
    error: str | None = None


@dataclass(frozen=True)
class TcpResult:
    """The deciding connect attempt (``status``, ``address``) and every attempt made, in start order."""

    status: TcpStatus
    address: str | None
    elapsed_ms: int
    attempts: tuple[TcpAttempt, ...] = ()
    error: str | None = None


class TlsStatus(StrEnum):
    OK = "ok"
    VERIFY_FAILED = "verify_failed"
    HANDSHAKE_FAILED = "handshake_failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class TlsResult:
    status: TlsStatus
    protocol: str | None
    cipher: str | None
    verify_error: str | None
    error: str | None
    server_name: str | None
    elapsed_ms: int


class IcmpStatus(StrEnum):
    REPLY = "reply"
    NO_REPLY = "no_reply"
    ERROR = "error"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class IcmpResult:
    status: IcmpStatus
    address: str | None
    rtt_ms: float | None
    elapsed_ms: int
    argv: tuple[str, ...] = ()
    detail: str | None = None


class Verdict(StrEnum):
    REACHABLE = "reachable"
    DNS_FAILED = "dns_failed"
    BLOCKED = "blocked"
    PORT_CLOSED = "port_closed"
    TLS_FAILED = "tls_failed"
    INVALID_TARGET = "invalid_target"


class Reason(StrEnum):
    """The finer cause behind a verdict; it picks the explanation and the hint."""

    REACHABLE = "reachable"
    REACHABLE_TLS = "reachable_tls"
    DNS_NXDOMAIN = "dns_nxdomain"
    DNS_NO_ANSWER = "dns_no_answer"
    DNS_SERVFAIL = "dns_servfail"
    DNS_REFUSED = "dns_refused"
    DNS_TIMEOUT = "dns_timeout"
    TCP_TIMEOUT = "tcp_timeout"
    TCP_UNREACHABLE = "tcp_unreachable"
    TCP_REFUSED = "tcp_refused"
    TLS_VERIFY = "tls_verify"
    TLS_HANDSHAKE = "tls_handshake"
    TLS_TIMEOUT = "tls_timeout"
    INVALID_TARGET = "invalid_target"


@dataclass(frozen=True)
class ProbeResult:
    """Everything learnt about one target. ``dns`` is None when nothing was resolved (an IP target, or invalid)."""

    text: str
    target: Target | None
    verdict: Verdict
    reason: Reason
    dns: DnsResult | None = None
    tcp: TcpResult | None = None
    tls: TlsResult | None = None
    icmp: IcmpResult | None = None
    problem: TargetProblem | None = None
    binding: Binding = field(default_factory=Binding)


@dataclass(frozen=True)
class ProbeOptions:
    """How to probe. ``dns_servers`` empty means the system's resolvers (``/etc/resolv.conf``); a caller that knows
    the PDP context's DNS servers (from the modem) passes them here. ``timeout`` bounds each phase (DNS, TCP, TLS,
    ICMP) separately; ``clock`` is monotonic seconds and decides every deadline."""

    dns_servers: tuple[DnsServer, ...] = ()
    interface: str | None = None
    bind_method: BindMethod | None = None  # None: SO_BINDTODEVICE where allowed, else the source address
    timeout: float = 3.0
    dns_attempts: int = 2
    tls: bool = False
    ca_file: str | None = None
    icmp: bool = False
    ping_command: str = "ping"
    stagger: float = 0.1
    max_parallel: int = 32
    clock: Callable[[], float] = time.monotonic
    # Refuses an address before any packet goes to it: a reason word, or None to allow (see _policy.py).
    address_filter: Callable[[str], str | None] | None = None
