"""parse_target: what technicians type or paste, and everything that must be refused (exit 2, clear message)."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotcard.agent.cli import main
from iotcard.agent.directed import (
    InvalidOption,
    InvalidTarget,
    TargetKind,
    parse_dns_server,
    parse_target,
    parse_wildcard_pattern,
    problem_message,
)
from iotcard.agent.errors import ProbeError


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


VALID = [
    # text, host, port, kind
    ("ecloud.haiwell.com", "ecloud.haiwell.com", 443, TargetKind.NAME),
    ("ecloud.haiwell.com:8883", "ecloud.haiwell.com", 8883, TargetKind.NAME),
    ("  ECloud.Haiwell.COM.  ", "ecloud.haiwell.com", 443, TargetKind.NAME),
    ("https://ecloud.haiwell.com:8443/path?q=1#top", "ecloud.haiwell.com", 8443, TargetKind.NAME),
    ("https://ecloud.haiwell.com/login", "ecloud.haiwell.com", 443, TargetKind.NAME),
    ("http://ecloud.haiwell.com", "ecloud.haiwell.com", 80, TargetKind.NAME),
    ("mqtt://user:secret@broker.haiwell.com", "broker.haiwell.com", 1883, TargetKind.NAME),
    ("MQTTS://broker.haiwell.com", "broker.haiwell.com", 8883, TargetKind.NAME),
    ("47.96.1.2", "47.96.1.2", 443, TargetKind.IPV4),
    ("47.96.1.2:1883", "47.96.1.2", 1883, TargetKind.IPV4),
    ("[2001:db8::1]:443", "2001:db8::1", 443, TargetKind.IPV6),
    ("[2001:DB8:0:0::1]", "2001:db8::1", 443, TargetKind.IPV6),
    ("2001:db8::1", "2001:db8::1", 443, TargetKind.IPV6),
    ("https://[2001:db8::1]:8443/x", "2001:db8::1", 8443, TargetKind.IPV6),
    ("例子.中国", "xn--fsqu00a.xn--fiqs8s", 443, TargetKind.NAME),
    ("http://例子。中国:81/", "xn--fsqu00a.xn--fiqs8s", 81, TargetKind.NAME),
    ("bücher.de", "xn--bcher-kva.de", 443, TargetKind.NAME),
    ("localhost", "localhost", 443, TargetKind.NAME),
    ("a" * 63 + ".com", "a" * 63 + ".com", 443, TargetKind.NAME),
    (".".join(["a" * 61] * 4) + ".c", ".".join(["a" * 61] * 4) + ".c", 443, TargetKind.NAME),  # 253 characters
]


@pytest.mark.parametrize(("text", "host", "port", "kind"), VALID)
def test_valid_targets(text: str, host: str, port: int, kind: TargetKind) -> None:
    target = parse_target(text)
    assert (target.host, target.port, target.kind) == (host, port, kind)
    assert target.text == text


def test_default_port_applies_only_when_the_target_names_none() -> None:
    assert parse_target("ecloud.haiwell.com", default_port=8883).port == 8883
    assert parse_target("ecloud.haiwell.com:1883", default_port=8883).port == 1883
    assert parse_target("tcp://ecloud.haiwell.com", default_port=502).port == 502
    assert str(parse_target("[::1]:80")) == "[::1]:80"


# text, problem reason, a fragment the message must contain
HOSTILE = [
    (";rm -rf /", "bad_characters", "';'"),
    ("$(reboot)", "bad_characters", "'$'"),
    ("`reboot`", "bad_characters", "'`'"),
    ("ecloud.haiwell.com;reboot", "bad_characters", "';'"),
    ("ecloud.haiwell.com|nc", "bad_characters", "'|'"),
    ("a..b", "empty_label", "empty label"),
    (".haiwell.com", "empty_label", "empty label"),
    ("a" * 64 + ".com", "label_too_long", "64 characters"),
    (".".join(["a" * 62] * 4) + ".com", "name_too_long", "at most 253"),
    ("*.haiwell.com", "wildcard", "ecloud.haiwell.com"),
    ("**.haiwell.com", "wildcard", "ecloud.haiwell.com"),
    ("https://*.haiwell.com/", "wildcard", "one level below"),
    ("", "empty", "empty"),
    ("   ", "empty", "empty"),
    ("ecloud haiwell.com", "bad_characters", "' '"),
    ("http://", "bad_url", "no host"),
    ("gopher://ecloud.haiwell.com", "bad_scheme", "'gopher'"),
    ("[::1", "bad_ipv6", "brackets"),
    ("[::1]x", "bad_ipv6", "brackets"),
    ("[not:an:address]:80", "bad_ipv6", "IPv6"),
    ("fe80::1%eth0", "bad_ipv6", "%zone"),
    ("host:99999", "bad_port", "1 to 65535"),
    ("host:0", "bad_port", "(got '0')"),
    ("host:", "bad_port", "got nothing"),
    ("host:http", "bad_port", "1 to 65535"),
    ("host\x00.com", "control_characters", "\\x00"),
    ("ecloud.haiwell.com\n", "control_characters", "control characters"),
    ("999.1.2.3", "bad_ipv4", "IPv4"),
    ("1.2.3", "bad_ipv4", "IPv4"),
    ("-ecloud.haiwell.com", "bad_label", "hyphen"),
    ("ec_loud.haiwell.com", "bad_characters", "'_'"),
    ("ecloud.haiwell.com/path", "bad_characters", "'/'"),
    ("x" * 2000, "too_long", "too long"),
]


@pytest.mark.parametrize(("text", "reason", "fragment"), HOSTILE)
def test_refused_targets(text: str, reason: str, fragment: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(text)
    assert caught.value.code == "invalid_target"
    assert caught.value.problem.reason == reason
    assert fragment in caught.value.message


@pytest.mark.parametrize(("text", "reason", "fragment"), HOSTILE)
def test_cli_refuses_with_exit_2_and_a_clear_message(text: str, reason: str, fragment: str) -> None:
    status, out, _ = run_cli("--lang", "en", "probe", "--json", "--", text)  # "--": a text may start with "-"
    assert status == 2
    [result] = json.loads(out)["results"]
    assert result["target"] == text
    assert result["verdict"] == "invalid_target"
    assert result["reason"] == "invalid_target"
    assert fragment in result["explanation"]
    assert "e.g. ecloud.haiwell.com:443" in result["hint"]
    assert (result["dns"], result["tcp"], result["tls"]) == (None, None, None)


def test_cli_text_output_for_a_refused_target() -> None:
    status, out, _ = run_cli("--lang", "en", "probe", "$(reboot)")
    assert status == 2
    assert "✘ '$(reboot)'  invalid_target" in out
    assert "contains characters that cannot be in a host name: '$', '(', ')'" in out


def test_wildcard_message_explains_the_third_level_rule() -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target("**.haiwell.com")
    message = caught.value.message
    assert "wildcard whitelist pattern, not a host" in message
    assert "one level below 'haiwell.com'" in message
    assert "e.g. ecloud.haiwell.com for *.haiwell.com (a third-level name)" in message
    chinese = problem_message(caught.value.problem, "zh")
    assert "通配白名单规则" in chinese and "ecloud.haiwell.com" in chinese and "三级域名" in chinese


def test_wildcard_refused_in_chinese_from_the_cli() -> None:
    status, out, _ = run_cli("--lang", "zh", "probe", "*.haiwell.com")
    assert status == 2
    assert "目标无效" in out
    assert "*.haiwell.com 用 ecloud.haiwell.com" in out


def test_refused_and_valid_targets_keep_input_order() -> None:
    status, out, _ = run_cli("--lang", "en", "probe", "a..b", "127.0.0.1:0", "--json")
    assert status == 2
    results = json.loads(out)["results"]
    assert [r["target"] for r in results] == ["a..b", "127.0.0.1:0"]
    assert [r["verdict"] for r in results] == ["invalid_target", "invalid_target"]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_parse_target_raises_nothing_but_invalid_target(text: str) -> None:
    try:
        target = parse_target(text)
    except InvalidTarget as exc:
        assert isinstance(exc, ProbeError)
        assert exc.message
        return
    assert target.host.isascii()
    assert 1 <= target.port <= 65535
    assert len(target.host) <= 253
    assert not set(target.host) & set(" ;|&$`'\"<>()\\*\x00\n")


HOSTISH = st.text(alphabet="abcXYZ019-.:[]/*@_例。%", max_size=40)


@settings(max_examples=600, deadline=None)
@given(st.one_of(HOSTISH, st.builds(lambda s, h: s + "://" + h, st.sampled_from(["http", "https", "x"]), HOSTISH)))
def test_host_like_text_parses_or_is_refused(text: str) -> None:
    try:
        target = parse_target(text)
    except InvalidTarget:
        return
    if target.kind is TargetKind.NAME:
        labels = target.host.split(".")
        assert all(1 <= len(label) <= 63 and not label.startswith("-") for label in labels)
        assert "*" not in target.host and "_" not in target.host


@pytest.mark.parametrize(
    ("text", "address", "port"),
    [("223.5.5.5", "223.5.5.5", 53), ("10.0.0.1:5353", "10.0.0.1", 5353), ("[::1]:53", "::1", 53), ("::1", "::1", 53)],
)
def test_dns_server_option(text: str, address: str, port: int) -> None:
    server = parse_dns_server(text)
    assert (server.address, server.port) == (address, port)


@pytest.mark.parametrize("text", ["dns.google", "10.0.0.1:0", "", "1.2.3.4;id", "[::1"])
def test_bad_dns_server_option(text: str) -> None:
    with pytest.raises(InvalidOption) as caught:
        parse_dns_server(text)
    assert "must be an IP address with an optional port" in caught.value.message


def test_wildcard_patterns() -> None:
    assert parse_wildcard_pattern("*.haiwell.com") == "haiwell.com"
    assert parse_wildcard_pattern("**.Haiwell.com") == "haiwell.com"
    for bad in ("haiwell.com", "*.com", "*", "*.$(x).com", "a.*.com"):
        with pytest.raises(InvalidOption):
            parse_wildcard_pattern(bad)
