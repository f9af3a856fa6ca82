"""Vendor parsers on real replies: public test vectors (tests/data/at_vectors_vendor.json), manual examples and
field captures, each also fed through the AT engine whole, byte by byte, in random chunks and with a URC inside."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from at_helpers import CHUNKINGS, run, wire_reply
from iotcard.drivers.at import Command, FinalOk
from iotcard.drivers.dialects import FIBOCOM, HUAWEI, LUAT, QUECTEL, SIMCOM, UBLOX, Dialect
from iotcard.drivers.dialects._fibocom import parse_xcesq
from iotcard.drivers.dialects._huawei import parse_dsflowqry, parse_hcsq, parse_sysinfoex
from iotcard.drivers.dialects._luat import parse_cced, parse_datainfo, parse_sysinfo
from iotcard.drivers.dialects._quectel import (
    parse_qcsq,
    parse_qeng_servingcell,
    parse_qeng_servingcell_db,
    parse_qgdcnt,
    parse_qnwinfo,
)
from iotcard.drivers.dialects._simcom import parse_cnsmod, parse_cpsi
from iotcard.drivers.dialects._ublox import parse_ugcntrd
from iotcard.drivers.errors import ParseError
from iotcard.drivers.models import AccessTechnology as T
from iotcard.drivers.models import RegistrationState as R
from iotcard.drivers.models import VendorFacts

Parser = Callable[[Sequence[str]], VendorFacts]

VECTORS: dict[str, dict[str, Any]] = {
    v["id"]: v
    for v in json.loads((Path(__file__).parent.parent / "data" / "at_vectors_vendor.json").read_text("utf-8"))[
        "vectors"
    ]
}

FIELD: dict[str, dict[str, Any]] = {
    v["id"]: v
    for v in json.loads((Path(__file__).parent.parent / "data" / "at_vectors_field.json").read_text("utf-8"))["vectors"]
}


def _query(dialect: Dialect, text: str) -> Command:
    for query in (*dialect.queries, *((dialect.counters,) if dialect.counters else ())):
        if query.command.text == text:
            return query.command
    raise AssertionError(f"{dialect.name} has no query {text}")


def engine_lines(command: Command, reply: str, how: str, dialect: Dialect) -> list[str]:
    """What the engine hands the parser, with the dialect's URC registry active (as the session has it)."""
    outcome = run(command, wire_reply(reply), how, seed=11, urc_prefixes=dialect.urc_prefixes)
    assert isinstance(outcome.final, FinalOk), outcome
    if how == "urc_inside":
        assert [u.text for u in outcome.urcs] == ['+CMTI: "SM",3'], outcome
    assert not outcome.strays, outcome
    return outcome.lines


