"""Feed modem replies through the real AT engine the way a port would: whole, byte by byte, in random chunks,
and with a URC in the middle. Parser tests use this so every table entry also exercises the framing."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from iotcard.drivers.at import NEED_DATA, AtEngine, Command, FinalError, FinalOk, InfoLine, StrayLine, Urc

CHUNKINGS = ("whole", "bytewise", "random", "urc_inside")

# A URC no command answers with; injected after the first line of a reply.
INJECTED_URC = b'\r\n+CMTI: "SM",3\r\n'


@dataclass
class Outcome:
    lines: list[str]
    final: FinalOk | FinalError | None
    urcs: list[Urc]
    strays: list[str]


def wire_reply(reply: str, *, final: str = "OK") -> bytes:
    """Frame a reply as a modem sends it (V.250 verbose: <CR><LF>text<CR><LF> ... <CR><LF>OK<CR><LF>)."""
    body = reply if reply.startswith(("\r", "\n")) else "\r\n" + reply
    if not body.endswith(("\r\n", "\n")):
        body += "\r\n"
    if final and not body.rstrip("\r\n").endswith(final):
        body += f"\r\n{final}\r\n"
    return body.encode()


def _chunks(data: bytes, how: str, seed: int) -> Iterator[bytes]:
    if how == "whole":
        yield data
    elif how == "bytewise":
        for i in range(len(data)):
            yield data[i : i + 1]
    elif how == "random":
        rng = random.Random(seed)
        i = 0
        while i < len(data):
            n = rng.randint(1, 7)
            yield data[i : i + n]
            i += n
    elif how == "urc_inside":
        # After the first complete line of the reply proper.
        cut = data.find(b"\n", data.find(b"\n") + 1) + 1 if data.startswith(b"\r\n") else data.find(b"\n") + 1
        yield data[:cut] + INJECTED_URC + data[cut:]
    else:
        raise ValueError(how)


def run(
    command: Command, data: bytes, how: str = "whole", *, seed: int = 0, urc_prefixes: Iterable[str] = ()
) -> Outcome:
    engine = AtEngine()
    if urc_prefixes:
        engine.with_urc_prefixes(urc_prefixes)
    engine.send(command)
    out = Outcome([], None, [], [])
    for chunk in _chunks(data, how, seed):
        engine.receive_data(chunk)
        while (event := engine.next_event()) is not NEED_DATA:
            if isinstance(event, InfoLine):
                out.lines.append(event.text)
            elif isinstance(event, FinalOk | FinalError):
                out.final = event
            elif isinstance(event, Urc):
                out.urcs.append(event)
            elif isinstance(event, StrayLine):
                out.strays.append(event.text)
    return out


def answer_lines(command: Command, reply: str, how: str = "whole", *, seed: int = 0) -> list[str]:
    """The answer lines the engine gives for ``reply``; asserts that the reply completed and the URC was kept apart."""
    outcome = run(command, wire_reply(reply), how, seed=seed)
    assert isinstance(outcome.final, FinalOk), f"no OK for {reply!r} ({how}): {outcome}"
    if how == "urc_inside":
        assert [u.text for u in outcome.urcs] == ['+CMTI: "SM",3'], outcome
    return outcome.lines
