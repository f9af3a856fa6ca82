"""``iotcard probe``: directed query (定向查询) — does this card's path reach each target, and if not, why?"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from .._context import EXIT_FAIL, EXIT_OK, EXIT_USAGE, Context
from ..config import DirectedConfig, load_config
from ..directed import (
    BindingError,
    DnsServer,
    InvalidOption,
    InvalidTarget,
    ProbeOptions,
    ProbeResult,
    Target,
    Verdict,
    check_interface_name,
    describe_binding,
    explain,
    parse_dns_server,
    parse_target,
    probe_out,
    probe_targets,
    refused_result,
)
from ..messages import render

ORDER = 20

_MAX_TIMEOUT = 60.0
_EPILOG = """\
verdicts: reachable, dns_failed, blocked (resolved but no answer: probably not in the whitelist), port_closed
(the host answered, nothing listens), tls_failed, invalid_target.
exit: 0 all reachable, 1 any not reachable, 2 invalid target or option.

A wildcard whitelist entry (*.haiwell.com, **.haiwell.com) is not a host: probe a concrete name one level below,
e.g. ecloud.haiwell.com. Targets are never passed to a shell.

examples:
  iotcard probe ecloud.haiwell.com
  iotcard probe https://ecloud.haiwell.com:8443/login 47.96.1.2:1883 --interface wwan0 --dns 211.136.17.107
  iotcard probe --config /etc/iotcard/agent.toml --json
