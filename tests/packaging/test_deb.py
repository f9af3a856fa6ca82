"""The Debian package: built for three architectures from this tree, lintian-clean, and on this machine (as root)
installed, upgraded from an earlier version and purged without a trace.

The "earlier version" is this same tree packed as <version>~prev, which dpkg orders before <version>: what an
upgrade must keep (a changed conffile, the state directory) does not depend on what changed in the code.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "build_deb.py"
PACKAGE = "iotcard-agent"
FILE_SAYS = {"amd64": "x86-64", "arm64": "ARM aarch64", "armhf": "ARM, EABI5"}

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="not a Debian machine: dpkg-deb is missing"),
    pytest.mark.skipif(shutil.which("file") is None, reason="file is missing (make test installs it as root)"),
]


def _version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _build(out: Path, cache: Path, arch: str, version: str | None = None) -> Path:
    cmd = [sys.executable, str(BUILD), "--arch", arch, "--out", str(out), "--cache", str(cache)]
    cmd += ["--wheels", str(ROOT / "build" / "deb" / "wheels"), "--no-footprint"]
    if version:
        cmd += ["--version", version]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 and "pip download" in result.stderr:
        pytest.skip(f"the {arch} wheels are not cached and cannot be downloaded: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    return out / f"{PACKAGE}_{version or _version()}_{arch}.deb"


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three packages of this tree, and the amd64 one again as the previous version ("prev"). Two builds at a
    time (each waits on pip and xz); each lane has its own staging trees and its own arches' wheel folders."""
    out = tmp_path_factory.mktemp("dist")

    def lane(*jobs: tuple[str, str, str | None]) -> dict[str, Path]:
        cache = tmp_path_factory.mktemp("deb-cache")
        return {name: _build(out, cache, arch, version) for name, arch, version in jobs}

    with ThreadPoolExecutor(max_workers=2) as pool:
        amd64 = pool.submit(lane, ("amd64", "amd64", None), ("prev", "amd64", f"{_version()}~prev"))
        arm = pool.submit(lane, ("arm64", "arm64", None), ("armhf", "armhf", None))
        return {**amd64.result(), **arm.result()}


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, f"{' '.join(cmd)}: {result.stdout}{result.stderr}"
    return result


def _field(deb: Path, name: str) -> str:
    return _run("dpkg-deb", "--field", str(deb), name).stdout.strip()


@pytest.mark.parametrize("arch", sorted(FILE_SAYS))
def test_every_binary_is_for_the_package_architecture(debs: dict[str, Path], arch: str, tmp_path: Path) -> None:
    deb = debs[arch]
    assert _field(deb, "Architecture") == arch
    _run("dpkg-deb", "-x", str(deb), str(tmp_path))
    shared = sorted(tmp_path.rglob("*.so"))
    assert any("pydantic_core" in str(path) for path in shared), "pydantic-core's extension is missing"
    for path in shared:
        described = _run("file", "-b", str(path)).stdout
        assert FILE_SAYS[arch] in described, f"{path.relative_to(tmp_path)}: {described}"
    if arch == "armhf" and shutil.which("readelf"):
        for path in shared:
            assert "hard-float ABI" in _run("readelf", "-h", str(path)).stdout, path


