"""Turning what a technician types or pastes into a :class:`Target`, refusing anything that is not a host.

Pure functions: no DNS, no sockets. A target never reaches a shell; the character checks are there so a refused
target says clearly what is wrong instead of failing somewhere later.
"""

from __future__ import annotations

import encodings.idna
import ipaddress
import re
import unicodedata

from ._messages import TARGET_PROBLEM_TEXT
from ._model import DnsServer, InvalidOption, InvalidTarget, Target, TargetKind, TargetProblem

__all__ = [
    "check_interface_name",
    "parse_dns_server",
    "parse_target",
    "parse_wildcard_pattern",
    "probe_host_in_pattern",
    "problem_message",
]

_MAX_TEXT = 1024
_MAX_LABEL = 63  # RFC 1035 §2.3.4
_MAX_NAME = 253  # RFC 1035 §2.3.4: 255 octets on the wire, 253 characters written without the root dot
# Scheme -> default port for URLs pasted by technicians (None: the probe's default port).
_SCHEME_PORTS: dict[str, int | None] = {
    "http": 80,
    "https": 443,
    "ws": 80,
    "wss": 443,
    "mqtt": 1883,
    "mqtts": 8883,
    "ftp": 21,
    "ssh": 22,
    "tcp": None,
    "tls": None,
}
# Characters a shell or a URL would give meaning to and no host name, IP address or pasted URL needs.
_SHELL_LIKE = frozenset("`$;|<>\\\"'(){}!^")
_IDN_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the dots IDNA 2003 (RFC 3490 §3.1) accepts as separators
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_INTERFACE = re.compile(r"^[A-Za-z0-9_.@\-]{1,15}$")  # IFNAMSIZ is 16 with the NUL


def _shown(text: str, limit: int = 80) -> str:
    """The text quoted for a message, control characters escaped, long text cut."""
    out = []
    for char in text[:limit]:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "'" + "".join(out) + ("…" if len(text) > limit else "") + "'"


def problem_message(problem: TargetProblem, lang: str = "en") -> str:
    """The sentence for a refused target or option, in ``lang`` (``en`` or ``zh``)."""
    templates = TARGET_PROBLEM_TEXT[problem.reason]
    template = templates.get(lang, templates["en"])
    return template.format(text=_shown(problem.text), detail=problem.detail)


def _refuse(reason: str, text: str, detail: str = "") -> InvalidTarget:
    problem = TargetProblem(reason, text, detail)
    return InvalidTarget(problem_message(problem), problem=problem)


def _check_text(text: str) -> str:
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise _refuse("control_characters", text)
    stripped = text.strip()
    if not stripped:
        raise _refuse("empty", text)
    if len(stripped) > _MAX_TEXT:
        raise _refuse("too_long", text)
    bad = sorted({char for char in stripped if char in _SHELL_LIKE or char.isspace()})
    if bad:
        raise _refuse("bad_characters", text, ", ".join(repr(char) for char in bad))
    return stripped


def _parse_port(text: str, port_text: str) -> int:
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise _refuse("bad_port", text, repr(port_text) if port_text else "nothing")
    return int(port_text)


def _ipv6(text: str, candidate: str) -> str:
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        raise _refuse("bad_ipv6", text) from None
    if address.scope_id:  # a zone (%eth0) names an interface of this host, not a whitelist entry
        raise _refuse("bad_ipv6", text)
    return str(address)


