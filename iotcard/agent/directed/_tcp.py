"""TCP connect to every resolved address, started one after another with a small stagger, all in flight together.

The first address that accepts wins and the others are cancelled. Otherwise the most telling failure decides:
a refusal (the host answered with RST) over silence over "unreachable". One deadline on the injected clock covers
all addresses.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._bind import apply_binding
from ._model import Binding, TcpAttempt, TcpResult, TcpStatus

__all__ = ["connect_first"]

_SLICE = 0.25  # longest wait before the clock is read again
_REFUSED = frozenset({errno.ECONNREFUSED, errno.ECONNRESET})
_TIMEOUT = frozenset({errno.ETIMEDOUT})
# Anything else (ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL, ENETDOWN, EACCES from a local firewall...) is
# "unreachable": the packets cannot get there from this link.
_RANK = {TcpStatus.REFUSED: 0, TcpStatus.TIMEOUT: 1, TcpStatus.UNREACHABLE: 2}


def _status_of(code: int) -> TcpStatus:
    if code == 0:
        return TcpStatus.OPEN
    if code in _REFUSED:
        return TcpStatus.REFUSED
    if code in _TIMEOUT:
        return TcpStatus.TIMEOUT
    return TcpStatus.UNREACHABLE


@dataclass
class _Pending:
    index: int
    address: str
    sock: socket.socket
    started: float


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def connect_first(
    addresses: Sequence[str],
    port: int,
    *,
    timeout: float,
    stagger: float,
    binding: Binding,
    clock: Callable[[], float],
) -> tuple[TcpResult, socket.socket | None]:
    """Connect to ``port`` on ``addresses``; return the facts and the open socket (the caller closes it)."""
    started = clock()
    deadline = started + timeout
    outcomes: list[TcpAttempt | None] = [None] * len(addresses)
    selector = selectors.DefaultSelector()
    pending: dict[int, _Pending] = {}
    winner: _Pending | None = None
    next_index, next_start = 0, started

    def finish(attempt: _Pending, status: TcpStatus, error: str | None, now: float) -> None:
        outcomes[attempt.index] = TcpAttempt(attempt.address, status, round((now - attempt.started) * 1000), error)

    def start(index: int, now: float) -> _Pending | None:
        address = addresses[index]
        family = _family(address)
        sock = socket.socket(family, socket.SOCK_STREAM)
        attempt = _Pending(index, address, sock, now)
        try:
            apply_binding(sock, binding, family)
            sock.setblocking(False)
            code = sock.connect_ex((address, port))
        except OSError as exc:
            sock.close()
            finish(attempt, TcpStatus.UNREACHABLE, exc.strerror or str(exc), clock())
            return None
        if code in (errno.EINPROGRESS, errno.EAGAIN):
            pending[index] = attempt
            selector.register(sock, selectors.EVENT_WRITE, attempt)
            return None
        status = _status_of(code)
        finish(attempt, status, None if code == 0 else os.strerror(code), clock())
        if status is TcpStatus.OPEN:
            return attempt
        sock.close()
        return None

    try:
        while winner is None:
            now = clock()
            if now >= deadline:
                break
            # Start the next address when its turn comes, or at once when nothing is in flight.
            while next_index < len(addresses) and (now >= next_start or not pending) and winner is None:
                winner = start(next_index, now)
                next_index += 1
                next_start = now + stagger
            if winner is not None or (not pending and next_index >= len(addresses)):
                break
            wake = deadline if next_index >= len(addresses) else min(deadline, next_start)
            for key, _ in selector.select(max(0.0, min(wake - clock(), _SLICE))):
                attempt = key.data
                selector.unregister(attempt.sock)
                del pending[attempt.index]
                code = attempt.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                status = _status_of(code)
                finish(attempt, status, None if code == 0 else os.strerror(code), clock())
                if status is TcpStatus.OPEN and winner is None:
                    winner = attempt
                else:
                    attempt.sock.close()
        now = clock()
        for attempt in pending.values():
            finish(attempt, TcpStatus.TIMEOUT if winner is None else TcpStatus.CANCELLED, None, now)
    finally:
        for attempt in pending.values():
            attempt.sock.close()
        selector.close()
    tried = tuple(outcome for outcome in outcomes if outcome is not None)
    elapsed_ms = round((clock() - started) * 1000)
    if winner is not None:
        winner.sock.setblocking(True)
        return TcpResult(TcpStatus.OPEN, winner.address, elapsed_ms, tried), winner.sock
    if not addresses:
        return TcpResult(TcpStatus.UNREACHABLE, None, elapsed_ms, tried, "no address to connect to"), None
    if not tried:  # the deadline passed before the first attempt could start
        return TcpResult(TcpStatus.TIMEOUT, addresses[0], elapsed_ms, tried), None
    deciding = min(tried, key=lambda outcome: _RANK.get(outcome.status, 3))
    return TcpResult(deciding.status, deciding.address, elapsed_ms, tried, deciding.error), None
