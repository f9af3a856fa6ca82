"""The session loop over a scripted transport with a fake clock: deadlines, errors, URCs, resync."""

from __future__ import annotations

import pytest

from fakes import FakeClock, ScriptedTransport, cme, ok
from iotcard.drivers.at import Command
from iotcard.drivers.errors import CmeError, CommandError, ReadTimeout
from iotcard.drivers.session import AtSession

CSQ = Command("AT+CSQ", expect_prefix="+CSQ:")


def session_for(script, **kwargs) -> tuple[AtSession, ScriptedTransport]:
    clock = FakeClock()
    transport = ScriptedTransport(script, clock=clock, **kwargs)
    return AtSession(transport, clock=clock), transport


@pytest.mark.parametrize("chunk", [0, 1, 3])
@pytest.mark.parametrize("echo", [False, True])
def test_answer_lines_whatever_the_chunking_and_echo(chunk: int, echo: bool) -> None:
    session, _ = session_for({"AT+CSQ": ok("+CSQ: 20,99")}, chunk=chunk, echo=echo)
    assert session.execute(CSQ).lines == ("+CSQ: 20,99",)
    assert session.commands_sent == 1


def test_urc_inside_answer_goes_to_callback_not_answer() -> None:
    seen = []
    clock = FakeClock()
    transport = ScriptedTransport({"AT+CSQ": ok("+CSQ: 20,99")}, clock=clock, inject=b"\r\n+CEREG: 5\r\n")
    session = AtSession(transport, clock=clock, on_urc=seen.append)
    assert session.execute(CSQ).lines == ("+CSQ: 20,99",)
    assert [u.text for u in seen] == ["+CEREG: 5"]
    assert [u.text for u in session.recent_urcs] == ["+CEREG: 5"]


def test_cme_error_carries_code_meaning_and_command() -> None:
    session, _ = session_for({"AT+CIMI": cme(10)})
    with pytest.raises(CmeError) as info:
        session.execute(Command("AT+CIMI"))
    assert info.value.error_code == 10
    assert info.value.command == "AT+CIMI"
    assert "SIM not inserted" in info.value.message


def test_plain_error_is_a_command_error() -> None:
    session, _ = session_for({})
    with pytest.raises(CommandError) as info:
        session.execute(Command("AT+QENG"))
    assert info.value.kind == "error"


def test_silence_times_out_at_the_command_deadline() -> None:
    session, transport = session_for({"AT+CSQ": None})
    start = transport.clock.now
    with pytest.raises(ReadTimeout) as info:
        session.execute(Command("AT+CSQ", timeout=1.5, expect_prefix="+CSQ:"))
    assert info.value.command == "AT+CSQ"
    assert transport.clock.now - start == pytest.approx(1.5, abs=0.21)


def test_late_answer_after_timeout_is_not_taken_for_the_next_command() -> None:
    late = {"n": 0}

    def slow_csq(_: str) -> bytes | None:
        late["n"] += 1
        return None

    clock = FakeClock()
    transport = ScriptedTransport({"AT+CSQ": slow_csq, "AT+CGSN": ok("861234567890128")}, clock=clock)
    session = AtSession(transport, clock=clock)
    with pytest.raises(ReadTimeout):
        session.execute(CSQ)
    transport._pending += b"\r\n+CSQ: 9,9\r\n\r\nOK\r\n"  # the late answer arrives after we gave up
    assert session.execute(Command("AT+CGSN")).lines == ("861234567890128",)
    assert "OK" in session.stray_lines
