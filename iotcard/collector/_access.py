"""Who may do what through the HTTP API: API tokens, roles and companies, the audit log, and card actions.

A token is ``ict_`` and 43 random URL-safe characters, shown once when it is created; the database keeps only its
SHA-256 (a random 256-bit secret needs no slow hash: there is nothing to guess). Every token belongs to a company
(its home) and has a role:

- ``viewer`` reads its company's cards (lists, counts, export, search, one card, usage);
- ``operator`` also runs the card actions (流量校验 refresh-usage, 卡诊断 diagnose, 定向查询 probe);
- ``admin`` the same, and reads its company's audit log; an ``enterprise`` admin may switch company (切换企业,
  ``company=`` or the ``X-Company`` header) and, without one, sees every company.

A card of another company does not exist for a token (404, never 403), in lists, counts, export and search alike.
Every action, allowed or refused, is written to the audit log with who, what, when and how it ended.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from ._errors import SettingsError
from ._store import Store, aware

__all__ = ["ROLES", "Principal", "TokenAdmin", "hash_token"]

ROLES = ("viewer", "operator", "admin")
_TOKEN_PREFIX = "ict_"
#: How long a token found valid is believed without asking the database again. A revocation through this process
#: (any TokenAdmin on the same Store) takes effect at once; one made by another process (``tokens revoke`` on the
#: command line) within this time.
TOKEN_CACHE_TTL = timedelta(seconds=5)
_TOKEN_CACHE_SIZE = 1024


def _hash_of(secret: str) -> str | None:
    """The hash a presented secret is looked up by; None for what cannot be one of our tokens."""
    if not secret.startswith(_TOKEN_PREFIX) or len(secret) > 128:
        return None
    return hash_token(secret)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a token: its home company, role, and whether it may switch company."""

    token_id: int
    name: str
    company: str
    role: str
    enterprise: bool = False

    def may_act(self) -> bool:
        return self.role in ("operator", "admin")

    def scope(self, asked: str | None) -> str | None:
        """The company a request reads: the token's own; an enterprise admin's choice (None: all companies).
        Asking for another company without the right is :class:`PermissionError`."""
        if self.enterprise:
            return asked or None
        if asked not in (None, "", self.company):
            raise PermissionError(asked)
        return self.company

    def sees(self, company: str | None, scope: str | None) -> bool:
        return scope is None or company == scope


