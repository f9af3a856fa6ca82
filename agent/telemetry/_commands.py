"""Cloud commands: validate, deduplicate, rate-limit and dispatch; every request gets a result, nothing raises.

The order of checks, each ending in a structured error result when it fails:

1. a retained command is refused (``retained_command``): it would run again on every subscribe;
2. more than :data:`~agent.contract.MAX_COMMAND_BYTES` is refused unread (``payload_too_large``);
3. the payload must be UTF-8 JSON holding an object (``invalid_json``);
4. the request id, when readable, names the request in every later error;
5. a request id seen before gets its first result again, marked ``duplicate`` (the command runs once);
6. a token bucket limits how often commands run (``rate_limited``);
7. the name from the topic must be a known command (``unknown_command``) and the object must match its model
   (``invalid_payload``: wrong types, unknown fields, values out of bounds);
8. the handler the agent registered for it runs (``not_available`` when this agent has none yet: a capability not
   wired into this build, the documented behaviour rather than a failure); ``CommandRejected`` from a handler is
   ``rejected``, any other exception ``handler_failed`` (the traceback goes to the debug log).

No command runs AT commands or a shell: the set is closed (:data:`~agent.contract.COMMAND_NAMES`). Pure apart from
the injected clock and the dedup store.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from ..contract import COMMAND_NAMES, MAX_COMMAND_BYTES, parse_command

__all__ = [
    "CommandHandler",
    "CommandOutcome",
    "CommandProcessor",
    "CommandRejected",
    "DedupStore",
    "MemoryDedup",
    "TokenBucket",
    "ping_handler",
]

log = logging.getLogger(__name__)

CommandHandler = Callable[[Any], Mapping[str, Any]]
"""Runs one validated command model and returns its result (a JSON-able mapping)."""


class CommandRejected(Exception):
    """Raised by a handler that refuses a valid command (e.g. a plan the meter cannot accept)."""

    def __init__(self, message: str, *, code: str = "rejected") -> None:
        super().__init__(message)
        self.code = code


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

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def _request_id_of(doc: object) -> str | None:
    if isinstance(doc, dict):
        value = doc.get("request_id")
        if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable():
            return value
    return None


def _first_problem(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:3]:
        loc = ".".join(str(part) for part in item["loc"][1:]) or "(payload)"
        problems.append(f"{loc}: {item['msg']}")
    return "; ".join(problems)


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
        max_bytes: int = MAX_COMMAND_BYTES,
    ) -> None:
        self._handlers: dict[str, CommandHandler] = dict(handlers or {})
        unknown = set(self._handlers) - set(COMMAND_NAMES)
        if unknown:
            raise ValueError(f"no such commands: {sorted(unknown)}")
        self._dedup: DedupStore = dedup if dedup is not None else MemoryDedup()
        self._bucket = TokenBucket(burst, per_minute / 60.0, clock)
        self.max_bytes = max_bytes

    def register(self, name: str, handler: CommandHandler) -> None:
        if name not in COMMAND_NAMES:
            raise ValueError(f"no such command: {name}")
        self._handlers[name] = handler

    def handle(self, name: str, payload: bytes, *, retained: bool = False) -> CommandOutcome:
        try:
            return self._handle(name, payload, retained)
        except Exception as exc:  # the last line of defence: a command never crashes the agent
            log.debug("command %s failed unexpectedly", name, exc_info=True)
            return CommandOutcome(name, None, False, error_code="handler_failed", error_message=type(exc).__name__)

    def _handle(self, name: str, payload: bytes, retained: bool) -> CommandOutcome:
        def error(code: str, message: str, request_id: str | None = None) -> CommandOutcome:
            return CommandOutcome(name, request_id, False, error_code=code, error_message=message)

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

        if request_id is not None and (seen := self._dedup.recall_command(request_id)) is not None:
            first = CommandOutcome.from_json(seen)
            return CommandOutcome(
                first.command, request_id, first.ok, first.result, first.error_code, first.error_message, True
            )
        if not self._bucket.take():
            return error("rate_limited", "too many commands; try again in a minute", request_id)
        if name not in COMMAND_NAMES:
            return error("unknown_command", f"unknown command {name!r}; known: {', '.join(COMMAND_NAMES)}", request_id)
        if doc.get("command", name) != name:
            return error("invalid_payload", f"command {doc.get('command')!r} sent on the topic of {name!r}", request_id)
        try:
            command = parse_command({**doc, "command": name})
        except ValidationError as exc:
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
        self._dedup.remember_command(command.request_id, outcome.to_json())
        return outcome


def ping_handler(agent_version: str, *, started: float, clock: Callable[[], float] = time.monotonic) -> CommandHandler:
    """The ``ping`` handler: the agent's version and how long it has been running."""

    def ping(command: Any) -> Mapping[str, Any]:
        return {"pong": True, "agent_version": agent_version, "uptime_s": round(clock() - started)}

    return ping