# (dialect, command text, parser, reply, expected facts); the id names the source.
CASES = [
    # --- Quectel +QENG="servingcell" ---------------------------------------------------------------------------
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        VECTORS["vjt-qeng-servingcell-lte-1line"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="22201",
            cell_id=0x4940206,
            pci=427,
            channel=1350,
            band="B3",
            tac=0xBFF,
            rsrp_dbm=-93.0,
            rsrq_db=-11.0,
            rssi_dbm=-61.0,
            sinr_db=11.0,
        ),
        id="vector:vjt-qeng-servingcell-lte-1line",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        VECTORS["vjt-qeng-servingcell-lte-2line"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="22201",
            cell_id=0x328261F,
            pci=280,
            channel=275,
            band="B1",
            tac=0xBE3,
            rsrp_dbm=-99.0,
            rsrq_db=-14.0,
            rssi_dbm=-66.0,
            sinr_db=7.0,
        ),
        id="vector:vjt-qeng-servingcell-lte-2line",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        VECTORS["vjt-qeng-servingcell-endc"]["response"],
        VendorFacts(
            access_technology=T.NR5G,
            mcc_mnc="22201",
            cell_id=0x328261F,
            pci=280,
            channel=275,
            band="B1+n78",
            tac=0xBE3,
            rsrp_dbm=-99.0,
            rsrq_db=-14.0,
            rssi_dbm=-66.0,
            sinr_db=7.0,
        ),
        id="vector:vjt-qeng-servingcell-endc",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        '+QENG: "servingcell","NOCONN","LTE","FDD",216,70,127328,189,476,1,3,3,D17,-104,-9,-77,18,-,-,-',
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="21670",
            cell_id=0x127328,
            pci=189,
            channel=476,
            band="B1",
            tac=0xD17,
            rsrp_dbm=-104.0,
            rsrq_db=-9.0,
            rssi_dbm=-77.0,
            sinr_db=18.0,
        ),
        id="capture:pastebin.com/2a9WR5hT (RouterOS lte log, Quectel) - '-' for cqi/tx_power/srxlev",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        FIELD["ep06e-qeng-lte-classic"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="22288",
            cell_id=0x4CAA71F,
            pci=28,
            channel=1500,
            band="B3",
            tac=0x77B8,
            rsrp_dbm=-84.0,
            rsrq_db=-9.0,
            rssi_dbm=-56.0,
            sinr_db=22.0,
        ),
        id="field:ep06e-qeng-lte-classic (SINR 2x-20)",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        FIELD["eg25g-qeng-lte-classic"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="21401",
            cell_id=0x7676A09,
            pci=188,
            channel=6300,
            band="B20",
            tac=0x603,
            rsrp_dbm=-104.0,
            rsrq_db=-9.0,
            rssi_dbm=-78.0,
            sinr_db=2.0,
        ),
        id="field:eg25g-qeng-lte-classic (SINR 2x-20)",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        FIELD["rm500q-qeng-endc-qmi"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="00101",
            cell_id=0x1A2D001,
            pci=1,
            channel=1575,
            band="B3",
            tac=0x1,
            rsrp_dbm=-70.0,
            rsrq_db=-9.0,
            rssi_dbm=-46.0,
            sinr_db=30.0,
        ),
        id="field:rm500q-qeng-endc-qmi (anchor SINR 30 dB as QMI said; NR line without band)",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        '+QENG: "servingcell","NOCONN"\r\n'
        + VECTORS["vjt-qeng-servingcell-endc"]["response"].split("\n")[1]
        + "\r\n"
        + FIELD["rm5xx-qeng-endc-nr-idle"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="22201",
            cell_id=0x328261F,
            pci=280,
            channel=275,
            band="B1",
            tac=0xBE3,
            rsrp_dbm=-99.0,
            rsrq_db=-14.0,
            rssi_dbm=-66.0,
            sinr_db=7.0,
        ),
        id="field:rm5xx-qeng-endc-nr-idle after the vjt RM520N anchor line (the anchor is kept)",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell_db,
        FIELD["ec200t-qeng-lte-db"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="12301",
            cell_id=0x43300C,
            pci=348,
            channel=1802,
            band="B3",
            tac=0x5443,
            rsrp_dbm=-87.0,
            rsrq_db=-16.0,
            rssi_dbm=-69.0,
            sinr_db=5.0,
        ),
        id="field:ec200t-qeng-lte-db (EC200 family: SINR in dB)",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        FIELD["quectel-qeng-wcdma-att"]["response"],
        VendorFacts(
            access_technology=T.UMTS,
            mcc_mnc="310410",
            lac=0xDEA6,
            cell_id=0x2883C,
            channel=4385,
            rscp_dbm=-98.0,
            ecno_db=-7.0,
        ),
        id="field:quectel-qeng-wcdma-att",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        FIELD["quectel-qeng-gsm-cmcc"]["response"],
        VendorFacts(access_technology=T.GSM, mcc_mnc="46000", lac=0x247C, cell_id=0x1327, channel=82, rssi_dbm=-52.0),
        id="field:quectel-qeng-gsm-cmcc",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        FIELD["quectel-qeng-gsm-beeline"]["response"],
        VendorFacts(access_technology=T.GSM, mcc_mnc="25099", lac=0xDC51, cell_id=0xB919, channel=50, rssi_dbm=-73.0),
        id="field:quectel-qeng-gsm-beeline",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        FIELD["rm520n-qeng-nr5g-sa"]["response"],
        VendorFacts(
            access_technology=T.NR5G,
            registration=R.EMERGENCY_ONLY,
            mcc_mnc="26299",
            cell_id=0xBC614E,
            pci=0,
            tac=0x1,
            channel=640320,
            band="n77",
            rsrp_dbm=-72.0,
            rsrq_db=-10.0,
            sinr_db=29.0,
        ),
        id="field:rm520n-qeng-nr5g-sa",
    ),
    pytest.param(
        QUECTEL,
        'AT+QENG="servingcell"',
        parse_qeng_servingcell,
        '+QENG: "servingcell","SEARCH"',
        VendorFacts(registration=R.SEARCHING),
        id="syntax:QENG note 2.1.1 SEARCH state",
    ),
    # --- Quectel +QCSQ / +QNWINFO / +QGDCNT --------------------------------------------------------------------
    pytest.param(
        QUECTEL,
        "AT+QCSQ",
        parse_qcsq,
        '+QCSQ: "CAT-M1",-91,-129,67,-20',
        VendorFacts(access_technology=T.LTE_M, rssi_dbm=-91.0, rsrp_dbm=-129.0, sinr_db=-6.6, rsrq_db=-20.0),
        id="capture:forums.quectel.com 'AT+QCSQ command conversion on EG21-G' (BG96 line)",
    ),
    pytest.param(
        QUECTEL,
        "AT+QCSQ",
        parse_qcsq,
        '+QCSQ: "LTE",77,-116,76,-17',
        VendorFacts(access_technology=T.LTE, rssi_dbm=-77.0, rsrp_dbm=-116.0, sinr_db=-4.8, rsrq_db=-17.0),
        id="capture:forums.quectel.com 'AT+QCSQ command conversion on EG21-G' (positive RSSI magnitude)",
    ),
    pytest.param(
        QUECTEL,
        "AT+QCSQ",
        parse_qcsq,
        '+QCSQ: "WCDMA",-65,-72,-7',
        VendorFacts(access_technology=T.UMTS, rssi_dbm=-65.0, rscp_dbm=-72.0, ecno_db=-7.0),
        id="syntax:EC25 AT manual +QCSQ WCDMA form",
    ),
    pytest.param(
        QUECTEL,
        "AT+QCSQ",
        parse_qcsq,
        '+QCSQ: "GSM",-69',
        VendorFacts(access_technology=T.GSM, rssi_dbm=-69.0),
        id="syntax:EC25 AT manual +QCSQ GSM form",
    ),
    pytest.param(
        QUECTEL,
        "AT+QCSQ",
        parse_qcsq,
        '+QCSQ: "NR5G",-85,25,-11',
        VendorFacts(access_technology=T.NR5G, rsrp_dbm=-85.0, sinr_db=25.0, rsrq_db=-11.0),
        id="syntax:RM500Q AT manual +QCSQ NR5G form",
    ),
    pytest.param(
        QUECTEL,
        "AT+QCSQ",
        parse_qcsq,
        '+QCSQ: "NOSERVICE"',
        VendorFacts(),
        id="syntax:EC25 AT manual +QCSQ NOSERVICE",
    ),
    pytest.param(
        QUECTEL,
        "AT+QNWINFO",
        parse_qnwinfo,
        '+QNWINFO: "FDD LTE","46001","LTE BAND 3",1650',
        VendorFacts(access_technology=T.LTE, mcc_mnc="46001", band="B3", channel=1650),
        id="syntax:EC25 AT manual +QNWINFO example form",
    ),
    pytest.param(
        QUECTEL,
        "AT+QNWINFO",
        parse_qnwinfo,
        '+QNWINFO: "HSPA+","46001","WCDMA 2100",10713',
        VendorFacts(access_technology=T.HSPA, mcc_mnc="46001", band="WCDMA 2100", channel=10713),
        id="syntax:EC25 AT manual +QNWINFO WCDMA band text",
    ),
    pytest.param(
        QUECTEL,
        "AT+QNWINFO",
        parse_qnwinfo,
        "+QNWINFO: No Service",
        VendorFacts(),
        id="syntax:EC25 AT manual +QNWINFO No Service",
    ),
    pytest.param(
        QUECTEL,
        "AT+QGDCNT?",
        parse_qgdcnt,
        "+QGDCNT: 3116,2983",
        VendorFacts(tx_bytes=3116, rx_bytes=2983),
        id="syntax:EC25 AT manual +QGDCNT read form",
    ),
    # --- Huawei ------------------------------------------------------------------------------------------------
    pytest.param(
        HUAWEI,
        "AT^HCSQ?",
        parse_hcsq,
        VECTORS["mm-huawei-hcsq-0"]["response"],
        VendorFacts(access_technology=T.LTE, rssi_dbm=-90.0, rsrp_dbm=-121.0, sinr_db=-6.8, rsrq_db=-19.5),
        id="vector:mm-huawei-hcsq-0",
    ),
    pytest.param(
        HUAWEI,
        "AT^HCSQ?",
        parse_hcsq,
        VECTORS["mm-huawei-hcsq-1"]["response"],
        VendorFacts(access_technology=T.UMTS, rssi_dbm=-90.0, rscp_dbm=-90.0, ecno_db=-3.0),
        id="vector:mm-huawei-hcsq-1",
    ),
    pytest.param(
        HUAWEI,
        "AT^HCSQ?",
        parse_hcsq,
        VECTORS["mm-huawei-hcsq-2"]["response"],
        VendorFacts(access_technology=T.GSM, rssi_dbm=-84.0),
        id="vector:mm-huawei-hcsq-2",
    ),
    pytest.param(
        HUAWEI,
        "AT^HCSQ?",
        parse_hcsq,
        VECTORS["mm-huawei-hcsq-3"]["response"],
        VendorFacts(access_technology=T.LTE, rssi_dbm=-87.0, rsrp_dbm=-100.0, sinr_db=7.0, rsrq_db=-14.0),
        id="vector:mm-huawei-hcsq-3",
    ),
    pytest.param(
        HUAWEI,
        "AT^HCSQ?",
        parse_hcsq,
        VECTORS["mm-huawei-hcsq-4"]["response"],
        VendorFacts(),
        id="vector:mm-huawei-hcsq-4 (NOSERVICE says nothing; ModemManager errors)",
    ),
    pytest.param(
        HUAWEI,
        "AT^HCSQ?",
        parse_hcsq,
        VECTORS["mm-huawei-hcsq-5"]["response"],
        VendorFacts(),
        id="vector:mm-huawei-hcsq-5 (unquoted NOSERVICE)",
    ),
    pytest.param(
        HUAWEI,
        "AT^HCSQ?",
        parse_hcsq,
        '^HCSQ: "NR",55,181,20',
        VendorFacts(access_technology=T.NR5G, rsrp_dbm=-85.0, sinr_db=16.2, rsrq_db=-9.5),
        id="capture:yzsam.com '[5g module] discuss RSSI, rsrp, rsrq and SINR' (Huawei 5G module)",
    ),
    pytest.param(
        HUAWEI,
        "AT^SYSINFOEX",
        parse_sysinfoex,
        VECTORS["mm-huawei-sysinfoex-0"]["response"],
        VendorFacts(access_technology=T.UMTS, sim_present=True),
        id="vector:mm-huawei-sysinfoex-0 (roam 5 leaves home/roaming unsaid)",
    ),
    pytest.param(
        HUAWEI,
        "AT^SYSINFOEX",
        parse_sysinfoex,
        VECTORS["mm-huawei-sysinfoex-1"]["response"],
        VendorFacts(access_technology=T.UMTS, sim_present=True),
        id="vector:mm-huawei-sysinfoex-1",
    ),
    pytest.param(
        HUAWEI,
        "AT^SYSINFOEX",
        parse_sysinfoex,
        VECTORS["mm-huawei-sysinfoex-2"]["response"],
        VendorFacts(access_technology=T.UMTS, sim_present=True),
        id="vector:mm-huawei-sysinfoex-2",
    ),
    pytest.param(
        HUAWEI,
        "AT^SYSINFOEX",
        parse_sysinfoex,
        '^SYSINFOEX: 2,3,1,1,,6,"LTE",101,"LTE"',
        VendorFacts(access_technology=T.LTE, registration=R.ROAMING, sim_present=True),
        id="syntax:ME909s spec ^SYSINFOEX LTE roaming",
    ),
    pytest.param(
        HUAWEI,
        "AT^SYSINFOEX",
        parse_sysinfoex,
        '^SYSINFOEX: 2,3,0,1,,3,"WCDMA",45,"HSPA+"',
        VendorFacts(access_technology=T.HSPA, registration=R.HOME, sim_present=True),
        id="syntax:ME909s spec ^SYSINFOEX HSPA+ home",
    ),
    pytest.param(
        HUAWEI,
        "AT^SYSINFOEX",
        parse_sysinfoex,
        '^SYSINFOEX: 0,0,0,255,,0,"NO SERVICE",0,"NO SERVICE"',
        VendorFacts(registration=R.NOT_REGISTERED, sim_present=False),
        id="syntax:ME909s spec ^SYSINFOEX no card",
    ),
    pytest.param(
        HUAWEI,
        "AT^DSFLOWQRY",
        parse_dsflowqry,
        "^DSFLOWQRY: 00000032,0000000000000C4A,0000000000001A95,00000A32,00000000000C7E03,00000000002DBC51",
        VendorFacts(tx_bytes=0xC7E03, rx_bytes=0x2DBC51),
        id="syntax:ME909s spec ^DSFLOWQRY, hex totals",
    ),
    # --- SIMCom ------------------------------------------------------------------------------------------------
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        "+CPSI: LTE,Online,460-11,0x5A1E,187214615,232,EUTRAN-BAND3,100,5,5,-94,-850,-545,15",
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="46011",
            tac=0x5A1E,
            cell_id=187214615,
            pci=232,
            band="B3",
            channel=100,
            rsrq_db=-9.4,
            rsrp_dbm=-85.0,
            rssi_dbm=-54.5,
            sinr_db=10.0,
        ),
        id="manual:SIM7500_SIM7600 AT manual V1.08 AT+CPSI LTE example (tenths)",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        "+CPSI: LTE,Online,404-45,0x21F9,322642,453,EUTRAN-BAND40,39275,4,4,-168,-1126,-773,7",
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="40445",
            tac=0x21F9,
            cell_id=322642,
            pci=453,
            band="B40",
            channel=39275,
            rsrq_db=-16.8,
            rsrp_dbm=-112.6,
            rssi_dbm=-77.3,
            sinr_db=-6.0,
        ),
        id="capture:SIM7600 sample in a public ROS message definition (CPSI.msg)",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        FIELD["sim7906-cpsi-lte-tenths"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="25002",
            tac=0x0EF8,
            cell_id=22060,
            pci=58,
            band="B3",
            channel=1725,
            rsrq_db=-10.8,
            rsrp_dbm=-88.9,
            rssi_dbm=-61.4,
            sinr_db=18.0,
        ),
        id="field:sim7906-cpsi-lte-tenths",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        FIELD["sim7000g-cpsi-catm-whole"]["response"],
        VendorFacts(
            access_technology=T.LTE_M,
            mcc_mnc="310410",
            tac=0x9709,
            cell_id=111159055,
            pci=393,
            band="B12",
            channel=5110,
            rsrq_db=-16.0,
            rsrp_dbm=-113.0,
            rssi_dbm=-83.0,
            sinr_db=0.0,
        ),
        id="field:sim7000g-cpsi-catm-whole (whole units)",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        FIELD["sim7080-cpsi-lte-index"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="46001",
            tac=0x254F,
            cell_id=102117378,
            pci=85,
            band="B3",
            channel=1650,
            rsrq_db=-11.5,
            rsrp_dbm=-81.0,
            sinr_db=9.0,
        ),
        id="field:sim7080-cpsi-lte-index (27.007 indices)",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        FIELD["a76xx-cpsi-lte-index-cmcc"]["response"],
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="46000",
            tac=0x247C,
            cell_id=225360194,
            pci=5,
            band="B40",
            channel=38950,
            rsrq_db=-4.5,
            rsrp_dbm=-72.0,
            sinr_db=28.0,
        ),
        id="field:a76xx-cpsi-lte-index-cmcc (27.007 indices)",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        "+CPSI: GSM,Online,460-00,0x182d,12401,27 EGSM 900,-64,2110,42-42",
        VendorFacts(
            access_technology=T.GSM,
            mcc_mnc="46000",
            lac=0x182D,
            cell_id=12401,
            channel=27,
            band="EGSM 900",
            rssi_dbm=-64.0,
        ),
        id="manual:SIM7500_SIM7600 AT manual V1.08 AT+CPSI GSM example",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        "+CPSI: WCDMA,Online,001-01,0xC7D2,10101,WCDMA IMT 2000,211,10563,0,1.5,62,33,52,500",
        VendorFacts(access_technology=T.UMTS, mcc_mnc="00101", lac=0xC7D2, cell_id=10101, channel=10563),
        id="manual:SIM7500_SIM7600 AT manual V1.08 AT+CPSI WCDMA example",
    ),
    pytest.param(
        SIMCOM,
        "AT+CPSI?",
        parse_cpsi,
        "+CPSI: NO SERVICE,Online",
        VendorFacts(),
        id="manual:SIM7500_SIM7600 AT manual V1.08 AT+CPSI no service",
    ),
    pytest.param(
        SIMCOM,
        "AT+CNSMOD?",
        parse_cnsmod,
        "+CNSMOD: 0,8",
        VendorFacts(access_technology=T.LTE),
        id="manual:SIM7500_SIM7600 AT manual V1.08 AT+CNSMOD 8 = LTE",
    ),
    pytest.param(
        SIMCOM,
        "AT+CNSMOD?",
        parse_cnsmod,
        "+CNSMOD: 1,7",
        VendorFacts(access_technology=T.HSPA),
        id="manual:SIM7500_SIM7600 AT manual V1.08 AT+CNSMOD 7 = HSPA",
    ),
    pytest.param(
        SIMCOM,
        "AT+CNSMOD?",
        parse_cnsmod,
        "+CNSMOD: 0,0",
        VendorFacts(),
        id="manual:SIM7500_SIM7600 AT manual V1.08 AT+CNSMOD 0 = no service",
    ),
    # --- Luat / AirM2M -----------------------------------------------------------------------------------------
    pytest.param(
        LUAT,
        "AT+CCED=0,1",
        parse_cced,
        "+CCED:LTE current cell:460,00,460045926307603,0,40,n100,39148,140542123,51,29,6334,34,351",
        VendorFacts(
            access_technology=T.LTE,
            mcc_mnc="46000",
            band="B40",
            channel=39148,
            cell_id=140542123,
            rsrp_dbm=-89.0,
            rsrq_db=-5.0,
            tac=6334,
        ),
        id="manual:Air780E AT manual Network_service/CCED LTE example",
    ),
    pytest.param(
        LUAT,
        "AT+CCED=0,1",
        parse_cced,
        "+CCED:GSM current cell info:460,00,18be,5045,13,63,63,6",
        VendorFacts(access_technology=T.GSM, mcc_mnc="46000", lac=0x18BE, cell_id=0x5045, rssi_dbm=-47.0, channel=6),
        id="manual:Air780E AT manual Network_service/CCED GSM example",
    ),
    pytest.param(
        LUAT,
        "AT^SYSINFO",
        parse_sysinfo,
        "^SYSINFO:2,3,0,17,1,7",
        VendorFacts(access_technology=T.LTE, registration=R.HOME, sim_present=True),
        id="syntax:Air780E AT manual Network_service/SYSINFO (sys_mode 17 LTE)",
    ),
    pytest.param(
        LUAT,
        "AT^SYSINFO",
        parse_sysinfo,
        "^SYSINFO:2,3,1,4,1,6",
        VendorFacts(access_technology=T.HSPA, registration=R.ROAMING, sim_present=True),
        id="syntax:Air780E AT manual Network_service/SYSINFO (WCDMA with HSDPA+HSUPA)",
    ),
    pytest.param(
        LUAT,
        "AT^SYSINFO",
        parse_sysinfo,
        "^SYSINFO:0,0,0,0,255,0",
        VendorFacts(registration=R.NOT_REGISTERED),
        id="syntax:Air780E AT manual Network_service/SYSINFO (no service, 255 = no card or PIN)",
    ),
    pytest.param(
        LUAT,
        "AT^DATAINFO",
        parse_datainfo,
        "^DATAINFO: 12345,67890",
        VendorFacts(tx_bytes=12345, rx_bytes=67890),
        id="syntax:Air780E AT manual Network_service/DATAINFO execute form",
    ),
    # --- Fibocom (XMM) -----------------------------------------------------------------------------------------
    pytest.param(
        FIBOCOM,
        "AT+XCESQ?",
        parse_xcesq,
        VECTORS["mm-xmm-xcesq-0"]["response"],
        VendorFacts(access_technology=T.LTE, rsrq_db=-10.0, rsrp_dbm=-94.0, sinr_db=16.0),
        id="vector:mm-xmm-xcesq-0",
    ),
    pytest.param(
        FIBOCOM,
        "AT+XCESQ?",
        parse_xcesq,
        VECTORS["mm-xmm-xcesq-1"]["response"],
        VendorFacts(access_technology=T.LTE, rsrq_db=-10.0, rsrp_dbm=-94.0, sinr_db=-16.0),
        id="vector:mm-xmm-xcesq-1 (negative rssnr)",
    ),
    pytest.param(
        FIBOCOM,
        "AT+XCESQ?",
        parse_xcesq,
        VECTORS["mm-xmm-xcesq-2"]["response"],
        VendorFacts(access_technology=T.UMTS, rscp_dbm=-79.0, ecno_db=-9.5),
        id="vector:mm-xmm-xcesq-2 (UMTS)",
    ),
    # --- u-blox --------------------------------------------------------------------------------------------------
    pytest.param(
        UBLOX,
        "AT+UGCNTRD",
        parse_ugcntrd,
        VECTORS["mm-ublox-ugcntrd-multi-cid31"]["response"],
        VendorFacts(tx_bytes=100 + 2724, rx_bytes=0 + 1839),
        id="vector:mm-ublox-ugcntrd-multi-cid31 (totals of all contexts summed)",
    ),
    pytest.param(
        UBLOX,
        "AT+UGCNTRD",
        parse_ugcntrd,
        VECTORS["mm-ublox-ugcntrd-64bit"]["response"],
        VendorFacts(tx_bytes=1397316870, rx_bytes=113728263578),
        id="vector:mm-ublox-ugcntrd-64bit",
    ),
]


