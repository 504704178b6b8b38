import base64
import binascii
import hashlib
import hmac
import json
import logging

from werkzeug.exceptions import BadRequest, NotFound, ServiceUnavailable

from odoo import http
from odoo.http import request

_logger = logging.getLogger(__name__)

# Largest signed_request accepted. Meta's payload contains a user id, an algorithm name and timestamps, well under 1 KB.
MAX_SIGNED_REQUEST_LENGTH = 4096
SIGNATURE_ALGORITHM = "HMAC-SHA256"


def _b64url_decode(value):
    """Decode unpadded base64url text as Meta sends it; raise ValueError on invalid input."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("invalid base64url") from error


def parse_signed_request(signed_request, app_secret):
    """Return the payload dict of a Meta ``signed_request`` after checking its signature.

    The format is ``<base64url signature>.<base64url JSON payload>``, and the signature is the HMAC-SHA256 of the
    encoded payload keyed with the app secret. Raises ValueError when the input is malformed or the signature or
    algorithm does not match.
    """
    if not signed_request or len(signed_request) > MAX_SIGNED_REQUEST_LENGTH or signed_request.count(".") != 1:
        raise ValueError("malformed signed_request")
    encoded_signature, encoded_payload = signed_request.split(".")
    signature = _b64url_decode(encoded_signature)
    expected = hmac.new(app_secret.encode(), encoded_payload.encode("ascii", "replace"), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise ValueError("bad signature")
    try:
        payload = json.loads(_b64url_decode(encoded_payload))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("payload is not JSON") from error
    if not isinstance(payload, dict):
        raise ValueError("payload is not an object")
    if str(payload.get("algorithm", "")).upper() != SIGNATURE_ALGORITHM:
        raise ValueError("unexpected algorithm")
    if not payload.get("user_id"):
        raise ValueError("missing user_id")
    return payload


class PrivacyController(http.Controller):
    # ------------------------------------------------------------
    # Meta data deletion callback
    # ------------------------------------------------------------
    @http.route(
        "/ai_calling_crm_privacy/meta/data_deletion",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def meta_data_deletion(self, **post):
        """Receive Meta's data deletion callback, create an erasure request and return the status URL and code."""
        app_secret = self._get_meta_app_secret()
        if not app_secret:
            _logger.warning("Meta data deletion callback rejected: no app secret is configured")
            raise ServiceUnavailable()
        try:
            payload = parse_signed_request(post.get("signed_request", ""), app_secret)
        except ValueError as error:
            _logger.warning("Meta data deletion callback rejected: %s", error)
            raise BadRequest() from None
        privacy_request, code = (
            request.env["crm.privacy.request"].sudo()._create_from_meta_callback(str(payload["user_id"]))
        )
        _logger.info("Meta data deletion callback created privacy request %s", privacy_request.id)
        status_url = "{}/ai_calling_crm_privacy/meta/deletion_status?code={}".format(
            request.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/"), code
        )
        return request.make_json_response({"url": status_url, "confirmation_code": code})

    @http.route(
        "/ai_calling_crm_privacy/meta/deletion_status", type="http", auth="public", methods=["GET"], sitemap=False
    )
    def meta_deletion_status(self, code=None, **kwargs):
        """Show the state of the deletion request that ``code`` confirms, and nothing else; 404 for any other code."""
        if not code or len(code) > 64:
            raise NotFound()
        Request = request.env["crm.privacy.request"].sudo()
        code_hash = Request._hash_confirmation_code(code)
        privacy_request = Request.search([("confirmation_code_hash", "=", code_hash)], limit=1)
        if not privacy_request or not hmac.compare_digest(privacy_request.confirmation_code_hash, code_hash):
            raise NotFound()
        return request.render(
            "ai_calling_crm_privacy.deletion_status_page",
            {
                "state_label": dict(Request._fields["state"]._description_selection(request.env))[
                    privacy_request.state
                ],
                "state": privacy_request.state,
                "submission_date": privacy_request.submission_date.date(),
                "company": privacy_request.company_id,
            },
        )

    # ------------------------------------------------------------
    # Privacy policy page
    # ------------------------------------------------------------
    @http.route("/ai_calling_crm_privacy/policy", type="http", auth="public", methods=["GET"], sitemap=True)
    def privacy_policy(self, company_id=None, **kwargs):
        """Render the public privacy policy page with the company's own details."""
        companies = request.env["res.company"].sudo()
        company = companies.browse(int(company_id)).exists() if company_id and company_id.isdigit() else None
        company = company or companies.search([], limit=1, order="id")
        return request.render(
            "ai_calling_crm_privacy.privacy_policy_page",
            {"company": company, "purposes": request.env["crm.privacy.purpose"].sudo().search([])},
        )

    def _get_meta_app_secret(self):
        """Return the app secret from this addon's setting, else from the Meta connector's app, else False."""
        env = request.env
        secret = env["ir.config_parameter"].sudo().get_param("ai_calling_crm_privacy.meta_app_secret")
        if not secret and "crm.meta.app" in env:
            apps = env["crm.meta.app"].sudo().search([("app_secret", "!=", False)], limit=1)
            secret = apps.app_secret
        return secret or False
