"""Probes against the loopback network: real dnsmasq, real listeners; verdicts and facts checked value by value."""

from __future__ import annotations

import io
import itertools
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from directed_loopback import IDN_NAME, BlockedListener, Network, OpenListener, StubDns
from iotcard.agent.cli import main
from iotcard.agent.directed import (
    Binding,
    BindMethod,
    DnsStatus,
    ProbeOptions,
    Reason,
    TcpStatus,
    TlsStatus,
    Verdict,
    parse_dns_server,
    parse_target,
    probe_targets,
    probe_texts,
)
from iotcard.agent.directed._dns import resolve
from iotcard.agent.directed._tcp import connect_first

pytestmark = pytest.mark.integration

TIMEOUT = 1.0


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def options(net: Network, **changes: object) -> ProbeOptions:
    base: dict[str, object] = {"dns_servers": (parse_dns_server(net.dns),), "timeout": TIMEOUT}
    base.update(changes)
    return ProbeOptions(**base)  # type: ignore[arg-type]


def test_verdicts_over_the_fixture_network(net: Network, blocked_verified: BlockedListener) -> None:
    texts = [
        f"open.iot.test:{net.open.port}",
        f"closed.iot.test:{net.closed.port}",
        f"blocked.iot.test:{net.blocked.port}",
        "missing.iot.test",
        "txt.iot.test",
        "elsewhere.example",
        f"127.0.0.2:{net.open.port}",
        f"[::1]:{net.open_v6.port}",
        f"https://alias.iot.test:{net.open.port}/login",
        f"{IDN_NAME}:{net.open.port}",
        f"v6only.iot.test:{net.open_v6.port}",
    ]
    status, out, _ = run_cli("--lang", "en", "probe", *texts, "--dns", net.dns, "--timeout", str(TIMEOUT), "--json")
    assert status == 1
    doc = json.loads(out)
    results = doc["results"]
    assert [r["target"] for r in results] == texts
    assert [r["verdict"] for r in results] == [
        "reachable",
        "port_closed",
        "blocked",
        "dns_failed",
        "dns_failed",
        "dns_failed",
        "reachable",
        "reachable",
        "reachable",
        "reachable",
        "reachable",
    ]
    opened, closed, blocked, missing, txt, elsewhere, by_ip, by_v6, alias, idn, v6only = results
    assert opened["dns"] == {
        "status": "ok",
        "server": net.dns,
        "addresses": ["127.0.0.2"],
        "elapsed_ms": opened["dns"]["elapsed_ms"],
    }
    assert opened["tcp"]["status"] == "open" and opened["tcp"]["address"] == "127.0.0.2"
    assert (opened["host"], opened["port"], opened["tls"], opened["hint"]) == (
        "open.iot.test",
        net.open.port,
        None,
        None,
    )
    assert closed["tcp"]["status"] == "refused" and closed["tcp"]["address"] == "127.0.0.3"
    assert closed["explanation"].startswith("the host answered but nothing listens on port")
    assert blocked["tcp"]["status"] == "timeout" and blocked["tcp"]["address"] == "127.0.0.4"
    assert blocked["tcp"]["elapsed_ms"] >= TIMEOUT * 1000 - 50
    assert blocked["explanation"].startswith(f"resolved, but no answer from 127.0.0.4 port {net.blocked.port}")
    assert blocked["hint"] == "ask the card provider to add blocked.iot.test (127.0.0.4) to this card's whitelist"
    assert (missing["dns"]["status"], missing["reason"], missing["tcp"]) == ("nxdomain", "dns_nxdomain", None)
    assert missing["port"] == 443
    assert (txt["dns"]["status"], txt["dns"]["addresses"]) == ("no_answer", [])
    assert (elsewhere["dns"]["status"], elsewhere["dns"]["server"]) == ("refused", net.dns)
    assert by_ip["dns"] is None and by_ip["tcp"]["address"] == "127.0.0.2"
    assert by_v6["host"] == "::1" and by_v6["tcp"]["address"] == "::1"
    assert alias["host"] == "alias.iot.test" and alias["dns"]["addresses"] == ["127.0.0.2"]
    assert idn["host"] == "xn--fsqu00a.iot.test" and idn["dns"]["addresses"] == ["127.0.0.2"]
    assert v6only["dns"]["addresses"] == ["::1"] and v6only["tcp"]["address"] == "::1"
    assert doc["binding"] is None


def test_all_reachable_exits_0_with_text_output(net: Network) -> None:
    status, out, err = run_cli("--lang", "en", "probe", f"open.iot.test:{net.open.port}", "--dns", net.dns)
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == f"✔ open.iot.test:{net.open.port}  reachable"
    assert f"DNS ok {net.dns} → 127.0.0.2" in out
    assert "TCP open 127.0.0.2" in out
    assert out.splitlines()[-1].startswith("1 of 1 reachable, ")


