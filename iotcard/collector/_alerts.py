"""Alerts: a condition on a card fires once, clears once, and reaches every webhook that wants it, signed.

Conditions (the app's, from the same rules as the quick filters, :mod:`iotcard.contract.card_state`):

=================== ==============================================================================
kind                fires while
=================== ==============================================================================
``data_low``        流量不足: some data left, less than the low share
``data_exhausted``  流量耗尽
``expiring``        卡临期, the renewal pause from the 26th included
``renew_before_26th`` the card must be renewed by the 25th of this month
``expired``         卡到期
``offline``         the card's device has not been seen for ``offline_minutes``
``card_moved``      机卡分离: a binding alarm (one-shot: fires, never "clears")
``card_swapped``
``company_claimed`` a device claimed another company's card
``implausible_usage`` a device reported more than an interface can move
=================== ==============================================================================

:meth:`AlertEngine.evaluate` compares the conditions with ``alert_state`` and queues one ``fired`` or ``cleared``
message per change for each matching webhook in ``alert_outbox`` (unique idempotency key per webhook and change, so
a second evaluation never queues it twice). :meth:`AlertEngine.deliver` POSTs what is due: JSON body, headers
``X-Iotcard-Signature: sha256=<HMAC-SHA256 of the body with the webhook's secret>``, ``X-Iotcard-Event``,
``X-Iotcard-Idempotency-Key``. A 2xx is delivered; anything else is retried with exponential backoff and jitter
(30 s doubling to 1 h), and after ``max_attempts`` kept as ``dead`` (the dead-letter record, with the last error).
Delivery is at least once: a receiver dedupes by the idempotency key.

All instants come from the store's clock; HTTP goes through ``post`` (stdlib urllib by default), so tests use a
real receiver on 127.0.0.1 and a clock they move.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from ._errors import SettingsError
from ._store import DEFAULT_THRESHOLDS, Store, Thresholds

__all__ = ["ALERT_KINDS", "AlertEngine", "Delivery", "Webhook", "sign"]

log = logging.getLogger(__name__)

STATE_KINDS = ("data_low", "data_exhausted", "expiring", "renew_before_26th", "expired", "offline")
EVENT_KINDS = ("card_moved", "card_swapped", "company_claimed", "implausible_usage")
ALERT_KINDS = STATE_KINDS + EVENT_KINDS
_FILTER_OF = {"data_low": "low", "data_exhausted": "exhausted", "expiring": "expiring", "expired": "expired"}


def sign(secret: str, body: bytes) -> str:
    """The ``X-Iotcard-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    secret: str
    company: str | None  # None: every company's cards
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Delivery:
    status: int | None  # the HTTP status, None when no answer
    error: str | None


Post = Callable[[str, bytes, dict[str, str], float], Delivery]


