"""Suite-wide: the CLI under test never talks to an agent that happens to run on the developer's machine."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_running_agent(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    socket_path = Path(tmp_path_factory.getbasetemp()) / "no-agent.sock"
    monkeypatch.setenv("IOTCARD_SOCKET", str(socket_path))
