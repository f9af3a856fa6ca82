"""Build iotcard-agent_<version>_<arch>.deb for amd64, arm64 and armhf on any Linux machine, without a compiler.

The agent (iotcard/agent/, iotcard/contract/, iotcard/drivers/) and its runtime dependencies go into a private tree,
/opt/iotcard/lib, run by the distribution's python3 (Debian 12: 3.11) through /usr/bin/iotcard. Dependencies are the
pinned wheels of packaging/constraints.txt for the target platform (pip --platform/--only-binary), downloaded once into
the wheel cache and installed from there (no network once cached). The collector and the simulators are not in the
package.

The tree is laid out here and packed with dpkg-deb; no debhelper, because cross-building with it would want the
target's binutils and libraries for dh_strip/dh_shlibdeps, which wheels do not need.

    python packaging/build_deb.py [--arch amd64 --arch arm64 ...] [--version V] [--out dist] [--cache build/deb]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "packaging"
PACKAGE = "iotcard-agent"
LIB = "opt/iotcard/lib"
DOC = f"usr/share/doc/{PACKAGE}"
# Debian 12's python3; the compiled pydantic-core is cp311, so the package fits exactly one minor version.
PYTHON_VERSION = "3.11"
# Debian 12 has glibc 2.36: any manylinux wheel from 2.17 (manylinux2014) up to it runs there.
GLIBC_MINORS = range(17, 37)
# The agent's subpackages of iotcard and the contract they share with the cloud (the collector and the
# simulators stay out of the device).
SOURCES = ("agent", "contract", "drivers")


@dataclass(frozen=True)
class Arch:
    """A Debian architecture, the wheel machine name for it and what `file` says about its ELF objects."""

    debian: str
    machine: str
    file_says: str


ARCHES = {
    "amd64": Arch("amd64", "x86_64", "x86-64"),
    "arm64": Arch("arm64", "aarch64", "ARM aarch64"),
    "armhf": Arch("armhf", "armv7l", "ARM, EABI5"),
}


class BuildError(Exception):
    """The package cannot be built as asked (a missing wheel, a foreign binary, a failed tool)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=sorted(ARCHES), help="default: all three")
    parser.add_argument("--version", help="package version (default: pyproject's)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "deb", help="staging trees")
    parser.add_argument("--wheels", type=Path, help="wheel cache, one folder per arch (default: CACHE/wheels)")
    parser.add_argument("--no-footprint", action="store_true", help="do not unpack and measure each package")
    args = parser.parse_args(argv)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = args.version or project["version"]
    try:
        for tool in ("dpkg-deb", "file"):
            if shutil.which(tool) is None:
                raise BuildError(f"{tool} is missing: apt-get install {'file' if tool == 'file' else 'dpkg'}")
        for name in args.arch or sorted(ARCHES):
            deb = build(ARCHES[name], version, project, args.out, args.cache, args.wheels or args.cache / "wheels")
            measured = "" if args.no_footprint else f", {footprint(deb, args.cache)}"
            print(f"{deb}: {deb.stat().st_size / 1e6:.1f} MB{measured}")
    except BuildError as exc:
        print(f"build_deb: {exc}", file=sys.stderr)
        return 1
    return 0


def build(arch: Arch, version: str, project: dict, out: Path, cache: Path, wheel_cache: Path) -> Path:
    """Lay out the package tree for one architecture under `cache` and pack it into `out`; return the .deb."""
    epoch = source_date_epoch()
    wheels = wheel_cache / arch.debian
    tree = cache / "stage" / arch.debian
    if tree.exists():
        shutil.rmtree(tree)
    fetch_wheels(arch, project["dependencies"], wheels)
    install_wheels(arch, project["dependencies"], wheels, tree / LIB)
    copy_sources(tree / LIB, version, project)
    check_binaries(arch, tree)
    install_files(tree, version, epoch)
    write_control(tree, arch, version)
    normalize(tree, epoch)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{PACKAGE}_{version}_{arch.debian}.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(deb)], env=env)
    return deb


def pip_platform_args(arch: Arch) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    args += ["--abi", "cp" + PYTHON_VERSION.replace(".", "")]
    # pip does not widen a manylinux_2_36 tag to the older ones itself: name every glibc the target can run.
    for minor in GLIBC_MINORS:
        args += ["--platform", f"manylinux_2_{minor}_{arch.machine}"]
    return [*args, "--platform", f"manylinux2014_{arch.machine}"]


