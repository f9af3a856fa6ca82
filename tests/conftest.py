"""Suite-wide: the CLI under test never talks to an agent that happens to run on the developer's machine, and no
test sees the real date.

Every test runs with the wall clock pinned to :data:`clocks.FIXED` (it ticks from there; ``time.monotonic`` is real),
so code that reads ``datetime.now``/``time.time``/``date.today`` in this process gets the same day whenever and
wherever the suite runs. Tests that need another instant pass their own clock or travel themselves; a test that
must see the machine's real clock (e.g. to compare with a subprocess) is marked ``wall_clock``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from clocks import FIXED


@pytest.fixture(autouse=True)
def _no_running_agent(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    socket_path = Path(tmp_path_factory.getbasetemp()) / "no-agent.sock"
    monkeypatch.setenv("IOTCARD_SOCKET", str(socket_path))


@pytest.fixture(autouse=True)
def _pinned_wall_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("wall_clock") is not None:
        yield
        return
    with time_machine.travel(FIXED, tick=True):
        yield