@pytest.mark.parametrize(("dialect", "command_text", "parse", "reply", "expected"), CASES)
def test_parser_on_reply_text(
    dialect: Dialect, command_text: str, parse: Parser, reply: str, expected: VendorFacts
) -> None:
    lines = [line for line in reply.replace("\r", "\n").split("\n") if line.strip() and line.strip() != "OK"]
    assert parse(lines) == expected


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize(("dialect", "command_text", "parse", "reply", "expected"), CASES)
def test_parser_through_engine(
    dialect: Dialect, command_text: str, parse: Parser, reply: str, expected: VendorFacts, how: str
) -> None:
    command = _query(dialect, command_text)
    assert parse(engine_lines(command, reply, how, dialect)) == expected


def test_vectors_agree_with_their_sources() -> None:
    """What the source tests assert, checked against this project's physical units."""
    hcsq3 = VECTORS["mm-huawei-hcsq-3"]["expected"]["values"]
    facts = parse_hcsq([VECTORS["mm-huawei-hcsq-3"]["response"]])
    assert facts.rsrp_dbm == -140 + hcsq3[1] and facts.sinr_db == pytest.approx(-20 + 0.2 * hcsq3[2])
    for vid in ("mm-huawei-hcsq-4", "mm-huawei-hcsq-5"):
        assert VECTORS[vid]["expected"]["expect_error"] is True  # ModemManager's view; here: an empty answer
    for vid in ("mm-huawei-sysinfoex-0", "mm-huawei-sysinfoex-1", "mm-huawei-sysinfoex-2"):
        assert VECTORS[vid]["expected"]["sys_submode"] == 41
    endc = VECTORS["vjt-qeng-servingcell-endc"]["expected"]
    assert (endc["lte"]["sinr"], endc["lte"]["band"], endc["nr5g_nsa"]["band"]) == (7, 1, 78)
    for vid in ("mm-xmm-xcesq-0", "mm-xmm-xcesq-1"):
        mm_lte = VECTORS[vid]["expected"]["mm_asserted"]["lte"]
        facts = parse_xcesq([VECTORS[vid]["response"]])
        # ModemManager uses the lower bin edge (one step below); SNR is the same.
        assert facts.rsrp_dbm == mm_lte["rsrp"] + 1 and facts.rsrq_db == mm_lte["rsrq"] + 0.5
        assert facts.sinr_db == mm_lte["snr"]
    big = VECTORS["mm-ublox-ugcntrd-64bit"]["expected"]
    assert parse_ugcntrd([VECTORS["mm-ublox-ugcntrd-64bit"]["response"]]) == VendorFacts(
        tx_bytes=big["total_tx_bytes"], rx_bytes=big["total_rx_bytes"]
    )


