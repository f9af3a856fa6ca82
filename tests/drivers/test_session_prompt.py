"""A command that opens a "> " text prompt and times out is cancelled with ESC, so the module does not take the next
commands as the text of an SMS (issue 17, finding 6)."""

from __future__ import annotations

import pytest

from fakes import FakeClock, ScriptedTransport
from iotcard.drivers.at import Command
from iotcard.drivers.errors import ReadTimeout
from iotcard.drivers.session import AtSession


class RecordingTransport(ScriptedTransport):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.raw: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.raw.append(data)
        super().write(data)


@pytest.mark.parametrize(("line", "cancelled"), [('AT+CMGS="+8613800000000"', True), ("AT+CSQ", False)])
def test_a_prompt_left_open_by_a_timeout_is_cancelled(line: str, cancelled: bool) -> None:
    clock = FakeClock()
    transport = RecordingTransport({line: b"\r\n> "}, clock=clock)
    session = AtSession(transport, clock=clock)
    with pytest.raises(ReadTimeout):
        session.execute(Command(line, timeout=2.0))
    assert (b"\x1b" in transport.raw) is cancelled
