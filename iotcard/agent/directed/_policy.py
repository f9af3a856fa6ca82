"""Which addresses a probe asked for by the cloud may reach: public ones only, unless the local config says so.

A ``probe`` command (or cloud-set directed targets) makes the device open TCP connections to addresses someone
else chose. Without a filter that is a port scanner for the device's LAN and loopback (the PLC, the HMI's own
services, 169.254.169.254). The filter runs on every address before a socket is made: IP literals before
anything is sent, names after DNS and before the connection.
"""

from __future__ import annotations

import ipaddress

__all__ = ["refused_address"]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def refused_address(address: str) -> str | None:
    """Why ``address`` is not public (``loopback``, ``link_local``, ``multicast``, ``private``, ``cgnat``,
    ``unspecified``, ``reserved``, ``not_an_address``), or None for a global unicast address."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not_an_address"
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address carried inside IPv6 is judged as that IPv4 address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "cgnat"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None
