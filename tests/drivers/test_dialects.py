"""Choosing a dialect from the +CGMI/ATI answer, finding one by name, and the shape every dialect must have."""

from __future__ import annotations

import pytest

from iotcard.drivers.at import Command
from iotcard.drivers.dialects import (
    CMCC,
    DIALECTS,
    FIBOCOM,
    GENERIC,
    HUAWEI,
    LUAT,
    QUECTEL,
    SIMCOM,
    UBLOX,
    Dialect,
    detect_dialect,
    dialect_by_name,
)

# Base reads a dialect may skip: the names iotcard/drivers/modem.py gives them.
BASE_READS = {"csq", "cesq", "creg", "cgreg", "cereg", "c5greg", "cops"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param("Quectel", QUECTEL, id="EC25 AT manual +CGMI"),
        pytest.param("Quectel\nEC25\nRevision: EC25EFAR06A06M4G", QUECTEL, id="EC25 AT manual ATI"),
        pytest.param("SIMCOM INCORPORATED", SIMCOM, id="SIM7600 AT manual +CGMI"),
        pytest.param("SIMCOM_Ltd", SIMCOM, id="SIM868 capture +CGMI"),
        pytest.param("Huawei Technologies Co., Ltd.", HUAWEI, id="ME909s spec +CGMI"),
        pytest.param("Manufacturer: Huawei Technologies Co., Ltd.\nModel: ME909s-821", HUAWEI, id="ME909s ATI"),
        pytest.param("Fibocom", FIBOCOM, id="Fibocom +CGMI"),
        pytest.param("FIBOCOM WIRELESS INC.", FIBOCOM, id="Fibocom upper case"),
        pytest.param("u-blox", UBLOX, id="SARA-R4 AT manual +CGMI"),
        pytest.param("Manufacturer: ublox", UBLOX, id="u-blox without hyphen"),
        pytest.param('+CGMI: "AirM2M"', LUAT, id="Air780E AT manual Base/CGMI"),
        pytest.param("AirM2M", LUAT, id="Air724UG +CGMI bare"),
        pytest.param("Luat", LUAT, id="Luat"),
        pytest.param("China Mobile", CMCC, id="ML302/ML307 China Mobile"),
        pytest.param("CMCC", CMCC, id="ML30x CMCC"),
        pytest.param("CMIOT", CMCC, id="China Mobile IoT"),
    ],
)
def test_manufacturer_text_picks_the_vendor(answer: str, expected: Dialect) -> None:
    assert detect_dialect(answer) is expected


@pytest.mark.parametrize("answer", ["QUALCOMM INCORPORATED", "Telit", "Sierra Wireless, Incorporated", "", "   "])
def test_unknown_manufacturer_picks_generic(answer: str) -> None:
    assert detect_dialect(answer) is GENERIC


def test_short_letters_do_not_pick_china_mobile() -> None:
    # "CM" alone occurs inside unrelated words; only the long forms select the CMCC dialect.
    assert detect_dialect("Telecom Module CM") is GENERIC


def test_generic_is_the_bare_base() -> None:
    assert GENERIC.name == "generic"
    assert (GENERIC.queries, GENERIC.counters, GENERIC.iccid_commands, GENERIC.urc_prefixes) == ((), None, (), ())
    assert GENERIC.skip_base == frozenset()


@pytest.mark.parametrize("dialect", [GENERIC, *DIALECTS], ids=lambda d: d.name)
def test_dialect_by_name(dialect: Dialect) -> None:
    assert dialect_by_name(dialect.name) is dialect
    assert dialect_by_name(dialect.name.upper()) is dialect


def test_dialect_by_name_lists_the_known_names() -> None:
    with pytest.raises(KeyError) as info:
        dialect_by_name("nokia")
    message = str(info.value)
    assert "nokia" in message
    for dialect in (GENERIC, *DIALECTS):
        assert dialect.name in message


def test_dialects_are_distinct_and_ordered() -> None:
    names = [d.name for d in DIALECTS]
    assert names == ["quectel", "simcom", "huawei", "fibocom", "ublox", "luat", "cmcc"]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_dialect_shape(dialect: Dialect) -> None:
    assert dialect.manufacturer_patterns
    for pattern in dialect.manufacturer_patterns:
        assert pattern == pattern.lower() and pattern.strip() == pattern
        assert len(pattern) >= 4 or not pattern.isascii(), pattern
    # A boot URC must also be registered, or the engine would never report it as a URC.
    assert set(dialect.boot_urcs) <= set(dialect.urc_prefixes)
    assert dialect.skip_base <= BASE_READS
    commands: list[Command] = [q.command for q in dialect.queries] + list(dialect.iccid_commands)
    if dialect.counters is not None:
        commands.append(dialect.counters.command)
    for command in commands:
        assert command.expect_prefix, command
        assert command.timeout > 0


def test_what_each_dialect_reads() -> None:
    def texts(dialect: Dialect) -> list[str]:
        return [q.command.text for q in dialect.queries]

    assert texts(QUECTEL) == ['AT+QENG="servingcell"', "AT+QCSQ", "AT+QNWINFO"]
    assert QUECTEL.queries[0].command.multiline is True
    assert texts(SIMCOM) == ["AT+CPSI?", "AT+CNSMOD?"]
    assert texts(HUAWEI) == ["AT^SYSINFOEX", "AT^HCSQ?"]
    assert texts(FIBOCOM) == ["AT+XCESQ?"]
    assert texts(UBLOX) == []
    assert texts(LUAT) == ["AT+CCED=0,1", "AT^SYSINFO"]
    assert texts(CMCC) == ["AT+CCED=0,1"]
    counters = {d.name: d.counters.command.text for d in DIALECTS if d.counters is not None}
    assert counters == {"quectel": "AT+QGDCNT?", "huawei": "AT^DSFLOWQRY", "ublox": "AT+UGCNTRD", "luat": "AT^DATAINFO"}
    iccid = {d.name: [c.text for c in d.iccid_commands] for d in DIALECTS}
    assert iccid == {
        "quectel": ["AT+QCCID"],
        "simcom": ["AT+CICCID"],
        "huawei": ["AT^ICCID?"],
        "fibocom": [],
        "ublox": [],
        "luat": [],
        "cmcc": ["AT+MCCID"],
    }
    assert {d.name: d.boot_urcs for d in DIALECTS if d.boot_urcs} == {
        "quectel": ("RDY",),
        "simcom": ("RDY", "*ATREADY:"),
        "huawei": ("^SYSSTART",),
    }
    assert {d.name for d in DIALECTS if "cesq" in d.skip_base} == {"quectel", "simcom", "huawei"}