def _split_authority(text: str, authority: str, default_port: int) -> tuple[str, int, TargetKind | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address -> (host, port, kind if IPv6)."""
    if authority.startswith("["):
        inside, closed, after = authority[1:].partition("]")
        if not closed:
            raise _refuse("bad_ipv6", text)
        address = _ipv6(text, inside)
        if after == "":
            return address, default_port, TargetKind.IPV6
        if not after.startswith(":"):
            raise _refuse("bad_ipv6", text)
        return address, _parse_port(text, after[1:]), TargetKind.IPV6
    if authority.count(":") > 1:
        return _ipv6(text, authority), default_port, TargetKind.IPV6
    host, colon, port_text = authority.partition(":")
    return host, (_parse_port(text, port_text) if colon else default_port), None


def _name_character(char: str) -> bool:
    # Letters and digits of any script (IDNA maps them), their combining marks, hyphens and dots.
    return char.isalnum() or char == "-" or bool(_IDN_DOTS.fullmatch(char)) or unicodedata.category(char)[0] == "M"


def _wildcard_domain(host: str) -> str:
    return host.lstrip("*").lstrip(".") or "the domain"


def _encode_name(text: str, host: str) -> str:
    name = host[:-1] if _IDN_DOTS.fullmatch(host[-1:]) else host
    labels = _IDN_DOTS.split(name)
    encoded: list[str] = []
    for label in labels:
        if not label:
            raise _refuse("empty_label", text)
        if label.isascii():
            ascii_label = label.lower()
        else:
            try:
                ascii_label = encodings.idna.ToASCII(label).decode("ascii").lower()
            except UnicodeError as exc:
                raise _refuse("bad_idna", text, str(exc)) from None
        if len(ascii_label) > _MAX_LABEL:
            raise _refuse("label_too_long", text, str(len(ascii_label)))
        if not re.fullmatch(r"[a-z0-9\-]+", ascii_label):
            bad = sorted({char for char in ascii_label if not re.fullmatch(r"[a-z0-9\-]", char)})
            raise _refuse("bad_characters", text, ", ".join(repr(char) for char in bad))
        if ascii_label.startswith("-") or ascii_label.endswith("-"):
            raise _refuse("bad_label", text, repr(ascii_label))
        encoded.append(ascii_label)
    result = ".".join(encoded)
    if len(result) > _MAX_NAME:
        raise _refuse("name_too_long", text, str(len(result)))
    return result


def parse_target(text: str, default_port: int = 443) -> Target:
    """Parse ``host``, ``host:port``, an IPv4/IPv6 literal (``[2001:db8::1]:443``) or a URL into a :class:`Target`.

    Internationalised names are IDNA-encoded; a URL's scheme gives the port when none is written. Raises
    :class:`InvalidTarget` (code ``invalid_target``) for a wildcard pattern, an empty or over-long name, characters
    outside host names, shell-like text or a port outside 1-65535; nothing else.
    """
    if not 1 <= default_port <= 65535:
        raise ValueError(f"default_port {default_port} is outside 1-65535")
    stripped = _check_text(text)
    authority = stripped
    port = default_port
    scheme_match = _SCHEME.match(stripped)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        if scheme not in _SCHEME_PORTS:
            raise _refuse("bad_scheme", text, repr(scheme))
        rest = stripped[scheme_match.end() :]
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
        if not authority:
            raise _refuse("bad_url", text)
        port = _SCHEME_PORTS[scheme] or default_port
    elif "://" in stripped or "/" in stripped:
        raise _refuse("bad_characters", text, repr("/"))
    host, port, kind = _split_authority(text, authority, port)
    if kind is TargetKind.IPV6:
        return Target(text=text, host=host, port=port, kind=kind)
    if not host:
        raise _refuse("empty", text)
    if "*" in host:
        raise _refuse("wildcard", text, repr(_wildcard_domain(host)))
    bad = sorted({char for char in host if not _name_character(char)})
    if bad:
        raise _refuse("bad_characters", text, ", ".join(repr(char) for char in bad))
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return Target(text=text, host=str(ipaddress.IPv4Address(host)), port=port, kind=TargetKind.IPV4)
        except ValueError:
            raise _refuse("bad_ipv4", text) from None
    name = _encode_name(text, host)
    if re.fullmatch(r"[0-9.]+", name):  # full-width digits that IDNA folded into an IPv4 literal
        return parse_target(name if port == default_port else f"{name}:{port}", default_port)
    return Target(text=text, host=name, port=port, kind=TargetKind.NAME)


def _option_error(reason: str, text: str, detail: str = "") -> InvalidOption:
    problem = TargetProblem(reason, text, detail)
    return InvalidOption(problem_message(problem), problem=problem)


def parse_dns_server(text: str) -> DnsServer:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address -> :class:`DnsServer` (port 53 by default)."""
    stripped = text.strip()
    try:
        host, port, kind = _split_authority(stripped, stripped, 53)
        address = host if kind is TargetKind.IPV6 else str(ipaddress.IPv4Address(host))
    except (InvalidTarget, ValueError):
        raise _option_error("bad_dns_server", text) from None
    return DnsServer(address=address, port=port)


def check_interface_name(name: str) -> str:
    """Return ``name`` if it can be a Linux network interface name, else raise :class:`InvalidOption`."""
    if not _INTERFACE.fullmatch(name) or name in (".", ".."):
        raise _option_error("bad_interface", name)
    return name


def parse_wildcard_pattern(pattern: str) -> str:
    """``*.haiwell.com`` or ``**.haiwell.com`` (the app's spelling) -> the domain ``haiwell.com``."""
    stripped = pattern.strip().lower()
    for prefix in ("**.", "*."):
        if stripped.startswith(prefix):
            try:
                target = parse_target(stripped[len(prefix) :])
            except InvalidTarget:
                break
            if target.kind is TargetKind.NAME and "." in target.host:
                return target.host
            break
    raise _option_error("bad_pattern", pattern)


def probe_host_in_pattern(probe: Target, pattern: str) -> None:
    """Raise :class:`InvalidOption` unless ``probe`` is a concrete name the wildcard ``pattern`` covers."""
    domain = parse_wildcard_pattern(pattern)
    if probe.kind is not TargetKind.NAME or not probe.host.endswith("." + domain):
        raise _option_error("probe_outside_pattern", probe.text, repr(pattern))