def fetch_wheels(arch: Arch, requirements: list[str], wheels: Path) -> None:
    """Fill the wheel cache for `arch`: from the cache alone when it has everything, else from the index."""
    wheels.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d", str(wheels)]
    base += [*pip_platform_args(arch), "-c", str(HERE / "constraints.txt"), *requirements]
    offline = subprocess.run([*base, "--no-index", "--find-links", str(wheels)], capture_output=True, check=False)
    if offline.returncode != 0:
        run(base)


def install_wheels(arch: Arch, requirements: list[str], wheels: Path, lib: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index"]
    cmd += ["--find-links", str(wheels), "--target", str(lib), "--no-compile", *pip_platform_args(arch)]
    run([*cmd, "-c", str(HERE / "constraints.txt"), *requirements])
    # Console scripts of dependencies carry this machine's interpreter path; the package has its own launcher.
    shutil.rmtree(lib / "bin", ignore_errors=True)
    pinned = {line.split("==")[0] for line in (HERE / "constraints.txt").read_text().splitlines() if "==" in line}
    installed = {info.name.split("-")[0].lower().replace("_", "-") for info in lib.glob("*.dist-info")}
    if installed - pinned:
        raise BuildError(f"not pinned in packaging/constraints.txt: {', '.join(sorted(installed - pinned))}")


def copy_sources(lib: Path, version: str, project: dict) -> None:
    """The agent's own packages, and a dist-info so importlib.metadata knows the installed version."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
    (lib / "iotcard").mkdir()
    shutil.copyfile(ROOT / "iotcard" / "__init__.py", lib / "iotcard" / "__init__.py")
    for name in SOURCES:
        shutil.copytree(ROOT / "iotcard" / name, lib / "iotcard" / name, ignore=ignore)
    info = lib / f"iotcard-{version}.dist-info"
    info.mkdir()
    requires = "".join(f"Requires-Dist: {req}\n" for req in project["dependencies"])
    metadata = f"Metadata-Version: 2.1\nName: iotcard\nVersion: {version}\nSummary: {project['description']}\n"
    (info / "METADATA").write_text(metadata + f"Requires-Python: {project['requires-python']}\n" + requires)
    (info / "INSTALLER").write_text(f"{PACKAGE}\n")
    (info / "RECORD").write_text("")


def check_binaries(arch: Arch, tree: Path) -> None:
    """Every ELF object must be for the target architecture (a wrong --platform would slip an x86 .so in)."""
    for path in elf_objects(tree):
        described = subprocess.run(["file", "-b", str(path)], capture_output=True, text=True, check=True).stdout
        if arch.file_says not in described:
            raise BuildError(f"{path.relative_to(tree)} is not {arch.debian}: {described.strip()}")


def elf_objects(tree: Path) -> list[Path]:
    found = []
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def install_files(tree: Path, version: str, epoch: int) -> None:
    """The launcher, the unit and udev rule, the example config as the conffile, docs and lintian overrides."""
    put(HERE / "iotcard", tree / "usr/bin/iotcard", 0o755)
    # Debian 12's systemd and udev look in /lib (not yet /usr/lib, which lintian 2.116 flags).
    put(ROOT / "systemd/iotcard-agent.service", tree / "lib/systemd/system/iotcard-agent.service", 0o644)
    put(ROOT / "systemd/99-iotcard-modem.rules", tree / "lib/udev/rules.d/99-iotcard-modem.rules", 0o644)
    put(ROOT / "config/agent.example.toml", tree / "etc/iotcard/agent.toml", 0o640)
    put(HERE / "copyright", tree / DOC / "copyright", 0o644)
    put(ROOT / "README.md", tree / DOC / "README.md", 0o644)
    put(HERE / "lintian-overrides", tree / f"usr/share/lintian/overrides/{PACKAGE}", 0o644)
    write_gz(tree / "usr/share/man/man1/iotcard.1.gz", (HERE / "iotcard.1").read_bytes())
    when = format_datetime(datetime.fromtimestamp(epoch, UTC))
    changelog = (
        f"{PACKAGE} ({version}) unstable; urgency=medium\n\n"
        f"  * iotcard {version}: the agent and its dependencies for Debian 12; see README.md.\n\n"
        f" -- {maintainer()}  {when}\n"
    )
    write_gz(tree / DOC / "changelog.gz", changelog.encode())


def put(src: Path, dst: Path, mode: int) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(mode)


def write_gz(dst: Path, data: bytes) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    dst.chmod(0o644)


def write_control(tree: Path, arch: Arch, version: str) -> None:
    debian = tree / "DEBIAN"
    debian.mkdir()
    minor = int(PYTHON_VERSION.split(".")[1])
    depends = [
        f"python3 (>= {PYTHON_VERSION})",
        f"python3 (<< 3.{minor + 1})",
        # pydantic-core is a manylinux2014 Rust extension: glibc 2.17 and libgcc_s (unwinding).
        "libc6 (>= 2.17)",
        "libgcc-s1",
        "adduser",
        "init-system-helpers (>= 1.54~)",
        "tzdata",
    ]
    installed_kib = sum(-(-p.stat().st_size // 1024) for p in tree.rglob("*") if p.is_file()) + sum(
        1 for p in tree.rglob("*") if p.is_dir()
    )
    control = (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch.debian}\n"
        f"Maintainer: {maintainer()}\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(depends)}\n"
        "Recommends: udev\n"
        "Section: net\n"
        "Priority: optional\n"
        "Description: edge agent for IoT SIM cards in industrial HMIs and gateways\n"
        " iotcard reads the cellular module and the SIM over AT commands, meters data\n"
        " usage per billing cycle, probes the directed-card whitelist, diagnoses card\n"
        " faults and reports to the cloud over MQTT.\n"
        " .\n"
        " This package installs the iotcard CLI and the iotcard-agent systemd service\n"
        " with its own user, the iotcard-cli group for operators, and a udev rule that\n"
        " names the AT port of known modules and keeps ModemManager off it. The agent\n"
        " and its Python dependencies live in /opt/iotcard; the distribution's python3\n"
        " runs them.\n"
    )
    (debian / "control").write_text(control)
    (debian / "conffiles").write_text("/etc/iotcard/agent.toml\n")
    for script in ("postinst", "prerm", "postrm"):
        put(HERE / script, debian / script, 0o755)
    sums = []
    for path in sorted(tree.rglob("*")):
        if path.is_file() and debian not in path.parents:
            sums.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {path.relative_to(tree)}\n")
    (debian / "md5sums").write_text("".join(sums))


def normalize(tree: Path, epoch: int) -> None:
    """Modes as Debian expects (0755 dirs and programs, 0644 files) except the config, which holds the broker's
    address and the paths of its secrets (0750 dir, 0640 file; the postinst gives them group iotcard), and one
    timestamp everywhere, for a reproducible .deb."""
    special = {
        tree / "etc/iotcard": 0o750,
        tree / "etc/iotcard/agent.toml": 0o640,
        tree / "usr/bin/iotcard": 0o755,
        **{tree / "DEBIAN" / script: 0o755 for script in ("postinst", "prerm", "postrm")},
    }
    for path in [tree, *tree.rglob("*")]:
        if path.is_symlink():
            continue
        path.chmod(special.get(path, 0o755 if path.is_dir() else 0o644))
        os.utime(path, (epoch, epoch))


def footprint(deb: Path, cache: Path) -> str:
    """What the package takes on the device: its files unpacked plus the byte-code the postinst compiles."""
    unpacked = cache / "footprint"
    shutil.rmtree(unpacked, ignore_errors=True)
    run(["dpkg-deb", "-x", str(deb), str(unpacked)])
    note = "installed"
    if sys.version_info[:2] == tuple(int(part) for part in PYTHON_VERSION.split(".")):
        run([sys.executable, "-m", "compileall", "-q", str(unpacked / LIB)])
        note += " with byte-code"
    else:
        note += f" without byte-code (compile needs Python {PYTHON_VERSION})"
    # Blocks on disk (4 KiB filesystem blocks for every small module), as du counts them.
    size = sum(path.lstat().st_blocks * 512 for path in unpacked.rglob("*"))
    shutil.rmtree(unpacked)
    return f"{size / 1e6:.1f} MB on disk {note}"


def source_date_epoch() -> int:
    """The package's timestamps: SOURCE_DATE_EPOCH, else the last commit's time (never this machine's clock)."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    result = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        raise BuildError("no git history to date the package: set SOURCE_DATE_EPOCH")
    return int(result.stdout)


def maintainer() -> str:
    return os.environ.get("DEB_MAINTAINER", "iotcard maintainers <iotcard@example.com>")


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise BuildError(f"{' '.join(cmd[:4])} ... failed:\n{result.stdout}{result.stderr}")


if __name__ == "__main__":
    sys.exit(main())
