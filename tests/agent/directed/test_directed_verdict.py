"""The verdict is a pure function of the facts; explanations and hints in English and Chinese."""

from __future__ import annotations

import pytest

from iotcard.agent.directed import (
    DnsResult,
    DnsStatus,
    ProbeResult,
    Reason,
    TcpResult,
    TcpStatus,
    TlsResult,
    TlsStatus,
    Verdict,
    explain,
    judge,
    parse_target,
)
from iotcard.agent.directed._messages import REASON_TEXT

DNS_OK = DnsResult(DnsStatus.OK, "10.0.0.1:53", ("47.96.1.2",), 12)


def tcp(status: TcpStatus, error: str | None = None) -> TcpResult:
    return TcpResult(status, "47.96.1.2", 40, (), error)


def tls(status: TlsStatus, verify_error: str | None = None) -> TlsResult:
    protocol = "TLSv1.3" if status is TlsStatus.OK else None
    return TlsResult(status, protocol, None, verify_error, verify_error, "ecloud.haiwell.com", 5)


@pytest.mark.parametrize(
    ("dns", "tcp_result", "tls_result", "verdict", "reason"),
    [
        (DNS_OK, tcp(TcpStatus.OPEN), None, Verdict.REACHABLE, Reason.REACHABLE),
        (None, tcp(TcpStatus.OPEN), None, Verdict.REACHABLE, Reason.REACHABLE),
        (DNS_OK, tcp(TcpStatus.OPEN), tls(TlsStatus.OK), Verdict.REACHABLE, Reason.REACHABLE_TLS),
        (DnsResult(DnsStatus.NXDOMAIN, "s", (), 1), None, None, Verdict.DNS_FAILED, Reason.DNS_NXDOMAIN),
        (DnsResult(DnsStatus.NO_ANSWER, "s", (), 1), None, None, Verdict.DNS_FAILED, Reason.DNS_NO_ANSWER),
        (DnsResult(DnsStatus.SERVFAIL, "s", (), 1), None, None, Verdict.DNS_FAILED, Reason.DNS_SERVFAIL),
        (DnsResult(DnsStatus.REFUSED, "s", (), 1), None, None, Verdict.DNS_FAILED, Reason.DNS_REFUSED),
        (DnsResult(DnsStatus.TIMEOUT, None, (), 1), None, None, Verdict.DNS_FAILED, Reason.DNS_TIMEOUT),
        (DNS_OK, tcp(TcpStatus.TIMEOUT), None, Verdict.BLOCKED, Reason.TCP_TIMEOUT),
        (DNS_OK, tcp(TcpStatus.UNREACHABLE), None, Verdict.BLOCKED, Reason.TCP_UNREACHABLE),
        (DNS_OK, tcp(TcpStatus.REFUSED), None, Verdict.PORT_CLOSED, Reason.TCP_REFUSED),
        (DNS_OK, tcp(TcpStatus.OPEN), tls(TlsStatus.VERIFY_FAILED, "x"), Verdict.TLS_FAILED, Reason.TLS_VERIFY),
        (DNS_OK, tcp(TcpStatus.OPEN), tls(TlsStatus.HANDSHAKE_FAILED), Verdict.TLS_FAILED, Reason.TLS_HANDSHAKE),
        (DNS_OK, tcp(TcpStatus.OPEN), tls(TlsStatus.TIMEOUT), Verdict.TLS_FAILED, Reason.TLS_TIMEOUT),
    ],
)
def test_judge(
    dns: DnsResult | None, tcp_result: TcpResult | None, tls_result: TlsResult | None, verdict: Verdict, reason: Reason
) -> None:
    assert judge(dns, tcp_result, tls_result) == (verdict, reason)


def test_judge_needs_tcp_after_a_successful_lookup() -> None:
    with pytest.raises(ValueError, match="TCP result"):
        judge(DNS_OK, None, None)


def result(dns: DnsResult | None, tcp_result: TcpResult | None, tls_result: TlsResult | None = None) -> ProbeResult:
    target = parse_target("ecloud.haiwell.com:8883")
    verdict, reason = judge(dns, tcp_result, tls_result)
    return ProbeResult(target.text, target, verdict, reason, dns=dns, tcp=tcp_result, tls=tls_result)


def test_blocked_explanation_and_hint() -> None:
    explanation, hint = explain(result(DNS_OK, tcp(TcpStatus.TIMEOUT)), "en")
    assert explanation.startswith("resolved, but no answer from 47.96.1.2 port 8883")
    assert "probably not in this card's directed whitelist" in explanation
    assert hint == "ask the card provider to add ecloud.haiwell.com (47.96.1.2) to this card's whitelist"
    explanation_zh, hint_zh = explain(result(DNS_OK, tcp(TcpStatus.TIMEOUT)), "zh")
    assert "白名单" in explanation_zh and "ecloud.haiwell.com" in (hint_zh or "")


def test_blocked_ip_target_does_not_claim_a_lookup() -> None:
    target = parse_target("47.96.1.2:1883")
    probe = ProbeResult(target.text, target, Verdict.BLOCKED, Reason.TCP_TIMEOUT, tcp=tcp(TcpStatus.TIMEOUT))
    explanation, hint = explain(probe, "en")
    assert explanation.startswith("no answer from 47.96.1.2 port 1883")
    assert hint == "ask the card provider to add 47.96.1.2 to this card's whitelist"


def test_port_closed_explanation() -> None:
    explanation, hint = explain(result(DNS_OK, tcp(TcpStatus.REFUSED)), "en")
    assert explanation == (
        "the host answered but nothing listens on port 8883: the whitelist lets it through, check the service"
    )
    assert hint is not None and "listens on port 8883 at 47.96.1.2" in hint
    assert explain(result(DNS_OK, tcp(TcpStatus.REFUSED)), "zh")[0].startswith("主机有回应，但 8883 端口没有服务在监听")


def test_unreachable_names_the_error() -> None:
    explanation, _ = explain(result(DNS_OK, tcp(TcpStatus.UNREACHABLE, "No route to host")), "en")
    assert "47.96.1.2 is unreachable over this link (No route to host)" in explanation


def test_dns_timeout_says_dns_may_not_be_whitelisted() -> None:
    explanation, hint = explain(result(DnsResult(DnsStatus.TIMEOUT, None, (), 3000), None), "en")
    assert "DNS itself may not be in the whitelist" in explanation
    assert hint is not None and "carrier's DNS" in hint


def test_tls_verify_failure_names_the_error() -> None:
    probe = result(DNS_OK, tcp(TcpStatus.OPEN), tls(TlsStatus.VERIFY_FAILED, "certificate has expired"))
    explanation, _ = explain(probe, "en")
    assert explanation == "connected, but the server's certificate failed verification: certificate has expired"


def test_reachable_has_no_hint() -> None:
    explanation, hint = explain(result(DNS_OK, tcp(TcpStatus.OPEN)), "en")
    assert explanation == "resolved and connected: this card's whitelist lets ecloud.haiwell.com port 8883 through"
    assert hint is None


@pytest.mark.parametrize("reason", [reason for reason in Reason if reason is not Reason.INVALID_TARGET])
def test_every_reason_has_both_languages(reason: Reason) -> None:
    assert set(REASON_TEXT[reason]) == {"en", "zh"}
    for lang in ("en", "zh"):
        explanation, _ = REASON_TEXT[reason][lang]
        assert explanation
