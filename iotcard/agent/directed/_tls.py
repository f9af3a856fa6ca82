"""A TLS handshake on the socket TCP opened: SNI with the target's name, the certificate verified."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

from ._model import InvalidOption, Target, TargetProblem, TlsResult, TlsStatus

__all__ = ["handshake", "make_tls_context"]


def make_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trusted CAs, or only those in ``ca_file`` (PEM). One context serves every target."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        problem = TargetProblem("bad_ca_file", ca_file or "", str(exc))
        raise InvalidOption(f"cannot read the CA file '{ca_file}': {exc}", problem=problem) from None


def handshake(
    sock: socket.socket, target: Target, context: ssl.SSLContext, *, timeout: float, clock: Callable[[], float]
) -> TlsResult:
    """Run the handshake on the connected ``sock`` (which stays the caller's to close)."""
    # For an IP target Python sends no SNI and checks the address against the certificate's IP entries.
    server_name = target.host
    started = clock()

    def result(
        status: TlsStatus,
        *,
        protocol: str | None = None,
        cipher: str | None = None,
        verify_error: str | None = None,
        error: str | None = None,
    ) -> TlsResult:
        return TlsResult(
            status=status,
            protocol=protocol,
            cipher=cipher,
            verify_error=verify_error,
            error=error,
            server_name=server_name,
            elapsed_ms=round((clock() - started) * 1000),
        )

    sock.settimeout(timeout)
    try:
        tls = context.wrap_socket(sock, server_hostname=server_name, do_handshake_on_connect=True)
    except ssl.SSLCertVerificationError as exc:
        message = exc.verify_message or exc.reason or str(exc)
        return result(TlsStatus.VERIFY_FAILED, verify_error=message, error=message)
    except TimeoutError:
        return result(TlsStatus.TIMEOUT, error="no answer to the TLS handshake")
    except ssl.SSLError as exc:
        return result(TlsStatus.HANDSHAKE_FAILED, error=exc.reason or str(exc))
    except OSError as exc:
        return result(TlsStatus.HANDSHAKE_FAILED, error=exc.strerror or str(exc) or type(exc).__name__)
    try:
        cipher = tls.cipher()
        return result(TlsStatus.OK, protocol=tls.version(), cipher=cipher[0] if cipher else None)
    finally:
        tls.close()
