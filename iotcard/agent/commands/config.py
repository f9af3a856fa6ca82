"""``iotcard config check``: validate a config file (with the environment overrides) before the agent uses it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from iotcard.agent.errors import ConfigError

from .._context import EXIT_OK, EXIT_USAGE, Context
from ..config import DEFAULT_CONFIG_PATH, load_config
from ..messages import render

ORDER = 70


def register(sub: Any) -> None:
    config = sub.add_parser(
        "config",
        help="check the agent's config file",
        description="Check a config file the way the agent reads it: TOML, known keys only, values of the right "
        "kind, with IOTCARD_SECTION__KEY environment overrides applied. config/agent.example.toml documents "
        "every key.",
    )
    actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="validate a config file; print the effective settings with --json",
        description="Validate PATH (default /etc/iotcard/agent.toml) and print one line saying it is fine, or "
        "each problem naming the file, the key and what was expected.",
        epilog="exit: 0 valid, 2 invalid or unreadable. Secrets are given by file path and are never printed.",
    )
    check.add_argument("path", nargs="?", type=Path, default=DEFAULT_CONFIG_PATH, help="config file")
    check.add_argument("--json", action="store_true", help="print the effective config as JSON")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, ctx: Context) -> int:
    try:
        config = load_config(args.path)
    except ConfigError as exc:
        return ctx.fail(exc.code, exc.message, "see config/agent.example.toml for every key", EXIT_USAGE)
    if ctx.json:
        ctx.out.write(json.dumps({"valid": True, "config": config.as_json()}, indent=2) + "\n")
    else:
        ctx.out.write(render("cli.config_valid", ctx.lang, path=args.path) + "\n")
    return EXIT_OK