def test_chinese_output(net: Network, blocked_verified: BlockedListener, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    for key in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(key, raising=False)
    target = f"blocked.iot.test:{net.blocked.port}"
    status, out, _ = run_cli("probe", target, "--dns", net.dns, "--timeout", "0.5")
    assert status == 1
    assert f"✘ {target}  不通（疑似不在白名单）" in out
    assert "该地址很可能不在这张卡的定向白名单内" in out
    assert "请卡商把 blocked.iot.test（127.0.0.4）加入这张卡的定向白名单" in out


def test_dns_timeout_when_the_server_is_silent(net: Network, silent_dns: StubDns) -> None:
    [result] = probe_texts(["open.iot.test"], options(net, dns_servers=(parse_dns_server(silent_dns.address),)))
    assert (result.verdict, result.reason) == (Verdict.DNS_FAILED, Reason.DNS_TIMEOUT)
    assert result.dns is not None and result.dns.status is DnsStatus.TIMEOUT and result.dns.server is None
    assert result.dns.elapsed_ms >= TIMEOUT * 1000 - 50
    assert result.tcp is None
    assert len(silent_dns.peers) >= 2  # both attempts were sent


def test_servfail(net: Network, servfail_dns: StubDns) -> None:
    [result] = probe_texts(["open.iot.test"], options(net, dns_servers=(parse_dns_server(servfail_dns.address),)))
    assert (result.verdict, result.reason) == (Verdict.DNS_FAILED, Reason.DNS_SERVFAIL)
    assert result.dns is not None and result.dns.server == servfail_dns.address


def test_next_server_answers_when_the_first_is_silent(net: Network, silent_dns: StubDns) -> None:
    servers = (parse_dns_server(silent_dns.address), parse_dns_server(net.dns))
    [result] = probe_texts([f"open.iot.test:{net.open.port}"], options(net, dns_servers=servers))
    assert result.verdict is Verdict.REACHABLE
    assert result.dns is not None and result.dns.server == net.dns


def test_refusing_server_then_a_good_one(net: Network, servfail_dns: StubDns) -> None:
    servers = (parse_dns_server(servfail_dns.address), parse_dns_server(net.dns))
    [result] = probe_texts([f"dual.iot.test:{net.open.port}"], options(net, dns_servers=servers))
    assert result.dns is not None
    assert (result.dns.status, result.dns.server) == (DnsStatus.OK, net.dns)
    assert result.dns.addresses == ("127.0.0.2", "::1")


def test_every_address_is_tried_and_the_open_one_wins(net: Network, blocked_verified: BlockedListener) -> None:
    # half.iot.test: A 127.0.0.4 (dropped), AAAA ::1 (open on the same port number as the v6 listener)
    [result] = probe_texts([f"half.iot.test:{net.open_v6.port}"], options(net, stagger=0.05))
    assert result.verdict is Verdict.REACHABLE
    assert result.tcp is not None and result.tcp.address == "::1"
    attempts = {a.address: a.status for a in result.tcp.attempts}
    assert attempts["::1"] is TcpStatus.OPEN
    assert attempts["127.0.0.4"] in (TcpStatus.CANCELLED, TcpStatus.REFUSED)


def test_refused_beats_timeout_when_no_address_opens(blocked_verified: BlockedListener) -> None:
    # Same port: dropped at 127.0.0.4 (the full queue), refused at 127.0.0.3 (nothing listens there).
    result, sock = connect_first(
        ["127.0.0.4", "127.0.0.3"],
        blocked_verified.port,
        timeout=0.5,
        stagger=0.05,
        binding=Binding(),
        clock=time.monotonic,
    )
    assert sock is None
    assert (result.status, result.address) == (TcpStatus.REFUSED, "127.0.0.3")
    assert [(a.address, a.status) for a in result.attempts] == [
        ("127.0.0.4", TcpStatus.TIMEOUT),
        ("127.0.0.3", TcpStatus.REFUSED),
    ]


def test_targets_run_concurrently(net: Network, blocked_verified: BlockedListener) -> None:
    targets = [parse_target(f"blocked.iot.test:{net.blocked.port}") for _ in range(8)]
    started = time.monotonic()
    results = probe_targets(targets, options(net))
    wall = time.monotonic() - started
    assert [r.verdict for r in results] == [Verdict.BLOCKED] * 8
    # Eight one-second timeouts one after another would take 8 s.
    assert wall < 8 * TIMEOUT / 2


def test_deadlines_follow_the_injected_clock(net: Network, blocked_verified: BlockedListener) -> None:
    ticks = itertools.count(step=5.0)
    lock = threading.Lock()

    def clock() -> float:
        with lock:
            return next(ticks)

    started = time.monotonic()
    [result] = probe_texts(
        [f"blocked.iot.test:{net.blocked.port}"],
        options(net, timeout=60.0, dns_attempts=1, clock=clock, dns_servers=(parse_dns_server(net.dns),)),
    )
    # A 60 s timeout on the fake clock passes after a dozen readings, not 60 real seconds.
    assert time.monotonic() - started < 20
    assert result.dns is not None and result.dns.status is DnsStatus.OK
    assert result.tcp is not None and result.tcp.status is TcpStatus.TIMEOUT


@pytest.fixture
def tls_net(net: Network) -> Network:
    if net.tls is None or net.cert is None:
        pytest.skip("openssl is not installed: no certificate for the TLS listener")
    return net


def test_tls_self_signed_fails_verification(tls_net: Network) -> None:
    assert tls_net.tls is not None
    target = f"tls.iot.test:{tls_net.tls.port}"
    status, out, _ = run_cli("--lang", "en", "probe", target, "--dns", tls_net.dns, "--tls", "--json")
    assert status == 1
    [result] = json.loads(out)["results"]
    assert (result["verdict"], result["reason"]) == ("tls_failed", "tls_verify")
    assert result["tcp"]["status"] == "open"
    assert result["tls"]["status"] == "verify_failed"
    assert "self-signed certificate" in result["tls"]["verify_error"]
    assert result["tls"]["server_name"] == "tls.iot.test"
    assert "tls.iot.test" in tls_net.tls.server_names  # SNI was sent


def test_tls_verified_with_the_ca_file(tls_net: Network) -> None:
    assert tls_net.tls is not None and tls_net.cert is not None
    target = f"tls.iot.test:{tls_net.tls.port}"
    status, out, _ = run_cli(
        "--lang", "en", "probe", target, "--dns", tls_net.dns, "--ca-file", str(tls_net.cert), "--json"
    )
    assert status == 0
    [result] = json.loads(out)["results"]
    assert (result["verdict"], result["reason"]) == ("reachable", "reachable_tls")
    assert result["tls"]["status"] == "ok"
    assert result["tls"]["protocol"] in ("TLSv1.2", "TLSv1.3")
    assert result["tls"]["verify_error"] is None
    assert result["explanation"].startswith(f"connected and the TLS handshake succeeded ({result['tls']['protocol']})")


def test_tls_wrong_name_fails_verification(tls_net: Network) -> None:
    assert tls_net.tls is not None and tls_net.cert is not None
    # The certificate names tls.iot.test and 127.0.0.1, not 127.0.0.5.
    [result] = probe_texts([f"127.0.0.5:{tls_net.tls.port}"], options(tls_net, tls=True, ca_file=str(tls_net.cert)))
    assert result.verdict is Verdict.TLS_FAILED
    assert result.tls is not None and result.tls.status is TlsStatus.VERIFY_FAILED
    assert "IP address mismatch" in (result.tls.verify_error or "")


def test_tls_on_a_plain_port_fails_the_handshake(net: Network) -> None:
    [result] = probe_texts([f"open.iot.test:{net.open.port}"], options(net, tls=True))
    assert (result.verdict, result.reason) == (Verdict.TLS_FAILED, Reason.TLS_HANDSHAKE)
    assert result.tls is not None and result.tls.status is TlsStatus.HANDSHAKE_FAILED and result.tls.error


def test_bind_to_lo(net: Network) -> None:
    status, out, _ = run_cli(
        "--lang", "en", "probe", f"open.iot.test:{net.open.port}", "--dns", net.dns, "--interface", "lo", "--json"
    )
    assert status == 0
    doc = json.loads(out)
    assert doc["results"][0]["verdict"] == "reachable"
    assert doc["binding"]["interface"] == "lo"
    if os.geteuid() == 0:
        assert doc["binding"]["method"] == "device"
        assert "SO_BINDTODEVICE" in doc["binding"]["note"]


def test_bind_to_the_source_address_when_device_binding_is_not_used(net: Network) -> None:
    [result] = probe_targets(
        [parse_target(f"dual.iot.test:{net.open.port}")],
        options(net, interface="lo", bind_method=BindMethod.SOURCE_ADDRESS),
    )
    assert result.verdict is Verdict.REACHABLE
    assert result.binding.method is BindMethod.SOURCE_ADDRESS
    assert (result.binding.source_v4, result.binding.source_v6) == ("127.0.0.1", "::1")
    assert "routing table decides the way out" in result.binding.note


def test_source_binding_reaches_the_wire(net: Network, servfail_dns: StubDns) -> None:
    binding = Binding(interface="lo", method=BindMethod.SOURCE_ADDRESS, source_v4="127.0.0.9")
    listener = OpenListener("127.0.0.2")
    try:
        result, sock = connect_first(
            ["127.0.0.2"], listener.port, timeout=1.0, stagger=0.1, binding=binding, clock=time.monotonic
        )
        assert result.status is TcpStatus.OPEN and sock is not None
        sock.close()
        deadline = time.monotonic() + 5
        while not listener.peers and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert listener.peers == ["127.0.0.9"]
    finally:
        listener.close()
    before = len(servfail_dns.peers)
    dns_result = resolve(
        "open.iot.test",
        [parse_dns_server(servfail_dns.address)],
        timeout=1.0,
        attempts=1,
        binding=binding,
        clock=time.monotonic,
    )
    assert dns_result.status is DnsStatus.SERVFAIL
    assert servfail_dns.peers[before:] == ["127.0.0.9", "127.0.0.9"]  # A and AAAA from the bound source


def test_device_binding_is_set_on_the_socket() -> None:
    from iotcard.agent.directed._bind import apply_binding

    binding = Binding(interface="lo", method=BindMethod.DEVICE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            apply_binding(sock, binding, socket.AF_INET)
        except PermissionError:
            pytest.skip("SO_BINDTODEVICE needs CAP_NET_RAW on this kernel")
        bound = sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16)
    assert bound.rstrip(b"\x00") == b"lo"


def test_missing_interface_is_said_plainly(net: Network) -> None:
    status, _, err = run_cli("--lang", "en", "probe", "open.iot.test", "--dns", net.dns, "--interface", "nosuch0")
    assert status == 2
    assert "iotcard: error: there is no network interface 'nosuch0' on this device" in err
    assert "ip link" in err


def test_bad_interface_name(net: Network) -> None:
    status, out, _ = run_cli("probe", "open.iot.test", "--dns", net.dns, "--interface", "wwan0;id", "--json")
    assert status == 2
    assert json.loads(out)["error"]["code"] == "invalid_option"


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--port", "0"], "invalid_option", "--port must be from 1 to 65535"),
        (["--timeout", "0"], "invalid_option", "--timeout must be above 0"),
        (["--timeout", "nan"], "invalid_option", "--timeout must be above 0"),
        (["--dns", "dns.google"], "invalid_option", "must be an IP address"),
        (["--ca-file", "/nonexistent/ca.pem"], "invalid_option", "does not exist"),
    ],
)
def test_bad_options_exit_2(args: list[str], code: str, fragment: str) -> None:
    status, out, _ = run_cli("--lang", "en", "probe", "open.iot.test", *args, "--json")
    assert status == 2
    error = json.loads(out)["error"]
    assert error["code"] == code and fragment in error["message"]


