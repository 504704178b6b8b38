"""Run a real Odoo server process with workers on 127.0.0.1, for benchmarks and end-to-end tests.

Typical use::

    from tests.lib.odoo_env import create_database
    from tests.lib.odoo_server import OdooServer

    create_database("aicc_bench")
    with OdooServer("aicc_bench", workers=2, ports=range(18310, 18350)) as server:
        requests.get(f"{server.url}/web/health", timeout=5)

:class:`OdooServer` starts ``python -m odoo`` with ``--workers=N --max-cron-threads=1`` on a free port, restricted to
one database with ``--db-filter``, waits until ``/web/health`` returns HTTP 200, and stops the whole process group on
exit. The database must already exist with the wanted modules installed (see ``odoo_env.create_database``).
PostgreSQL settings come from ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD`` like the other helpers.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from .odoo_env import addons_path_option, db_options

HOST = "127.0.0.1"


def find_free_port(ports=None, exclude=()):
    """Return a TCP port free on 127.0.0.1: the first free one of ``ports``, or one the OS picks when ``ports`` is
    None. Raises ``RuntimeError`` when every port of ``ports`` is taken."""
    if ports is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            return probe.getsockname()[1]
    for port in ports:
        if port in exclude:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {ports}")


class OdooServer:
    """An Odoo server process serving ``db_name`` on 127.0.0.1.

    :param db_name: existing database; the server serves only this one (``--db-filter=^db_name$``)
    :param workers: HTTP worker processes (``--workers``); at least 1, because 0 would run the threaded server
    :param ports: ports to pick the HTTP and gevent ports from (the first two free ones); None lets the OS pick
    :param extra_args: more command-line options, e.g. ``["--log-level=info"]``
    :param log_path: file for Odoo's log; defaults to a new file in the temporary directory
    :param startup_timeout: seconds to wait for ``/web/health`` in :meth:`start`
    """

    def __init__(self, db_name, workers=2, ports=None, extra_args=(), log_path=None, startup_timeout=120):
        if workers < 1:
            raise ValueError("workers must be at least 1 so the server runs in prefork mode")
        self.db_name = db_name
        self.workers = workers
        self.ports = ports
        self.extra_args = list(extra_args)
        if log_path is None:
            handle, log_path = tempfile.mkstemp(prefix=f"odoo-{db_name}-", suffix=".log")
            os.close(handle)
        self.log_path = Path(log_path)
        self.startup_timeout = startup_timeout
        self.http_port = None
        self.gevent_port = None
        self.process = None

    # ------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------
    @property
    def url(self):
        """Base URL of the server, e.g. ``http://127.0.0.1:18310``."""
        return f"http://{HOST}:{self.http_port}"

    def command(self):
        return [
            sys.executable,
            "-m",
            "odoo",
            "-d",
            self.db_name,
            f"--db-filter=^{re.escape(self.db_name)}$",
            addons_path_option(),
            *db_options(),
            f"--workers={self.workers}",
            "--max-cron-threads=1",
            f"--http-interface={HOST}",
            f"--http-port={self.http_port}",
            f"--gevent-port={self.gevent_port}",
            f"--logfile={self.log_path}",
            "--log-level=warn",
            *self.extra_args,
        ]

    def start(self):
        """Start the server, wait until ``/web/health`` returns HTTP 200 and return ``self``.

        Raises ``RuntimeError`` with the end of the log when the process exits or does not respond in time.
        """
        self.http_port = find_free_port(self.ports)
        self.gevent_port = find_free_port(self.ports, exclude={self.http_port})
        self.process = subprocess.Popen(
            self.command(),
            cwd=tempfile.gettempdir(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() reaches the workers too
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo exited with code {self.process.returncode}:\n{self.log_tail()}")
            if self.is_healthy():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Odoo did not respond to /web/health within {self.startup_timeout} s:\n{self.log_tail()}")

    def is_healthy(self):
        """Return whether ``/web/health`` returns HTTP 200."""
        try:
            return requests.get(f"{self.url}/web/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, timeout=30):
        """Stop the server gracefully (SIGTERM to its process group), killing it after ``timeout`` seconds."""
        if not self.process or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines=40):
        """Return the last ``lines`` lines of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