class _TokenCache:
    """Valid tokens of one Store by their hash, each with when it was read (unknown tokens are never kept)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: dict[str, tuple[datetime, Principal]] = {}

    def get(self, token_hash: str, now: datetime) -> Principal | None:
        with self.lock:
            entry = self.found.get(token_hash)
        if entry is None or not (entry[0] <= now < entry[0] + TOKEN_CACHE_TTL):
            return None
        return entry[1]

    def put(self, token_hash: str, now: datetime, principal: Principal) -> None:
        with self.lock:
            if len(self.found) >= _TOKEN_CACHE_SIZE:
                self.found.clear()
            self.found[token_hash] = (now, principal)

    def clear(self) -> None:
        with self.lock:
            self.found.clear()


# One cache per Store, whichever TokenAdmin reads or revokes through it (the API and the console each make one).
_caches: weakref.WeakKeyDictionary[Store, _TokenCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_of(store: Store) -> _TokenCache:
    with _caches_lock:
        cache = _caches.get(store)
        if cache is None:
            cache = _caches[store] = _TokenCache()
        return cache


class TokenAdmin:
    """Tokens, the audit log and card actions in the collector's database (schema version 4's tables)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.tables = store.tables
        self.clock = clock or store.clock
        self._cache = _cache_of(store)

    # ------------------------------------------------------------ tokens

    def create(self, *, name: str, company: str, role: str = "viewer", enterprise: bool = False) -> tuple[int, str]:
        """A new token: (its id, the secret, to be shown once)."""
        company = company.strip()
        if not company or len(company) > 128:
            raise SettingsError("a token needs its company (1-128 characters)", code="bad_company")
        if role not in ROLES:
            raise SettingsError(f"unknown role {role!r}; one of {', '.join(ROLES)}", code="bad_role")
        if enterprise and role != "admin":
            raise SettingsError("only an admin token may switch company (--enterprise needs --role admin)",
                                code="bad_role")  # fmt: skip
        secret = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        t = self.tables.api_tokens
        with self.store._begin() as conn:
            token_id = conn.execute(
                insert(t)
                .values(
                    token_hash=hash_token(secret),
                    name=name[:128],
                    company=company,
                    role=role,
                    enterprise=enterprise,
                    created_at=_naive(self.clock()),
                )
                .returning(t.c.id)
            ).scalar_one()
        self.audit(None, "token_create", "ok", company=company, detail={"token": int(token_id), "role": role})
        return int(token_id), secret

    def revoke(self, token_id: int) -> bool:
        t = self.tables.api_tokens
        with self.store._begin() as conn:
            done = conn.execute(
                update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=_naive(self.clock()))
            ).rowcount
        self._cache.clear()
        self.audit(None, "token_revoke", "ok" if done else "not_found", detail={"token": token_id})
        return bool(done)

    def tokens(self) -> list[dict[str, Any]]:
        t = self.tables.api_tokens
        columns = (t.c.id, t.c.name, t.c.company, t.c.role, t.c.enterprise, t.c.created_at, t.c.revoked_at)
        with self.store._begin() as conn:
            rows = conn.execute(select(*columns).order_by(t.c.id))
            return [
                {**row._mapping, "created_at": aware(row.created_at), "revoked_at": aware(row.revoked_at)}
                for row in rows
            ]

    def cached(self, secret: str) -> Principal | None:
        """The token's caller if it was found valid less than :data:`TOKEN_CACHE_TTL` ago (no database read);
        None means "ask :meth:`authenticate`", not "invalid"."""
        token_hash = _hash_of(secret)
        return None if token_hash is None else self._cache.get(token_hash, self.clock())

    def authenticate(self, secret: str) -> Principal | None:
        token_hash, now = _hash_of(secret), self.clock()
        if token_hash is None:
            return None
        found = self._cache.get(token_hash, now)
        if found is not None:
            return found
        t = self.tables.api_tokens
        with self.store._begin() as conn:
            row = conn.execute(
                select(t.c.id, t.c.name, t.c.company, t.c.role, t.c.enterprise).where(
                    t.c.token_hash == token_hash, t.c.revoked_at.is_(None)
                )
            ).first()
        if row is None:
            return None
        principal = Principal(int(row.id), row.name, row.company, row.role, bool(row.enterprise))
        self._cache.put(token_hash, now, principal)
        return principal

    # ------------------------------------------------------------ audit

    def audit(
        self,
        principal: Principal | None,
        action: str,
        result: str,
        *,
        company: str | None = None,
        iccid: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One line of the audit log: who (a token, or the command line), what, when, and how it ended."""
        with self.store._begin() as conn:
            conn.execute(
                insert(self.tables.audit_log).values(
                    ts=_naive(self.clock()),
                    token_id=principal.token_id if principal else None,
                    actor=f"token {principal.token_id} ({principal.name})" if principal else "command line",
                    company=company if company is not None else (principal.company if principal else None),
                    action=action,
                    iccid=iccid,
                    detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
                    result=result[:32],
                )
            )

    def audit_log(self, company: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        a = self.tables.audit_log
        query = select(a).order_by(a.c.id.desc()).limit(limit)
        if company is not None:
            query = query.where(a.c.company == company)
        with self.store._begin() as conn:
            return [
                {
                    **row._mapping,
                    "ts": aware(row.ts),
                    "detail": json.loads(row.detail) if row.detail else None,
                }
                for row in conn.execute(query)
            ]

    # ------------------------------------------------------------ card actions

    def start_action(
        self,
        principal: Principal,
        *,
        iccid: str,
        device_id: str,
        company: str | None,
        action: str,
        request_id: str,
        targets: list[str] | None = None,
    ) -> int:
        t = self.tables.card_actions
        with self.store._begin() as conn:
            return int(
                conn.execute(
                    insert(t)
                    .values(
                        iccid=iccid,
                        device_id=device_id,
                        company=company,
                        action=action,
                        request_id=request_id,
                        token_id=principal.token_id,
                        state="pending",
                        targets=json.dumps(targets) if targets else None,
                        requested_at=_naive(self.clock()),
                    )
                    .returning(t.c.id)
                ).scalar_one()
            )

    def finish_action(
        self,
        action_id: int,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        t = self.tables.card_actions
        finished = _naive(self.clock()) if state in ("ok", "failed") else None
        with self.store._begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == action_id)
                .values(
                    state=state,
                    result_json=json.dumps(result, ensure_ascii=False, default=str) if result is not None else None,
                    error_code=error_code,
                    error_message=error_message,
                    finished_at=finished,
                )
            )

    def action(self, iccid: str, action_id: int) -> dict[str, Any] | None:
        """One action of the card; one still waiting takes the device's result when the collector has stored it
        meanwhile (``iotcard-collector run`` keeps every result/… message, by request id)."""
        t, r = self.tables.card_actions, self.tables.command_results
        with self.store._begin() as conn:
            row = conn.execute(select(t).where(t.c.id == action_id, t.c.iccid == iccid)).first()
            if row is None:
                return None
            record = dict(row._mapping)
            if record["state"] not in ("ok", "failed"):
                found = conn.execute(
                    select(r.c.ok, r.c.result_json, r.c.error_code, r.c.error_message, r.c.ts)
                    .where(r.c.request_id == record["request_id"])
                    .order_by(r.c.id.desc())
                    .limit(1)
                ).first()
                if found is not None:
                    record.update(
                        state="ok" if found.ok else "failed",
                        result_json=found.result_json,
                        error_code=found.error_code,
                        error_message=found.error_message,
                        finished_at=found.ts,
                    )
                    conn.execute(
                        update(t)
                        .where(t.c.id == action_id)
                        .values(
                            state=record["state"],
                            result_json=found.result_json,
                            error_code=found.error_code,
                            error_message=found.error_message,
                            finished_at=found.ts,
                        )
                    )
        return record
