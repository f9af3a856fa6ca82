"""A and AAAA questions and their answers on the wire (RFC 1035 §4.1, AAAA: RFC 3596), standard library only.

The probes need little of DNS: one question per datagram, the response's code and the A/AAAA records of the
answer section. dnspython did this for us and cost the daemon about 3 MB of resident memory for 64 modules
(docs/benchmarks.md, "The agent daemon"), loaded for good by the first probe round. Responses come from the
network, so the parser refuses anything malformed with :class:`DnsWireError` and nothing else: a name pointer
must point backwards (no loops), lengths must fit the datagram, names stay within 255 bytes.
tests/agent/directed/test_dnswire.py holds this module to dnspython on generated and mangled messages.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from dataclasses import dataclass

__all__ = [
    "AAAA",
    "A",
    "DnsWireError",
    "Query",
    "Response",
    "make_query",
    "parse_response",
]

A = 1
AAAA = 28
CLASS_IN = 1
# RCODEs (RFC 1035 §4.1.1)
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5

_QR = 0x8000
_OPCODE = 0x7800
_TC = 0x0200
_RD = 0x0100
_HEADER = struct.Struct("!HHHHHH")
_FIXED = struct.Struct("!HHIH")  # type, class, TTL, RDLENGTH after an answer's name
_MAX_NAME = 255
_MAX_POINTERS = 128
_ADDRESS_SIZE = {A: 4, AAAA: 16}


class DnsWireError(ValueError):
    """A DNS message that cannot be read (or a name that cannot be asked)."""


def _encode_name(host: str) -> bytes:
    text = host.rstrip(".")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        try:
            raw = text.encode("idna")
        except UnicodeError as exc:
            raise DnsWireError(f"{host!r} is not a DNS name") from exc
    wire = bytearray()
    for label in raw.split(b".") if raw else []:
        if not 0 < len(label) <= 63:
            raise DnsWireError(f"{host!r} is not a DNS name")
        wire += bytes([len(label)]) + label
    wire += b"\x00"
    if len(wire) > _MAX_NAME:
        raise DnsWireError(f"{host!r} is longer than a DNS name may be")
    return bytes(wire)


@dataclass(frozen=True, slots=True)
class Query:
    """One question (``rdtype`` IN), recursion desired, no EDNS: what dnspython's ``make_query`` sent."""

    ident: int
    name: bytes  # the question's name in wire form
    rdtype: int

    def to_wire(self) -> bytes:
        return _HEADER.pack(self.ident, _RD, 1, 0, 0, 0) + self.name + struct.pack("!HH", self.rdtype, CLASS_IN)

    def is_response(self, response: Response) -> bool:
        """``response`` answers this query: same id, a response to a standard query, the same question (a FORMERR
        may leave the question out)."""
        if response.ident != self.ident or not response.flags & _QR or response.flags & _OPCODE:
            return False
        if not response.questions and response.rcode == FORMERR:
            return True
        return response.questions == ((self.name.lower(), self.rdtype, CLASS_IN),)


def make_query(host: str, rdtype: int) -> Query:
    """A query for ``host`` (a name; IDNA for non-ASCII) with a random id."""
    return Query(int.from_bytes(os.urandom(2), "big"), _encode_name(host), rdtype)


@dataclass(frozen=True, slots=True)
class Response:
    ident: int
    flags: int
    questions: tuple[tuple[bytes, int, int], ...]  # (name in wire form, lower case; type; class)
    answers: tuple[tuple[int, int, bytes], ...]  # (type, class, rdata)

    @property
    def rcode(self) -> int:
        return self.flags & 0x000F

    @property
    def truncated(self) -> bool:
        return bool(self.flags & _TC)

    def addresses(self, rdtype: int) -> tuple[str, ...]:
        """The A or AAAA records of the answer section, any owner (the end of a CNAME chain), in order."""
        make = ipaddress.IPv4Address if rdtype == A else ipaddress.IPv6Address
        return tuple(str(make(rdata)) for kind, klass, rdata in self.answers if kind == rdtype and klass == CLASS_IN)


def _read_name(data: bytes, offset: int) -> tuple[bytes, int]:
    """The name at ``offset`` in wire form (lower case, pointers followed) and the offset after it in place."""
    labels = bytearray()
    end = None
    position = offset
    for _ in range(_MAX_POINTERS):
        while True:
            if position >= len(data):
                raise DnsWireError("a name runs past the end of the message")
            length = data[position]
            if length & 0xC0 == 0xC0:
                if position + 1 >= len(data):
                    raise DnsWireError("a name pointer runs past the end of the message")
                target = ((length & 0x3F) << 8) | data[position + 1]
                if target >= position:
                    raise DnsWireError("a name pointer that does not point backwards")
                if end is None:
                    end = position + 2
                position = target
                break
            if length & 0xC0:
                raise DnsWireError("an unknown label type")
            if length == 0:
                labels += b"\x00"
                if len(labels) > _MAX_NAME:
                    raise DnsWireError("a name longer than 255 bytes")
                return bytes(labels).lower(), end if end is not None else position + 1
            if position + 1 + length > len(data):
                raise DnsWireError("a label runs past the end of the message")
            labels += data[position : position + 1 + length]
            if len(labels) > _MAX_NAME:
                raise DnsWireError("a name longer than 255 bytes")
            position += 1 + length
    raise DnsWireError("too many name pointers")


def parse_response(data: bytes) -> Response:
    """The header, the questions and the answer section of a DNS message; DnsWireError if it is malformed."""
    if len(data) < _HEADER.size:
        raise DnsWireError("shorter than a DNS header")
    ident, flags, qdcount, ancount, _nscount, _arcount = _HEADER.unpack_from(data)
    offset = _HEADER.size
    questions = []
    for _ in range(qdcount):
        name, offset = _read_name(data, offset)
        if offset + 4 > len(data):
            raise DnsWireError("a question runs past the end of the message")
        rdtype, klass = struct.unpack_from("!HH", data, offset)
        offset += 4
        questions.append((name, rdtype, klass))
    answers = []
    for _ in range(ancount):
        _owner, offset = _read_name(data, offset)
        if offset + _FIXED.size > len(data):
            raise DnsWireError("a record runs past the end of the message")
        rdtype, klass, _ttl, length = _FIXED.unpack_from(data, offset)
        offset += _FIXED.size
        if offset + length > len(data):
            raise DnsWireError("a record's data runs past the end of the message")
        if klass == CLASS_IN and length != _ADDRESS_SIZE.get(rdtype, length):
            raise DnsWireError(f"a type {rdtype} record of {length} bytes")
        answers.append((rdtype, klass, data[offset : offset + length]))
        offset += length
    return Response(ident, flags, tuple(questions), tuple(answers))
