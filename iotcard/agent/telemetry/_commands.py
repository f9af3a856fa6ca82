"""Cloud commands: rate-limit, validate, deduplicate and dispatch; nothing raises.

Every answer costs the SIM's monthly budget, so the rate limit comes first and covers everything that would be
published, errors and repeats included. The order of checks, each ending in a structured error result:

1. two token buckets, a short one (burst, per minute) and a daily one sized from the traffic budget: without a
   token nothing is published, except one ``rate_limited`` notice per limited spell (itself paid from the daily
   bucket), so a flood costs at most the daily allowance;
2. a retained command is refused (``retained_command``): it would run again on every subscribe;
3. more than :data:`~iotcard.contract.wire.MAX_COMMAND_BYTES` is refused unread (``payload_too_large``);
4. the payload must be UTF-8 JSON holding an object (``invalid_json``);
5. the request id, when readable, names the request in every later error;
6. an ``issued_at`` (ISO 8601 with a zone) older than ``max_age`` or too far ahead is refused (``expired``), when
   the device's clock is plausible; the field is the envelope's, not the command's;
7. a request id seen before gets a small ``duplicate`` acknowledgement (ok or the first error code, never the
   first result again: a replayed 23-byte request must not buy a 2 kB answer); the command runs once;
8. the name from the topic must be a known command (``unknown_command``) and the object must match its model
   (``invalid_payload``: wrong types, unknown fields, values out of bounds);
9. the handler the agent registered for it runs (``not_available`` when this agent has none yet: a capability not
   wired into this build, the documented behaviour rather than a failure); ``CommandRejected`` from a handler is
   ``rejected``, any other exception ``handler_failed`` (the traceback goes to the debug log).

No command runs AT commands or a shell: the set is closed (:data:`~iotcard.contract.wire.COMMAND_NAMES`). Pure
apart from
the injected clock and the dedup store.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from iotcard.contract.commands import CommandInvalid, read_command
from iotcard.contract.errors import IotcardError
from iotcard.contract.wire import COMMAND_NAMES, MAX_COMMAND_BYTES

__all__ = [
    "CommandHandler",
    "CommandOutcome",
    "CommandProcessor",
    "CommandRejected",
    "DedupStore",
    "MemoryDedup",
    "Reply",
    "TokenBucket",
    "daily_command_allowance",
    "ping_handler",
]

log = logging.getLogger(__name__)

CommandHandler = Callable[[Any], Mapping[str, Any]]
"""Runs one validated command (a dataclass of :mod:`iotcard.contract.commands`) and returns its result (a JSON-able
mapping)."""


class CommandRejected(IotcardError):
    """Raised by a handler that refuses a valid command (e.g. a plan the meter cannot accept)."""

    code = "rejected"


@dataclass(frozen=True, slots=True)
class Reply:
    """Where the cloud asked for a command's answer (MQTT 5 Response Topic, Correlation Data); the publisher
    honours the topic only under the device's own ``result/`` level."""

    response_topic: str | None = None
    correlation: bytes | None = None


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What became of one request; mapped to a ``CommandResultMessage`` by the caller."""

    command: str
    request_id: str | None
    ok: bool
    result: Mapping[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    duplicate: bool = False
    publish: bool = True  # False: rate limited, answered by silence (nothing is sent)

    def to_json(self) -> str:
        return json.dumps(
            {
                "command": self.command,
                "request_id": self.request_id,
                "ok": self.ok,
                "result": dict(self.result) if self.result is not None else None,
                "error_code": self.error_code,
                "error_message": self.error_message,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> CommandOutcome:
        doc = json.loads(text)
        return cls(
            command=doc["command"],
            request_id=doc["request_id"],
            ok=doc["ok"],
            result=doc["result"],
            error_code=doc["error_code"],
            error_message=doc["error_message"],
        )


class DedupStore(Protocol):
    def recall_command(self, request_id: str) -> str | None: ...

    def remember_command(self, request_id: str, outcome: str) -> None: ...


class MemoryDedup:
    """A bounded in-memory dedup store (the outbox provides the persistent one)."""

    def __init__(self, keep: int = 256) -> None:
        self.keep = keep
        self._seen: OrderedDict[str, str] = OrderedDict()

    def recall_command(self, request_id: str) -> str | None:
        return self._seen.get(request_id)

    def remember_command(self, request_id: str, outcome: str) -> None:
        self._seen[request_id] = outcome
        self._seen.move_to_end(request_id)
        while len(self._seen) > self.keep:
            self._seen.popitem(last=False)


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second on the injected monotonic clock."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = capacity
        self._at = clock()

    def available(self) -> bool:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return self._tokens >= 1.0

    def take(self) -> bool:
        if self.available():
            self._tokens -= 1.0
            return True
        return False


# What one command costs the SIM, both ways, over TLS with TCP/IP headers (a command of a few hundred bytes in, a
# result or acknowledgement of ~300-500 bytes out, each a TLS record and a few segments).
COMMAND_WIRE_COST = 1024
# The share of the monthly traffic budget cloud commands may use.
COMMAND_BUDGET_SHARE = 0.2
_PLAUSIBLE_WALL = datetime(2020, 1, 1, tzinfo=UTC)


def daily_command_allowance(budget_bytes: int, share: float = COMMAND_BUDGET_SHARE) -> int:
    """Commands a day that keep command traffic within ``share`` of a month's budget (at least 10)."""
    return max(10, int(budget_bytes * share / 30 / COMMAND_WIRE_COST))


