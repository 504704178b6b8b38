import base64
import hashlib
import hmac
import json

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

APP_SECRET = "test-app-secret-0123456789"
CALLBACK_URL = "/ai_calling_crm_privacy/meta/data_deletion"
STATUS_URL = "/ai_calling_crm_privacy/meta/deletion_status"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(payload, secret=APP_SECRET):
    """Build a signed_request the way Meta does: base64url(HMAC-SHA256(payload part)) '.' base64url(JSON)."""
    encoded_payload = b64url(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    return f"{b64url(signature)}.{encoded_payload}"


@tagged("post_install", "-at_install", "ai_calling_crm_privacy", "privacy_http")
class TestMetaDataDeletion(HttpCase):
    """Meta's data deletion callback and its status page, over real HTTP on the test server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("ai_calling_crm_privacy.meta_app_secret", APP_SECRET)
        cls.payload = {"algorithm": "HMAC-SHA256", "issued_at": 1733300000, "user_id": "1234567890123456"}

    def _post(self, signed_request):
        return self.url_open(CALLBACK_URL, data={"signed_request": signed_request}, allow_redirects=False)

    def test_valid_callback(self):
        """A valid signed request creates an erasure request and returns its status URL and code."""
        response = self._post(sign(self.payload))
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(set(body), {"url", "confirmation_code"})
        request = self.env["crm.privacy.request"].search([("meta_user_id", "=", "1234567890123456")])
        self.assertEqual(request.request_type, "erasure")
        self.assertEqual(request.source, "meta")
        self.assertNotEqual(request.confirmation_code_hash, body["confirmation_code"], "only a hash is stored")
        self.assertIn(f"{STATUS_URL}?code={body['confirmation_code']}", body["url"])

        status = self.url_open(f"{STATUS_URL}?code={body['confirmation_code']}")
        self.assertEqual(status.status_code, 200)
        self.assertIn("New", status.text)
        self.assertNotIn("1234567890123456", status.text)

    def test_status_after_erasure(self):
        """Once the officer erases the person, the status page shows the request as done."""
        code = self._post(sign(self.payload)).json()["confirmation_code"]
        request = self.env["crm.privacy.request"].search([("meta_user_id", "=", "1234567890123456")])
        request.requester_email = "meta.person@example.org"
        request.action_find_matches()
        request.action_erase()
        self.assertFalse(request.meta_user_id)
        status = self.url_open(f"{STATUS_URL}?code={code}")
        self.assertEqual(status.status_code, 200)
        self.assertIn("Done", status.text)

    def test_status_needs_exact_code(self):
        """The status page returns 404 for a wrong, truncated or missing code."""
        code = self._post(sign(self.payload)).json()["confirmation_code"]
        for url in (f"{STATUS_URL}?code={code[:-1]}", f"{STATUS_URL}?code={code.lower()}x", STATUS_URL):
            with self.subTest(url=url):
                self.assertEqual(self.url_open(url).status_code, 404)

    @mute_logger("odoo.addons.ai_calling_crm_privacy.controllers.main")
    def test_bad_signature(self):
        """A request signed with another secret is rejected with 400 and creates nothing."""
        response = self._post(sign(self.payload, secret="another-secret"))
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.env["crm.privacy.request"].search([("source", "=", "meta")]))

    @mute_logger("odoo.addons.ai_calling_crm_privacy.controllers.main")
    def test_malformed_input(self):
        """Missing parts, bad base64, non-JSON payloads, other algorithms and missing user ids get 400."""
        not_json = b64url(b"not json")
        not_json_signed = (
            f"{b64url(hmac.new(APP_SECRET.encode(), not_json.encode(), hashlib.sha256).digest())}.{not_json}"
        )
        cases = {
            "empty": "",
            "no dot": "abcdef",
            "two dots": "a.b.c",
            "bad base64": "!!!.???",
            "not json": not_json_signed,
            "other algorithm": sign(dict(self.payload, algorithm="HMAC-SHA1")),
            "no user id": sign({"algorithm": "HMAC-SHA256"}),
            "too long": "a" * 5000 + "." + "b",
        }
        for label, signed_request in cases.items():
            with self.subTest(case=label):
                self.assertEqual(self._post(signed_request).status_code, 400)
        self.assertFalse(self.env["crm.privacy.request"].search([("source", "=", "meta")]))

    @mute_logger("odoo.addons.ai_calling_crm_privacy.controllers.main")
    def test_no_secret_configured(self):
        """Without any app secret the callback returns 503 instead of accepting unsigned data."""
        self.env["ir.config_parameter"].set_param("ai_calling_crm_privacy.meta_app_secret", False)
        self.assertEqual(self._post(sign(self.payload)).status_code, 503)

    def test_secret_from_meta_app(self):
        """Without this addon's setting, the callback checks signatures with the Meta connector's app secret."""
        if "crm.meta.app" not in self.env:
            self.skipTest("ai_calling_crm_meta is not installed")
        self.env["ir.config_parameter"].set_param("ai_calling_crm_privacy.meta_app_secret", False)
        self.env["crm.meta.app"].create(
            {
                "name": "Test app",
                "meta_app_id": "555000111",
                "app_secret": "connector-secret",
                # Nothing in this test calls Graph; the address only keeps any call on this machine.
                "graph_base_url": "http://127.0.0.1:9",
            }
        )
        self.assertEqual(self._post(sign(self.payload, secret="connector-secret")).status_code, 200)

    def test_privacy_policy_page(self):
        """The public policy page shows the company's contact and grievance officer without login."""
        company = self.env["res.company"].search([], limit=1, order="id")
        company.write(
            {
                "privacy_contact_email": "privacy@institute.example",
                "privacy_grievance_officer_name": "Meera Iyer",
                "privacy_policy_extra": "<p>Scholarship forms are kept for one year.</p>",
            }
        )
        response = self.url_open("/ai_calling_crm_privacy/policy")
        self.assertEqual(response.status_code, 200)
        self.assertIn(company.name, response.text)
        self.assertIn("privacy@institute.example", response.text)
        self.assertIn("Meera Iyer", response.text)
        self.assertIn("Scholarship forms are kept for one year.", response.text)
        self.assertIn("Marketing communication", response.text)
