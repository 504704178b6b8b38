"""Minimal JSON-RPC client for a running Odoo server, logged in as one user like the web client is.

It goes through the same routes as the web client (``/web/session/authenticate``, ``/web/dataset/call_kw``), so
record rules and access rights apply exactly as they do for that user in a browser.
"""

import itertools

import requests


class RpcError(Exception):
    """An error response from Odoo. ``name`` is the exception class, e.g. ``odoo.exceptions.AccessError``."""

    def __init__(self, error):
        data = error.get("data") or {}
        self.name = data.get("name", "")
        self.message = data.get("message") or error.get("message", "")
        super().__init__(f"{self.name}: {self.message}")


class OdooClient:
    """A logged-in session of ``login`` on the server at ``base_url``."""

    _ids = itertools.count(1)

    def __init__(self, base_url, db_name, login, password, timeout=60):
        self.base_url = base_url.rstrip("/")
        self.db_name = db_name
        self.timeout = timeout
        self.session = requests.Session()
        result = self.jsonrpc("/web/session/authenticate", {"db": db_name, "login": login, "password": password})
        self.uid = result["uid"]
        self.session_id = self.session.cookies.get("session_id")

    def jsonrpc(self, path, params):
        """POST a JSON-RPC request to ``path`` and return its result, or raise ``RpcError``."""
        payload = {"jsonrpc": "2.0", "method": "call", "id": next(self._ids), "params": params}
        response = self.session.post(f"{self.base_url}{path}", json=payload, timeout=self.timeout)
        response.raise_for_status()
        body = response.json()
        if "error" in body:
            raise RpcError(body["error"])
        return body["result"]

    def call(self, model, method, *args, **kwargs):
        """Call ``model.method(*args, **kwargs)`` as this user through ``/web/dataset/call_kw``."""
        params = {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        return self.jsonrpc(f"/web/dataset/call_kw/{model}/{method}", params)

    def search_read(self, model, domain, fields, **kwargs):
        return self.call(model, "search_read", domain, fields, **kwargs)
