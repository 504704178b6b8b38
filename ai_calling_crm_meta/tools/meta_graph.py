"""Small Graph API client: signed GET/POST requests with timeouts and Graph error parsing.

Kept free of ORM code so that the processing and backfill jobs share one way of calling Graph and reading its errors.
"""

import hashlib
import hmac
import json
import logging
from urllib.parse import parse_qsl, urlsplit

import requests

_logger = logging.getLogger(__name__)

# Graph error codes, from Meta's "Handling Errors" and rate-limiting guides (Graph API v26.0).
TRANSIENT_CODES = frozenset({1, 2})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80005})
TOKEN_CODES = frozenset({102, 190})
NOT_FOUND_CODES = frozenset({100, 803})
# Code 10 and the 200-299 range are permission errors.
PERMISSION_CODES = frozenset({10, *range(200, 300)})

# Fields requested for a lead: Graph returns only ``id`` and ``created_time`` unless fields are named.
LEAD_FIELDS = (
    "created_time",
    "id",
    "ad_id",
    "ad_name",
    "adset_id",
    "adset_name",
    "campaign_id",
    "campaign_name",
    "form_id",
    "field_data",
    "is_organic",
    "platform",
    "custom_disclaimer_responses",
)
FORM_FIELDS = ("id", "name", "status", "locale", "questions")


class MetaGraphError(Exception):
    """A failed Graph call, classified by Graph error code rather than HTTP status.

    ``kind`` is one of ``transient``, ``rate_limit``, ``token``, ``permission``, ``not_found`` or ``other``.
    ``retry_after`` is the wait in seconds Meta asked for through ``X-Business-Use-Case-Usage``, or 0.
    """

    def __init__(self, message, code=None, subcode=None, fbtrace_id=None, http_status=None, retry_after=0):
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.retry_after = retry_after

    @property
    def kind(self):
        if self.code in TOKEN_CODES:
            return "token"
        if self.code in RATE_LIMIT_CODES:
            return "rate_limit"
        if self.code in PERMISSION_CODES:
            return "permission"
        if self.code in NOT_FOUND_CODES:
            return "not_found"
        if self.code in TRANSIENT_CODES or self.code is None:
            # No Graph error body: a timeout, a refused connection or a 5xx from a proxy.
            return "transient"
        return "other"

    @property
    def retryable(self):
        return self.kind in ("transient", "rate_limit")

    def __str__(self):
        code = f"code {self.code}" if self.code is not None else f"HTTP {self.http_status or 'no answer'}"
        if self.subcode:
            code += f", subcode {self.subcode}"
        trace = f", fbtrace_id {self.fbtrace_id}" if self.fbtrace_id else ""
        return f"{self.message} ({code}{trace})"


class MetaGraphClient:
    """Graph API calls made with one access token, each signed with ``appsecret_proof``.

    ``appsecret_proof`` is the hex HMAC-SHA256 of the access token keyed with the app secret, which Meta requires when
    the app enables "Require App Secret". Sending it always is harmless.
    """

    def __init__(self, base_url, version, access_token, app_secret, timeout, session=None):
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.access_token = access_token or ""
        self.app_secret = app_secret or ""
        self.timeout = timeout
        self.session = session or requests

    def get(self, path, params=None):
        """GET ``/{version}/{path}`` and return the decoded JSON body."""
        return self._request("GET", f"{self.base_url}/{self.version}/{path.lstrip('/')}", params or {})

    def post(self, path, params=None):
        """POST ``/{version}/{path}`` with form-encoded ``params`` and return the decoded JSON body."""
        return self._request("POST", f"{self.base_url}/{self.version}/{path.lstrip('/')}", params or {})

    def get_next_page(self, next_url):
        """Follow a ``paging.next`` URL, which must point at the configured Graph host.

        The URL comes from Graph's response, and checking its host keeps the token from being sent anywhere else.
        """
        parts = urlsplit(next_url)
        base = urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise MetaGraphError(f"Paging URL points at another host: {parts.netloc}")
        url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        return self._request("GET", url, dict(parse_qsl(parts.query)))

    def iterate(self, path, params):
        """Yield every record of a Graph edge, following ``paging.next`` until Graph returns none."""
        body = self.get(path, params)
        while True:
            yield from body.get("data", [])
            next_url = (body.get("paging") or {}).get("next")
            if not next_url:
                return
            body = self.get_next_page(next_url)

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------
    def _request(self, method, url, params):
        params = dict(params)
        params["access_token"] = self.access_token
        if self.app_secret and "|" not in self.access_token:
            params["appsecret_proof"] = appsecret_proof(self.app_secret, self.access_token)
        try:
            if method == "GET":
                response = self.session.get(url, params=params, timeout=self.timeout)
            else:
                response = self.session.post(url, data=params, timeout=self.timeout)
        except requests.Timeout as error:
            raise MetaGraphError(f"Graph request timed out after {self.timeout} seconds") from error
        except requests.RequestException as error:
            raise MetaGraphError(f"Graph request failed: {type(error).__name__}") from error

        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
            raise MetaGraphError(
                error.get("message") or "Graph error",
                code=error.get("code"),
                subcode=error.get("error_subcode"),
                fbtrace_id=error.get("fbtrace_id"),
                http_status=response.status_code,
                retry_after=regain_access_seconds(response.headers),
            )
        if response.status_code >= 400 or not isinstance(body, dict):
            raise MetaGraphError(
                f"Graph returned HTTP {response.status_code} without a Graph error body",
                http_status=response.status_code,
                retry_after=regain_access_seconds(response.headers),
            )
        return body


def appsecret_proof(app_secret, access_token):
    """Return the hex HMAC-SHA256 of ``access_token`` keyed with ``app_secret``."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def regain_access_seconds(headers):
    """Return the longest ``estimated_time_to_regain_access`` of ``X-Business-Use-Case-Usage``, in seconds.

    The header maps business ids to lists of usage entries; Meta gives the regain time in minutes. Unreadable headers
    count as 0 so that a malformed header never blocks retries.
    """
    raw = headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return 0
    try:
        usage = json.loads(raw)
        minutes = max(
            (int(entry.get("estimated_time_to_regain_access") or 0) for entries in usage.values() for entry in entries),
            default=0,
        )
    except (ValueError, TypeError, AttributeError):
        _logger.warning("Ignored an unreadable X-Business-Use-Case-Usage header")
        return 0
    return minutes * 60