"""


def register(sub: Any) -> None:
    probe = sub.add_parser(
        "probe",
        help="directed query: can this card reach these hosts, and if not, why",
        description="Resolve each target over the card's DNS, connect to it (optionally TLS and ping) and say "
        "whether it is reachable, and if not whether DNS fails, the whitelist drops it, the port is closed or "
        "TLS fails. All targets are probed at once.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    probe.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="host, host:port, IP, [IPv6]:port or URL (default: the config's [directed] targets)",
    )
    probe.add_argument(
        "--dns",
        action="append",
        default=[],
        metavar="IP[:PORT]",
        help="DNS server to ask (repeatable; default: the config's, else the system's)",
    )
    probe.add_argument("--interface", metavar="IF", help="bind the probes to this interface, e.g. wwan0")
    probe.add_argument("--port", type=int, help="port for targets that do not name one (default 443)")
    probe.add_argument("--timeout", type=float, help="seconds for each phase: DNS, TCP, TLS (default 3)")
    probe.add_argument("--tls", action="store_true", help="also run a TLS handshake and verify the certificate")
    probe.add_argument("--ca-file", metavar="PATH", help="trust only the CA certificates in this PEM file (--tls)")
    probe.add_argument("--icmp", action="store_true", help="also ping each address once (system ping)")
    probe.add_argument("--config", metavar="PATH", help="agent config whose [directed] section gives defaults")
    probe.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    probe.set_defaults(handler=run_probe)


def _usage(ctx: Context, code: str, message: str, hint: str | None) -> int:
    return ctx.fail(code, message, hint, EXIT_USAGE)


def _options(args: argparse.Namespace, ctx: Context, directed: DirectedConfig) -> ProbeOptions | int:
    timeout = directed.timeout if args.timeout is None else args.timeout
    if not (math.isfinite(timeout) and 0 < timeout <= _MAX_TIMEOUT):
        return _usage(ctx, "invalid_option", f"--timeout must be above 0 and at most {_MAX_TIMEOUT:g} s", None)
    try:
        servers: tuple[DnsServer, ...] = tuple(parse_dns_server(text) for text in (args.dns or directed.dns))
        interface = args.interface or directed.interface
        if interface is not None:
            check_interface_name(interface)
    except InvalidOption as exc:
        return _usage(ctx, exc.code, exc.message, "e.g. --dns 223.5.5.5 --dns 10.0.0.1:53 --interface wwan0")
    if args.ca_file and not Path(args.ca_file).is_file():
        return _usage(ctx, "invalid_option", f"the CA file {args.ca_file} does not exist", "give a PEM file")
    return ProbeOptions(
        dns_servers=servers,
        interface=interface,
        timeout=timeout,
        tls=bool(args.tls or directed.tls or args.ca_file),
        ca_file=args.ca_file,
        icmp=bool(args.icmp),
    )


def _entries(args: argparse.Namespace, directed: DirectedConfig) -> list[tuple[str, int | None]]:
    if args.targets:
        return [(text, None) for text in args.targets]
    return directed.probe_entries()


def run_probe(args: argparse.Namespace, ctx: Context) -> int:
    directed = load_config(args.config).directed if args.config else DirectedConfig()
    if args.port is not None and not 1 <= args.port <= 65535:
        return _usage(ctx, "invalid_option", f"--port must be from 1 to 65535 (got {args.port})", None)
    entries = _entries(args, directed)
    if not entries:
        where = f"{args.config} has no [directed] targets" if args.config else "no target given"
        return _usage(ctx, "no_target", where, "e.g. iotcard probe ecloud.haiwell.com, or --config PATH")
    options = _options(args, ctx, directed)
    if isinstance(options, int):
        return options
    default_port = args.port or directed.port
    parsed: list[Target | ProbeResult] = []
    for text, own_port in entries:
        try:
            parsed.append(parse_target(text, own_port or default_port))
        except InvalidTarget as exc:
            parsed.append(refused_result(text, exc))
    started = time.monotonic()
    try:
        probed = iter(probe_targets([item for item in parsed if isinstance(item, Target)], options))
    except BindingError as exc:
        return _usage(ctx, exc.code, exc.message, exc.hint)
    except InvalidOption as exc:
        return _usage(ctx, exc.code, exc.message, None)
    results = [item if isinstance(item, ProbeResult) else next(probed) for item in parsed]
    elapsed_ms = round((time.monotonic() - started) * 1000)
    if ctx.json:
        ctx.out.write(probe_out(results, ctx.lang, elapsed_ms).to_json(indent=2) + "\n")
    else:
        ctx.out.write(render_probe(results, ctx.lang, elapsed_ms))
    if any(result.verdict is Verdict.INVALID_TARGET for result in results):
        return EXIT_USAGE
    return EXIT_OK if all(result.verdict is Verdict.REACHABLE for result in results) else EXIT_FAIL


def _facts(result: ProbeResult, lang: str) -> str:
    parts = []
    if result.dns is not None:
        dns = result.dns
        found = " → " + ", ".join(dns.addresses) if dns.addresses else ""
        parts.append(f"DNS {dns.status.value} {dns.server or '-'}{found} ({dns.elapsed_ms} ms)")
    if result.tcp is not None:
        tcp = result.tcp
        parts.append(f"TCP {tcp.status.value} {tcp.address or '-'} ({tcp.elapsed_ms} ms)")
    if result.tls is not None:
        tls = result.tls
        said = tls.protocol or tls.verify_error or tls.error or ""
        parts.append(f"TLS {tls.status.value} {said} ({tls.elapsed_ms} ms)")
    if result.icmp is not None:
        icmp = result.icmp
        rtt = f" {icmp.rtt_ms:g} ms" if icmp.rtt_ms is not None else ""
        parts.append(f"ping {icmp.status.value}{rtt}")
    return " · ".join(parts)


def render_probe(results: list[ProbeResult], lang: str, elapsed_ms: int) -> str:
    lines: list[str] = []
    binding = next((r.binding for r in results if r.target is not None and r.binding.interface), None)
    if binding is not None:
        lines.append(render("directed.interface", lang, binding=describe_binding(binding, lang)))
    for result in results:
        mark = "✔" if result.verdict is Verdict.REACHABLE else "✘"
        name = str(result.target) if result.target else repr(result.text)
        verdict = render(f"directed.verdict.{result.verdict.value}", lang)
        lines.append(f"{mark} {name}  {verdict}")
        facts = _facts(result, lang)
        if facts:
            lines.append(f"    {facts}")
        explanation, hint = explain(result, lang)
        lines.append(f"    {explanation}")
        if hint:
            lines.append(f"    → {hint}")
    reachable = sum(result.verdict is Verdict.REACHABLE for result in results)
    lines.append(render("directed.summary", lang, reachable=reachable, total=len(results), elapsed_ms=elapsed_ms))
    return "\n".join(lines) + "\n"