def test_contents_sizes_and_dependencies(debs: dict[str, Path]) -> None:
    """Only the agent (no collector, no simulators, no byte-code), within the size goals, for python3 3.11."""
    for arch in FILE_SAYS:
        deb = debs[arch]
        names = _run("dpkg-deb", "-c", str(deb)).stdout
        assert "./opt/iotcard/lib/iotcard/agent/cli.py" in names
        assert "./opt/iotcard/lib/iotcard/drivers/" in names
        assert "./opt/iotcard/lib/iotcard/contract/errors.py" in names
        for absent in ("/collector/", "/simulators/", "__pycache__", ".pyc", "/lib/bin/"):
            assert absent not in names, absent
        assert deb.stat().st_size <= 15_000_000, f"{deb.name}: {deb.stat().st_size} bytes"
        assert int(_field(deb, "Installed-Size")) * 1024 <= 45_000_000
        depends = _field(deb, "Depends")
        assert "python3 (>= 3.11)" in depends and "python3 (<< 3.12)" in depends
    conffiles = subprocess.run(
        ["dpkg-deb", "--info", str(debs["amd64"]), "conffiles"], capture_output=True, text=True, check=True
    )
    assert conffiles.stdout.split() == ["/etc/iotcard/agent.toml"]


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is missing (make test installs it as root)")
def test_lintian_is_clean(debs: dict[str, Path]) -> None:
    """No error, warning, info or pedantic tag on any of the three; every override in packaging/lintian-overrides
    says why. One lintian run for all three: its start-up is most of its time."""
    packages = [str(debs[arch]) for arch in sorted(FILE_SAYS)]
    result = _run("lintian", "--info", "--pedantic", "--fail-on", "error,warning,info,pedantic", *packages)
    tags = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:", "I:", "P:")]
    assert not tags, "\n".join(tags)


# ---- on this machine, as root ----


def _installed() -> bool:
    return _run("dpkg-query", "-W", "-f=${Status}", PACKAGE, check=False).stdout == "install ok installed"


def _exists(kind: str, name: str) -> bool:
    return _run("getent", kind, name, check=False).returncode == 0


# Paths the package owns or creates; one left by something else (a CLI run as root writes its identity under the
# default state dir) is moved aside for the test and put back afterwards.
OWNED = ("/etc/iotcard", "/var/lib/iotcard", "/opt/iotcard")


@pytest.fixture
def install_guard() -> Iterator[None]:
    """Runs only where the package, its user and groups are absent, and leaves the machine as it found it, even when
    a check fails."""
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    if _run("dpkg-query", "-W", "-f=${Status}", "python3", check=False).stdout.strip() != "install ok installed":
        pytest.skip("Debian's python3 package is not installed (make test installs it as root)")
    if _run("dpkg-query", "-W", PACKAGE, check=False).returncode == 0:
        pytest.skip(f"{PACKAGE} is already on this machine; the test would remove it")
    for kind, name in (("passwd", "iotcard"), ("group", "iotcard"), ("group", "iotcard-cli")):
        if _exists(kind, name):
            pytest.skip(f"{kind} entry {name} already exists on this machine; the test would delete it")
    aside = {path: f"{path}.before-package-test-{os.getpid()}" for path in OWNED if os.path.lexists(path)}
    for path, kept in aside.items():
        os.rename(path, kept)
    try:
        yield
    finally:
        if _run("dpkg-query", "-W", PACKAGE, check=False).returncode == 0:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            if subprocess.run(["dpkg", "-P", PACKAGE], capture_output=True, env=env, check=False).returncode != 0:
                subprocess.run(["dpkg", "-P", "--force-all", PACKAGE], capture_output=True, env=env, check=False)
        for kind, tool, name in (("passwd", "userdel", "iotcard"), ("group", "groupdel", "iotcard")):
            if _exists(kind, name):
                subprocess.run([tool, name], capture_output=True, check=False)
        if _exists("group", "iotcard-cli"):
            subprocess.run(["groupdel", "iotcard-cli"], capture_output=True, check=False)
        for path in OWNED:
            shutil.rmtree(path, ignore_errors=True)
        for path, kept in aside.items():
            os.rename(kept, path)


