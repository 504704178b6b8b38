"""TCP proxy between an Odoo server under test and PostgreSQL, able to simulate a database outage.

The end-to-end suite must not stop the machine's PostgreSQL, which other processes share, so its Odoo server connects
through this proxy instead. :meth:`PgProxy.outage` cuts every open connection and closes new ones at once for a
while, which is what clients see when PostgreSQL restarts.
"""

import contextlib
import logging
import select
import socket
import threading

_logger = logging.getLogger(__name__)

# Bytes moved per read. PostgreSQL's protocol messages are small; 64 KiB keeps large result sets moving.
CHUNK_SIZE = 65536


class PgProxy:
    """Forward TCP connections from ``127.0.0.1:port`` to ``upstream_host:upstream_port``."""

    def __init__(self, upstream_host="127.0.0.1", upstream_port=5432, port=0):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(128)
        self._lock = threading.Lock()
        self._pairs = set()
        self._available = threading.Event()
        self._available.set()
        self._stopping = False
        self._thread = None
        self.refused = 0

    @property
    def port(self):
        return self._listener.getsockname()[1]

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop, name="pg-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut_connections()
        if self._thread:
            self._thread.join(timeout=5)

    @property
    def available(self):
        return self._available.is_set()

    def set_available(self, available):
        """Let connections through again, or cut the open ones and close new ones until called with True."""
        if available:
            self._available.set()
        else:
            self._available.clear()
            self.cut_connections()

    @contextlib.contextmanager
    def outage(self):
        """Make PostgreSQL unreachable for the duration of the ``with`` block."""
        self.set_available(False)
        try:
            yield self
        finally:
            self.set_available(True)

    def cut_connections(self):
        with self._lock:
            pairs = list(self._pairs)
            self._pairs.clear()
        for client, server in pairs:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept_loop(self):
        while not self._stopping:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            if not self._available.is_set():
                self.refused += 1
                with contextlib.suppress(OSError):
                    client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError as error:
                _logger.warning("Proxy could not reach PostgreSQL at %s:%s: %s", *self.upstream, error)
                client.close()
                continue
            with self._lock:
                self._pairs.add((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client, server):
        sockets = [client, server]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 1.0)
                if not self._available.is_set() or self._stopping:
                    break
                for sock in readable:
                    data = sock.recv(CHUNK_SIZE)
                    if not data:
                        return
                    (server if sock is client else client).sendall(data)
        except (OSError, ValueError):
            pass  # one side closed, or cut_connections closed both
        finally:
            with self._lock:
                self._pairs.discard((client, server))
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.close()
