"""Start and stop a multi-worker Odoo server as a separate process, for the end-to-end suite and the demo.

The server runs in its own process group, so stopping or killing it also ends its HTTP workers, its cron worker and
its gevent (websocket) process. Only 127.0.0.1 is bound.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from .odoo_env import REPO_ROOT, addons_path_option

# A log line in Odoo's format: "2026-12-04 19:37:53,745 6350 WARNING dbname odoo.module: message".
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (?P<level>[A-Z]+) (?P<db>\S+) (?P<logger>\S+): ")


def free_port(preferred=range(18500, 18600)):
    """Return a free TCP port on 127.0.0.1, trying ``preferred`` first and then letting the OS pick one."""
    for port in preferred:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout, interval=0.5, message="condition"):
    """Call ``condition`` until it returns a true value and return that value.

    Raises ``TimeoutError`` naming ``message`` when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class OdooServer:
    """One Odoo server process on ``db_name``, listening on ``127.0.0.1:http_port``.

    ``db_host``/``db_port`` select PostgreSQL, which lets the fault tests put a TCP proxy in between. The log goes to
    ``log_path``; :meth:`log_problems` returns its WARNING, ERROR and CRITICAL lines.
    """

    def __init__(
        self,
        db_name,
        log_path,
        http_port=None,
        gevent_port=None,
        db_host=None,
        db_port=None,
        workers=2,
        max_cron_threads=1,
        extra_args=(),
    ):
        self.db_name = db_name
        self.log_path = Path(log_path)
        self.http_port = http_port or free_port()
        self.gevent_port = gevent_port or free_port(range(self.http_port + 1, 18600))
        self.db_host = db_host or os.environ.get("PGHOST", "127.0.0.1")
        self.db_port = db_port or int(os.environ.get("PGPORT", "5432"))
        self.workers = workers
        self.max_cron_threads = max_cron_threads
        self.extra_args = list(extra_args)
        self.process = None
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def command(self):
        command = [
            sys.executable,
            "-m",
            "odoo",
            "-d",
            self.db_name,
            f"--db-filter=^{re.escape(self.db_name)}$",
            # Loaded server-wide, the webhook answers 503 rather than Odoo's 404 while PostgreSQL is down.
            "--load=base,rpc,web,ai_calling_crm_meta",
            addons_path_option(),
            f"--db_host={self.db_host}",
            f"--db_port={self.db_port}",
            f"--db_user={os.environ.get('PGUSER', 'root')}",
            "--http-interface=127.0.0.1",
            f"--http-port={self.http_port}",
            f"--gevent-port={self.gevent_port}",
            f"--workers={self.workers}",
            f"--max-cron-threads={self.max_cron_threads}",
            f"--logfile={self.log_path}",
            "--log-level=info",
            *self.extra_args,
        ]
        if os.environ.get("PGPASSWORD"):
            command.append(f"--db_password={os.environ['PGPASSWORD']}")
        return command

    def start(self, timeout=120):
        """Start the server and wait until ``/web/health`` returns 200, or raise ``RuntimeError`` with the log's end."""
        if self.process and self.process.poll() is None:
            raise RuntimeError(f"Odoo is already running with pid {self.process.pid}")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command(),
            cwd="/tmp",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        try:
            wait_until(self.is_healthy, timeout, message=f"Odoo to answer on {self.url}/web/health")
        except TimeoutError as error:
            tail = self.log_tail()
            self.kill()
            raise RuntimeError(f"{error}. End of {self.log_path}:\n{tail}") from None
        return self

    def is_healthy(self):
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"Odoo exited with code {self.process.returncode}. Log:\n{self.log_tail()}")
        try:
            return requests.get(f"{self.url}/web/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, timeout=30):
        """Stop the server gracefully (SIGTERM to its process group), then SIGKILL what is left after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill(self):
        """Kill every process of the server at once with SIGKILL, as a crash or an OOM killer would."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def _signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def log_tail(self, lines=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log file)"

    def log_size(self):
        """Return the log's current size in bytes, to pass as ``since`` to :meth:`log_problems` later."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_problems(self, ignore=(), since=0):
        """Return the log's WARNING, ERROR and CRITICAL lines written after byte ``since``.

        Lines matching a regular expression of ``ignore`` are left out.
        """
        problems = []
        try:
            with open(self.log_path, "rb") as log_file:
                log_file.seek(since)
                text = log_file.read().decode(errors="replace")
        except FileNotFoundError:
            return problems
        for line in text.splitlines():
            match = LOG_LINE.match(line)
            if match and match["level"] in ("WARNING", "ERROR", "CRITICAL"):
                if not any(re.search(pattern, line) for pattern in ignore):
                    problems.append(line)
        return problems


def default_log_dir():
    return Path(os.environ.get("AICC_LOG_DIR", REPO_ROOT / "var" / "log"))
