"""Carrier lookup from IMSI (MCC-MNC) and ICCID (issuer prefix)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iotcard.drivers.carrier import carrier_for, carrier_from_iccid, carrier_from_imsi, operator_display_name
from iotcard.drivers.models import Carrier

M, U, T, B = Carrier.CHINA_MOBILE, Carrier.CHINA_UNICOM, Carrier.CHINA_TELECOM, Carrier.CHINA_BROADNET


@pytest.mark.parametrize(
    ("mcc_mnc", "carrier"),
    [
        ("46000", M),
        ("46002", M),
        ("46004", M),
        ("46007", M),
        ("46008", M),
        ("46001", U),
        ("46006", U),
        ("46009", U),
        ("46003", T),
        ("46005", T),
        ("46011", T),
        ("46015", B),
        ("46010", None),
        ("31026", None),
        ("26201", None),
    ],
)
def test_carrier_from_imsi(mcc_mnc: str, carrier: Carrier | None) -> None:
    assert carrier_from_imsi(mcc_mnc + "1234567890") is carrier
    assert carrier_from_imsi(f" {mcc_mnc}0123456 ") is carrier


@pytest.mark.parametrize(
    ("prefix", "carrier"),
    [
        ("898600", M),
        ("898602", M),
        ("898604", M),
        ("898607", M),
        ("898608", M),
        ("898601", U),
        ("898606", U),
        ("898609", U),
        ("898603", T),
        ("898611", T),
        ("898615", B),
        ("898605", None),
        ("894420", None),
    ],
)
def test_carrier_from_iccid(prefix: str, carrier: Carrier | None) -> None:
    assert carrier_from_iccid(prefix + "12345678901234") is carrier


@pytest.mark.parametrize(
    ("iccid", "carrier"),
    [
        ("898602F9091830030220", M),  # China Mobile, hex digit in the account part
        ("89860025128306012474", M),  # Quectel EC2x manual AT+QCCID example
        ("898600700907A6019125", M),  # SIMCom SIM7600 manual AT+CICCID example
        ("89860117838009934120", U),
    ],
)
def test_carrier_from_real_iccids(iccid: str, carrier: Carrier) -> None:
    assert carrier_from_iccid(iccid) is carrier


@pytest.mark.parametrize("value", [None, "", "4600", "46000x123456", "460-00-123", "８９８６００１２３４"])
def test_malformed_gives_none(value: str | None) -> None:
    assert carrier_from_imsi(value) is None
    assert carrier_from_iccid(value) is None


def test_imsi_wins_over_iccid() -> None:
    # A China Unicom card (by ICCID) whose IMSI says China Mobile: the network the card registers as wins.
    assert carrier_for("460001234567890", "89860117838009934120") is M
    assert carrier_for("310260123456789", "89860117838009934120") is U
    assert carrier_for(None, "898603" + "0" * 14) is T
    assert carrier_for("460151234567890", None) is B
    assert carrier_for(None, None) is None


@pytest.mark.parametrize(("carrier", "name"), [(M, "中国移动"), (U, "中国联通"), (T, "中国电信"), (B, "中国广电")])
def test_display_names(carrier: Carrier, name: str) -> None:
    assert operator_display_name(carrier) == name


def test_every_carrier_has_a_display_name() -> None:
    assert all(operator_display_name(carrier) for carrier in Carrier)


@given(st.one_of(st.none(), st.text(max_size=25)), st.one_of(st.none(), st.text(max_size=25)))
def test_lookups_never_raise(imsi: str | None, iccid: str | None) -> None:
    assert carrier_for(imsi, iccid) in (*Carrier, None)
