"""Build and send Meta Lead Ads webhook deliveries the way Meta does, for the end-to-end suite and the demo.

A delivery is a JSON body ``{"object": "page", "entry": [{"id": page_id, "time": ..., "changes": [...]}]}`` where each
change is ``{"field": "leadgen", "value": {"leadgen_id", "page_id", "form_id", "ad_id", "adgroup_id",
"created_time"}}``. Meta signs the raw body bytes with the app secret: header ``X-Hub-Signature-256: sha256=<hex
HMAC-SHA256>``.
"""

import hashlib
import hmac
import json
import time

import requests

WEBHOOK_PATH = "/ai_calling_crm_meta/webhook"


def leadgen_change(leadgen_id, page_id, form_id, created_time=None, ad_id="6001", adgroup_id="6002"):
    """Return one ``leadgen`` change as Meta sends it (ids as strings, ``created_time`` as a Unix timestamp)."""
    return {
        "field": "leadgen",
        "value": {
            "leadgen_id": str(leadgen_id),
            "page_id": str(page_id),
            "form_id": str(form_id),
            "ad_id": ad_id,
            "adgroup_id": adgroup_id,
            "created_time": int(created_time or time.time()),
        },
    }


def delivery(page_id, changes):
    """Return a delivery body (a dict) with one entry for ``page_id`` holding ``changes``."""
    return {"object": "page", "entry": [{"id": str(page_id), "time": int(time.time()), "changes": list(changes)}]}


def encode(body):
    """Serialise a delivery the way Meta does: compact JSON, non-ASCII characters escaped."""
    return json.dumps(body, separators=(",", ":")).encode()


def signature(raw_body, app_secret):
    """Return the ``X-Hub-Signature-256`` header value for ``raw_body`` (bytes)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def post_delivery(base_url, raw_body, app_secret=None, session=None, timeout=30, header=None):
    """POST ``raw_body`` to the webhook, signed with ``app_secret`` unless ``header`` gives the signature to send.

    Returns the ``requests.Response``. ``header=""`` sends no signature header at all.
    """
    headers = {"Content-Type": "application/json"}
    value = signature(raw_body, app_secret) if header is None else header
    if value:
        headers["X-Hub-Signature-256"] = value
    return (session or requests).post(f"{base_url}{WEBHOOK_PATH}", data=raw_body, headers=headers, timeout=timeout)
