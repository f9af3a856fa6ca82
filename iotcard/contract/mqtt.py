"""The MQTT session plumbing the agent and the collector share: broker URLs, and the thread that owns a paho client.

:class:`PahoOwner` is the skeleton of both sides' MQTT owner (the agent's ``MqttLink``, the collector's
``MqttWorker``): one thread, and only that thread, touches the paho client. Other threads put requests on a queue
and wake the thread through a socket pair; the thread selects on the wake socket and the client's socket, reads
every packet that is waiting, writes what paho has queued, runs paho's timers, and reconnects when a subclass's
policy says it is time. paho's own loop and reconnect threads are never started.

What differs stays with each side, in the hooks: which paho client to build and how to connect
(:meth:`PahoOwner._connect`), which requests exist (:meth:`PahoOwner._take_requests`), what to check after each
network step (:meth:`PahoOwner._after_step`), and how a connection ends (:meth:`PahoOwner._close`). The agent keeps
its persistent session, backoff, adaptive keepalive, byte counting and packet-size limit; the collector its shared
subscription, batches of acknowledgements and lingering session.

Standard library and paho only: the collector imports this without the agent's dependencies. This is the one module
of iotcard that imports ``paho.mqtt.client``; the two sides take ``paho`` and its packet helpers from here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import select
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

# paho imports dnspython when it is installed, for Client.connect_srv() only, which iotcard never calls (the agent
# resolves names itself): about 3 MB of the daemon's resident memory. It is hidden while paho loads; whoever imports
# dnspython afterwards still gets it.
_hide_dns = "dns" not in sys.modules
if _hide_dns:
    sys.modules["dns"] = None  # type: ignore[assignment]  # None in sys.modules: "import dns.x" raises ImportError
try:
    import paho.mqtt.client as paho
finally:
    if _hide_dns:
        del sys.modules["dns"]

__all__ = [
    "BrokerUrl",
    "PacketTypes",
    "PahoOwner",
    "Properties",
    "SubscribeOptions",
    "TlsSettings",
    "connect_failure",
    "paho",
    "parse_broker_url",
    "read_password",
    "remember_tls_session",
    "tls_context",
]

log = logging.getLogger(__name__)

PLAIN_PORT = 1883
TLS_PORT = 8883


# ---------------------------------------------------------------- broker URLs


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    """A broker as a URL names it. ``port`` is None when the URL gives none (:attr:`port_or_default` then)."""

    host: str
    port: int | None
    tls: bool

    @property
    def port_or_default(self) -> int:
        return self.port or (TLS_PORT if self.tls else PLAIN_PORT)


def parse_broker_url(url: str) -> BrokerUrl:
    """``mqtts://HOST[:PORT]`` (TLS, 8883 by default) or ``mqtt://HOST[:PORT]`` (plain, 1883 by default).

    Raises ``ValueError`` with one sentence naming the URL; each side turns it into its own settings error."""
    # A password written into the URL is never repeated in a message (it ends up in logs and terminals).
    shown = re.sub(r"://.*@", "://***@", url)
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unbalanced "[" (urllib: "Invalid IPv6 URL")
        raise ValueError(f"broker URL {shown!r}: expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]") from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker URL {shown!r}: expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f"broker URL {shown!r}: the port is not a number 1-65535")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"broker URL {shown!r}: expected only mqtts://HOST[:PORT] or mqtt://HOST[:PORT] (credentials go in files)"
        )
    return BrokerUrl(parts.hostname, port, parts.scheme == "mqtts")


# ---------------------------------------------------------------- TLS and credentials


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """The broker's CA (None: the system's CAs), an optional client certificate and key, and ``insecure`` to skip
    the host name check (the chain is verified either way)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False


class _ResumingContext(ssl.SSLContext):
    """An SSLContext that offers the last TLS session again (paho wraps sockets through the context)."""

    session: ssl.SSLSession | None = None

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        if self.session is not None and "session" not in kwargs:
            kwargs["session"] = self.session
        return super().wrap_socket(sock, *args, **kwargs)


def tls_context(tls: TlsSettings) -> ssl.SSLContext:
    """A client context for ``tls``: TLS 1.2 or later, the chain always verified, session resumption ready (see
    :func:`remember_tls_session`). ``OSError`` or ``ssl.SSLError`` when a file cannot be used."""
    context = _ResumingContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.ca_file is not None:
        context.load_verify_locations(cafile=str(tls.ca_file))
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if tls.cert_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    context.check_hostname = not tls.insecure
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def remember_tls_session(context: ssl.SSLContext | None, sock: Any) -> None:
    """Offer ``sock``'s TLS session on the next connection (it saves the certificate exchange). Call it at CONNACK:
    TLS 1.3 tickets arrive after the handshake, and by then they have been read."""
    if isinstance(context, _ResumingContext) and isinstance(sock, ssl.SSLSocket):
        context.session = sock.session


