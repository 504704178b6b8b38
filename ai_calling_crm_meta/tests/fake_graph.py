"""Fake Meta Graph API server for tests, benchmarks and demos.

Standard library only and no Odoo import, so it runs inside Odoo's test runner, in the ``tests/`` suites and on its
own::

    python3 ai_calling_crm_meta/tests/fake_graph.py --port 0 --page-id 1001 --form-id 2001 --leads 5

The server binds 127.0.0.1 only. It serves the Graph endpoints the connector calls:

- ``GET /{version}/{leadgen_id}``: one lead, restricted to the ``fields`` parameter;
- ``GET /{version}/{form_id}/leads``: a form's leads, filtered on ``time_created`` and paged with ``paging.next``;
- ``GET /{version}/{form_id}``: a form (name, status, questions);
- ``GET /{version}/{page_id}/leadgen_forms``: a page's forms;
- ``GET /{version}/debug_token``: token validity, expiry and scopes;
- ``GET`` and ``POST /{version}/{page_id}/subscribed_apps``: the page's app subscriptions.

Failures are queued with :meth:`FakeGraphServer.add_failure` (in process) or ``POST /_fake/failures`` (from another
process). Each one replaces the response to one matching request with a Graph error body, an HTTP status, a delay
and extra headers.
Every request is recorded in :attr:`FakeGraphServer.requests` (``GET /_fake/requests`` from another process) so tests
can check the token, ``appsecret_proof`` and ``fields`` the connector sent.
"""

import argparse
import hashlib
import hmac
import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

_logger = logging.getLogger(__name__)

# Graph error bodies as Meta documents them: the HTTP status differs per code, so clients must branch on the code.
ERROR_TEMPLATES = {
    1: (500, "OAuthException", "An unknown error occurred"),
    2: (503, "OAuthException", "An unexpected error has occurred. Please retry your request later."),
    4: (400, "OAuthException", "Application request limit reached"),
    10: (403, "OAuthException", "Application does not have permission for this action"),
    17: (400, "OAuthException", "User request limit reached"),
    32: (400, "OAuthException", "Page request limit reached"),
    100: (400, "GraphMethodException", "Unsupported get request. Object does not exist."),
    190: (400, "OAuthException", "Error validating access token: Session has expired."),
    200: (403, "OAuthException", "Permissions error"),
    613: (400, "OAuthException", "Calls to this api have exceeded the rate limit."),
    80001: (400, "OAuthException", "There have been too many calls to this Page account."),
    80005: (400, "OAuthException", "There have been too many leadgen api calls to this Page account."),
}

# Page size Meta uses for edges when the request sets no ``limit``.
DEFAULT_PAGE_SIZE = 25


