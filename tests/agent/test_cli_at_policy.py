"""Issue 17, findings 6, 8 and 10: `iotcard at` sends exactly one bounded command; state-changing ones need --force;
--timeout is a finite number of seconds up to 600. Checked against the pty simulator: a refused line sends nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from iotcard.agent.cli import main
from iotcard.simulators.modem import ModemSimulator


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["--lang", "en", *args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["AT+CSQ;+CFUN=0"], "several_commands"),
        (["AT&F;&W"], "several_commands"),
        (["ATE0&W"], "several_commands"),
        (["AT+CFUN=0"], "state_changing"),
        (['AT+CGDCONT=1,"IP","evil.apn"'], "state_changing"),
        (["AT&W"], "state_changing"),
        (['AT+CMGS="+8613800000000"'], "state_changing"),
        (["AT+QPOWD=1"], "state_changing"),
        (["--chain", "AT+CSQ;+CFUN=0"], "state_changing"),
        (["AT+CSQ" + "A" * 600], "line_too_long"),
    ],
)
def test_refused_lines_send_nothing(args: list[str], code: str, tmp_path: Path) -> None:
    with ModemSimulator(profile="generic", link=str(tmp_path / "tty")) as sim:
        status, out, err = run_cli("at", "--port", sim.path, "--json", *args)
        assert sim.commands == []
    assert status == 2
    assert f'"{code}"' in out, out + err


@pytest.mark.parametrize("timeout", ["inf", "nan", "10000000", "0", "-5", "601", "soon"])
def test_unbounded_timeouts_are_a_one_line_error(
    timeout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ModemSimulator(profile="generic", link=str(tmp_path / "tty")) as sim:
        with pytest.raises(SystemExit) as exited:
            run_cli("at", "--port", sim.path, "--timeout", timeout, "AT+CSQ")
        assert sim.commands == []
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "argument --timeout" in err.strip().splitlines()[-1]


def test_one_command_goes_and_force_and_chain_let_the_operator_decide(tmp_path: Path) -> None:
    with ModemSimulator(profile="quectel_ec25", link=str(tmp_path / "tty")) as sim:
        assert run_cli("at", "--port", sim.path, "AT+CSQ")[0] == 0
        assert run_cli("at", "--port", sim.path, "--timeout", "600", "AT+CFUN?")[0] == 0
        assert run_cli("at", "--port", sim.path, "--chain", "AT+CSQ;+CREG?")[0] in (0, 1)
        assert run_cli("at", "--port", sim.path, "--force", "AT+CFUN=1")[0] in (0, 1)
        sent = [c.upper() for c in sim.commands]
    assert "AT+CSQ" in sent and "AT+CFUN=1" in sent
