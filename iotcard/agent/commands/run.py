"""``iotcard run``: the agent as a daemon (systemd Type=notify), the one owner of the modem port."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .._context import EXIT_USAGE, Context
from ..config import DEFAULT_CONFIG_PATH, load_config
from ..control import DEFAULT_SOCKET
from ..daemon._agent import Agent

ORDER = 5


def register(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run the agent (the systemd service's command)",
        description="Run the agent: sample the modem and the usage counters, probe the directed targets, diagnose, "
        "and report over MQTT, on the schedule in the config's [schedule] section. It holds the modem port; the "
        "other commands reach the modem through its control socket while it runs. Under systemd it reports "
        "READY, STATUS and WATCHDOG on $NOTIFY_SOCKET.",
        epilog="exit: 0 stopped by SIGTERM/SIGINT, 2 bad config. A missing modem is not fatal: the agent runs "
        "degraded and keeps trying.",
    )
    run.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG_PATH, help=f"config file (default {DEFAULT_CONFIG_PATH})"
    )
    run.add_argument(
        "--control-socket",
        type=Path,
        default=DEFAULT_SOCKET,
        help=f"where to serve the CLI (default {DEFAULT_SOCKET}); 'none' to serve nothing",
    )
    run.set_defaults(handler=run_agent)


def run_agent(args: argparse.Namespace, ctx: Context) -> int:
    config = load_config(args.config)
    if not config.modem.port:
        return ctx.fail(
            "no_port", f"{args.config}: [modem] port is not set", 'e.g. port = "/dev/iotcard-at"', EXIT_USAGE
        )
    logging.getLogger("iotcard").setLevel(logging.INFO)
    if not logging.getLogger().handlers or all(h.level > logging.INFO for h in logging.getLogger().handlers):
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", force=True)
    socket_path = None if str(args.control_socket) == "none" else args.control_socket
    # The CLI's own dispatcher runs what the control socket forwards; the daemon never imports the CLI.
    agent = Agent(config, socket_path=socket_path, config_path=args.config, dispatch=ctx.dispatch)

    def stop(signum: int, frame: object) -> None:
        agent.stop()

    # `kill -USR1 PID` writes every thread's stack to the journal: what a stuck agent is doing.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = agent.run()
    if any(thread.is_alive() and not thread.daemon for thread in threading.enumerate()[1:]):
        # A worker still inside a long modem read would hold the interpreter's exit (it joins pool threads);
        # everything that must reach the disk has been written and synced by now.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status
