"""The probes' DNS messages (iotcard.agent.directed._dnswire) against dnspython, which the tests keep as the oracle:
queries dnspython reads as asked, responses read as dnspython reads them, and anything mangled refused with
DnsWireError only (hypothesis)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotcard.agent.directed import Binding, DnsServer, DnsStatus
from iotcard.agent.directed._dns import resolve, system_dns_servers
from iotcard.agent.directed._dnswire import (
    AAAA,
    A,
    DnsWireError,
    Query,
    Response,
    make_query,
    parse_response,
)

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20).filter(
    lambda label: not label.startswith("-") and not label.endswith("-")
)
NAME = st.lists(LABEL, min_size=1, max_size=5).map(".".join)
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(str)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def oracle_addresses(wire: bytes, rdtype: int) -> tuple[int, tuple[IPAddress, ...]]:
    """The code and the addresses as dnspython reads them (as address values: dnspython writes an IPv4-mapped
    IPv6 address with a dotted tail, ``ipaddress`` in hex; the probes connect to the same address either way)."""
    message = dns.message.from_wire(wire)
    addresses = tuple(
        ipaddress.ip_address(str(rdata)) for rrset in message.answer if rrset.rdtype == rdtype for rdata in rrset
    )
    return message.rcode(), addresses


def read(response: Response, rdtype: int) -> tuple[int, tuple[IPAddress, ...]]:
    return response.rcode, tuple(ipaddress.ip_address(text) for text in response.addresses(rdtype))


@pytest.mark.parametrize("rdtype", [A, AAAA])
def test_a_query_is_what_dnspython_reads_as_the_question(rdtype: int) -> None:
    query = make_query("Ecloud.Haiwell.com.", rdtype)
    message = dns.message.from_wire(query.to_wire())
    assert message.id == query.ident
    assert message.flags & dns.flags.RD and not message.flags & dns.flags.QR
    [question] = message.question
    assert (question.name, question.rdtype, question.rdclass) == (
        dns.name.from_text("ecloud.haiwell.com"),
        rdtype,
        dns.rdataclass.IN,
    )
    assert not message.additional  # no EDNS: what dnspython's make_query sent


def test_names_a_query_cannot_carry_are_refused() -> None:
    for host in ("a..b", "x" * 64 + ".com", ".".join(["abcdefghij"] * 30), "bad\u200bname\ud800"):
        with pytest.raises(DnsWireError):
            make_query(host, A)
    assert make_query("bücher.example", A).name == b"\x0dxn--bcher-kva\x07example\x00"


def response_for(query: Query, rcode: int, owner: str, cname: str | None, addresses: list[str], tc: bool) -> bytes:
    asked = dns.message.from_wire(query.to_wire())
    response = dns.message.make_response(asked)
    response.set_rcode(rcode)
    qname = asked.question[0].name
    if cname is not None:
        response.answer.append(dns.rrset.from_text(qname, 60, "IN", "CNAME", cname + "."))
        qname = dns.name.from_text(cname)
    elif owner:
        qname = dns.name.from_text(owner)
    if addresses:
        kind = "A" if query.rdtype == A else "AAAA"
        response.answer.append(dns.rrset.from_text_list(qname, 60, "IN", kind, addresses))
    if tc:
        response.flags |= dns.flags.TC
    return response.to_wire()


@settings(max_examples=200, deadline=None)
@given(
    host=NAME,
    rdtype=st.sampled_from([A, AAAA]),
    rcode=st.sampled_from([0, 1, 2, 3, 4, 5]),
    owner=st.one_of(st.just(""), NAME),
    cname=st.one_of(st.none(), NAME),
    v4=st.lists(IPV4, max_size=4, unique=True),
    v6=st.lists(IPV6, max_size=4, unique=True),
    tc=st.booleans(),
)
def test_responses_are_read_as_dnspython_reads_them(
    host: str, rdtype: int, rcode: int, owner: str, cname: str | None, v4: list[str], v6: list[str], tc: bool
) -> None:
    query = make_query(host, rdtype)
    wire = response_for(query, rcode, owner, cname, v4 if rdtype == A else v6, tc)
    response = parse_response(wire)
    assert query.is_response(response)
    assert read(response, rdtype) == oracle_addresses(wire, rdtype)
    assert response.truncated == tc
    other = make_query(host, AAAA if rdtype == A else A)
    assert not other.is_response(response)  # another question (and, nearly always, another id)


@settings(max_examples=300, deadline=None)
@given(
    host=NAME,
    v4=st.lists(IPV4, min_size=1, max_size=3),
    cut=st.integers(0, 200),
    flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
)
def test_mangled_responses_are_refused_or_read_as_dnspython_reads_them(
    host: str, v4: list[str], cut: int, flips: list[tuple[int, int]]
) -> None:
    query = make_query(host, A)
    wire = bytearray(response_for(query, 0, "", None, v4, False)[: max(cut, 0) or None])
    for at, value in flips:
        if at < len(wire):
            wire[at] = value
    try:
        mine = parse_response(bytes(wire))
    except DnsWireError:
        return
    try:
        expected = oracle_addresses(bytes(wire), A)
    except Exception:  # dnspython checks every section and every record's data; ours reads what the probes use
        return
    assert read(mine, A) == expected


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120))
def test_any_bytes_are_a_response_or_a_dns_wire_error(data: bytes) -> None:
    with contextlib.suppress(DnsWireError):
        parse_response(data)


def test_name_pointers_must_point_backwards() -> None:
    header = bytes.fromhex("abcd8180 0001 0000 0000 0000".replace(" ", ""))
    looping = header + b"\xc0\x0c" + b"\x00\x01\x00\x01"  # the question's name points at itself
    with pytest.raises(DnsWireError, match="backwards"):
        parse_response(looping)
    forward = header + b"\xc0\x20" + b"\x00\x01\x00\x01" + b"\x00" * 20
    with pytest.raises(DnsWireError, match="backwards"):
        parse_response(forward)


def test_an_address_record_of_the_wrong_size_is_refused() -> None:
    query = make_query("a.example", A)
    wire = bytearray(response_for(query, 0, "", None, ["192.0.2.1"], False))
    wire[-6:-4] = b"\x00\x03"  # RDLENGTH 3 instead of 4
    with pytest.raises(DnsWireError):
        parse_response(bytes(wire[:-1]))


def test_a_formerr_without_the_question_still_answers_the_query() -> None:
    query = make_query("a.example", A)
    wire = bytes.fromhex(f"{query.ident:04x}8001" + "0000" * 4)  # QR, FORMERR, no sections
    assert query.is_response(parse_response(wire))
    refused = bytes.fromhex(f"{query.ident:04x}8005" + "0000" * 4)  # REFUSED must carry the question
    assert not query.is_response(parse_response(refused))


class TruncatingDns:
    """Answers over UDP with the TC flag and no records, over TCP (same port) with ``records``: a large answer."""

    def __init__(self, records: list[str]) -> None:
        self.records = records
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen()
        self.tcp_queries = 0
        self.threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _answer(self, data: bytes, truncated: bool) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        if truncated:
            response.flags |= dns.flags.TC
        elif question.rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "A", self.records))
        return response.to_wire()

    def _serve_udp(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                data, peer = self.udp.recvfrom(4096)
                self.udp.sendto(self._answer(data, truncated=True), peer)

    def _serve_tcp(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.tcp.accept()
                with conn:
                    size = int.from_bytes(conn.recv(2), "big")
                    data = b""
                    while len(data) < size:
                        data += conn.recv(size - len(data))
                    self.tcp_queries += 1
                    answer = self._answer(data, truncated=False)
                    conn.sendall(len(answer).to_bytes(2, "big") + answer)

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


def test_a_truncated_answer_is_asked_again_over_tcp() -> None:
    records = [f"192.0.2.{n}" for n in range(1, 40)]
    server = TruncatingDns(records)
    try:
        result = resolve(
            "many.iot.test",
            [DnsServer("127.0.0.1", server.port)],
            timeout=2.0,
            attempts=1,
            binding=Binding(),
            clock=time.monotonic,
        )
    finally:
        server.close()
    assert result.status is DnsStatus.OK and sorted(result.addresses) == sorted(records)
    assert server.tcp_queries == 2  # A and AAAA were both truncated


def test_system_servers_are_the_nameserver_lines_of_resolv_conf(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# generated\nsearch lan\nnameserver 192.168.1.1\nnameserver  2001:db8::53 \nnameserver resolver.lan\n"
        "options edns0\nnameserver\n",
        encoding="utf-8",
    )
    assert system_dns_servers(conf) == (DnsServer("192.168.1.1"), DnsServer("2001:db8::53"))
    assert system_dns_servers(tmp_path / "missing.conf") == ()