def _dpkg(*args: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(["dpkg", *args], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, f"dpkg {' '.join(args)}: {result.stdout}{result.stderr}"


def _mode_owner(path: str) -> tuple[str, str, str]:
    stat = os.stat(path)
    return oct(stat.st_mode & 0o7777), pwd.getpwuid(stat.st_uid).pw_name, grp.getgrgid(stat.st_gid).gr_name


LEFT_BEHIND = (
    "/opt/iotcard",
    "/usr/bin/iotcard",
    "/etc/iotcard",
    "/var/lib/iotcard",
    "/lib/systemd/system/iotcard-agent.service",
    "/lib/udev/rules.d/99-iotcard-modem.rules",
    "/etc/systemd/system/multi-user.target.wants/iotcard-agent.service",
    "/etc/systemd/system/iotcard-agent.service",
    "/var/lib/systemd/deb-systemd-helper-enabled/iotcard-agent.service.dsh-also",
    "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/iotcard-agent.service",
    "/var/lib/systemd/deb-systemd-helper-masked/iotcard-agent.service",
    "/usr/share/doc/iotcard-agent",
    "/usr/share/man/man1/iotcard.1.gz",
)


@pytest.mark.usefixtures("install_guard")
def test_install_upgrade_and_purge(debs: dict[str, Path]) -> None:
    _dpkg("-i", str(debs["prev"]))

    # The CLI runs on Debian's python3 from the private tree, and the agent reports the package's version.
    assert _run("iotcard", "--help").stdout.startswith("usage: iotcard")
    probe = "import sys; sys.path.insert(0, '/opt/iotcard/lib'); "
    probe += "from iotcard import version as v; "
    assert _run("/usr/bin/python3", "-IS", "-c", probe + "print(v())").stdout.strip() == f"{_version()}~prev"
    # The agent's own user can read the example config, and it passes the check the postinst relies on.
    assert (
        "valid"
        in _run("runuser", "-u", "iotcard", "--", "iotcard", "config", "check", "/etc/iotcard/agent.toml").stdout
    )
    if shutil.which("systemd-analyze"):
        _run("systemd-analyze", "verify", "/lib/systemd/system/iotcard-agent.service")

    # Users, groups and permissions.
    user = _run("getent", "passwd", "iotcard").stdout.strip().split(":")
    assert int(user[2]) < 1000 and user[5] == "/var/lib/iotcard" and user[6] == "/usr/sbin/nologin"
    groups = _run("id", "-nG", "iotcard").stdout.split()
    assert {"iotcard", "dialout", "iotcard-cli"} <= set(groups)
    assert _exists("group", "iotcard-cli")
    assert _mode_owner("/etc/iotcard") == ("0o750", "root", "iotcard")
    assert _mode_owner("/etc/iotcard/agent.toml") == ("0o640", "root", "iotcard")
    assert _mode_owner("/usr/bin/iotcard") == ("0o755", "root", "root")
    assert _mode_owner("/opt/iotcard/lib") == ("0o755", "root", "root")
    assert list(Path("/opt/iotcard/lib/iotcard/agent").glob("__pycache__/cli.cpython-311.pyc")), "the postinst compiles"
    assert Path("/etc/systemd/system/multi-user.target.wants/iotcard-agent.service").is_symlink(), "enabled"
    assert Path("/lib/udev/rules.d/99-iotcard-modem.rules").is_file()

    # The administrator's edit and the agent's state survive an upgrade.
    with open("/etc/iotcard/agent.toml", "a") as config:
        config.write("\n# edited on the device\n")
    edited = Path("/etc/iotcard/agent.toml").read_text()
    state = Path("/var/lib/iotcard")
    state.mkdir(mode=0o750, exist_ok=True)
    (state / "usage.db").write_bytes(b"state")
    shutil.chown(state, "iotcard", "iotcard")
    _dpkg("-i", str(debs["amd64"]))
    assert _run("dpkg-query", "-W", "-f=${Version}", PACKAGE).stdout == _version()
    assert Path("/etc/iotcard/agent.toml").read_text() == edited
    assert _mode_owner("/etc/iotcard/agent.toml") == ("0o640", "root", "iotcard")
    assert (state / "usage.db").read_bytes() == b"state"
    assert _mode_owner(str(state)) == ("0o750", "iotcard", "iotcard")
    assert _run("/usr/bin/python3", "-IS", "-c", probe + "print(v())").stdout.strip() == _version()

    _dpkg("-P", PACKAGE)
    assert not _installed()
    left = [path for path in LEFT_BEHIND if os.path.lexists(path)]
    assert not left, left
    for kind, name in (("passwd", "iotcard"), ("group", "iotcard"), ("group", "iotcard-cli")):
        assert not _exists(kind, name), name
    assert "iotcard" not in _run("dpkg-statoverride", "--list").stdout
