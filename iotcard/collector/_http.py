"""``iotcard-collector serve``: the API (:mod:`iotcard.collector._api`) on uvicorn, in the foreground or in a thread.

The listening socket is bound here, before uvicorn starts, so a port that is taken fails at once with a plain
error and port 0 (any free one, for tests) is known before the first request.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from datetime import date

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._api import Commander, create_app
from ._store import DEFAULT_THRESHOLDS, Store, Thresholds

__all__ = ["ApiServer"]

log = logging.getLogger(__name__)


#: A request's head must have arrived this many seconds after the connection opened (or after the previous response
#: on a kept-alive connection); uvicorn's own keep-alive timer is reset by every byte, so a client dripping a byte at a
#: time (or 1,000 clients each sending half a request) would hold their sockets forever.
HEAD_TIMEOUT = 10.0
#: Connections served at once; beyond it uvicorn answers 503 at once instead of queueing without bound.
MAX_CONNECTIONS = 1000


class _HeadDeadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's head."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(HEAD_TIMEOUT, self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # a whole request head came in: it is being answered

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()


class ApiServer:
    """The API on ``host:port`` (port 0: any free one, see :attr:`port`); :meth:`start` serves in a thread,
    :meth:`serve_forever` in the foreground (SIGINT and SIGTERM stop it gracefully)."""

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        today: Callable[[], date] | None = None,
        commander: Commander | None = None,
        cors_origins: tuple[str, ...] = (),
        count_ttl: float = 2.0,
    ) -> None:
        self.store = store
        self.app = create_app(
            store,
            thresholds=thresholds,
            today=today,
            commander=commander,
            cors_origins=cors_origins,
            count_ttl=count_ttl,
        )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP given, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says TCP, and
        # the accepted ones inherit it. With Nagle on, a response's body (written after its head) waited for the
        # client's delayed ACK: 40 ms on every keep-alive request, /health included.
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            self.socket.listen(2048)
        except OSError:
            self.socket.close()
            raise
        self.host = host
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=10,
            http=_HeadDeadline,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=5,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    def start(self) -> None:
        """Serve in a thread (tests); returns once uvicorn accepts connections."""
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="collector-http", daemon=True
        )
        self._thread.start()
        ready = threading.Event()
        while not self.server.started and self._thread.is_alive():
            ready.wait(0.01)

    def serve_forever(self) -> None:
        self.server.run(sockets=[self.socket])

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.socket.close()
