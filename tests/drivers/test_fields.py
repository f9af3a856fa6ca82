"""The field helpers every parser shares."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iotcard.drivers.errors import ParseError
from iotcard.drivers.parsers import (
    is_quoted,
    parse_hex,
    parse_int,
    parse_uint,
    split_fields,
    split_raw_fields,
    strip_prefix,
    unquote,
)


@pytest.mark.parametrize(
    ("text", "prefix", "rest"),
    [("+CSQ:4,0", "+CSQ:", "4,0"), ("  +csq:   18,99  ", "+CSQ:", "18,99"), ("+CREG:", "+CREG:", "")],
)
def test_strip_prefix(text: str, prefix: str, rest: str) -> None:
    assert strip_prefix(text, prefix) == rest


def test_strip_prefix_rejects_other_lines() -> None:
    with pytest.raises(ParseError, match=r"\+CSQ:"):
        strip_prefix("+CESQ: 1", "+CSQ:")


@pytest.mark.parametrize(
    ("text", "fields", "raw"),
    [
        ('2,1, "8BE3" ,"00002BAF"', ["2", "1", "8BE3", "00002BAF"], ["2", "1", '"8BE3"', '"00002BAF"']),
        ('1,"T-Mobile USA, In",x', ["1", "T-Mobile USA, In", "x"], ["1", '"T-Mobile USA, In"', "x"]),
        ("2,,", ["2", "", ""], ["2", "", ""]),
        ('0,0,"TELE2,0', ["0", "0", "TELE2,0"], ["0", "0", '"TELE2,0']),  # missing closing quote
        ("", [""], [""]),
    ],
)
def test_split(text: str, fields: list[str], raw: list[str]) -> None:
    assert split_fields(text) == fields
    assert split_raw_fields(text) == raw


@given(st.text(alphabet='ab1 ,"', max_size=30))
def test_split_raw_agrees_with_split(text: str) -> None:
    assert [field.replace('"', "").strip() for field in split_raw_fields(text)] == split_fields(text)


@pytest.mark.parametrize(("field", "quoted"), [('"0A"', True), (' "0A" ', True), ("0A", False), ("", False)])
def test_is_quoted(field: str, quoted: bool) -> None:
    assert is_quoted(field) is quoted


@pytest.mark.parametrize(("text", "value"), [('"abc"', "abc"), (' "a" ', "a"), ('"abc', "abc"), ("x", "x")])
def test_unquote(text: str, value: str) -> None:
    assert unquote(text) == value


@pytest.mark.parametrize(("field", "value"), [("0011", 11), (' "7" ', 7), ("", None), ("  ", None)])
def test_parse_int_and_uint(field: str, value: int | None) -> None:
    assert parse_int(field) == value
    assert parse_uint(field) == value


@pytest.mark.parametrize("field", ["-1", "+1", "1_0", "١٢", "x", "1.5", "1" * 19])
def test_parse_uint_is_strict(field: str) -> None:
    with pytest.raises(ParseError, match="non-negative decimal"):
        parse_uint(field, what="<stat>")


def test_parse_int_keeps_its_behaviour() -> None:
    assert parse_int("-1") == -1
    with pytest.raises(ParseError, match="<n> 'x' is not a decimal number"):
        parse_int("x", what="<n>")


@pytest.mark.parametrize(
    ("field", "value"),
    [('"CE00"', 0xCE00), ("8d83", 0x8D83), ("7E6", 0x7E6), (" 79D903 ", 0x79D903), ("0x1F", 0x1F), ("", None)],
)
def test_parse_hex(field: str, value: int | None) -> None:
    assert parse_hex(field) == value


def test_parse_hex_rejects() -> None:
    with pytest.raises(ParseError, match="LAC"):
        parse_hex("0 5", what="LAC")


@given(st.text(max_size=20))
def test_helpers_raise_only_parse_error(text: str) -> None:
    split_fields(text)
    split_raw_fields(text)
    unquote(text)
    for parse in (parse_int, parse_uint, parse_hex):
        with contextlib.suppress(ParseError):
            parse(text)
