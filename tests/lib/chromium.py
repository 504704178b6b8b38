"""Drive headless Chromium over the DevTools protocol: open pages, run Odoo tours, take screenshots.

Odoo's ``HttpCase.start_tour`` only works inside Odoo's own test runner, against the server that runner starts. The
end-to-end suite tests a separate multi-worker server, so it drives Chromium itself with the few DevTools commands
Odoo's runner uses: set the session cookie, open the page, wait for ``odoo.isTourReady``, call ``odoo.startTour`` and
watch the console for ``tour succeeded`` or an error.
"""

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

# Flags that keep Chromium quiet on the network: without the background-networking ones it contacts Google hosts.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

DESKTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
# A common Android phone viewport (CSS pixels); Odoo switches to its small-screen layout below 768 pixels.
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


class BrowserError(Exception):
    """A failure inside the page: a tour step, a JavaScript error or a timeout. ``screenshot`` is its image path."""

    def __init__(self, message, screenshot=None):
        super().__init__(message if not screenshot else f"{message} (screenshot: {screenshot})")
        self.screenshot = screenshot


def find_chromium():
    """Return the path of a Chromium executable, or None."""
    explicit = os.environ.get("AICC_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless Chromium process with one page, controlled through its DevTools websocket."""

    def __init__(self, executable=None, log_path=None):
        self.executable = executable or find_chromium()
        self.log_path = log_path
        self.profile_dir = None
        self.process = None
        self.ws = None
        self._next_id = 0
        self.console = []
        self.errors = []

    # ------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------
    def start(self, timeout=30):
        if not self.executable:
            raise RuntimeError("Chromium is not installed (looked for: %s)" % ", ".join(CHROMIUM_CANDIDATES))
        self.profile_dir = tempfile.mkdtemp(prefix="aicc_e2e_chromium_")
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        if log is not subprocess.DEVNULL:
            log.close()
        port_file = Path(self.profile_dir) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Chromium did not open its DevTools port within {timeout} s")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
        page = next(target for target in targets if target["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Network.enable")
        return self

    def stop(self):
        if self.ws:
            with contextlib.suppress(Exception):
                self.ws.close()
            self.ws = None
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.profile_dir:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.profile_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # ------------------------------------------------------------
    # DevTools protocol
    # ------------------------------------------------------------
    def send(self, method, params=None, timeout=30):
        """Send one DevTools command and return its result, recording the events that arrive meanwhile."""
        self._next_id += 1
        message_id = self._next_id
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._receive(deadline - time.monotonic())
            if message and message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error'].get('message')}")
                return message.get("result", {})
        raise BrowserError(f"{method} got no answer within {timeout} s")

    def _receive(self, timeout):
        self.ws.settimeout(max(0.05, min(timeout, 1.0)))
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        method = message.get("method")
        if method == "Runtime.consoleAPICalled":
            text = " ".join(_remote_object_text(arg) for arg in message["params"].get("args", []))
            self.console.append((message["params"]["type"], text))
            if message["params"]["type"] == "error":
                self.errors.append(text)
        elif method == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            exception = details.get("exception") or {}
            self.errors.append(exception.get("description") or details.get("text", "JavaScript exception"))
        return message

    def pump(self, seconds):
        """Read events for ``seconds`` (console messages and errors are recorded)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())

    # ------------------------------------------------------------
    # Page helpers
    # ------------------------------------------------------------
    def set_viewport(self, viewport):
        self.send("Emulation.setDeviceMetricsOverride", viewport)
        self.send("Emulation.setTouchEmulationEnabled", {"enabled": viewport["mobile"]})

    def set_cookie(self, name, value, url):
        self.send("Network.setCookie", {"name": name, "value": value, "url": url})

    def navigate(self, url, timeout=60):
        """Open ``url`` and wait for the page's load event."""
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", timeout=timeout)

    def evaluate(self, expression, await_promise=False, timeout=30):
        """Evaluate ``expression`` in the page and return its value (JSON-serialisable values only)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": await_promise, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"Evaluating {expression[:80]!r} failed: {details.get('text')}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=30, interval=0.25, await_promise=False):
        """Wait until ``expression`` evaluates to a true value in the page and return that value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):
                value = self.evaluate(expression, await_promise=await_promise)
                if value:
                    return value
            self.pump(interval)
        raise BrowserError(f"Timed out after {timeout} s waiting for {expression!r}")

    def screenshot(self, path):
        """Save a PNG of the visible page to ``path`` and return the path."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def run_tour(self, base_url, tour_name, start_path="/odoo", timeout=120, failure_screenshot=None):
        """Run the Odoo tour ``tour_name`` on the page and wait for it to succeed.

        The tours bundle (``web.assets_tests``) is only served with ``debug=tests``, so the page is opened with it.
        Raises ``BrowserError`` with the failed step and saves ``failure_screenshot`` when the tour fails.
        """
        separator = "&" if "?" in start_path else "?"
        url = f"{base_url}{start_path}{separator}debug=tests"
        self.console.clear()
        self.errors.clear()
        try:
            self.navigate(url)
            # isTourReady returns a promise, which only resolves once the tour's own conditions are met.
            self.wait_for(
                f"window.odoo && odoo.isTourReady ? odoo.isTourReady({tour_name!r}) : false",
                timeout=60,
                await_promise=True,
            )
            options = json.dumps({"stepDelay": 0, "keepWatchBrowser": False, "startUrl": start_path})
            self.evaluate(f"odoo.startTour({tour_name!r}, {options}); true")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if any(text == "tour succeeded" for _kind, text in self.console):
                    return
                if self.errors:
                    raise BrowserError(f"Tour {tour_name} failed: {self.errors[0][:2000]}")
                self.pump(0.5)
            raise BrowserError(f"Tour {tour_name} did not finish within {timeout} s")
        except BrowserError as error:
            if failure_screenshot:
                with contextlib.suppress(Exception):
                    self.screenshot(failure_screenshot)
                error.screenshot = failure_screenshot
                error.args = (f"{error.args[0]} (screenshot: {failure_screenshot})",)
            raise


def _remote_object_text(remote_object):
    if "value" in remote_object:
        return str(remote_object["value"])
    return remote_object.get("description", "")
