"""A loopback TCP proxy in front of PostgreSQL that a test can cut and restore, to play a database outage.

`cut()` stops listening (new connections are refused, as by a server that is restarting) and drops every open
connection (the backends see the client vanish and roll back; the clients see "server closed the connection").
`restore()` listens again on the same port. The shared PostgreSQL server itself is never touched.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener: socket.socket | None = None
        self.port = 0
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.accepted = 0

    # -- control -----------------------------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="proxy-accept").start()
        return self

    def cut(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            if listener is not None:
                listener.close()
            for sock in self.open:
                _drop(sock)
            self.open.clear()

    def restore(self) -> None:
        self.start()

    close = cut

    def url_for(self, url: str) -> str:
        """The same SQLAlchemy URL, through this proxy."""
        head, tail = url.split("@", 1)
        return f"{head}@127.0.0.1:{self.port}/{tail.split('/', 1)[1]}"

    # -- plumbing ----------------------------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _drop(client)
                continue
            with self.lock:
                if self.listener is not listener:
                    _drop(client)
                    _drop(upstream)
                    return
                self.open.update((client, upstream))
                self.accepted += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True, name="proxy-pump").start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(None)
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open.discard(source)
                self.open.discard(sink)
            _drop(source)
            _drop(sink)


def _drop(sock: Any) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
