"""``iotcard-collector``: ingest, card views, the HTTP API and commands to devices.

Exit codes (stable, for scripts):
  0  done, and all is well
  1  done, and something is wrong (a command answered not ok, bad rows in a plan file, no such card)
  2  bad usage: an unknown option, a bad URL, a bad plan file header
  3  the database or the MQTT broker cannot be used
  4  the device did not answer: offline (the command waits at the broker) or no result in time
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from iotcard.contract.messages import DEFAULT_TOPIC_PREFIX

from ._access import ROLES, TokenAdmin
from ._alerts import ALERT_KINDS, AlertEngine
from ._commands import CLI_COMMANDS, build_command, push_plans, send_command
from ._errors import (
    BrokerError,
    CollectorError,
    DeviceNotAnswering,
    NotFound,
    PlanImportError,
    SettingsError,
    StoreError,
)
from ._http import ApiServer
from ._mqtt import BrokerSettings, broker_settings
from ._plans import parse_plans
from ._service import Collector
from ._store import FILTERS, RETENTION_DAYS, SORTS, CardQuery, Store, Thresholds
from ._views import CardList, UsageSeries, card_detail, card_summary, cards_csv, render_card, render_cards

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_NO_ANSWER = 0, 1, 2, 3, 4
DEFAULT_DB = "sqlite:///iotcard-collector.sqlite3"
DEFAULT_BROKER = "mqtt://127.0.0.1:1883"

log = logging.getLogger("iotcard-collector")

_EPILOG = """\
exit codes: 0 all well, 1 something is wrong (command not ok, bad CSV rows, no such card), 2 bad usage,
3 database or broker unavailable, 4 the device did not answer (offline or timeout). Every command takes --json.

examples:
  iotcard-collector run --broker mqtt://127.0.0.1:1883 --db sqlite:///cards.sqlite3
  iotcard-collector plans import plans.csv
  iotcard-collector cards --filter low --company ACME
  iotcard-collector card 89860012345678901234
  iotcard-collector tokens create --company ACME --role operator --name app
  iotcard-collector serve --port 8080 --broker mqtt://127.0.0.1:1883
  iotcard-collector cards --filter low --filter expired --sort expiry --csv > cards.csv
  iotcard-collector send 861234567890123 probe ecloud.haiwell.com:443
