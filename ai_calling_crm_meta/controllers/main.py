"""Meta Lead Ads webhook: the subscription handshake and lead notifications.

Database selection. Odoo 19 binds a request to a database from the session cookie, the ``X-Odoo-Database`` header,
or, when ``dbfilter``/``--database`` leave one database, that one (``odoo/http.py``, ``_get_session_and_dbname``).
Meta sends neither a cookie nor custom headers. On a server with several databases and no per-host ``dbfilter``,
Odoo therefore selects no database and dispatches only the routes of server-wide modules. For that setup, load this
addon server-wide (``--load=base,rpc,web,ai_calling_crm_meta``) and name the database in the callback URL:
``/ai_calling_crm_meta/webhook?db=<name>``. The routes use ``auth='none'`` so that they are part of that
database-free routing map. The ``db`` parameter is then checked against ``dbfilter`` and the existing databases,
and the controller opens a cursor on that database.
"""

import contextlib
import hashlib
import hmac
import json
import logging

import psycopg2
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    LengthRequired,
    NotFound,
    RequestEntityTooLarge,
    ServiceUnavailable,
)

import odoo.service.db
from odoo import SUPERUSER_ID, api, http
from odoo.http import request
from odoo.modules.registry import Registry

from ..models.crm_meta_app import WEBHOOK_ROUTE

_logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
# Largest delivery read, so an oversized body is refused before it is read or hashed. A leadgen change is about
# 250 bytes, so even a batch of 1,000 changes (an estimate of Meta's largest batch) stays under a quarter of it.
MAX_BODY_BYTES = 1024 * 1024


class MetaWebhookController(http.Controller):
    @http.route(WEBHOOK_ROUTE, type="http", auth="none", methods=["GET"], csrf=False, save_session=False)
    def meta_webhook_verify(self, **params):
        """Return ``hub.challenge`` to Meta's verification request when ``hub.verify_token`` matches an app."""
        mode = params.get("hub.mode")
        token = params.get("hub.verify_token") or ""
        challenge = params.get("hub.challenge") or ""
        with self._webhook_env(params.get("db")) as env:
            apps = env["crm.meta.app"].search([])
            verified = mode == "subscribe" and any(
                app.verify_token and hmac.compare_digest(app.verify_token.encode(), token.encode()) for app in apps
            )
        if not verified:
            _logger.warning("Meta webhook: rejected a verification request (mode %r, token mismatch)", mode)
            raise Forbidden()
        return request.make_response(challenge, headers=[("Content-Type", "text/plain; charset=utf-8")])

    @http.route(
        WEBHOOK_ROUTE, type="http", auth="none", methods=["POST"], csrf=False, save_session=False, readonly=False
    )
    def meta_webhook_receive(self, **params):
        """Store the ``leadgen`` changes of a signed delivery as events and acknowledge it.

        The signature is checked over the raw body before the body is parsed. No Graph call happens here: the
        processing job is woken and fetches the leads.
        """
        content_length = request.httprequest.content_length
        if content_length is None:
            _logger.warning("Meta webhook: rejected a delivery without a Content-Length header")
            raise LengthRequired()
        if content_length > MAX_BODY_BYTES:
            _logger.warning("Meta webhook: rejected a delivery of %s bytes (limit %s)", content_length, MAX_BODY_BYTES)
            raise RequestEntityTooLarge()
        body = request.httprequest.get_data()
        signature = request.httprequest.headers.get(SIGNATURE_HEADER, "")
        with self._webhook_env(params.get("db")) as env:
            app = self._find_signing_app(env, body, signature)
            if not app:
                _logger.warning(
                    "Meta webhook: rejected a delivery with a %s signature (%s bytes)",
                    "missing" if not signature else "wrong",
                    len(body),
                )
                raise Forbidden()
            values = self._extract_leadgen_values(body, app)
            Event = env["crm.meta.lead.event"]
            stored, duplicates = Event._store_webhook_changes(app, values)
            if stored:
                Event._trigger_processing()
            env.cr.commit()
        _logger.info("Meta webhook: app %s, %s leads stored, %s already known", app.id, stored, duplicates)
        return request.make_response("EVENT_RECEIVED", headers=[("Content-Type", "text/plain; charset=utf-8")])

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------
    @contextlib.contextmanager
    def _webhook_env(self, db_name):
        """Yield a superuser environment on the request's database, or on ``db_name`` when Odoo selected none.

        Raises ``NotFound`` for a database that does not exist, that ``dbfilter`` hides or that lacks this addon.
        Raises ``ServiceUnavailable`` (503) when the database cannot be reached, so Meta retries the delivery later.
        """
        if request.db and (not db_name or db_name == request.db):
            yield request.env(user=SUPERUSER_ID, su=True)
            return
        # Odoo selects no database either when several exist or when PostgreSQL is down. Listing them here
        # distinguishes the two, so an outage gets a 503 (a temporary error) rather than a 404, which would say
        # that the callback URL does not exist.
        try:
            available = http.db_filter(odoo.service.db.list_dbs(force=True))
        except psycopg2.OperationalError as error:
            _logger.warning("Meta webhook: database server unavailable: %s", type(error).__name__)
            raise ServiceUnavailable() from error
        if not db_name and len(available) == 1:
            db_name = available[0]
        if not db_name or db_name not in available:
            _logger.warning("Meta webhook: no database selected or database not allowed")
            raise NotFound()
        try:
            registry = Registry(db_name)
            cursor = registry.cursor()
        except (psycopg2.Error, AttributeError) as error:
            _logger.warning("Meta webhook: database %s unavailable: %s", db_name, type(error).__name__)
            raise ServiceUnavailable() from error
        with cursor as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            if "crm.meta.app" not in env:
                _logger.warning("Meta webhook: database %s does not have the connector installed", db_name)
                raise NotFound()
            yield env

    def _find_signing_app(self, env, body, signature):
        """Return the active app whose secret produced ``signature`` (``sha256=<hex HMAC of body>``)."""
        if not signature.startswith(SIGNATURE_PREFIX):
            return env["crm.meta.app"]
        received = signature[len(SIGNATURE_PREFIX) :].strip().lower().encode()
        for app in env["crm.meta.app"].search([]):
            if not app.app_secret:
                continue
            expected = hmac.new(app.app_secret.encode(), body, hashlib.sha256).hexdigest().encode()
            if hmac.compare_digest(expected, received):
                return app
        return env["crm.meta.app"]

    def _extract_leadgen_values(self, body, app):
        """Return the ``value`` of every ``leadgen`` change of every entry; other objects and fields are skipped."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            _logger.warning("Meta webhook: app %s sent a body that is not JSON", app.id)
            raise BadRequest() from error
        if not isinstance(payload, dict) or not isinstance(payload.get("entry", []), list):
            _logger.warning("Meta webhook: app %s sent JSON without an entry list", app.id)
            raise BadRequest()
        if payload.get("object") != "page":
            _logger.info("Meta webhook: ignored a delivery for object %r", payload.get("object"))
            return []
        values = []
        ignored = 0
        for entry in payload.get("entry", []):
            changes = entry.get("changes") if isinstance(entry, dict) else None
            for change in changes if isinstance(changes, list) else []:
                if not isinstance(change, dict) or change.get("field") != "leadgen":
                    ignored += 1
                    continue
                value = change.get("value")
                if not isinstance(value, dict):
                    ignored += 1
                    continue
                if not value.get("page_id"):
                    value = {**value, "page_id": entry.get("id")}
                values.append(value)
        if ignored:
            _logger.info("Meta webhook: ignored %s changes that are not leadgen changes", ignored)
        return values