def read_password(path: Path) -> str:
    """The first line of a password file ("" for an empty file); ``OSError`` when it cannot be read. Never logged."""
    text = path.read_text(encoding="utf-8")
    return text.splitlines()[0] if text else ""


def connect_failure(exc: BaseException, host: str, port: int) -> tuple[str, str]:
    """A stable code and one sentence for an exception raised by ``paho.Client.connect``.

    Codes: ``tls_verify_failed``, ``tls_failed``, ``refused``, ``timeout``, ``unreachable``."""
    if isinstance(exc, ssl.SSLCertVerificationError):  # also a name mismatch (ssl.CertificateError is this class)
        return "tls_verify_failed", f"the broker's certificate was refused: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return "tls_failed", f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", f"{host}:{port} refused the connection"
    if isinstance(exc, TimeoutError):
        return "timeout", f"no answer from {host}:{port}"
    strerror = getattr(exc, "strerror", None)
    return "unreachable", f"cannot reach {host}:{port}: {strerror or exc}"


# ---------------------------------------------------------------- the owner thread

RequestT = TypeVar("RequestT")


class PahoOwner(Generic[RequestT]):
    """One paho client at a time and the one thread that ever touches it.

    Any thread: :meth:`_start` (once), :meth:`_request` (queue a request and wake the thread), :meth:`_join`.
    The owner's thread runs :meth:`_run`: take requests, connect when none is up and :attr:`_next_attempt` has
    come (waiting on the wake socket meanwhile), else step the network; at the end, :meth:`_close` with
    ``final=True``. A subclass sets :attr:`_client` in :meth:`_connect` and clears it in :meth:`_close`, sets
    :attr:`_next_attempt` when a connection fails or ends, and :attr:`_stopping` when it takes its stop request.
    ``idle_wait`` bounds a wait while disconnected; ``step_wait`` a select on a live connection (paho's timers,
    keepalive and retries, run between selects).
    """

    idle_wait = 1.0
    step_wait = 1.0
    max_reads_per_step = 1000

    def __init__(self, *, thread_name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._requests: queue.Queue[RequestT] = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        # The owner's thread only, from here on.
        self._client: paho.Client | None = None
        self._next_attempt = 0.0
        self._stopping = False

    # ------------------------------------------------------------ any thread

    def _start(self) -> None:
        self._thread.start()

    def _request(self, item: RequestT) -> None:
        self._requests.put(item)
        with contextlib.suppress(OSError):  # the thread ended and closed its wake socket: nobody listens
            self._wake_w.send(b"\0")

    def _join(self, timeout: float) -> None:
        """Wait for the thread to end (after a stop request), then close the wake pipe."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------ the owner's thread: the loop

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._take_requests()
                if self._stopping:
                    break
                if self._client is None:
                    now = self._clock()
                    if now >= self._next_attempt:
                        self._connect()
                    else:
                        self._wait(min(self._next_attempt - now, self.idle_wait))
                    continue
                self._step()
        except Exception:  # a bug here must not leave the process silently disconnected forever
            log.exception("the MQTT thread %s failed", self._thread.name)
        finally:
            self._close("stopped", final=True)
            self._finished()

    def _wait(self, timeout: float) -> None:
        select.select([self._wake_r], [], [], max(0.0, timeout))
        self._drain_wake()

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError when drained
            while self._wake_r.recv(4096):
                pass

    def _step(self) -> None:
        """One network round on the live connection: select, read all that waits, write, paho's timers."""
        client = self._client
        assert client is not None
        sock = client.socket()
        if sock is None:
            self._close("connection lost")
            return
        pending = self._read_pending(client, sock)
        wants = [sock] if client.want_write() else []
        try:
            readable, writable, _ = select.select([sock, self._wake_r], wants, [], 0.0 if pending else self.step_wait)
        except (OSError, ValueError):
            self._close("connection lost")
            return
        if self._wake_r in readable:
            self._drain_wake()
        if sock in readable or pending:
            self._read_waiting(client, sock)
        if client.socket() is not None and (sock in writable or client.want_write()):
            client.loop_write()
        if client.socket() is not None:
            client.loop_misc()
        self._after_step(client)

    def _read_waiting(self, client: paho.Client, sock: Any) -> None:
        """paho reads a few packets per call at most: read until the socket (and TLS's buffer) has nothing more."""
        for _ in range(self.max_reads_per_step):
            if client.loop_read() != paho.MQTT_ERR_SUCCESS or client.socket() is None:
                return
            if not self._read_pending(client, sock) and not select.select([sock], [], [], 0)[0]:
                return

    def _read_pending(self, client: paho.Client, sock: Any) -> bool:
        """Bytes already taken from the socket that no select announces: TLS's buffer (and a subclass's own)."""
        return _tls_pending(sock)

    @staticmethod
    def _paho_client(
        client_id: str,
        *,
        v5: bool = True,
        clean_session: bool | None = None,
        manual_ack: bool = False,
        max_inflight: int = 100,
        tls: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        client_class: type[paho.Client] = paho.Client,
    ) -> paho.Client:
        """A paho client for one connection: callback API 2, no paho reconnects, nothing queued inside paho
        (a request made while disconnected is the owner's to keep or drop)."""
        client = client_class(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            reconnect_on_failure=False,
            manual_ack=manual_ack,
        )
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(0)
        if tls is not None:
            client.tls_set_context(tls)
        if username is not None:
            client.username_pw_set(username, password)
        return client

    @staticmethod
    def _disconnect(client: paho.Client, properties: Any = None) -> None:
        """Send DISCONNECT (the broker then drops the will) and what paho still has queued before it."""
        try:
            client.disconnect(properties=properties)
            for _ in range(100):
                if not client.want_write() or client.loop_write() != paho.MQTT_ERR_SUCCESS:
                    break
        except Exception:  # paho may have closed the socket already
            log.debug("DISCONNECT not sent", exc_info=True)

    def _disconnect_gracefully(self, client: paho.Client, properties: Any = None, *, timeout: float = 2.0) -> bool:
        """Send DISCONNECT (after what paho still has queued), then end TCP with a FIN, not a reset.

        paho closes its socket as soon as the DISCONNECT is written. With bytes from the broker still unread (a
        stream of deliveries), Linux then answers with a reset, and a broker that had not read the DISCONNECT yet
        never does: it sees a broken connection (the will goes out, a changed session expiry is lost). So the
        connection is held through a duplicate of the socket's descriptor, which paho's close leaves open; once
        paho has written the DISCONNECT, this shuts down the sending side and reads (and drops) what still arrives
        until the broker closes its side, for at most ``timeout`` seconds. Works for TLS too (the records are
        already written; what is read afterwards is dropped undecrypted). True when the broker closed its side."""
        sock = client.socket()
        if sock is None:
            return False
        try:
            held = socket.socket(fileno=os.dup(sock.fileno()))
        except (OSError, ValueError):
            self._disconnect(client, properties)
            return False
        deadline = self._clock() + timeout
        with held:
            try:
                client.disconnect(properties=properties)  # paho may write it (and close) at once
                while (sock := client.socket()) is not None and client.want_write():
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        break
                    select.select([], [sock], [], remaining)
                    if client.loop_write() != paho.MQTT_ERR_SUCCESS:
                        break
            except Exception:
                log.debug("DISCONNECT not sent", exc_info=True)
            if (sock := client.socket()) is not None:  # not all written in time: give up on a clean end
                with contextlib.suppress(OSError):
                    sock.close()
                return False
            try:
                held.shutdown(socket.SHUT_WR)
                while (remaining := deadline - self._clock()) > 0:
                    held.settimeout(remaining)
                    if not held.recv(65536):
                        return True
            except OSError:  # a reset or the timeout
                pass
            return False

    # ------------------------------------------------------------ hooks (the owner's thread)

    def _take_requests(self) -> None:
        """Handle the queued requests (connected or not: see :attr:`_client`); set :attr:`_stopping` on a stop."""
        raise NotImplementedError

    def _connect(self) -> None:
        """Start one connection: set :attr:`_client`, or schedule :attr:`_next_attempt` when it failed at once."""
        raise NotImplementedError

    def _after_step(self, client: paho.Client) -> None:
        """After each network round: turn what paho's callbacks recorded into events, check deadlines."""

    def _close(self, reason: str, *, final: bool = False) -> None:
        """End the connection (if any), report it, clear :attr:`_client`; unless ``final``, schedule the next try."""
        raise NotImplementedError

    def _finished(self) -> None:
        """The thread is about to end (after the final close)."""


def _tls_pending(sock: Any) -> bool:
    """TLS may hold decrypted bytes that select() cannot see."""
    return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
