"""`iotcard usage` end to end: each sample in a new process, kill -9 at random moments, a real veth pair."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from usage_support import FakeSysfs

from iotcard.agent.cli import main
from iotcard.agent.usage import MeterSettings, open_summary

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{HERE}", "LANG": "C.UTF-8", "IOTCARD_CONFIG": ""}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotcard.agent.cli", *args],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["--lang", "en", *args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def tree_args(tree: FakeSysfs, state: Path) -> list[str]:
    return ["--sysfs-root", str(tree.sys), "--proc-root", str(tree.proc), "--state-dir", str(state)]


def test_each_sample_in_a_new_process(tmp_path: Path) -> None:
    tree, state = FakeSysfs(tmp_path / "root"), tmp_path / "state"
    steps = [
        # (rx, tx, ifindex, boot, expected event, counted rx, counted tx, exit)
        (50_000, 5_000, 4, "boot-1", "baseline", 0, 0, 0),
        (60_000, 5_500, 4, "boot-1", "growth", 10_000, 500, 0),
        (2_000, 100, 4, "boot-1", "reset", 2_000, 100, 0),
        (2_500, 300, 9, "boot-1", "reset", 2_500, 300, 0),
        (400, 40, 9, "boot-2", "reboot", 400, 40, 0),
        (400 + 10**13, 40, 9, "boot-2", "rejected_jump", 0, 0, 0),
        (1_400 + 10**13, 140, 9, "boot-2", "growth", 1_000, 100, 0),
        (None, None, None, "boot-2", None, 0, 0, 1),
    ]
    for rx, tx, ifindex, boot, event, counted_rx, counted_tx, status in steps:
        tree.set_boot(boot)
        if rx is None:
            tree.remove()
        else:
            tree.set(rx, tx, ifindex=ifindex)
        done = cli("usage", "sample", *tree_args(tree, state), "--json")
        assert done.returncode == status, done.stderr
        doc = json.loads(done.stdout)
        assert (doc["event"], doc["rx_bytes"], doc["tx_bytes"], doc["present"]) == (
            event,
            counted_rx,
            counted_tx,
            rx is not None,
        )
        assert doc["committed"] is True
    shown = cli("usage", "show", "--state-dir", str(state), "--json", "--days", "3")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    # Each process reads the real clock (this test is about processes, not dates): the samples may straddle a local
    # midnight or a cycle start, so the totals are checked over the days they fell on, not on "today" alone.
    days = doc["days"]
    assert sum(d["rx_bytes"] for d in days) == 10_000 + 2_000 + 2_500 + 400 + 1_000
    assert sum(d["tx_bytes"] for d in days) == 500 + 100 + 300 + 40 + 100
    assert (doc["today"]["rx_bytes"], doc["today"]["tx_bytes"]) == (days[-1]["rx_bytes"], days[-1]["tx_bytes"])
    in_cycle = [d for d in days if doc["cycle"]["start"] <= d["date"] <= doc["cycle"]["end"]]
    assert doc["cycle"]["total_bytes"] == sum(d["rx_bytes"] + d["tx_bytes"] for d in in_cycle) > 0
    assert doc["interface_present"] is False
    assert set(doc) >= {"cycle", "today", "days", "months", "plan"}
    assert set(doc["cycle"]) >= {"start", "end", "rx_bytes", "tx_bytes", "total_bytes"}
    assert set(doc["days"][0]) >= {"date", "rx_bytes", "tx_bytes"}
    assert set(doc["months"][0]) >= {"month", "rx_bytes", "tx_bytes"}
    assert doc["plan"] is None and len(doc["days"]) == 3


def test_config_file_gives_interface_zone_plan_and_state(tmp_path: Path) -> None:
    tree, state = FakeSysfs(tmp_path / "root", interface="ppp0"), tmp_path / "state"
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[paths]\nstate_dir = "{state}"\n'
        f'[usage]\ninterface = "ppp0"\nsysfs_root = "{tree.sys}"\nproc_root = "{tree.proc}"\n'
        'timezone = "UTC"\ncycle_start_day = 31\n'
        '[plan]\nname = "IoT 10 MB"\ntotal_mb = 10\nexpiry = 2000-01-01\n',
        encoding="utf-8",
    )
    tree.set(0, 0)
    assert run_main("usage", "sample", "--config", str(config))[0] == 0
    tree.set(11 * 1024 * 1024, 0)
    assert run_main("usage", "sample", "--config", str(config))[0] == 0
    status, out, _ = run_main("usage", "show", "--config", str(config), "--json")
    doc = json.loads(out)
    assert status == 1  # exhausted and expired
    assert doc["interface"] == "ppp0" and doc["timezone"] == "UTC"
    assert doc["plan"]["data_exhausted"] and doc["plan"]["expired"] and doc["plan"]["remaining_bytes"] == 0
    assert doc["plan"]["total_bytes"] == 10 * 1024 * 1024
    # Options win over the file.
    status, out, _ = run_main("usage", "show", "--config", str(config), "--timezone", "Asia/Shanghai", "--json")
    assert json.loads(out)["timezone"] == "Asia/Shanghai"
    status, out, _ = run_main("usage", "show", "--config", str(config))
    assert "data exhausted" in out and "expired" in out and "IoT 10 MB" in out


def test_text_output_answers_how_much_and_when(tmp_path: Path) -> None:
    tree, state = FakeSysfs(tmp_path / "root"), tmp_path / "state"
    tree.set(0, 0)
    run_main("usage", "sample", *tree_args(tree, state))
    tree.set(3 * 1024 * 1024, 512 * 1024)
    run_main("usage", "sample", *tree_args(tree, state))
    status, out, _ = run_main("usage", "show", "--state-dir", str(state), "--days", "5")
    assert status == 0
    assert "Cycle" in out and "3.5 MB" in out and "Last 5 days" in out and "█" in out
    out_zh = io.StringIO()
    main(["--lang", "zh", "usage", "show", "--state-dir", str(state)], stdout=out_zh, stderr=io.StringIO())
    assert "计费周期" in out_zh.getvalue()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--timezone", "Mars/Olympus"], "config_invalid"),
        (["--cycle-start-day", "32"], "config_invalid"),
        (["--days", "0"], "config_invalid"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: list[str], code: str) -> None:
    status, out, _ = run_main("usage", "show", "--state-dir", str(tmp_path), "--json", *args)
    assert status == 2
    assert json.loads(out)["error"]["code"] == code


def test_unusable_state_dir_exits_2(tmp_path: Path) -> None:
    tree = FakeSysfs(tmp_path / "root")
    tree.set(1, 1)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    status, out, _ = run_main("usage", "sample", *tree_args(tree, blocker / "state"), "--json")
    assert status == 2 and json.loads(out)["error"]["code"] == "state_dir_unusable"


def test_kill_9_never_loses_or_doubles_a_byte(tmp_path: Path) -> None:
    tree, state = FakeSysfs(tmp_path / "root"), tmp_path / "state"
    rng = random.Random(4)
    rx, tx = 10_000_000, 1_000_000
    tree.set(rx, tx)
    base_rx, base_tx = rx, tx
    settings = MeterSettings(sysfs_root=tree.sys, proc_root=tree.proc)
    seen_rx = seen_tx = 0
    for _ in range(20):
        sampler = subprocess.Popen(
            [sys.executable, str(HERE / "sampler_process.py"), str(tree.root), str(state), str(time.time())],
            cwd=REPO,
            env=ENV,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sampler.stdout is not None and sampler.stdout.readline() == "ready\n"
        # The counters grow while the sampler runs; it is killed at a random moment of that.
        kill_at = time.monotonic() + rng.uniform(0.02, 0.25)
        while time.monotonic() < kill_at:
            rx += rng.randrange(1, 20_000)
            tx += rng.randrange(1, 2_000)
            tree.set(rx, tx)
        sampler.send_signal(signal.SIGKILL)
        sampler.wait(timeout=10)
        sampler.stdout.close()
        summary = open_summary(state, settings)
        counted_rx, counted_tx = summary.cycle_usage.rx_bytes, summary.cycle_usage.tx_bytes
        assert counted_rx >= seen_rx and counted_tx >= seen_tx, "totals went backwards"
        assert counted_rx <= rx - base_rx and counted_tx <= tx - base_tx, "counted more than the counters gave"
        seen_rx, seen_tx = counted_rx, counted_tx
    assert seen_rx > 0
    # One more sample after the last kill accounts for every byte, exactly once (in this process, on its clock).
    status, _, err = run_main("usage", "sample", *tree_args(tree, state))
    assert status == 0, err
    summary = open_summary(state, settings)
    assert (summary.cycle_usage.rx_bytes, summary.cycle_usage.tx_bytes) == (rx - base_rx, tx - base_tx)


def _root_with_netns() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    return None


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10).stdout


@pytest.fixture
def veth_pair() -> tuple[str, str]:
    """Two network namespaces of our own joined by a veth pair, 169.254.77.1 ↔ .2, no IPv6, static neighbours."""
    if (reason := _root_with_netns()) is not None:
        pytest.skip(reason)
    ns_a, ns_b = f"iotc-usage-a-{os.getpid()}", f"iotc-usage-b-{os.getpid()}"
    try:
        _ip("netns", "add", ns_a)
        _ip("netns", "add", ns_b)
        _ip("link", "add", "iotc0", "netns", ns_a, "type", "veth", "peer", "name", "iotc1", "netns", ns_b)
    except subprocess.CalledProcessError as exc:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"cannot create a veth pair in a namespace: {exc.stderr.strip()}")
    try:
        macs = {}
        for ns, dev, address in ((ns_a, "iotc0", "169.254.77.1/30"), (ns_b, "iotc1", "169.254.77.2/30")):
            # No IPv6 (no neighbour discovery or MLD) and static ARP: only our datagrams cross the link.
            _ip("netns", "exec", ns, "sh", "-c", f"echo 1 > /proc/sys/net/ipv6/conf/{dev}/disable_ipv6")
            _ip("-n", ns, "addr", "add", address, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            macs[dev] = json.loads(_ip("-n", ns, "-j", "link", "show", dev))[0]["address"]
        _ip("-n", ns_a, "neigh", "replace", "169.254.77.2", "lladdr", macs["iotc1"], "dev", "iotc0", "nud", "permanent")
        _ip("-n", ns_b, "neigh", "replace", "169.254.77.1", "lladdr", macs["iotc0"], "dev", "iotc1", "nud", "permanent")
        yield ns_a, ns_b
    finally:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_real_veth_interface_is_metered_to_the_byte(veth_pair: tuple[str, str], tmp_path: Path) -> None:
    ns_a, ns_b = veth_pair
    state = tmp_path / "state"

    def in_ns(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", ns, *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=60
        )

    def sample() -> dict:
        args = ["usage", "sample", "--interface", "iotc0", "--state-dir", str(state), "--json"]
        done = in_ns(ns_a, sys.executable, "-m", "iotcard.agent.cli", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = sample()
    assert first["event"] == "baseline"
    count, payload = 200, 1000
    # A listener in the other namespace, so no ICMP comes back: the only frames are ours. A burst of datagrams may
    # overflow its receive buffer (UDP drops them at the receiver, after they crossed the veth): it stops waiting
    # 3 s after the last one, and the meter is checked against the sender's kernel counter, which counts them all.
    listen = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)\n"
        "s.bind(('169.254.77.2', 9999))\n"
        "print('up', flush=True)\n"
        "n = 0\n"
        "try:\n"
        f"    while n < {count * payload}:\n"
        "        n += len(s.recv(65536))\n"
        "        s.settimeout(3)\n"
        "except TimeoutError:\n"
        "    pass\n"
        "print(n, flush=True)\n"
    )
    send = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"for _ in range({count}):\n"
        f"    s.sendto(b'x' * {payload}, ('169.254.77.2', 9999))\n"
    )
    listener = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, sys.executable, "-c", listen], stdout=subprocess.PIPE, text=True
    )
    assert listener.stdout is not None and listener.stdout.readline() == "up\n"
    sent = in_ns(ns_a, sys.executable, "-c", send)
    assert sent.returncode == 0, sent.stderr
    received = int(listener.stdout.readline())
    assert 0 < received <= count * payload
    listener.wait(timeout=10)
    listener.stdout.close()
    second = sample()
    kernel_tx = int(in_ns(ns_a, "cat", "/sys/class/net/iotc0/statistics/tx_bytes").stdout)
    kernel_rx = int(in_ns(ns_a, "cat", "/sys/class/net/iotc0/statistics/rx_bytes").stdout)
    assert (second["counters"]["tx_bytes"], second["counters"]["rx_bytes"]) == (kernel_tx, kernel_rx)
    # Each datagram is an Ethernet frame of 14 + 20 (IPv4) + 8 (UDP) + payload bytes on the veth.
    assert second["tx_bytes"] == count * (payload + 42) == kernel_tx - first["counters"]["tx_bytes"]
    assert second["rx_bytes"] == kernel_rx - first["counters"]["rx_bytes"] == 0
    shown = cli("usage", "show", "--interface", "iotc0", "--state-dir", str(state), "--json")
    doc = json.loads(shown.stdout)
    assert doc["cycle"]["tx_bytes"] == count * (payload + 42) and doc["cycle"]["rx_bytes"] == 0


def test_module_counters_from_the_simulated_quectel(tmp_path: Path) -> None:
    from iotcard.simulators.modem import ModemSimulator

    with ModemSimulator(profile="quectel_ec25", link=str(tmp_path / "ttyIOT0")) as sim:
        assert sim.path is not None
        status, out, err = run_main(
            "usage", "show", "--state-dir", str(tmp_path / "state"), "--port", sim.path, "--json"
        )
    assert status == 0, err
    module = json.loads(out)["module_counters"]
    assert (module["tx_bytes"], module["rx_bytes"], module["source"]) == (1_024_300, 8_745_112, "AT+QGDCNT?")
    assert json.loads(out)["cycle"]["total_bytes"] == 0  # a second opinion, never added


def test_show_before_any_sample(tmp_path: Path) -> None:
    status, out, _ = run_main("usage", "show", "--state-dir", str(tmp_path / "none"), "--json", "--days", "1")
    doc = json.loads(out)
    assert status == 0 and doc["cycle"]["total_bytes"] == 0 and doc["interface_present"] is None
    assert len(doc["days"]) == 1 and doc["months"] == [] and doc["last_sample_at"] is None
    assert not (tmp_path / "none").exists()
