"""Field helpers shared by every parser: quote-aware splitting, tolerant integers and hex."""

from __future__ import annotations

from ..errors import ParseError

__all__ = [
    "is_quoted",
    "parse_hex",
    "parse_int",
    "parse_uint",
    "split_fields",
    "split_raw_fields",
    "strip_prefix",
    "unquote",
]


def strip_prefix(text: str, prefix: str) -> str:
    """Return what follows ``prefix`` (case-insensitive, any spaces after the colon), or raise ParseError.

    ``strip_prefix('+CSQ:4,0', '+CSQ:') == '4,0'``; a line without the prefix is not this command's answer.
    """
    stripped = text.strip()
    if not stripped.upper().startswith(prefix.upper()):
        raise ParseError(f"expected a line starting with {prefix!r}, got {stripped!r}", text=text)
    return stripped[len(prefix) :].strip()


def split_fields(text: str) -> list[str]:
    """Split a 27.007 parameter list on commas outside double quotes; strip spaces and the quotes themselves.

    A missing closing quote (seen on cheap dongles) ends the field at the end of the text instead of failing.
    ``split_fields('2,1, "8BE3" ,"00002BAF"') == ['2', '1', '8BE3', '00002BAF']``; empty fields stay ``''``.
    """
    fields: list[str] = []
    current: list[str] = []
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
            continue
        if char == "," and not in_quotes:
            fields.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    fields.append("".join(current).strip())
    return fields


def split_raw_fields(text: str) -> list[str]:
    """Like :func:`split_fields`, but each field keeps its double quotes (spaces around it are stripped).

    Some answers can only be read by knowing which fields were quoted: in ``+CREG: 1,"0001","0010",0`` the quotes
    say that ``0001`` is a LAC, not a ``<stat>``. ``split_raw_fields('1, "0A" ,2') == ['1', '"0A"', '2']``.
    """
    fields: list[str] = []
    current: list[str] = []
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            fields.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    fields.append("".join(current).strip())
    return fields


def is_quoted(field: str) -> bool:
    """Whether a field from :func:`split_raw_fields` was given in double quotes."""
    return field.strip().startswith('"')


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text.strip('"')


def parse_int(field: str, *, what: str = "field", text: str = "") -> int | None:
    """A decimal field; ``''`` gives ``None``; zero padding (``'0011'``) and spaces are accepted."""
    value = field.strip().strip('"').strip()
    if not value:
        return None
    try:
        return int(value, 10)
    except ValueError:
        raise ParseError(f"{what} {field!r} is not a decimal number", text=text or field) from None


def parse_uint(field: str, *, what: str = "field", text: str = "") -> int | None:
    """A non-negative decimal field made of ASCII digits only; ``''`` gives ``None``.

    Stricter than :func:`parse_int`, which follows Python's ``int()`` and so takes ``-1``, ``1_0`` or Arabic-Indic
    digits: none of those is a 27.007 integer.
    """
    value = field.strip().strip('"').strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise ParseError(f"{what} {field!r} is not a non-negative decimal number", text=text or field)
    return int(value, 10)


def parse_hex(field: str, *, what: str = "field", text: str = "") -> int | None:
    """A hex field (LAC, TAC, CI): quoted or not, any case, odd length, optional ``0x``; ``''`` gives ``None``."""
    value = field.strip().strip('"').strip()
    if value[:2].lower() == "0x":
        value = value[2:]
    if not value:
        return None
    try:
        return int(value, 16)
    except ValueError:
        raise ParseError(f"{what} {field!r} is not a hexadecimal number", text=text or field) from None