"""


class _Out:
    def __init__(self, out: TextIO, err: TextIO, as_json: bool) -> None:
        self.out, self.err, self.json = out, err, as_json

    def doc(self, document: Any) -> None:
        self.out.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")

    def text(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")

    def fail(self, code: str, message: str, hint: str | None, status: int) -> int:
        if self.json:
            self.doc({"error": {"code": code, "message": message, "hint": hint}})
        else:
            self.err.write(f"iotcard-collector: error: {message}\n")
            if hint:
                self.err.write(f"  → {hint}\n")
        return status


# ---------------------------------------------------------------- parser


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("IOTCARD_COLLECTOR_DB", DEFAULT_DB),
        help="sqlite:///PATH or postgresql://USER@HOST/DB (default: $IOTCARD_COLLECTOR_DB or %(default)s)",
    )
    parser.add_argument("--timezone", default="Asia/Shanghai", help="days and months (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def _broker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        default=os.environ.get("IOTCARD_COLLECTOR_BROKER", DEFAULT_BROKER),
        help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (default: $IOTCARD_COLLECTOR_BROKER or %(default)s)",
    )
    parser.add_argument("--ca-file", type=Path, help="CA bundle for mqtts:// (default: the system's CAs)")
    parser.add_argument("--username")
    parser.add_argument("--password-file", type=Path, help="file holding the password on its first line")
    parser.add_argument("--prefix", default=DEFAULT_TOPIC_PREFIX, help="topic prefix (default %(default)s)")


def _threshold_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--low-percent", type=float, default=10.0, help="low: less left than this (default 10)")
    parser.add_argument("--expiring-days", type=int, default=7, help="expiring: within this many days (default 7)")
    parser.add_argument(
        "--mismatch-percent",
        type=float,
        default=10.0,
        help="usage_mismatch: device and carrier figures differ by more than this share (default 10)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iotcard-collector",
        description="The reference cloud collector: device reports over MQTT into card records, with the app's "
        "views, filters and commands.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug log on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="subscribe and write card records (until stopped)")
    _db_option(run)
    _broker_options(run)
    run.add_argument("--group", default="iotcard-collector", help="shared subscription group (default %(default)s)")
    run.add_argument("--client-id", help="stable per instance, so the broker keeps its session (default: host+group)")
    run.add_argument("--batch-size", type=int, default=500, help="messages per transaction (default %(default)s)")
    run.add_argument(
        "--read-retained",
        action="store_true",
        help="read every device's retained state at subscribe (default: only into an empty database)",
    )
    run.add_argument(
        "--linger",
        type=int,
        default=30,
        help="after a clean stop the broker keeps this instance's session (and its share of the group's messages) "
        "this many seconds, then the other instances get it; a restart within it loses nothing (default 30)",
    )
    run.add_argument("--prune-every", type=float, default=3600.0, help="seconds between prunes by retention (0: never)")
    _retention_option(run)
    run.add_argument(
        "--alerts-every", type=float, default=60.0, help="seconds between alert evaluations (0: no alerts)"
    )
    run.add_argument(
        "--offline-minutes", type=int, default=30, help="a device unseen this long is offline (default 30)"
    )
    _threshold_options(run)
    run.set_defaults(handler=_run)

    cards = sub.add_parser("cards", help="list cards: --company, --filter low|exhausted|expiring|expired, --search")
    _db_option(cards)
    cards.add_argument("--company", help="only this company's (enterprise's) cards")
    cards.add_argument(
        "--filter", choices=FILTERS, action="append", default=[], help="the app's quick filters (repeatable: any)"
    )
    cards.add_argument("--all-filters", action="store_true", help="with several --filter: cards matching every one")
    cards.add_argument("--search", help="part of an ICCID, IMEI, device id or device name")
    sorts = [*SORTS, *(f"-{name}" for name in SORTS)]
    cards.add_argument("--sort", choices=sorts, default="iccid", metavar="FIELD", help=", ".join(SORTS) + " (-: desc)")
    cards.add_argument("--limit", type=int, default=100)
    cards.add_argument("--offset", type=int, default=0)
    cards.add_argument("--csv", action="store_true", help="every matching card as CSV for Excel (UTF-8 with BOM)")
    _threshold_options(cards)
    cards.set_defaults(handler=_cards)

    card = sub.add_parser("card", help="one card: device, SIM, plan, 30 days and 12 months of usage, diagnosis")
    _db_option(card)
    card.add_argument("iccid")
    _threshold_options(card)
    card.set_defaults(handler=_card)

    serve = sub.add_parser("serve", help="the HTTP JSON API for the app, with tokens (FastAPI on uvicorn)")
    _db_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="(default %(default)s)")
    serve.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN", help="allow this web origin (repeatable)"
    )
    serve.add_argument(
        "--no-actions", action="store_true", help="no card actions (refresh-usage, diagnose, probe) over HTTP"
    )
    serve.add_argument(
        "--count-cache",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="reuse list totals and badge counts this long (default %(default)s; 0: count every time)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the one listening socket (default 1; about one per core helps under load)",
    )
    _threshold_options(serve)
    _broker_options(serve)
    serve.set_defaults(handler=_serve)

    tokens = sub.add_parser("tokens", help="API tokens: create, list, revoke")
    token_sub = tokens.add_subparsers(dest="tokens_command", metavar="ACTION")
    create = token_sub.add_parser("create", help="a new token for a company; the secret is shown once")
    _db_option(create)
    create.add_argument("--company", required=True, help="the company whose cards the token sees")
    create.add_argument("--role", choices=ROLES, default="viewer", help="viewer (read), operator (+ actions), admin")
    create.add_argument("--enterprise", action="store_true", help="an admin that may switch company (切换企业)")
    create.add_argument("--name", default="", help="who or what uses it (shown in the audit log)")
    create.set_defaults(handler=_tokens_create)
    listing = token_sub.add_parser("list", help="every token (never the secrets)")
    _db_option(listing)
    listing.set_defaults(handler=_tokens_list)
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id")
    _db_option(revoke)
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=_tokens_revoke)

    audit = sub.add_parser("audit", help="the audit log: who did what, when, and how it ended")
    _db_option(audit)
    audit.add_argument("--company")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(handler=_audit)

    send = sub.add_parser("send", help="send a command to a device and wait for its result")
    send.add_argument("device", help="the device id (topic level)")
    send.add_argument("name", choices=sorted(CLI_COMMANDS), metavar="COMMAND", help=", ".join(CLI_COMMANDS))
    send.add_argument("targets", nargs="*", metavar="TARGET", help="probe: host or host:port, up to 16")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the result (default 30)")
    send.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    _broker_options(send)
    send.set_defaults(handler=_send)

    plans = sub.add_parser("plans", help="import plans from CSV; push them to the devices")
    plan_sub = plans.add_subparsers(dest="plans_command", metavar="ACTION")
    importing = plan_sub.add_parser("import", help="import FILE.csv (iccid, plan_name, total_mb, cycle dates...)")
    _db_option(importing)
    importing.add_argument("file", type=Path)
    importing.set_defaults(handler=_plans_import)
    push = plan_sub.add_parser("push", help="send each card's plan to its device (set_plan) and wait")
    _db_option(push)
    _broker_options(push)
    push.add_argument("--iccid", action="append", default=[], help="only this card (repeatable)")
    push.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for results (default 15)")
    push.set_defaults(handler=_plans_push)

    prune = sub.add_parser("prune", help="delete records older than their retention (run does it every hour)")
    _retention_option(prune)
    _db_option(prune)
    prune.set_defaults(handler=_prune)

    hooks = sub.add_parser("webhooks", help="alert webhooks: add, list (alerts are sent by 'run')")
    hook_sub = hooks.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    adding = hook_sub.add_parser("add", help="a webhook receiving signed alerts (HMAC-SHA256 of the body)")
    adding.add_argument("url", help="http:// or https:// URL that takes a POST")
    adding.add_argument("--secret-file", type=Path, required=True, help="file holding the signing secret")
    adding.add_argument("--company", help="only this company's cards (default: every company)")
    adding.add_argument(
        "--kind", action="append", default=[], help=f"repeatable; default all: {', '.join(ALERT_KINDS)}"
    )
    _db_option(adding)
    adding.set_defaults(handler=_webhook_add)
    listing_hooks = hook_sub.add_parser("list", help="the webhooks (never their secrets) and their deliveries")
    _db_option(listing_hooks)
    listing_hooks.set_defaults(handler=_webhook_list)

    stats = sub.add_parser("stats", help="messages accepted, duplicates, invalid; the last invalid ones")
    _db_option(stats)
    stats.set_defaults(handler=_stats)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    _db_option(migrate)
    migrate.set_defaults(handler=_migrate)
    return parser


# ---------------------------------------------------------------- handlers


def _retention_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retention",
        action="append",
        default=[],
        metavar="TABLE=DAYS",
        help="keep TABLE's rows this many days; repeatable. Defaults: "
        + ", ".join(f"{name}={days}" for name, days in RETENTION_DAYS.items()),
    )


def _retention(args: argparse.Namespace) -> dict[str, int]:
    chosen: dict[str, int] = {}
    for item in args.retention:
        name, _, days = item.partition("=")
        if name not in RETENTION_DAYS or not days.isdigit() or not 1 <= int(days) <= 36500:
            raise SettingsError(
                f"--retention {item!r}: TABLE=DAYS with TABLE one of {', '.join(RETENTION_DAYS)} and 1-36500 days",
                code="bad_retention",
            )
        chosen[name] = int(days)
    return chosen


def _prune(args: argparse.Namespace, out: _Out) -> int:
    retention = _retention(args)
    with _store(args, writer=True) as store:
        deleted = store.prune(retention)
    if out.json:
        out.doc({"deleted": deleted})
    else:
        out.text(", ".join(f"{name} {n}" for name, n in deleted.items()))
    return EXIT_OK


def _webhook_add(args: argparse.Namespace, out: _Out) -> int:
    try:
        secret = args.secret_file.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read a secret from {args.secret_file}: {exc}", code="bad_secret") from None
    with _store(args, writer=True) as store:
        hook = AlertEngine(store).add_webhook(args.url, secret, company=args.company, kinds=args.kind)
    if out.json:
        out.doc({"id": hook, "url": args.url, "company": args.company, "kinds": args.kind or list(ALERT_KINDS)})
    else:
        out.text(f"webhook {hook}: {args.url} ({args.company or 'every company'})")
    return EXIT_OK


def _webhook_list(args: argparse.Namespace, out: _Out) -> int:
    with _store(args) as store:
        engine = AlertEngine(store)
        hooks = engine.webhooks()
        states: dict[int, dict[str, int]] = {}
        for row in engine.outbox():
            counts = states.setdefault(row["webhook_id"], {})
            counts[row["state"]] = counts.get(row["state"], 0) + 1
    docs = [
        {"id": h.id, "url": h.url, "company": h.company, "kinds": list(h.kinds), "deliveries": states.get(h.id, {})}
        for h in hooks
    ]
    if out.json:
        out.doc({"webhooks": docs})
    else:
        out.text("\n".join(f"{d['id']}  {d['url']}  {d['company'] or '*'}  {d['deliveries']}" for d in docs) or "none")
    return EXIT_OK


def _store(args: argparse.Namespace, *, writer: bool = False) -> Store:
    return Store(args.db, timezone=args.timezone, writer=writer, clock=getattr(args, "clock", None))


def _broker(args: argparse.Namespace) -> BrokerSettings:
    return broker_settings(args.broker, ca_file=args.ca_file, username=args.username, password_file=args.password_file)


def _thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(
        low_percent=args.low_percent, expiring_days=args.expiring_days, mismatch_percent=args.mismatch_percent
    )


def _run(args: argparse.Namespace, out: _Out) -> int:
    # The writer thread lets go of the GIL in every SQLite step (hundreds per batch) and, with the MQTT thread busy
    # parsing a flood, waited up to the switch interval (5 ms) to get it back each time. 0.5 ms: ingest 1,789-2,733
    # msg/s against 1,392-2,176 in four alternating runs each on a loaded 2-core machine (docs/benchmarks.md).
    sys.setswitchinterval(0.0005)
    broker = _broker(args)
    retention = _retention(args)
    client_id = args.client_id or f"iotcard-collector-{socket.gethostname()}-{args.group}"[:64]
    with _store(args, writer=True) as store:
        collector = Collector(
            store,
            broker,
            client_id=client_id,
            group=args.group,
            prefix=args.prefix,
            batch_size=args.batch_size,
            read_retained=True if args.read_retained else None,
        )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        _freeze_start_up()
        collector.start()
        log.warning("collecting from %s:%d into %s as %s", broker.host, broker.port, store.backend, client_id)
        alerts = AlertEngine(store, thresholds=_thresholds(args), offline_minutes=args.offline_minutes)
        next_prune = time.monotonic() + 60 if args.prune_every > 0 else None
        every = args.alerts_every if args.alerts_every > 0 else None
        next_alerts = time.monotonic() + (every or 0)
        while not stop.wait(min(10.0, every or 10.0)) and collector.running:
            log.info("so far: %s (QoS 0 dropped: %d)", collector.stats.as_dict(), collector.worker.dropped)
            if every is not None and time.monotonic() >= next_alerts:
                next_alerts = time.monotonic() + every
                try:
                    queued = alerts.evaluate()
                    sent = alerts.deliver()
                    if queued or any(sent.values()):
                        log.info("alerts: %d queued, %s", queued, sent)
                except StoreError as exc:
                    log.warning("alerts skipped: %s", exc.message)
            if next_prune is not None and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + args.prune_every
                try:
                    log.info("pruned: %s", store.prune(retention))
                except StoreError as exc:
                    log.warning("prune skipped: %s", exc.message)
        collector.stop(linger=args.linger)
        stats = collector.stats.as_dict()
    if out.json:
        out.doc({"stats": stats, "error": collector.failure.message if collector.failure else None})
    else:
        out.text(
            f"accepted {stats['accepted']}, duplicates {stats['duplicates']}, invalid {stats['invalid']} "
            f"in {stats['batches']} batches"
        )
    if collector.failure is not None:
        return out.fail(collector.failure.code, collector.failure.message, collector.failure.hint, EXIT_UNAVAILABLE)
    return EXIT_OK


def _cards(args: argparse.Namespace, out: _Out) -> int:
    if not 1 <= args.limit <= 100_000 or args.offset < 0:
        raise SettingsError("--limit must be 1-100000 and --offset at least 0", code="bad_option")
    thresholds = _thresholds(args)
    query = CardQuery(
        company=args.company,
        search=args.search,
        limit=args.limit,
        offset=args.offset,
        filters=tuple(args.filter),
        match="all" if args.all_filters else "any",
        sort=args.sort,
    )
    with _store(args) as store:
        today = store.today()
        if args.csv:
            for chunk in cards_csv(store.iter_cards(query, today=today, thresholds=thresholds), today, thresholds):
                out.out.write(chunk)
            return EXIT_OK
        total, rows = store.list_cards(query, today=today, thresholds=thresholds)
    listing = CardList(
        total=total,
        limit=args.limit,
        offset=args.offset,
        cards=[card_summary(row, today, thresholds) for row in rows],
    )
    if out.json:
        out.doc(listing.model_dump(mode="json"))
    else:
        out.text(render_cards(listing))
    return EXIT_OK


def _card(args: argparse.Namespace, out: _Out) -> int:
    iccid = args.iccid.strip().upper()
    thresholds = _thresholds(args)
    with _store(args) as store:
        today = store.today()
        record = store.card(iccid)
        if record is None:
            raise NotFound(f"no card {iccid}", hint="find it with: iotcard-collector cards --search PART")
        days = UsageSeries.model_validate(
            {"iccid": iccid, "granularity": "day", "points": store.usage(iccid, "day", today=today, periods=30)}
        )
        months = UsageSeries.model_validate(
            {"iccid": iccid, "granularity": "month", "points": store.usage(iccid, "month", today=today, periods=12)}
        )
    detail = card_detail(record, today, thresholds)
    if out.json:
        out.doc(
            {
                **detail.model_dump(mode="json"),
                "usage_days": [p.model_dump() for p in days.points],
                "usage_months": [p.model_dump() for p in months.points],
            }
        )
    else:
        out.text(render_card(detail, days, months, store.zone))
    return EXIT_OK


def _serve(args: argparse.Namespace, out: _Out) -> int:
    commander = None
    if not args.no_actions:
        broker = _broker(args)

        def commander(device_id: str, command: Any, wait: float) -> Any:
            return send_command(broker, device_id, command, prefix=args.prefix, timeout=wait)

    with _store(args) as store:
        try:
            server = ApiServer(
                store,
                args.host,
                args.port,
                thresholds=_thresholds(args),
                commander=commander,
                cors_origins=tuple(args.cors_origin),
                count_ttl=args.count_cache,
            )
        except OSError as exc:
            raise SettingsError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", code="listen_failed"
            ) from None
        address = f"http://{args.host}:{server.port}"
        if out.json:
            out.doc({"listening": address, "openapi": f"{address}/openapi.json"})
        else:
            out.text(f"serving the card API on {address} (OpenAPI: {address}/openapi.json); Ctrl-C stops")
        out.out.flush()
        # uvicorn raises SIGINT/SIGTERM again once it has shut down; as SystemExit here, the workers are stopped
        # and the exit is clean (0) instead of death by the signal.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _exit_on_signal)
        _freeze_start_up()  # before the fork: the workers share the frozen pages untouched
        children = _fork_workers(store, max(1, min(args.workers, 32)) - 1)
        try:
            server.serve_forever()  # uvicorn: SIGINT and SIGTERM stop it gracefully
        finally:
            _stop_workers(children)
    return EXIT_OK


def _freeze_start_up() -> None:
    """What was imported and built at start-up lives as long as the process: frozen, the collections of a long run
    no longer walk it; and young collections come every 10,000 new objects instead of every 700 (a batch of 500
    reports, or a page of 100 cards, makes thousands). docs/benchmarks.md, "Ingest: garbage collection, whole
    packets, cached times"."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _fork_workers(store: Store, count: int) -> list[int]:
    """``count`` more processes serving the same listening socket (the kernel spreads the connections). Each has
    its own event loop, database connections and count cache; nothing runs yet when they fork."""
    children = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the worker: fresh database connections, then the same serve loop as the parent's
            store.engine.dispose(close=False)
            return []
        children.append(pid)
    return children