BAD = [
    pytest.param(parse_qeng_servingcell, ['+QENG: "neighbourcell intra","LTE",1650'], id="qeng-not-servingcell"),
    pytest.param(parse_qeng_servingcell, ['+QENG: "servingcell","NOCONN","LTE","FDD",460'], id="qeng-short-lte"),
    pytest.param(parse_qeng_servingcell, ['+QENG: "servingcell","NOCONN","CDMA",1,2'], id="qeng-unknown-rat"),
    pytest.param(parse_qeng_servingcell, ["OK"], id="qeng-no-line"),
    pytest.param(parse_qcsq, ['+QCSQ: "CDMA",-70,-5'], id="qcsq-cdma"),
    pytest.param(parse_qcsq, ['+QCSQ: "LTE",-70,x,1,2'], id="qcsq-not-a-number"),
    pytest.param(parse_qnwinfo, ['+QNWINFO: "FDD LTE","CMCC","LTE BAND 3",1650'], id="qnwinfo-alpha-operator"),
    pytest.param(parse_qgdcnt, ["+QGDCNT: -1,5"], id="qgdcnt-negative"),
    pytest.param(parse_qgdcnt, ["+QGDCNT: 1"], id="qgdcnt-one-field"),
    pytest.param(parse_hcsq, ['^HCSQ: "LTE",300,1,1,1'], id="hcsq-out-of-range"),
    pytest.param(parse_hcsq, ['^HCSQ: "CDMA",10'], id="hcsq-cdma"),
    pytest.param(parse_sysinfoex, ["^SYSINFOEX: 2,3,0"], id="sysinfoex-short"),
    pytest.param(parse_dsflowqry, ["^DSFLOWQRY: 1,2,3"], id="dsflowqry-short"),
    pytest.param(parse_dsflowqry, ["^DSFLOWQRY: 0,0,0,0,XYZ,0"], id="dsflowqry-not-hex"),
    pytest.param(
        parse_cpsi, ["+CPSI: LTE,Online,46011,0x5A1E,1,2,EUTRAN-BAND3,100,5,5,-94,-850,-545,15"], id="cpsi-plmn"
    ),
    pytest.param(parse_cpsi, ["+CPSI: CDMA,Online,1,2,3"], id="cpsi-cdma"),
    pytest.param(
        parse_cpsi, ["+CPSI: LTE,Online,460-01,0x254F,1,85,EUTRAN-BAND3,1650,5,0,16,120,61,9"], id="cpsi-index-rsrp-98+"
    ),
    pytest.param(parse_cnsmod, ["+CNSMOD: 8"], id="cnsmod-one-field"),
    pytest.param(parse_cced, ["+CCED:LTE neighbor cell:460,00,38950,140541985,57,24,6334,36,351"], id="cced-neighbour"),
    pytest.param(parse_cced, ["+CCED:LTE current cell:460,00,1"], id="cced-short"),
    pytest.param(parse_sysinfo, ["^SYSINFO:2,3"], id="sysinfo-short"),
    pytest.param(parse_datainfo, ["^DATAINFO: 12,x"], id="datainfo-not-a-number"),
    pytest.param(parse_xcesq, ["+XCESQ: 0,99,99,255,255,19,46"], id="xcesq-seven-fields"),
    pytest.param(parse_ugcntrd, ["+UGCNTRD: 1,2,3"], id="ugcntrd-short"),
    pytest.param(parse_ugcntrd, [], id="ugcntrd-empty"),
]


