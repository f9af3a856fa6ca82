"""Reads added for "field truth": reject causes, +CEER, network time, temperature and SIM slot, each from a real
reply (tests/data/at_vectors_field.json, ModemManager's vectors in tests/data or /work/shared), fed whole and
through the AT engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from at_helpers import CHUNKINGS, run, wire_reply
from iotcard.drivers import parsers as p
from iotcard.drivers.at import Command, FinalOk
from iotcard.drivers.dialects._generic import parse_extras
from iotcard.drivers.errors import ParseError
from iotcard.drivers.models import RegDomain, RejectCause

DATA = Path(__file__).parent.parent / "data"
FIELD: dict[str, dict[str, Any]] = {
    v["id"]: v for v in json.loads((DATA / "at_vectors_field.json").read_text("utf-8"))["vectors"]
}


def test_reject_cause_from_the_n3_read_form() -> None:
    nordic = p.parse_registration(FIELD["nordic-cereg-reject"]["response"])
    assert (nordic.stat, nordic.cause_type, nordic.reject_cause) == (3, 12, 13)
    assert p.reject_cause_of(nordic) is None  # cause_type 12 is not a 3GPP cause type
    none = p.parse_registration(FIELD["field-cereg-denied-no-cause"]["response"])
    assert (none.cause_type, none.reject_cause, p.reject_cause_of(none)) == (0, 0, None)
    # The 27.007 §10.1.22 form with the location fields left empty while not registered.
    emm = p.parse_registration("+CEREG: 3,3,,,,0,3")
    assert p.reject_cause_of(emm) == RejectCause("emm", 3, "Illegal UE")
    gmm = p.parse_registration('+CGREG: 3,3,"5A1F","1A2D001",7,"01",0,7')
    assert gmm.domain is RegDomain.PS and p.reject_cause_of(gmm) == RejectCause("gmm", 7, "GPRS services not allowed")
    # n=2 carries no cause, whatever follows the AcT.
    assert p.parse_registration('+CEREG: 2,1,"5A1F","1A2D001",7').reject_cause is None


def test_ceer_says_something_or_nothing() -> None:
    assert p.parse_ceer([FIELD["field-ceer-none"]["response"]]) is None
    assert p.parse_ceer(["+CEER: No cause information available"]) is None
    assert p.parse_ceer(['+CEER: "LTE ESM","UNKNOWN_APN"']) == "LTE ESM,UNKNOWN_APN"
    with pytest.raises(ParseError):
        p.parse_ceer(["OK"])


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ('+CCLK: "14/08/05,04:00:21+40"', "2014-08-05T04:00:21+10:00"),
        ('+CCLK: "15/02/28,20:30:40-32"', "2015-02-28T20:30:40-08:00"),
        ("+CCLK: 17/07/26,11:42:15+01", "2017-07-26T11:42:15+00:15"),
        ('+CCLK:   "15/02/28,20:30:40-32"', "2015-02-28T20:30:40-08:00"),
    ],
    ids=["mm-cclk-0", "mm-cclk-1", "mm-cclk-2", "mm-cclk-3"],
)
def test_cclk_from_modemmanager_vectors(line: str, iso: str) -> None:
    assert any(v["response"] == line for v in FIELD.values())
    assert p.parse_network_time(line) == datetime.fromisoformat(iso)


def test_cclk_placeholder_is_rejected() -> None:
    with pytest.raises(ParseError):
        p.parse_network_time('+CCLK: "XX/XX/XX,XX:XX:XX+XX"')  # mm-cclk-4


def test_qlts_local_time_with_its_zone() -> None:
    when = p.parse_network_time(FIELD["quectel-qlts-2"]["response"], "+QLTS:")
    assert when == datetime(2019, 12, 12, 10, 49, 42, tzinfo=timezone(timedelta(hours=8)))
    assert when.astimezone(UTC) == datetime(2019, 12, 12, 2, 49, 42, tzinfo=UTC)


def test_extras_temperature_slot_and_time() -> None:
    assert parse_extras([FIELD["ec200t-qtemp"]["response"]]).temperature_c == 38.0
    assert parse_extras([FIELD["simcom-cpmutemp"]["response"]]).temperature_c == 34.0
    assert parse_extras([FIELD["rm5xx-quimslot"]["response"]]).sim_slot == 1
    # A clock that was never set from the network (the SIM7080 notes show "80/01/06") is no network time.
    assert parse_extras(['+CCLK: "80/01/06,00:22:45+00"']).network_time is None
    assert parse_extras(['+CCLK: "26/12/01,19:30:05+32"']).network_time == datetime(2026, 12, 1, 11, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize("how", CHUNKINGS)
def test_concatenated_answer_lines_belong_to_the_command(how: str) -> None:
    command = Command("AT+CFUN?;+CGATT?", expect_prefix="+CFUN:", multiline=True, also_prefixes=("+CGATT:",))
    outcome = run(command, wire_reply("+CFUN: 1\r\n\r\n+CGATT: 1"), how, seed=3)
    assert isinstance(outcome.final, FinalOk)
    assert outcome.lines == ["+CFUN: 1", "+CGATT: 1"]
    pdp = Command("AT+CGDCONT?;+CGACT?", expect_prefix="+CGDCONT:", multiline=True, also_prefixes=("+CGACT:",))
    outcome = run(pdp, wire_reply("+CGACT: 1,0"), how, seed=3)  # no context defined: only the +CGACT line
    assert outcome.lines == ["+CGACT: 1,0"]