def _request_id_of(doc: object) -> str | None:
    if isinstance(doc, dict):
        value = doc.get("request_id")
        if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable():
            return value
    return None


def _first_problem(error: CommandInvalid) -> str:
    return "; ".join(f"{where}: {what}" for where, what in error.problems[:3])


class CommandProcessor:
    """Turns ``(name, payload bytes)`` into a :class:`CommandOutcome`; never raises."""

    def __init__(
        self,
        *,
        handlers: Mapping[str, CommandHandler] | None = None,
        dedup: DedupStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        burst: int = 5,
        per_minute: float = 6.0,
        per_day: int | None = None,
        max_age: float = 3600.0,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_bytes: int = MAX_COMMAND_BYTES,
    ) -> None:
        self._handlers: dict[str, CommandHandler] = dict(handlers or {})
        unknown = set(self._handlers) - set(COMMAND_NAMES)
        if unknown:
            raise ValueError(f"no such commands: {sorted(unknown)}")
        self._dedup: DedupStore = dedup if dedup is not None else MemoryDedup()
        self._bucket = TokenBucket(burst, per_minute / 60.0, clock)
        daily = per_day if per_day is not None else daily_command_allowance(int(1.5 * 1024 * 1024))
        self._daily = TokenBucket(daily, daily / 86400.0, clock)
        self._noticed = False  # a rate_limited notice went out since the last command that had a token
        self.max_age = max_age
        self._wall = wall
        self.max_bytes = max_bytes
        self.silenced = 0  # requests answered by silence (rate limited)

    def register(self, name: str, handler: CommandHandler) -> None:
        if name not in COMMAND_NAMES:
            raise ValueError(f"no such command: {name}")
        self._handlers[name] = handler

    def handle(
        self, name: str, payload: bytes, *, retained: bool = False, reply: Reply | None = None
    ) -> CommandOutcome:
        """Check and run command ``name``. ``reply`` is where its answer was asked for: the caller publishes an
        outcome there; a processor that answers later (the daemon's) keeps it for that answer."""
        try:
            return self._handle(name, payload, retained)
        except Exception as exc:  # the last line of defence: a command never crashes the agent
            log.debug("command %s failed unexpectedly", name, exc_info=True)
            return CommandOutcome(name, None, False, error_code="handler_failed", error_message=type(exc).__name__)

    def _handle(self, name: str, payload: bytes, retained: bool) -> CommandOutcome:
        def error(code: str, message: str, request_id: str | None = None) -> CommandOutcome:
            return CommandOutcome(name, request_id, False, error_code=code, error_message=message)

        if not (self._daily.available() and self._bucket.available()):
            return self._limited(name)
        self._bucket.take()
        self._daily.take()
        self._noticed = False
        if retained:
            return error("retained_command", "commands must not be published with the retain flag")
        if len(payload) > self.max_bytes:
            return error("payload_too_large", f"{len(payload)} bytes; commands are at most {self.max_bytes}")
        try:
            doc = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return error("invalid_json", f"not UTF-8 JSON: {exc}")
        if not isinstance(doc, dict):
            return error("invalid_json", f"a command is a JSON object, not {type(doc).__name__}")
        request_id = _request_id_of(doc)
        stale = self._stale(doc.pop("issued_at", None))
        if stale is not None:
            return error("expired", stale, request_id)

        if request_id is not None and (seen := self._dedup.recall_command(request_id)) is not None:
            first = CommandOutcome.from_json(seen)
            return CommandOutcome(
                first.command,
                request_id,
                first.ok,
                error_code=first.error_code,
                error_message="a repeat of an earlier request; it ran once" if not first.ok else None,
                duplicate=True,
            )
        if name not in COMMAND_NAMES:
            return error("unknown_command", f"unknown command {name!r}; known: {', '.join(COMMAND_NAMES)}", request_id)
        if doc.get("command", name) != name:
            return error("invalid_payload", f"command {doc.get('command')!r} sent on the topic of {name!r}", request_id)
        try:
            # Read as the strict models of iotcard.contract.messages read it, without loading pydantic.
            command = read_command(name, doc)
        except CommandInvalid as exc:
            return error("invalid_payload", _first_problem(exc), request_id)

        handler = self._handlers.get(name)
        if handler is None:
            return error("not_available", f"{name} is not available on this agent yet", command.request_id)
        try:
            result = dict(handler(command))
            json.dumps(result, default=str)
            outcome = CommandOutcome(name, command.request_id, True, result)
        except CommandRejected as exc:
            outcome = error(exc.code, str(exc), command.request_id)
        except Exception as exc:
            log.debug("handler for %s raised", name, exc_info=True)
            outcome = error("handler_failed", f"{name} failed: {type(exc).__name__}: {exc}", command.request_id)
        # Only what a duplicate acknowledgement needs is kept (the result itself is never sent twice).
        self._dedup.remember_command(
            command.request_id, CommandOutcome(name, command.request_id, outcome.ok, None, outcome.error_code).to_json()
        )
        return outcome

    def _limited(self, name: str) -> CommandOutcome:
        """No token: silence, except one notice per limited spell when the daily allowance can pay for it."""
        self.silenced += 1
        if not self._noticed and self._daily.take():
            self._noticed = True
            log.warning("cloud commands are arriving faster than allowed; further ones are dropped unanswered")
            return CommandOutcome(
                name, None, False, error_code="rate_limited", error_message="too many commands; try again later"
            )
        return CommandOutcome(name, None, False, error_code="rate_limited", publish=False)

    def _stale(self, issued: object) -> str | None:
        """Why a command's ``issued_at`` refuses it, or None (absent, or the clock cannot judge)."""
        if issued is None:
            return None
        if not isinstance(issued, str) or len(issued) > 40:
            return "issued_at must be an ISO 8601 time with a zone"
        try:
            when = datetime.fromisoformat(issued)
        except ValueError:
            return "issued_at must be an ISO 8601 time with a zone"
        if when.tzinfo is None:
            return "issued_at must be an ISO 8601 time with a zone"
        now = self._wall()
        if now < _PLAUSIBLE_WALL:
            return None  # no RTC, no NTP yet: the request id check still stops replays
        age = (now - when).total_seconds()
        if age > self.max_age:
            return f"issued {round(age)} s ago; commands older than {round(self.max_age)} s are refused"
        if age < -300:
            return f"issued {round(-age)} s in the future; check the clocks"
        return None


def ping_handler(agent_version: str, *, started: float, clock: Callable[[], float] = time.monotonic) -> CommandHandler:
    """The ``ping`` handler: the agent's version and how long it has been running."""

    def ping(command: Any) -> Mapping[str, Any]:
        return {"pong": True, "agent_version": agent_version, "uptime_s": round(clock() - started)}

    return ping
