"""The daemon's resident memory is budgeted (issue 16: <= 45 MB, goal 40 MB, on gateways with 64-128 MB), and pydantic
with the contract's models is about 10 MB of it (docs/benchmarks.md, "The agent daemon"). So nothing the daemon
loads may import pydantic: it publishes the plain twins of iotcard.contract.wire, reads cloud commands with
iotcard.contract.commands, reads its config with the standard library, and the CLI commands it runs through its
control socket print plain dataclasses. The collector and ``iotcard schema`` keep using the pydantic models.

Each check runs in a fresh interpreter, so what this test process has imported does not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pydantic", "pydantic_core")

# What the daemon's own code builds on: each must load without pydantic on its own.
WITHOUT_PYDANTIC = [
    "iotcard.agent.config",
    "iotcard.agent.schemas",
    "iotcard.agent.usage",
    "iotcard.agent.directed",
    "iotcard.contract.wire",
    "iotcard.contract.commands",
    "iotcard.contract.card_state",
]

# Every module of the agent: the daemon, the scheduler's jobs, and every CLI command (the control socket runs them
# inside the daemon).
EVERY_AGENT_MODULE = """
import importlib, pkgutil, iotcard.agent
for module in pkgutil.walk_packages(iotcard.agent.__path__, "iotcard.agent."):
    importlib.import_module(module.name)
"""


def heavy_modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return list(ast.literal_eval(done.stdout))


@pytest.mark.parametrize("module", WITHOUT_PYDANTIC)
def test_the_daemons_building_blocks_load_without_pydantic(module: str) -> None:
    assert heavy_modules_after(f"import {module}") == []


def test_the_contract_models_do_load_pydantic() -> None:
    """The check above can fail: the models' module is the one that brings pydantic."""
    assert "pydantic" in heavy_modules_after("import iotcard.contract.messages")


def test_no_module_of_the_agent_loads_pydantic() -> None:
    assert heavy_modules_after(EVERY_AGENT_MODULE) == []


def test_the_agent_does_not_import_dnspython_itself() -> None:
    """The probes read DNS themselves (directed/_dnswire.py): dnspython is about 3.5 MB of the daemon's memory. Only
    paho-mqtt still imports it, when it is installed (for connect_srv, which the agent never calls)."""
    agent = Path(__file__).resolve().parents[2] / "iotcard" / "agent"
    importers = []
    for path in sorted(agent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(name == "dns" or name.startswith("dns.") for name in names):
                importers.append(str(path.relative_to(agent)))
    assert importers == []