def test_no_target_exit_2() -> None:
    status, _, err = run_cli("--lang", "en", "probe")
    assert status == 2
    assert "no target given" in err


def test_probe_the_config_targets(net: Network, tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        "[directed]\n"
        f'dns = ["{net.dns}"]\n'
        f"port = {net.open.port}\n"
        "timeout = 1.0\n"
        "targets = [\n"
        '  "open.iot.test",\n'
        f'  "closed.iot.test:{net.closed.port}",\n'
        '  { pattern = "*.iot.test", probe = "alias.iot.test" },\n'
        f'  {{ pattern = "**.iot.test", probe = "dual.iot.test", port = {net.open.port} }},\n'
        "]\n",
        encoding="utf-8",
    )
    status, out, _ = run_cli("--lang", "en", "probe", "--config", str(config), "--json")
    assert status == 1
    results = json.loads(out)["results"]
    assert [(r["target"], r["port"], r["verdict"]) for r in results] == [
        ("open.iot.test", net.open.port, "reachable"),
        (f"closed.iot.test:{net.closed.port}", net.closed.port, "port_closed"),
        ("alias.iot.test", net.open.port, "reachable"),
        ("dual.iot.test", net.open.port, "reachable"),
    ]


def test_config_with_a_wildcard_string_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[directed]\ntargets = ["*.haiwell.com"]\n', encoding="utf-8")
    status, _, err = run_cli("--lang", "en", "probe", "--config", str(config))
    assert status == 2
    assert f"{config}: 'directed.targets'" in err
    assert 'write {pattern = "*.haiwell.com", probe = "ecloud.haiwell.com"}' in err


def test_local_stub_resolver_cannot_be_asked_through_another_interface(net: Network) -> None:
    others = [name for _, name in socket.if_nameindex() if name != "lo"]
    if not others:
        pytest.skip("no interface besides lo on this machine")
    # Refused before anything is sent: a 127.0.0.x resolver is never reached through a cellular interface.
    status, _, err = run_cli("--lang", "en", "probe", "open.iot.test", "--dns", net.dns, "--interface", others[0])
    assert status == 2
    assert f"the DNS server {net.dns} is a resolver on this device; it cannot be asked through {others[0]}" in err
