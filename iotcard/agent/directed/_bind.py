"""Tying probe sockets to the cellular interface, so a gateway with Ethernet or Wi-Fi still tests the SIM's path.

``SO_BINDTODEVICE`` sends every packet out of the interface (root or CAP_NET_RAW on kernels before 5.7). Where it
is not allowed, the socket is bound to the interface's own address: the reply comes back to the card's address,
but the routing table picks the way out unless a source rule sends that address through the interface.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import json
import socket
import struct
import subprocess
from typing import Any

from ._model import Binding, BindingError, BindMethod, DnsServer
from ._targets import check_interface_name

__all__ = ["apply_binding", "check_servers_bindable", "interface_addresses", "plan_binding"]

_SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)  # 25 on Linux (asm-generic/socket.h)
_SIOCGIFADDR = 0x8915  # linux/sockios.h
_INTERFACES_HINT = "list the interfaces with 'ip link'; the cellular one is often wwan0, usb0, eth1 or ppp0"


def _device_binding_allowed(interface: str) -> str | None:
    """None when SO_BINDTODEVICE works here, else why not."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, interface.encode())
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _ip_json(interface: str) -> list[Any]:
    # Argument list, no shell: the interface name was checked, and is never interpreted anyway.
    completed = subprocess.run(
        ["ip", "-j", "addr", "show", "dev", interface], capture_output=True, text=True, timeout=5, check=False
    )
    if completed.returncode != 0:
        return []
    data = json.loads(completed.stdout or "[]")
    return data if isinstance(data, list) else []


def _ioctl_ipv4(interface: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def interface_addresses(interface: str) -> tuple[str | None, str | None]:
    """The interface's IPv4 and IPv6 source addresses (global scope preferred; link-local IPv6 is skipped)."""
    try:
        entries = _ip_json(interface)
    except (OSError, subprocess.SubprocessError, ValueError):
        entries = []
    found: dict[str, list[tuple[bool, str]]] = {"inet": [], "inet6": []}
    for entry in entries:
        infos = entry.get("addr_info", [])
        for info in infos if isinstance(infos, list) else []:
            family, local, scope = info.get("family"), info.get("local"), info.get("scope")
            if family in found and isinstance(local, str):
                if family == "inet6" and ipaddress.IPv6Address(local).is_link_local:
                    continue
                found[family].append((scope != "global", local))
    v4 = min(found["inet"])[1] if found["inet"] else None
    v6 = min(found["inet6"])[1] if found["inet6"] else None
    if v4 is None and not entries:
        v4 = _ioctl_ipv4(interface)  # no usable `ip` command: ask the kernel directly (IPv4 only)
    return v4, v6


def plan_binding(interface: str | None, method: BindMethod | None = None) -> Binding:
    """Decide how to bind probe sockets to ``interface``; raise :class:`BindingError` when it cannot be done.

    ``method`` None tries SO_BINDTODEVICE and falls back to the interface's source address.
    """
    if interface is None or method is BindMethod.NONE:
        return Binding()
    check_interface_name(interface)
    try:
        socket.if_nametoindex(interface)
    except OSError:
        raise BindingError(
            f"there is no network interface '{interface}' on this device", interface=interface, hint=_INTERFACES_HINT
        ) from None
    refusal = None
    if method in (None, BindMethod.DEVICE):
        refusal = _device_binding_allowed(interface)
        if refusal is None:
            return Binding(
                interface=interface,
                method=BindMethod.DEVICE,
                note=f"bound to {interface} with SO_BINDTODEVICE: every probe leaves through {interface}",
            )
        if method is BindMethod.DEVICE:
            raise BindingError(
                f"cannot bind to {interface} with SO_BINDTODEVICE: {refusal}",
                interface=interface,
                hint="run as root (or with CAP_NET_RAW)",
            )
    v4, v6 = interface_addresses(interface)
    if v4 is None and v6 is None:
        why = f"SO_BINDTODEVICE is not allowed ({refusal}) and " if refusal else ""
        raise BindingError(
            f"cannot send the probes through {interface}: {why}{interface} has no IP address",
            interface=interface,
            hint="bring the data connection up first (iotcard info shows the IP address), or run as root",
        )
    sources = " and ".join(address for address in (v4, v6) if address)
    why = f" (SO_BINDTODEVICE not allowed: {refusal})" if refusal else ""
    return Binding(
        interface=interface,
        method=BindMethod.SOURCE_ADDRESS,
        source_v4=v4,
        source_v6=v6,
        note=f"bound to {interface}'s address {sources}{why}: replies come back over {interface}, but the routing "
        f"table decides the way out unless a source rule sends that address through {interface}",
    )


def apply_binding(sock: socket.socket, binding: Binding, family: socket.AddressFamily) -> None:
    """Bind ``sock`` (not yet connected) as ``binding`` says; OSError(EADDRNOTAVAIL) when the family has no source."""
    if binding.method is BindMethod.DEVICE and binding.interface:
        sock.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, binding.interface.encode())
    elif binding.method is BindMethod.SOURCE_ADDRESS:
        source = binding.source_v6 if family == socket.AF_INET6 else binding.source_v4
        if source is None:
            kind = "IPv6" if family == socket.AF_INET6 else "IPv4"
            raise OSError(errno.EADDRNOTAVAIL, f"{binding.interface} has no {kind} address to send from")
        sock.bind((source, 0))


def check_servers_bindable(servers: tuple[DnsServer, ...], binding: Binding) -> None:
    """Raise :class:`BindingError` for a DNS server the bound sockets cannot reach: a local stub resolver
    (127.0.0.53) through another interface, or a family the interface has no source address for."""
    if binding.interface is None or binding.method is BindMethod.NONE:
        return
    for server in servers:
        if binding.interface != "lo" and ipaddress.ip_address(server.address).is_loopback:
            raise BindingError(
                f"the DNS server {server} is a resolver on this device; it cannot be asked through {binding.interface}",
                interface=binding.interface,
                hint="give the carrier's DNS servers with --dns (the data connection's DNS, e.g. from iotcard info)",
            )
        if binding.method is not BindMethod.SOURCE_ADDRESS:
            continue
        source = binding.source_v6 if server.family_v6 else binding.source_v4
        if source is None:
            kind = "IPv6" if server.family_v6 else "IPv4"
            raise BindingError(
                f"cannot query the DNS server {server} through {binding.interface}: it has no {kind} address",
                interface=binding.interface,
                hint=f"give a DNS server of the family {binding.interface} has (--dns)",
            )