@pytest.mark.parametrize(("parse", "lines"), BAD)
def test_malformed_answers_raise_parse_error_naming_the_problem(parse: Parser, lines: list[str]) -> None:
    with pytest.raises(ParseError) as info:
        parse(lines)
    assert info.value.message


def test_cpsi_index_form_is_not_dbm() -> None:
    """An A7670C in weak coverage: index 12 is -128 dBm (it read as +12 dBm, 5 bars, before); 255 is unknown."""
    from iotcard.drivers.models import SignalInfo
    from iotcard.drivers.modem import signal_bars

    line = FIELD["sim7080-cpsi-lte-index"]["response"].replace(",16,59,61,9", ",3,12,255,255")
    facts = parse_cpsi([line])
    assert (facts.rsrp_dbm, facts.rsrq_db, facts.rssi_dbm, facts.sinr_db) == (-128.0, -18.0, None, None)
    assert signal_bars(SignalInfo(rsrp_dbm=facts.rsrp_dbm), T.LTE) == 0


def test_quectel_ec200_family_reads_sinr_in_db_and_others_2x_minus_20() -> None:
    line = [FIELD["ec200t-qeng-lte-db"]["response"]]
    ec200 = QUECTEL.queries_for("EC200U")[0]
    ec25 = QUECTEL.queries_for("EC25")[0]
    assert ec200.command == ec25.command
    assert (ec200.parse(line).sinr_db, ec25.parse(line).sinr_db) == (5.0, -10.0)
    assert QUECTEL.queries_for(None) == QUECTEL.queries


