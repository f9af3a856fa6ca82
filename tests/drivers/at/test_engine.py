"""The sans-IO AT engine: framing, final codes, echo, URC separation, bounds. Fed by bytes only, no port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from at_helpers import CHUNKINGS, run, wire_reply
from iotcard.drivers.at import (
    NEED_DATA,
    AtEngine,
    Command,
    Discarded,
    Echo,
    EngineState,
    ErrorKind,
    FinalError,
    FinalOk,
    InfoLine,
    StrayLine,
    Urc,
    classify_final,
)
from iotcard.drivers.errors import ProtocolError

DATA = Path(__file__).resolve().parents[2] / "data"
CSQ = Command("AT+CSQ", expect_prefix="+CSQ:")


def drain(engine: AtEngine) -> list[object]:
    events = []
    while (event := engine.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def test_send_returns_command_bytes_and_awaits() -> None:
    engine = AtEngine()
    assert engine.send(CSQ) == b"AT+CSQ\r"
    assert engine.state is EngineState.AWAITING
    assert engine.pending is CSQ


def test_echo_answer_ok_in_order() -> None:
    engine = AtEngine()
    engine.send(CSQ)
    engine.receive_data(b"AT+CSQ\r\r\n+CSQ: 18,99\r\n\r\nOK\r\n")
    assert drain(engine) == [Echo("AT+CSQ"), InfoLine("+CSQ: 18,99"), FinalOk("OK")]
    assert engine.state is EngineState.IDLE


def test_second_command_while_pending_is_refused() -> None:
    engine = AtEngine()
    engine.send(CSQ)
    with pytest.raises(ProtocolError, match="cannot send while awaiting"):
        engine.send(CSQ)


@pytest.mark.parametrize("text", ["AT+CSQ\r", "AT+CSQ\nAT+CFUN=0", "", "AT\x00", "+CSQ", "ATé"])
def test_command_text_is_one_printable_line(text: str) -> None:
    with pytest.raises(ProtocolError):
        Command(text)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("OK", FinalOk("OK")),
        ("ERROR", FinalError(ErrorKind.ERROR, None, "ERROR")),
        ("+CME ERROR: 10", FinalError(ErrorKind.CME, 10, "+CME ERROR: 10")),
        ("+CME ERROR: SIM not inserted", FinalError(ErrorKind.CME, 10, "+CME ERROR: SIM not inserted")),
        ("+CME ERROR: raspberry", FinalError(ErrorKind.CME, None, "+CME ERROR: raspberry")),
        ("+CMS ERROR: 500", FinalError(ErrorKind.CMS, 500, "+CMS ERROR: 500")),
        ("NO CARRIER", FinalError(ErrorKind.NO_CARRIER, None, "NO CARRIER")),
        ("BUSY", FinalError(ErrorKind.BUSY, None, "BUSY")),
        ("NO ANSWER", FinalError(ErrorKind.NO_ANSWER, None, "NO ANSWER")),
        ("NO DIALTONE", FinalError(ErrorKind.NO_DIALTONE, None, "NO DIALTONE")),
        ("CONNECT 150000000", FinalOk("CONNECT 150000000")),
        ("+CSQ: 18,99", None),
        ("OKAY", None),
    ],
)
def test_final_result_codes(line: str, expected: object) -> None:
    assert classify_final(line) == expected


def _framing_vectors() -> list[dict[str, object]]:
    return json.loads((DATA / "at_vectors_framing.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", _framing_vectors(), ids=lambda v: str(v["id"]))
@pytest.mark.parametrize("how", CHUNKINGS)
def test_framing_vectors(vector: dict[str, object], how: str) -> None:
    """ModemManager's serial-port framing cases and warthog618/modem's CME/CMS cases, as real replies."""
    expected = vector["expected"]
    assert isinstance(expected, dict)
    outcome = run(Command("AT+TEST"), str(vector["response"]).encode(), how, seed=7)
    if not expected["final_response"]:
        assert outcome.final is None
        return
    assert outcome.final is not None
    if expected["is_error"]:
        assert isinstance(outcome.final, FinalError)
        kind = {
            "CME": ErrorKind.CME,
            "CMS": ErrorKind.CMS,
            "MODEM": ErrorKind.MODEM,
            "ERROR": ErrorKind.ERROR,
            "NO CARRIER": ErrorKind.NO_CARRIER,
            "COMMAND NOT SUPPORT": ErrorKind.NOT_SUPPORTED,
        }[str(expected["error_type"])]
        assert outcome.final.kind is kind
        assert outcome.final.code == expected["code"]
    else:
        assert isinstance(outcome.final, FinalOk)


def test_urc_before_between_and_after_answer_is_kept_apart() -> None:
    engine = AtEngine()
    engine.send(Command("AT+CGDCONT?", expect_prefix="+CGDCONT:", multiline=True))
    engine.receive_data(
        b'\r\n+CREG: 5\r\n\r\n+CGDCONT: 1,"IP","cmiot"\r\n\r\n+CEREG: 1,"5A1F","1A2D001",7\r\n'
        b'+CGDCONT: 2,"IPV4V6","cmnet"\r\n\r\nOK\r\n\r\nRING\r\n'
    )
    assert drain(engine) == [
        Urc("+CREG:", "+CREG: 5"),
        InfoLine('+CGDCONT: 1,"IP","cmiot"'),
        Urc("+CEREG:", '+CEREG: 1,"5A1F","1A2D001",7'),
        InfoLine('+CGDCONT: 2,"IPV4V6","cmnet"'),
        FinalOk("OK"),
        Urc("RING", "RING"),
    ]


def test_single_line_answer_takes_first_line_and_files_a_repeat_as_urc() -> None:
    """A +CREG URC right after the solicited +CREG answer must not become a second answer line."""
    engine = AtEngine()
    engine.send(Command("AT+CREG?", expect_prefix="+CREG:"))
    engine.receive_data(b'\r\n+CREG: 2,1,"5A1F","1A2D001",7\r\n\r\n+CREG: 5\r\n\r\nOK\r\n')
    assert drain(engine) == [
        InfoLine('+CREG: 2,1,"5A1F","1A2D001",7'),
        Urc("+CREG:", "+CREG: 5"),
        FinalOk(),
    ]


def test_bare_answer_keeps_registered_urcs_out() -> None:
    engine = AtEngine(urc_prefixes=("RDY", "+CPIN:"))
    engine.send(Command("AT+CGSN"))
    engine.receive_data(b"\r\nRDY\r\n\r\n861234567890128\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n")
    assert drain(engine) == [
        Urc("RDY", "RDY"),
        InfoLine("861234567890128"),
        Urc("+CPIN:", "+CPIN: READY"),
        FinalOk(),
    ]


def test_unknown_line_during_prefixed_command_is_stray_not_answer() -> None:
    engine = AtEngine()
    engine.send(CSQ)
    engine.receive_data(b"\r\n\xff\xfegarbage\r\n+CSQ: 20,99\r\nOK\r\n")
    events = drain(engine)
    assert [e for e in events if isinstance(e, InfoLine)] == [InfoLine("+CSQ: 20,99")]
    assert isinstance(events[0], StrayLine)
    assert events[-1] == FinalOk()


def test_nuls_and_sim_com_double_cr_are_ignored() -> None:
    engine = AtEngine()
    engine.send(CSQ)
    engine.receive_data(b"\x00\x00\r\r\n+CSQ: 2\x000,99\r\r\n\r\r\nOK\r\r\n")
    assert drain(engine) == [InfoLine("+CSQ: 20,99"), FinalOk()]


def test_ring_prefix_does_not_swallow_longer_words() -> None:
    engine = AtEngine()
    engine.receive_data(b"RINGTONE\r\nRING\r\n")
    assert drain(engine) == [StrayLine("RINGTONE"), Urc("RING", "RING")]


def test_late_final_after_abandon_is_stray() -> None:
    engine = AtEngine()
    engine.send(Command("AT+COPS=?", timeout=180, expect_prefix="+COPS:"))
    assert engine.abandon() is not None
    engine.receive_data(b"\r\nOK\r\n")
    assert drain(engine) == [StrayLine("OK")]
    assert engine.state is EngineState.IDLE


def test_line_over_bound_is_discarded_not_buffered_forever() -> None:
    engine = AtEngine(max_line=64)
    engine.send(CSQ)
    engine.receive_data(b"x" * 100)
    assert drain(engine) == [Discarded(100)]
    engine.receive_data(b"\r\n+CSQ: 1,2\r\nOK\r\n")
    assert drain(engine) == [InfoLine("+CSQ: 1,2"), FinalOk()]


def test_buffer_bound_raises_engine_error() -> None:
    engine = AtEngine(max_buffer=128)
    with pytest.raises(ProtocolError, match="buffer"):
        engine.receive_data(b"\r\n" * 100)


def test_dialect_finals_and_urcs_extend_the_base() -> None:
    engine = AtEngine(extra_finals={"+CIS ERROR: 1": FinalError(ErrorKind.ERROR, 1, "+CIS ERROR: 1")})
    engine.with_urc_prefixes(["^HCSQ:"])
    engine.send(Command("AT^SYSINFOEX", expect_prefix="^SYSINFOEX:"))
    engine.receive_data(b'\r\n^HCSQ: "LTE",45,40,150,25\r\n+CIS ERROR: 1\r\n')
    assert drain(engine) == [
        Urc("^HCSQ:", '^HCSQ: "LTE",45,40,150,25'),
        FinalError(ErrorKind.ERROR, 1, "+CIS ERROR: 1"),
    ]


REPLIES = [
    b"AT+CSQ\r\r\n+CSQ: 18,99\r\n\r\nOK\r\n",
    b"\r\n+CREG: 1\r\n+CSQ: 31,0\r\n\r\n+CME ERROR: 10\r\n",
    b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+CSQ: 5,5\r\nERROR\r\n",
]


@settings(max_examples=300, deadline=None)
@given(
    reply=st.sampled_from(REPLIES),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=12),
)
def test_events_do_not_depend_on_chunking(reply: bytes, cuts: list[int]) -> None:
    def events_for(chunks: list[bytes]) -> list[object]:
        engine = AtEngine()
        engine.send(CSQ)
        events: list[object] = []
        for chunk in chunks:
            engine.receive_data(chunk)
            events.extend(drain(engine))
        return events

    points = sorted({min(c, len(reply)) for c in cuts})
    chunks = [reply[a:b] for a, b in zip([0, *points], [*points, len(reply)], strict=True)]
    assert events_for(chunks) == events_for([reply])


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048), pending=st.booleans())
def test_random_bytes_raise_nothing_but_engine_errors(data: bytes, pending: bool) -> None:
    engine = AtEngine(max_line=256)
    if pending:
        engine.send(CSQ)
    try:
        for i in range(0, len(data), 97):
            engine.receive_data(data[i : i + 97])
            drain(engine)
    except ProtocolError:
        pass


def test_wire_reply_frames_like_a_modem() -> None:
    assert wire_reply("+CSQ: 1,2") == b"\r\n+CSQ: 1,2\r\n\r\nOK\r\n"


def test_noise_glued_to_the_echo_still_reads_as_echo() -> None:
    engine = AtEngine()
    engine.send(Command("AT+CGMI"))
    engine.receive_data(b"\x00\xfe\xffAT+CGMI\r\r\nQuectel\r\n\r\nOK\r\n")
    assert drain(engine) == [Echo("AT+CGMI"), InfoLine("Quectel"), FinalOk()]


def test_unknown_prefixed_line_is_not_a_bare_answer() -> None:
    """An unregistered URC before a bare answer must not become the manufacturer."""
    engine = AtEngine()
    engine.send(Command("AT+CGMI"))
    engine.receive_data(b"\r\n+XYZIND: 1\r\n\r\n+CGMI: Quectel\r\n\r\nOK\r\n")
    assert drain(engine) == [StrayLine("+XYZIND: 1"), InfoLine("+CGMI: Quectel"), FinalOk()]


def test_valid_utf8_survives_and_invalid_bytes_are_dropped() -> None:
    engine = AtEngine()
    engine.send(Command("AT+COPS?", expect_prefix="+COPS:"))
    engine.receive_data('\r\n+COPS: 0,0,"中国移动"\xff,7\r\n\r\nOK\r\n'.encode().replace(b"\xc3\xbf", b"\xff"))
    assert drain(engine) == [InfoLine('+COPS: 0,0,"中国移动",7'), FinalOk()]
