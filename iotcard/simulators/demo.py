"""`make demo`: the whole agent on one machine, as it runs on a gateway.

1. a Mosquitto broker on a free loopback port (standing in for the cloud's),
2. the modem simulator on a pseudo-terminal (a Quectel EC25 with a China Mobile IoT card),
3. `iotcard info` on the port, then the agent daemon (`iotcard run`) owning it,
4. the reports arriving at the broker (`mosquitto_sub`), a cloud command round trip (`ping`),
5. `iotcard status` and `iotcard diag` through the agent's control socket,
6. the reference collector turning the reports into the card's record, and a clean stop (SIGTERM),
7. the web console (``iotcard-collector serve``): its address and a token to sign in with, last.

Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEVICE = "demo-hmi-01"


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find(program: str) -> str | None:
    return shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program, Path("/usr/bin") / program) if p.exists()), None
    )


def iotcard(*args: str, socket_path: Path | None = None, check: bool = False) -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if socket_path is not None:
        env["IOTCARD_SOCKET"] = str(socket_path)
    print(f"$ iotcard {' '.join(args)}", flush=True)
    status = subprocess.call([sys.executable, "-m", "iotcard.agent.cli", *args], env=env)
    if check and status != 0:
        raise SystemExit(f"iotcard {args[0]} exited {status}")
    return status


def collector_cli(*args: str) -> int:
    print(f"$ iotcard-collector {' '.join(args)}", flush=True)
    return subprocess.call([sys.executable, "-m", "iotcard.collector.cli", *args])


def _iccid(db: str) -> str | None:
    done = subprocess.run(
        [sys.executable, "-m", "iotcard.collector.cli", "cards", "--db", db, "--json"], capture_output=True, text=True
    )
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        return None
    cards = doc.get("cards", doc) if isinstance(doc, dict) else doc
    return str(cards[0]["iccid"]) if cards else None


def start_broker(work: Path, port: int) -> subprocess.Popen[bytes]:
    mosquitto = find("mosquitto")
    if mosquitto is None:
        raise SystemExit(
            "mosquitto is not installed: run 'sudo apt-get install mosquitto mosquitto-clients' (or 'make test' as "
            "root, which installs it), then 'make demo' again"
        )
    conf = work / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false"]
    if os.geteuid() == 0:
        lines.insert(0, "user root")
    conf.write_text("\n".join(lines) + "\n")
    broker = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return broker
        time.sleep(0.1)
    broker.kill()
    raise SystemExit("mosquitto did not start")


def watch(port: int, out: Path) -> subprocess.Popen[bytes] | None:
    client = find("mosquitto_sub")
    if client is None:
        return None
    with out.open("wb") as sink:
        return subprocess.Popen(
            [client, "-h", "127.0.0.1", "-p", str(port), "-t", f"iotcard/v1/{DEVICE}/#", "-v", "-q", "1"],
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )


def show_messages(path: Path, seen: int) -> int:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    for line in lines[seen:]:
        topic, _, payload = line.partition(" ")
        try:
            doc = json.loads(payload)
            brief = {
                k: doc[k] for k in ("seq", "state", "iccid", "imei", "overall", "event", "ok", "result") if k in doc
            }
        except ValueError:
            brief = {"payload": payload[:80]}
        print(f"  {topic}  {json.dumps(brief, ensure_ascii=False)}")
    return len(lines)


def publish_ping(port: int) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-cloud")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(f"iotcard/v1/{DEVICE}/cmd/ping", json.dumps({"request_id": "demo-ping-1"}), qos=1).wait_for_publish(
        5
    )
    client.loop_stop()
    client.disconnect()


def console(work: Path, db: str, broker_port: int, iccid: str | None) -> subprocess.Popen[bytes]:
    """``iotcard-collector serve`` on a free port, an admin token, and the card's page to open: printed last."""
    web_port = free_port()
    created = subprocess.run(
        [sys.executable, "-m", "iotcard.collector.cli", "tokens", "create", "--db", db, "--company", "Acme Automation",
         "--role", "admin", "--enterprise", "--name", "demo", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = json.loads(created.stdout)["token"]
    server = subprocess.Popen(
        [sys.executable, "-m", "iotcard.collector.cli", "serve", "--db", db, "--port", str(web_port),
         "--broker", f"mqtt://127.0.0.1:{broker_port}"],
        stdout=subprocess.DEVNULL, stderr=(work / "console.log").open("wb"),
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", web_port)) == 0:
                break
        time.sleep(0.1)
    page = f"http://127.0.0.1:{web_port}/console/cards" + (f"/{iccid}" if iccid else "")
    say("the web console (iotcard-collector serve): open the page, sign in with the token")
    print(f"  console  {page}\n  token    {token}", flush=True)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quectel_ec25", help="modem simulator profile")
    parser.add_argument("--scenario", default="normal", help="modem simulator scenario")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="iotcard-demo-"))
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        say(f"Mosquitto on 127.0.0.1:{port} (the cloud's broker)")
        procs.append(start_broker(work, port))
        link = work / "ttyIOT0"
        say(f"modem simulator ({args.profile}, {args.scenario}) on a pseudo-terminal at {link}")
        sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iotcard.simulators.modem",
                "--profile",
                args.profile,
                "--scenario",
                args.scenario,
                "--link",
                str(link),
            ],
            stdout=subprocess.PIPE,
        )
        procs.append(sim)
        assert sim.stdout is not None
        sim.stdout.readline()
        say("what the module and the SIM say, read directly from the port")
        iotcard("--direct", "info", "--port", str(link))

        db = f"sqlite:///{work / 'cards.sqlite3'}"
        say("the cloud side: iotcard-collector run (card records keyed by ICCID)")
        collector = subprocess.Popen(
            [sys.executable, "-m", "iotcard.collector.cli", "run", "--broker", f"mqtt://127.0.0.1:{port}", "--db", db],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(collector)
        time.sleep(1.5)

        config = work / "agent.toml"
        config.write_text(
            f'[device]\nid = "{DEVICE}"\nname = "Demo HMI"\ncompany = "Acme Automation"\n'
            f'[modem]\nport = "{link}"\n[paths]\nstate_dir = "{work / "state"}"\n'
            f'[usage]\ninterface = "lo"\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\ntls = false\n'
            f'[directed]\ntargets = ["127.0.0.1:{port}"]\n'
            '[plan]\nname = "30MB/month directed"\ntotal_mb = 30\n'
        )
        socket_path = work / "agent.sock"
        messages = work / "messages.txt"
        watcher = watch(port, messages)
        if watcher is not None:
            procs.append(watcher)
        say("the agent daemon: iotcard run --config agent.toml")
        agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iotcard.agent.cli",
                "run",
                "--config",
                str(config),
                "--control-socket",
                str(socket_path),
            ],
            stderr=subprocess.DEVNULL,
        )
        procs.append(agent)
        deadline = time.monotonic() + 20
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)
        say("reports arriving at the broker (mosquitto_sub -t 'iotcard/v1/#')")
        seen = show_messages(messages, 0)
        say("a cloud command: publish cmd/ping, the agent answers on result/ping")
        publish_ping(port)
        time.sleep(1.5)
        seen = show_messages(messages, seen)
        say("the agent's state, through its control socket")
        iotcard("status", socket_path=socket_path)
        say("card diagnosis (卡诊断), run by the agent that owns the port")
        iotcard("diag", socket_path=socket_path)
        say("the card record the collector built from the reports")
        collector_cli("cards", "--db", db)
        iccid = _iccid(db)
        if iccid:
            collector_cli("card", iccid, "--db", db)
        say("stopping the agent (SIGTERM)")
        started = time.monotonic()
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(15)
        print(f"  the agent exited {code} after {time.monotonic() - started:.1f} s")
        time.sleep(0.5)
        show_messages(messages, seen)
        procs.append(console(work, db, port, iccid))
        if sys.stdin.isatty():
            with contextlib.suppress(EOFError, KeyboardInterrupt):
                input("  Enter stops the demo (the console stops with it) ")
        return 0 if code == 0 else 1
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