def test_cpsi_decides_tenths_from_rsrp() -> None:
    whole = parse_cpsi(["+CPSI: LTE,Online,460-00,0x1,1,1,EUTRAN-BAND3,1300,5,5,-12,-105,-75,10"])
    tenths = parse_cpsi(["+CPSI: LTE,Online,460-00,0x1,1,1,EUTRAN-BAND3,1300,5,5,-120,-1050,-750,10"])
    assert (whole.rsrp_dbm, whole.rsrq_db, whole.rssi_dbm) == (-105.0, -12.0, -75.0)
    assert (tenths.rsrp_dbm, tenths.rsrq_db, tenths.rssi_dbm) == (-105.0, -12.0, -75.0)


PARSERS: list[tuple[Parser, str]] = [
    (parse_qeng_servingcell, "+QENG:"),
    (parse_qcsq, "+QCSQ:"),
    (parse_qnwinfo, "+QNWINFO:"),
    (parse_qgdcnt, "+QGDCNT:"),
    (parse_hcsq, "^HCSQ:"),
    (parse_sysinfoex, "^SYSINFOEX:"),
    (parse_dsflowqry, "^DSFLOWQRY:"),
    (parse_cpsi, "+CPSI:"),
    (parse_cnsmod, "+CNSMOD:"),
    (parse_cced, "+CCED:"),
    (parse_sysinfo, "^SYSINFO:"),
    (parse_datainfo, "^DATAINFO:"),
    (parse_xcesq, "+XCESQ:"),
    (parse_ugcntrd, "+UGCNTRD:"),
]

_FIELD_CHARS = st.sampled_from([*list('0123456789,-"ABCDEFxLTEGSMNR5 .:'), "servingcell", "LTE", "255", "²", "٣"])
_BODY = st.lists(_FIELD_CHARS, max_size=60).map("".join)


@pytest.mark.parametrize(("parse", "prefix"), PARSERS, ids=[prefix for _, prefix in PARSERS])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_parsers_raise_nothing_but_parse_error(parse: Parser, prefix: str, data: st.DataObject) -> None:
    line = st.one_of(st.text(max_size=80), _BODY.map(lambda body: prefix + " " + body))
    lines = data.draw(st.lists(line, max_size=4))
    try:
        result = parse(lines)
    except ParseError:
        return
    assert isinstance(result, VendorFacts)