def format_meta_time(moment):
    """Format a datetime the way Graph does, e.g. ``2026-12-04T10:00:00+0000``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def make_lead(leadgen_id, form_id, created_time=None, field_data=None, **extra):
    """Build a lead as Graph returns it, with Indian sample answers unless ``field_data`` is given."""
    created_time = created_time or datetime.now(UTC)
    lead = {
        "id": str(leadgen_id),
        "created_time": format_meta_time(created_time),
        "form_id": str(form_id),
        "ad_id": "6001",
        "ad_name": "Nursing admissions - video",
        "adset_id": "6002",
        "adset_name": "Kerala 18-24",
        "campaign_id": "6003",
        "campaign_name": "BSc Nursing 2027",
        "is_organic": False,
        "platform": "fb",
        "field_data": field_data
        if field_data is not None
        else [
            {"name": "full_name", "values": [f"Lead {leadgen_id}"]},
            {"name": "email", "values": [f"lead{leadgen_id}@example.com"]},
            {"name": "phone_number", "values": ["+91 98765 43210"]},
            {"name": "city", "values": ["Kochi"]},
        ],
        "custom_disclaimer_responses": [],
    }
    lead.update(extra)
    return lead


class FakeGraphServer:
    """In-memory Graph API. Tests mutate :attr:`leads`, :attr:`forms` and :attr:`pages` directly.

    ``app_secret`` set: requests must carry a matching ``appsecret_proof``, otherwise the response is Graph's code
    100 error.
    ``valid_tokens`` non-empty: any other ``access_token`` gets a code 190 error, as an expired token would.
    """

    def __init__(self, port=0, app_id="5001", app_secret=None, valid_tokens=()):
        self.app_id = app_id
        self.app_secret = app_secret
        self.valid_tokens = set(valid_tokens)
        self.leads = {}
        self.forms = {}
        self.pages = {}
        self.token_info = {}
        self.requests = []
        self.failures = []
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self
        self._thread = None

    # ------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------
    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-graph", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------
    # Data set-up
    # ------------------------------------------------------------
    def add_page(self, page_id, name="Test Page"):
        self.pages[str(page_id)] = {"id": str(page_id), "name": name, "subscribed_apps": []}

    def add_form(self, form_id, page_id, name="Admissions form", questions=None, status="ACTIVE"):
        if str(page_id) not in self.pages:
            self.add_page(page_id)
        self.forms[str(form_id)] = {
            "id": str(form_id),
            "name": name,
            "status": status,
            "locale": "en_US",
            "page": {"id": str(page_id)},
            "questions": questions
            if questions is not None
            else [
                {"key": "full_name", "label": "Full name", "type": "FULL_NAME", "id": "q1"},
                {"key": "email", "label": "Email", "type": "EMAIL", "id": "q2"},
                {"key": "phone_number", "label": "Phone number", "type": "PHONE", "id": "q3"},
                {"key": "city", "label": "City", "type": "CITY", "id": "q4"},
            ],
        }

    def add_lead(self, lead):
        self.leads[str(lead["id"])] = lead
        return lead

    def add_failure(
        self, code=None, path=None, count=1, http_status=None, delay=0.0, headers=None, subcode=None, skip=0
    ):
        """Queue a failure for the next ``count`` requests whose path contains ``path`` (any path when empty).

        ``skip`` lets that many matching requests succeed first, e.g. to fail the second page of a listing.
        ``code`` picks a Graph error body; without it the answer is a bare HTTP ``http_status`` (e.g. 502 from a
        proxy). ``delay`` (seconds) delays the answer, to make clients time out.
        """
        with self.lock:
            self.failures.append(
                {
                    "code": code,
                    "subcode": subcode,
                    "path": path or "",
                    "count": count,
                    "http_status": http_status,
                    "delay": delay,
                    "headers": headers or {},
                    "skip": skip,
                }
            )

    def clear(self):
        with self.lock:
            self.requests.clear()
            self.failures.clear()

    def requests_to(self, fragment):
        return [request for request in self.requests if fragment in request["path"]]

    def _take_failure(self, path):
        with self.lock:
            for failure in self.failures:
                if failure["path"] in path:
                    if failure["skip"] > 0:
                        failure["skip"] -= 1
                        return None
                    failure["count"] -= 1
                    if failure["count"] <= 0:
                        self.failures.remove(failure)
                    return failure
        return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeGraph/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass  # FakeGraphServer.requests replaces the access log

    @property
    def fake(self):
        return self.server.fake

    # ------------------------------------------------------------
    # Dispatch
    # ------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method):
        parts = urlsplit(self.path)
        params = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        body = b""
        if int(self.headers.get("Content-Length") or 0):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                params.update({key: values[-1] for key, values in parse_qs(body.decode()).items()})
        path = parts.path
        if path.startswith("/_fake/"):
            self._serve_control(method, path, body)
            return

        with self.fake.lock:
            self.fake.requests.append({"method": method, "path": path, "params": params, "time": time.time()})
        failure = self.fake._take_failure(path)
        if failure:
            self._serve_failure(failure)
            return
        error = self._check_credentials(params)
        if error:
            self._send_error(error)
            return

        segments = [segment for segment in path.split("/") if segment]
        if segments and segments[0].startswith("v"):
            segments = segments[1:]  # the version prefix, e.g. v26.0
        self._route(method, segments, params)

    def _route(self, method, segments, params):
        fake = self.fake
        if segments == ["debug_token"]:
            self._serve_debug_token(params)
        elif len(segments) == 2 and segments[1] == "subscribed_apps" and segments[0] in fake.pages:
            self._serve_subscribed_apps(method, fake.pages[segments[0]], params)
        elif len(segments) == 2 and segments[1] == "leadgen_forms" and segments[0] in fake.pages:
            forms = [form for form in fake.forms.values() if form["page"]["id"] == segments[0]]
            self._send_json(200, {"data": [_select(form, params.get("fields")) for form in forms]})
        elif len(segments) == 2 and segments[1] == "leads" and segments[0] in fake.forms:
            self._serve_form_leads(segments[0], params)
        elif len(segments) == 1 and segments[0] in fake.leads:
            self._send_json(200, _select(fake.leads[segments[0]], params.get("fields")))
        elif len(segments) == 1 and segments[0] in fake.forms:
            self._send_json(200, _select(fake.forms[segments[0]], params.get("fields")))
        elif len(segments) == 1 and segments[0] in fake.pages:
            self._send_json(200, {"id": segments[0], "name": fake.pages[segments[0]]["name"]})
        else:
            self._send_error({"code": 100, "subcode": 33})

    # ------------------------------------------------------------
    # Endpoints
    # ------------------------------------------------------------
    def _serve_debug_token(self, params):
        token = params.get("input_token", "")
        info = self.fake.token_info.get(token)
        if info is None:
            valid = not self.fake.valid_tokens or token in self.fake.valid_tokens
            info = {
                "app_id": self.fake.app_id,
                "type": "PAGE",
                "is_valid": valid,
                "expires_at": 0,
                "scopes": ["leads_retrieval", "pages_manage_metadata", "pages_show_list", "pages_read_engagement"],
            }
            if not valid:
                info["error"] = {"code": 190, "message": "Session has expired"}
        self._send_json(200, {"data": info})

    def _serve_subscribed_apps(self, method, page, params):
        if method == "POST":
            fields = [field for field in params.get("subscribed_fields", "").split(",") if field]
            page["subscribed_apps"] = [{"id": self.fake.app_id, "name": "AI Calling CRM", "subscribed_fields": fields}]
            self._send_json(200, {"success": True})
        else:
            self._send_json(200, {"data": page["subscribed_apps"]})

    def _serve_form_leads(self, form_id, params):
        leads = sorted(
            (lead for lead in self.fake.leads.values() if lead["form_id"] == form_id),
            key=lambda lead: (lead["created_time"], lead["id"]),
            reverse=True,  # Graph lists the newest leads first
        )
        for condition in json.loads(params.get("filtering") or "[]"):
            if condition.get("field") != "time_created":
                continue
            bound = int(condition["value"])
            if condition["operator"] == "GREATER_THAN":
                leads = [lead for lead in leads if _timestamp(lead["created_time"]) > bound]
            elif condition["operator"] == "LESS_THAN":
                leads = [lead for lead in leads if _timestamp(lead["created_time"]) < bound]
        limit = int(params.get("limit") or DEFAULT_PAGE_SIZE)
        offset = int(params.get("after") or 0)
        page = leads[offset : offset + limit]
        body = {"data": [_select(lead, params.get("fields")) for lead in page]}
        if page:
            body["paging"] = {"cursors": {"before": str(offset), "after": str(offset + len(page))}}
            if offset + len(page) < len(leads):
                next_params = {**params, "after": str(offset + len(page))}
                body["paging"]["next"] = f"{self.fake.url}{urlsplit(self.path).path}?{urlencode(next_params)}"
        self._send_json(200, body)

    def _serve_control(self, method, path, body):
        fake = self.fake
        if method == "GET" and path == "/_fake/requests":
            self._send_json(200, {"data": fake.requests})
        elif method == "POST" and path == "/_fake/leads":
            payload = json.loads(body or b"{}")
            lead = make_lead(payload.pop("id"), payload.pop("form_id"), **payload)
            fake.add_lead(lead)
            self._send_json(200, lead)
        elif method == "POST" and path == "/_fake/failures":
            fake.add_failure(**json.loads(body or b"{}"))
            self._send_json(200, {"success": True})
        elif method == "POST" and path == "/_fake/clear":
            fake.clear()
            self._send_json(200, {"success": True})
        else:
            self._send_json(404, {"error": "unknown control path"})

    # ------------------------------------------------------------
    # Answers
    # ------------------------------------------------------------
    def _check_credentials(self, params):
        token = params.get("access_token", "")
        if self.fake.valid_tokens and token not in self.fake.valid_tokens and "|" not in token:
            return {"code": 190, "subcode": 463}
        if self.fake.app_secret and "|" not in token:
            expected = hmac.new(self.fake.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, params.get("appsecret_proof", "")):
                return {"code": 100, "message": "Invalid appsecret_proof provided in the API argument"}
        return None

    def _serve_failure(self, failure):
        if failure["delay"]:
            time.sleep(failure["delay"])
        if failure["code"] is None:
            self._send_json(failure["http_status"] or 502, {"message": "Bad Gateway"}, failure["headers"])
        else:
            self._send_error(failure, failure["headers"])

    def _send_error(self, failure, headers=None):
        status, error_type, message = ERROR_TEMPLATES.get(failure["code"], (400, "OAuthException", "Error"))
        error = {
            "message": failure.get("message") or message,
            "type": error_type,
            "code": failure["code"],
            "fbtrace_id": "FakeTrace123",
        }
        if failure.get("subcode"):
            error["error_subcode"] = failure["subcode"]
        self._send_json(failure.get("http_status") or status, {"error": error}, headers)

    def _send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value if isinstance(value, str) else json.dumps(value))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up, e.g. after its timeout: nobody is left to read the answer.
            _logger.debug("Client closed the connection before the %s answer was sent", status)


def _select(record, fields):
    """Keep only the requested ``fields`` (Graph's field selection), always keeping ``id``."""
    if not fields:
        return dict(record)
    requested = {"id", *fields.split(",")}
    return {key: value for key, value in record.items() if key in requested}


def _timestamp(meta_time):
    return int(datetime.strptime(meta_time, "%Y-%m-%dT%H:%M:%S%z").timestamp())


def main():
    parser = argparse.ArgumentParser(description="Serve a fake Meta Graph API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free port (default).")
    parser.add_argument("--app-id", default="5001", help="Meta app id the fake reports in debug_token.")
    parser.add_argument("--app-secret", help="When set, requests must carry a matching appsecret_proof.")
    parser.add_argument("--page-id", default="1001", help="Page to serve.")
    parser.add_argument("--form-id", default="2001", help="Form to serve, on that page.")
    parser.add_argument("--leads", type=int, default=0, help="Sample leads to create on that form.")
    parser.add_argument("--first-lead-id", type=int, default=900000001, help="Leadgen id of the first sample lead.")
    args = parser.parse_args()

    fake = FakeGraphServer(port=args.port, app_id=args.app_id, app_secret=args.app_secret)
    fake.add_form(args.form_id, args.page_id)
    now = datetime.now(UTC)
    for index in range(args.leads):
        created = now - timedelta(minutes=args.leads - index)
        fake.add_lead(make_lead(args.first_lead_id + index, args.form_id, created_time=created))
    # The first output line is the base URL, so scripts can read it back when --port is 0.
    sys.stdout.write(fake.url + "\n")
    sys.stdout.flush()
    try:
        fake._httpd.serve_forever()
    except KeyboardInterrupt:
        _logger.info("Fake Graph server on %s stopped", fake.url)
    finally:
        fake._httpd.server_close()


if __name__ == "__main__":
    main()