def urllib_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Delivery:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Delivery(answer.status, None)
    except urllib.error.HTTPError as exc:
        return Delivery(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return Delivery(None, str(getattr(exc, "reason", exc))[:200])


class AlertEngine:
    """Evaluate conditions into ``alert_state`` and ``alert_outbox``; deliver what is due. One owner thread."""

    def __init__(
        self,
        store: Store,
        *,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        offline_minutes: int = 30,
        max_attempts: int = 8,
        post: Post = urllib_post,
        rng: random.Random | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.store = store
        self.thresholds = thresholds
        self.offline_minutes = offline_minutes
        self.max_attempts = max_attempts
        self.post = post
        self.rng = rng or random.Random()
        self.timeout = timeout

    # ------------------------------------------------------------ webhooks

    def add_webhook(self, url: str, secret: str, *, company: str | None = None, kinds: Iterable[str] = ()) -> int:
        chosen = tuple(kinds) or ALERT_KINDS
        unknown = sorted(set(chosen) - set(ALERT_KINDS))
        if unknown:
            raise SettingsError(f"unknown alert kind(s) {', '.join(unknown)}; known: {', '.join(ALERT_KINDS)}")
        if not url.startswith(("http://", "https://")) or len(url) > 1000:
            raise SettingsError(f"webhook URL {url[:80]!r}: http:// or https://, at most 1000 characters")
        if len(secret) < 16:
            raise SettingsError("a webhook secret has at least 16 characters")
        t = self.store.tables
        with self.store.engine.begin() as conn:
            created = conn.execute(
                insert(t.webhooks)
                .values(
                    url=url,
                    secret=secret,
                    company=company,
                    kinds=",".join(chosen),
                    created_at=self._now(),
                )
                .returning(t.webhooks.c.id)
            ).scalar_one()
        return int(created)

    def webhooks(self) -> list[Webhook]:
        w = self.store.tables.webhooks.c
        with self.store.engine.begin() as conn:
            return [
                Webhook(row.id, row.url, row.secret, row.company, tuple(row.kinds.split(",")))
                for row in conn.execute(select(self.store.tables.webhooks).where(w.removed_at.is_(None)))
            ]

    # ------------------------------------------------------------ evaluation

    def _now(self) -> datetime:
        return self.store.clock().astimezone(UTC).replace(tzinfo=None)

    def conditions(self, today: date) -> dict[str, dict[str, str | None]]:
        """kind -> {iccid: company} for every state condition that holds now."""
        t = self.store.tables
        c = t.cards.c
        found: dict[str, dict[str, str | None]] = {}
        with self.store.engine.begin() as conn:
            for kind, name in _FILTER_OF.items():
                where = self.store._filter(name, today, self.thresholds)
                found[kind] = {row.iccid: row.company for row in conn.execute(select(c.iccid, c.company).where(where))}
            renew = self.store._filter("expiring", today, self.thresholds)
            pause = today.replace(day=26)
            month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            in_pause = or_(c.expiry.between(pause, month_end), c.cycle_end.between(pause, month_end))
            found["renew_before_26th"] = (
                {
                    row.iccid: row.company
                    for row in conn.execute(select(c.iccid, c.company).where(and_(renew, in_pause)))
                }
                if 20 <= today.day <= 25
                else {}
            )
            cutoff = self._now() - timedelta(minutes=self.offline_minutes)
            d = t.devices.c
            offline = (
                select(c.iccid, c.company)
                .select_from(t.cards.join(t.devices, d.device_id == c.device_id))
                .where(c.unbound_at.is_(None), or_(d.last_seen < cutoff, d.online.is_(False) & (d.status_ts < cutoff)))
            )
            found["offline"] = {row.iccid: row.company for row in conn.execute(offline)}
        return found

    def evaluate(self, today: date | None = None) -> int:
        """Queue a message per condition that started or ended since the last evaluation, and per new binding or
        device alarm; returns how many were queued."""
        today = today or self.store.today()
        now = self._now()
        hooks = self.webhooks()
        conditions = self.conditions(today)
        t = self.store.tables
        s = t.alert_state.c
        queued = 0
        with self.store.engine.begin() as conn:
            active = {(row.iccid, row.kind): row.since for row in conn.execute(select(t.alert_state))}
            changes: list[tuple[str, str, str | None, str, datetime]] = []  # (kind, iccid, company, change, since)
            for kind in STATE_KINDS:
                holding = conditions.get(kind, {})
                for iccid, company in holding.items():
                    if (iccid, kind) not in active:
                        changes.append((kind, iccid, company, "fired", now))
                for (iccid, known_kind), since in active.items():
                    if known_kind == kind and iccid not in holding:
                        changes.append((kind, iccid, None, "cleared", since))
            # One-shot conditions: the alarms recorded since the last evaluation.
            cursor = t.alert_cursor.c
            mark = conn.execute(select(cursor.value).where(cursor.name == "alarms")).scalar()
            a = t.alarms.c
            newer = (
                select(t.alarms, t.cards.c.company)
                .select_from(t.alarms.outerjoin(t.cards, t.cards.c.iccid == a.iccid))
                .where(a.id > (mark or 0), a.kind.in_(EVENT_KINDS))
                .order_by(a.id)
            )
            alarms = list(conn.execute(newer))
            for row in alarms:
                changes.append((row.kind, row.iccid or "", row.company, "fired", row.ts))
            if alarms:
                last = max(row.id for row in alarms)
                if mark is None:
                    conn.execute(insert(t.alert_cursor).values(name="alarms", value=last))
                else:
                    conn.execute(update(t.alert_cursor).where(cursor.name == "alarms").values(value=last))
            for kind, iccid, company, change, since in changes:
                if kind in STATE_KINDS:
                    if change == "fired":
                        conn.execute(insert(t.alert_state).values(iccid=iccid, kind=kind, since=now, company=company))
                    else:
                        company = conn.execute(select(t.cards.c.company).where(t.cards.c.iccid == iccid)).scalar()
                        conn.execute(t.alert_state.delete().where(s.iccid == iccid, s.kind == kind))
                for hook in hooks:
                    if kind not in hook.kinds or (hook.company is not None and hook.company != company):
                        continue
                    key = hashlib.sha256(f"{hook.id}|{kind}|{iccid}|{change}|{since.isoformat()}".encode()).hexdigest()
                    body = {
                        "idempotency_key": key,
                        "event": f"{kind}.{change}",
                        "kind": kind,
                        "change": change,
                        "iccid": iccid,
                        "company": company,
                        "since": since.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
                        "at": now.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
                    }
                    conn.execute(
                        self.store._insert(t.alert_outbox)
                        .values(
                            webhook_id=hook.id,
                            idempotency_key=key,
                            body=json.dumps(body, sort_keys=True),
                            state="pending",
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                        .on_conflict_do_nothing(index_elements=["idempotency_key"])
                    )
                    queued += 1
        return queued

    # ------------------------------------------------------------ delivery

    def _backoff(self, attempts: int) -> timedelta:
        base = min(30 * 2 ** (attempts - 1), 3600)
        return timedelta(seconds=base * (0.5 + self.rng.random() / 2))

    def deliver(self, limit: int = 100) -> dict[str, int]:
        """POST every due message (oldest first); returns counts of delivered, retried, dead."""
        t = self.store.tables
        o = t.alert_outbox.c
        now = self._now()
        hooks = {hook.id: hook for hook in self.webhooks()}
        counts = {"delivered": 0, "retried": 0, "dead": 0}
        with self.store.engine.begin() as conn:
            due = list(
                conn.execute(
                    select(t.alert_outbox)
                    .where(o.state == "pending", o.next_attempt_at <= now)
                    .order_by(o.id)
                    .limit(limit)
                )
            )
        for row in due:
            hook = hooks.get(row.webhook_id)
            body = row.body.encode()
            if hook is None:
                outcome = Delivery(None, "the webhook was removed")
            else:
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "iotcard-collector",
                    "X-Iotcard-Signature": sign(hook.secret, body),
                    "X-Iotcard-Event": json.loads(row.body)["event"],
                    "X-Iotcard-Idempotency-Key": row.idempotency_key,
                }
                outcome = self.post(hook.url, body, headers, self.timeout)
            attempts = row.attempts + 1
            values: dict[str, Any] = {"attempts": attempts, "last_error": outcome.error, "last_status": outcome.status}
            if outcome.status is not None and 200 <= outcome.status < 300:
                values.update(state="delivered", delivered_at=now)
                counts["delivered"] += 1
            elif attempts >= self.max_attempts or hook is None:
                values.update(state="dead")
                counts["dead"] += 1
                log.warning(
                    "alert %s to webhook %s is dead after %d attempts: %s",
                    row.id,
                    row.webhook_id,
                    attempts,
                    outcome.error,
                )
            else:
                values.update(next_attempt_at=now + self._backoff(attempts))
                counts["retried"] += 1
            with self.store.engine.begin() as conn:
                conn.execute(update(t.alert_outbox).where(o.id == row.id).values(**values))
        return counts

    def outbox(self) -> list[dict[str, Any]]:
        t = self.store.tables
        with self.store.engine.begin() as conn:
            return [dict(row._mapping) for row in conn.execute(select(t.alert_outbox).order_by(t.alert_outbox.c.id))]
