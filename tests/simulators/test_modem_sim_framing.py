"""Answers are framed as a real module frames them: echo, V.250 verbose/numeric results, +CME errors."""

from __future__ import annotations

import re

import pytest
from modem_sim_support import FINAL_RESULT, info_lines, open_modem, read_for, read_until, transact

pytestmark = pytest.mark.integration


def test_echo_is_on_by_default_and_the_answer_is_framed() -> None:
    with open_modem() as (_, port):
        assert transact(port, "AT") == b"AT\r\r\nOK\r\n"
        assert transact(port, "AT+CGMI") == b"AT+CGMI\r\r\nQuectel\r\n\r\nOK\r\n"


def test_ate0_is_echoed_then_echo_stays_off() -> None:
    with open_modem() as (_, port):
        assert transact(port, "ATE0") == b"ATE0\r\r\nOK\r\n"
        assert transact(port, "AT") == b"\r\nOK\r\n"
        assert transact(port, "ATE1") == b"\r\nOK\r\n"
        assert transact(port, "AT") == b"AT\r\r\nOK\r\n"


def test_multi_line_answer_has_one_leading_crlf_and_one_final() -> None:
    with open_modem() as (_, port):
        raw = transact(port, "ATI")
    assert raw == b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25ECGAR06A07M1G\r\n\r\nOK\r\n"


@pytest.mark.parametrize("line", ["at+cgmi", "At+CgMi", "aT+CGMI"])
def test_the_at_prefix_and_command_names_are_case_insensitive(line: str) -> None:
    with open_modem() as (_, port):
        assert info_lines(transact(port, line)) == ["Quectel"]


def test_concatenated_commands_give_their_lines_and_one_final_result() -> None:
    with open_modem() as (_, port):
        transact(port, "ATE0")
        assert transact(port, "AT+CGMI;+CGMM;+CGMR") == b"\r\nQuectel\r\nEC25\r\nEC25ECGAR06A07M1G\r\n\r\nOK\r\n"
        assert transact(port, "ATE1V1") == b"\r\nOK\r\n"


def test_unknown_command_is_a_plain_error_whatever_cmee() -> None:
    with open_modem(profile="generic") as (_, port):
        transact(port, "ATE0")
        assert transact(port, "AT+NOSUCH") == b"\r\nERROR\r\n"
        transact(port, "AT+CMEE=2")
        assert transact(port, "AT+NOSUCH") == b"\r\nERROR\r\n"


@pytest.mark.parametrize(
    ("cmee", "final"),
    [(0, b"\r\nERROR\r\n"), (1, b"\r\n+CME ERROR: 50\r\n"), (2, b"\r\n+CME ERROR: Incorrect parameters\r\n")],
)
def test_cmee_selects_how_a_bad_parameter_is_reported(cmee: int, final: bytes) -> None:
    with open_modem(profile="generic") as (_, port):
        transact(port, f"ATE0;+CMEE={cmee}")
        assert transact(port, "AT+CMEE?") == f"\r\n+CMEE: {cmee}\r\n\r\nOK\r\n".encode()
        assert transact(port, "AT+CREG=9") == final


def test_cmee_defaults_follow_the_profile() -> None:
    with open_modem(profile="quectel_ec25") as (_, port):
        assert info_lines(transact(port, "AT+CMEE?")) == ["+CMEE: 1"]
    with open_modem(profile="simcom_sim7600") as (_, port):
        assert info_lines(transact(port, "AT+CMEE?")) == ["+CMEE: 0"]


def test_numeric_results_after_atv0() -> None:
    with open_modem() as (_, port):
        transact(port, "ATE0")
        port.write(b"ATV0\r")
        assert read_until(port, re.compile(rb"0\r"), 1.0) == b"0\r"
        port.write(b"AT+CGMI\r")
        assert read_until(port, re.compile(rb"\r\n0\r"), 1.0) == b"Quectel\r\n0\r"
        port.write(b"AT+NOSUCH\r")
        assert read_until(port, re.compile(rb"4\r"), 1.0) == b"4\r"
        port.write(b"ATV1\r")
        assert read_until(port, FINAL_RESULT, 1.0) == b"\r\nOK\r\n"


def test_lines_without_at_prefix_are_ignored_but_echoed() -> None:
    with open_modem() as (_, port):
        port.write(b"hello\r")
        assert read_for(port, 0.2) == b"hello\r"
        assert transact(port, "AT") == b"AT\r\r\nOK\r\n"


def test_crlf_terminated_commands_and_backspace_are_understood() -> None:
    with open_modem() as (sim, port):
        transact(port, "ATE0")
        port.write(b"AT+CGMX\x08I\r\n")
        assert read_until(port, FINAL_RESULT) == b"\r\nQuectel\r\n\r\nOK\r\n"
        assert sim.commands == ["ATE0", "AT+CGMI"]


def test_commands_record_every_line_received() -> None:
    with open_modem() as (sim, port):
        for command in ("AT", "ATE0", "AT+CSQ"):
            transact(port, command)
        assert sim.commands == ["AT", "ATE0", "AT+CSQ"]
