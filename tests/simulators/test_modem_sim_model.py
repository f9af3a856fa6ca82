"""The modem model without a pty: command line splitting and robustness against any input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from iotcard.simulators.modem import PROFILES, SCENARIOS, Modem
from iotcard.simulators.modem._modem import Form, ParsedCommand, split_args, split_command_line


def test_split_command_line_basic_and_extended() -> None:
    assert split_command_line('E0V1+CMEE=2;+CGDCONT=1,"IP","a;b";+CREG?;+COPS=?;I') == [
        ParsedCommand("E", Form.ACTION, "0"),
        ParsedCommand("V", Form.ACTION, "1"),
        ParsedCommand("+CMEE", Form.SET, "2"),
        ParsedCommand("+CGDCONT", Form.SET, '1,"IP","a;b"'),
        ParsedCommand("+CREG", Form.READ),
        ParsedCommand("+COPS", Form.TEST),
        ParsedCommand("I", Form.ACTION),
    ]


def test_split_args_keeps_commas_inside_quotes() -> None:
    assert split_args('1,"IP","a,b", 2') == ("1", "IP", "a,b", "2")
    assert split_args("") == ()


def test_reply_for_a_command_line() -> None:
    modem = Modem(PROFILES["quectel_ec25"], SCENARIOS["normal"])
    reply = modem.receive_line("AT+CSQ;+CGATT?")
    assert reply is not None
    assert (reply.echo, reply.lines, reply.final) == ("AT+CSQ;+CGATT?", ("+CSQ: 24,99", "+CGATT: 1"), "OK")
    assert modem.render(reply).body == (b"\r\n+CSQ: 24,99\r\n", b"+CGATT: 1\r\n", b"\r\nOK\r\n")


@given(st.sampled_from(sorted(PROFILES)), st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=40))
def test_any_line_gets_a_final_result_or_is_ignored(profile: str, body: str) -> None:
    modem = Modem(PROFILES[profile], SCENARIOS["normal"])
    reply = modem.receive_line("AT" + body.replace("\r", ""))
    assert reply is not None
    assert reply.final is not None
    assert reply.final == "OK" or reply.final == "ERROR" or reply.final.startswith("+CME ERROR: ")