def _stop_workers(children: list[int]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _tokens_create(args: argparse.Namespace, out: _Out) -> int:
    with _store(args) as store:
        token_id, secret = TokenAdmin(store).create(
            name=args.name or f"{args.company} {args.role}",
            company=args.company,
            role=args.role,
            enterprise=args.enterprise,
        )
    if out.json:
        out.doc({"id": token_id, "token": secret, "company": args.company, "role": args.role,
                 "enterprise": args.enterprise})  # fmt: skip
    else:
        out.text(f"token {token_id} for {args.company} ({args.role}{', enterprise' if args.enterprise else ''}):")
        out.text(secret)
        out.err.write("  → shown only now: the collector keeps a hash of it\n")
    return EXIT_OK


def _tokens_list(args: argparse.Namespace, out: _Out) -> int:
    with _store(args) as store:
        tokens = TokenAdmin(store).tokens()
    if out.json:
        out.doc({"tokens": tokens})
        return EXIT_OK
    for t in tokens:
        state = f"revoked {t['revoked_at']:%Y-%m-%d}" if t["revoked_at"] else "active"
        scope = "enterprise admin" if t["enterprise"] else t["role"]
        out.text(f"{t['id']:>4}  {t['company']:<16} {scope:<16} {state:<18} {t['name']}")
    return EXIT_OK


def _tokens_revoke(args: argparse.Namespace, out: _Out) -> int:
    with _store(args) as store:
        done = TokenAdmin(store).revoke(args.id)
    if not done:
        raise NotFound(f"no active token {args.id}", hint="see iotcard-collector tokens list")
    if out.json:
        out.doc({"revoked": args.id})
    else:
        out.text(f"token {args.id} revoked")
    return EXIT_OK


def _audit(args: argparse.Namespace, out: _Out) -> int:
    with _store(args) as store:
        entries = TokenAdmin(store).audit_log(args.company, args.limit)
    if out.json:
        out.doc({"audit": entries})
        return EXIT_OK
    for e in entries:
        out.text(f"{e['ts']:%Y-%m-%d %H:%M:%S}Z {e['actor']:<24} {e['company'] or '-':<12} {e['action']:<14} "
                 f"{e['iccid'] or '-':<22} {e['result']}")  # fmt: skip
    return EXIT_OK


def _send(args: argparse.Namespace, out: _Out) -> int:
    command = build_command(args.name, args.targets)
    result = send_command(_broker(args), args.device, command, prefix=args.prefix, timeout=args.timeout)
    doc = result.model_dump(mode="json")
    if out.json:
        out.doc(doc)
    elif result.ok:
        shown = json.dumps(result.result, ensure_ascii=False, default=str) if result.result else "done"
        out.text(f"{args.device} {command.command}: ok {shown}")
    if not result.ok:
        error = result.error
        message = (
            f"{args.device} answered {command.command} with {error.code}: {error.message}"
            if error
            else (f"{args.device} answered {command.command}: not ok")
        )
        if out.json:
            return EXIT_FAIL
        return out.fail(error.code if error else "not_ok", message, None, EXIT_FAIL)
    return EXIT_OK


def _plans_import(args: argparse.Namespace, out: _Out) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PlanImportError(f"cannot read {args.file}: {exc.strerror or exc}", code="unreadable") from None
    except UnicodeDecodeError:
        raise PlanImportError(f"{args.file} is not UTF-8 text", hint="save the sheet as CSV UTF-8") from None
    rows, problems = parse_plans(text, str(args.file))
    with _store(args) as store:
        imported = store.import_plans(rows)
    if out.json:
        out.doc({"imported": imported, "rejected": [{"line": p.line, "problem": p.message} for p in problems]})
    else:
        out.text(f"imported {imported} plan(s) from {args.file}")
        for problem in problems:
            out.err.write(f"  line {problem.line}: {problem.message}\n")
    if problems:
        if out.json:
            return EXIT_FAIL
        return out.fail(
            "bad_rows", f"{len(problems)} row(s) of {args.file} were not imported", "fix them and import again", 1
        )
    return EXIT_OK


def _plans_push(args: argparse.Namespace, out: _Out) -> int:
    with _store(args) as store:
        plans = store.plans_to_push(args.iccid)
    if not plans:
        return out.fail(
            "nothing_to_push",
            "no card has both a plan and a device to send it to",
            "import plans first (plans import FILE.csv) and let the devices report",
            EXIT_FAIL,
        )
    outcomes = push_plans(_broker(args), plans, prefix=args.prefix, timeout=args.timeout)
    if out.json:
        out.doc(
            {
                "outcomes": [
                    {"iccid": o.iccid, "device_id": o.device_id, "state": o.state, "message": o.message}
                    for o in outcomes
                ]
            }
        )
    else:
        for o in outcomes:
            out.text(f"{o.iccid} → {o.device_id}: {o.state}" + (f" ({o.message})" if o.message else ""))
    return EXIT_OK if all(o.state == "ok" for o in outcomes) else EXIT_FAIL


def _stats(args: argparse.Namespace, out: _Out) -> int:
    with _store(args) as store:
        counters = store.counters()
        rejects = store.rejects()
        cards, devices = store.count("cards"), store.count("devices")
    if out.json:
        out.doc({"counters": counters, "cards": cards, "devices": devices, "rejects": rejects})
        return EXIT_OK
    out.text(
        f"cards {cards}, devices {devices}; messages accepted {counters.get('accepted', 0)}, "
        f"duplicates {counters.get('duplicates', 0)}, invalid {counters.get('invalid', 0)}"
    )
    for reject in rejects:
        out.text(f"  {reject['received_at']:%Y-%m-%d %H:%M:%S} {reject['topic']}: {reject['reason']}")
    return EXIT_OK


def _migrate(args: argparse.Namespace, out: _Out) -> int:
    with Store(
        args.db, timezone=args.timezone, migrate_schema=False, writer=True, clock=getattr(args, "clock", None)
    ) as store:
        applied = store.migrate()
        version = store.schema_version()
    if out.json:
        out.doc({"applied": applied, "schema_version": version})
    else:
        out.text(f"schema version {version}" + (f" (applied {applied})" if applied else " (up to date)"))
    return EXIT_OK


# ---------------------------------------------------------------- main


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Run one ``iotcard-collector`` command; errors become one sentence, a hint and a stable exit code.

    ``clock`` gives the instant "now" (tests pass a fixed one); by default the system clock."""
    out_stream, err_stream = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    args.clock = clock
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=err_stream,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    out = _Out(out_stream, err_stream, bool(getattr(args, "json", False)))
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(out_stream)
        return EXIT_USAGE
    try:
        status: int = handler(args, out)
        return status
    except (SettingsError, PlanImportError) as exc:
        log.debug("usage", exc_info=True)
        return out.fail(exc.code, exc.message, exc.hint, EXIT_USAGE)
    except (StoreError, BrokerError) as exc:
        log.debug("unavailable", exc_info=True)
        return out.fail(exc.code, exc.message, exc.hint, EXIT_UNAVAILABLE)
    except DeviceNotAnswering as exc:
        return out.fail(exc.code, exc.message, exc.hint, EXIT_NO_ANSWER)
    except NotFound as exc:
        return out.fail(exc.code, exc.message, exc.hint, EXIT_FAIL)
    except CollectorError as exc:
        log.debug("error", exc_info=True)
        return out.fail(exc.code, exc.message, exc.hint, EXIT_FAIL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
