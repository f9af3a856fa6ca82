"""Commands are data: what to send, how long to wait, and how to recognise the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ProtocolError

__all__ = ["Command", "validate_command_text"]

DEFAULT_TIMEOUT = 2.0


def validate_command_text(text: str) -> str:
    """Return ``text`` if it is one printable ASCII AT command line, else raise :class:`ProtocolError`.

    CR, LF and other control characters are refused: a CR would end the line early and let a second command ride
    along (``AT+CSQ\\rAT+CFUN=0``).
    """
    if not text:
        raise ProtocolError("empty AT command")
    bad = [c for c in text if not (" " <= c <= "~")]
    if bad:
        raise ProtocolError(f"AT command {text!r} contains a non-printable character {bad[0]!r}; send one line")
    if not text[:2].upper() == "AT":
        raise ProtocolError(f"AT command {text!r} must start with AT")
    return text


@dataclass(frozen=True, slots=True)
class Command:
    """One AT command.

    ``expect_prefix``: answer lines start with it (``+CSQ:``); ``None`` means the answer is bare text (``AT+CGSN``,
    ``ATI``), i.e. any line that is not a final code, the echo or a registered URC.
    ``multiline``: the answer may have several lines (``+CGDCONT?``, ``ATI``); lines without the prefix that follow
    the first answer line belong to it (Quectel's EN-DC ``+QENG`` answer).  A single-line command takes the first
    matching line; a later line with the same prefix is a URC when the prefix is registered as one.
    ``answer_pattern``: a regular expression a line with the expected prefix must match to be the answer. It tells
    a solicited ``+CREG: 2,1,"5A1F",...`` (``<n>,<stat>``) from the URC ``+CREG: 1`` that shares its prefix
    (27.007 §7.2): a non-matching line is filed as a URC however early it arrives.
    ``cacheable``: the answer does not change while the modem runs (identity), so it is read once.
    ``also_prefixes``: for a concatenated line (V.250 §5.2.1, ``AT+CFUN?;+CGATT?``), the prefixes of the other
    commands' answers, which belong to this answer even where one is also a registered URC prefix.
    """

    text: str
    timeout: float = DEFAULT_TIMEOUT
    expect_prefix: str | None = None
    multiline: bool = False
    cacheable: bool = False
    answer_pattern: str | None = None
    also_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_command_text(self.text)
        if self.answer_pattern is not None:
            try:
                re.compile(self.answer_pattern)
            except re.error as exc:
                raise ProtocolError(f"AT command {self.text!r} has a bad answer pattern: {exc}") from None
        if self.timeout <= 0:
            raise ProtocolError(f"AT command {self.text!r} needs a positive timeout, got {self.timeout}")

    def encode(self) -> bytes:
        return self.text.encode("ascii") + b"\r"
