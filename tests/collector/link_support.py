"""A TCP relay on loopback that cuts a client's link at one chosen MQTT packet, before the broker reads it."""

from __future__ import annotations

import contextlib
import socket
import threading

from iotcard.collector._mqtt import packet_extent

UNSUBSCRIBE = 0xA0  # MQTT 5 §2.1.2: the packet type is the first byte's high nibble


class CuttingLink:
    """Relays 127.0.0.1:``port`` to the broker at ``target_port``. The first time a client sends a packet of type
    ``cut_at``, that packet is dropped and the client's connection closed both ways: the link is lost at exactly
    that moment. Connections made afterwards are relayed untouched."""

    def __init__(self, target_port: int, cut_at: int) -> None:
        self.target_port = target_port
        self.cut_at = cut_at
        self.cuts = 0
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="cutting-link", daemon=True).start()

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            broker = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open += [client, broker]
                self.connections += 1
            threading.Thread(target=self._upstream, args=(client, broker), daemon=True).start()
            threading.Thread(target=self._downstream, args=(broker, client), daemon=True).start()

    def _downstream(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        self._shut(source, sink)

    def _upstream(self, source: socket.socket, sink: socket.socket) -> None:
        """Forward whole packets (first byte, Remaining Length of up to four bytes, body), watching their types."""
        pending = b""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                pending += data
                while (extent := packet_extent(pending)) is not None and extent[1] <= len(pending):
                    packet, pending = pending[: extent[1]], pending[extent[1] :]
                    if packet[0] & 0xF0 == self.cut_at and not self.cuts:
                        self.cuts += 1
                        self._shut(source, sink)
                        return
                    sink.sendall(packet)
        self._shut(source, sink)

    @staticmethod
    def _shut(*socks: socket.socket) -> None:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
