"""What `pip install .` puts into site-packages: the one package ``iotcard`` and its console scripts, nothing else.

setuptools' own ``build_py`` lays out the tree a wheel's purelib holds (packages and package data), without a
network or a wheel builder, so the check runs anywhere the tests do.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("purelib")
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "--build-lib", str(lib)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return lib


def test_only_the_iotcard_package_is_installed(built: Path) -> None:
    assert sorted(path.name for path in built.iterdir()) == ["iotcard"]
    assert sorted(path.name for path in (built / "iotcard").iterdir() if path.is_dir()) == [
        "agent",
        "collector",
        "contract",
        "drivers",
        "simulators",
    ]


def test_every_file_the_package_reads_is_installed(built: Path) -> None:
    """Templates, static files, migration scripts...: every tracked file under iotcard/ reaches site-packages."""
    tracked = subprocess.run(
        ["git", "ls-files", "iotcard"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    missing = [name for name in tracked if (ROOT / name).exists() and not (built / name).is_file()]
    assert not missing, missing


def test_console_scripts_point_into_the_package() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert set(scripts) == {"iotcard", "iotcard-collector"}
    for target in scripts.values():
        module, _, function = target.partition(":")
        assert module.startswith("iotcard."), target
        assert callable(getattr(importlib.import_module(module), function)), target
