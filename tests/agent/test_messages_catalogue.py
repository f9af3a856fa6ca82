"""The agent's one translation catalogue: every code in English and Chinese with the same placeholders, and every
code the facts can carry has its words."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from iotcard.agent.diagnosis._messages import FINDING_CODES
from iotcard.agent.directed import Reason
from iotcard.agent.i18n import port_error_text, t
from iotcard.agent.messages import CATALOGUE, LANGUAGES, placeholders, render
from iotcard.agent.usage import PlanFlag, RenewalAdvice

AGENT = Path(__file__).resolve().parents[2] / "iotcard" / "agent"


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_has_english_and_chinese_with_the_same_placeholders(code: str) -> None:
    texts = CATALOGUE[code]
    assert set(texts) == set(LANGUAGES)
    assert placeholders(texts["en"]) == placeholders(texts["zh"])
    assert bool(texts["en"]) == bool(texts["zh"])  # only an empty hint may be empty, then in both


def test_placeholders_reads_format_fields() -> None:
    assert placeholders("{value:g} {unit} on {technology}, {value}") == {"value", "unit", "technology"}
    assert placeholders("no fields") == frozenset()


def test_render_fills_values_and_shows_missing_ones_as_a_question_mark() -> None:
    assert render("port.port_missing", "en", port="/dev/ttyUSB2") == "serial port /dev/ttyUSB2 does not exist"
    assert render("port.port_missing", "zh", port="/dev/ttyUSB2") == "串口 /dev/ttyUSB2 不存在"
    assert render("port.port_missing", "zh") == "串口 ? 不存在"
    assert render("port.port_missing", "fr", port="x") == "serial port x does not exist"
    with pytest.raises(KeyError):
        render("port.no_such_code", "en")


def _string_codes(path: Path, prefix: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(prefix)
    }


def test_every_finding_the_engine_makes_has_a_message_and_a_hint() -> None:
    made = {code for code in _string_codes(AGENT / "diagnosis" / "_engine.py", "") if code.isidentifier()}
    findings = made & ({"ok"} | {c.removeprefix("diag.") for c in CATALOGUE if c.startswith("diag.")})
    assert {"ok", "port_unavailable", "clock_skew", "cycle_expiring", "directed_blocked"} <= findings
    for code in findings | set(FINDING_CODES):
        assert f"diag.{code}" in CATALOGUE and f"diag.{code}.hint" in CATALOGUE, code


def test_every_code_a_fact_carries_has_its_words() -> None:
    for reason in Reason:  # a refused target's words are its problem's (directed.problem.*)
        assert f"directed.{reason.value}" in CATALOGUE or reason is Reason.INVALID_TARGET
    for advice in RenewalAdvice:
        assert f"renew.{advice.value}" in CATALOGUE
    for flag in PlanFlag:
        assert f"usage.flag.{flag.value}" in CATALOGUE
    for code in _string_codes(AGENT.parent / "drivers" / "transport.py", "port_"):
        assert f"port.{code}" in CATALOGUE and f"port.{code}.hint" in CATALOGUE, code


def _rendered_codes(path: Path) -> set[str]:
    """The codes passed to render()/say(): a literal, or the literal start of an f-string (``diag.{...}``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in ("render", "say"):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.add(first.value)
        elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
            found.add(str(first.values[0].value) + "*")
        elif isinstance(first, ast.BinOp) and isinstance(first.left, ast.Constant):
            found.add(str(first.left.value) + "*")
    return found


def test_every_code_the_agent_renders_is_in_the_catalogue() -> None:
    """A typo in a code is a KeyError at run time: find the codes passed to render() before that."""
    used = set().union(*(_rendered_codes(path) for path in AGENT.rglob("*.py")))
    assert {"verdict.*", "usage.heading", "port.with_reason", "directed.binding.device"} <= used
    missing = sorted(
        code
        for code in used
        if (code.endswith("*") and not any(c.startswith(code[:-1]) for c in CATALOGUE))
        or (not code.endswith("*") and code not in CATALOGUE)
    )
    assert missing == [], missing


@pytest.mark.parametrize(
    ("key", "lang", "expected"),
    [
        ("Carrier", "zh", "运营商"),
        ("Carrier", "en", "Carrier"),
        ("absent", "en", "no SIM card"),
        ("absent", "zh", "未插卡"),
        ("roaming", "zh", "已注册（漫游）"),
        ("modem_unresponsive", "zh", "模块没有响应 AT 指令"),
        ("hint:port_busy", "zh", "其他程序占用了串口：iotcard 守护进程、ModemManager 或 minicom 等；先停止它们"),
        ("not in the catalogue {n}", "zh", "not in the catalogue {n}"),
    ],
)
def test_the_old_t_keys_still_translate(key: str, lang: str, expected: str) -> None:
    assert t(key, lang) == expected


def test_port_error_text_keeps_the_transports_english_and_translates_to_chinese() -> None:
    english = port_error_text("port_busy", "/dev/ttyUSB2", "serial port /dev/ttyUSB2 is in use", "stop it", "en")
    assert english == ("serial port /dev/ttyUSB2 is in use", "stop it")
    message, hint = port_error_text("port_busy", "/dev/ttyUSB2", "serial port /dev/ttyUSB2 is in use", "x", "zh")
    assert message == "串口 /dev/ttyUSB2 正被其他程序占用" and "先停止它们" in hint
