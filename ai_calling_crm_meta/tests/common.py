import hashlib
import hmac
import json
from datetime import UTC, datetime

from odoo.fields import Command

from .fake_graph import FakeGraphServer, make_lead

APP_SECRET = "test-app-secret"
PAGE_TOKEN = "test-page-token"
VERIFY_TOKEN = "test-verify-token"
PAGE_ID = "1001"
FORM_ID = "2001"


def sign(body, secret=APP_SECRET):
    """Return the X-Hub-Signature-256 header value Meta sends for ``body`` (bytes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(*leadgen_ids, page_id=PAGE_ID, form_id=FORM_ID, numeric=False):
    """Return a webhook body (bytes) with one entry holding one leadgen change per id."""
    changes = [
        {
            "field": "leadgen",
            "value": {
                "leadgen_id": int(leadgen_id) if numeric else str(leadgen_id),
                "page_id": int(page_id) if numeric else str(page_id),
                "form_id": int(form_id) if numeric else str(form_id),
                "ad_id": "6001",
                "adgroup_id": "6002",
                "created_time": 1764842400,
            },
        }
        for leadgen_id in leadgen_ids
    ]
    payload = {"object": "page", "entry": [{"id": str(page_id), "time": 1764842400, "changes": changes}]}
    return json.dumps(payload).encode()


class MetaTestMixin:
    """Fixtures shared by the connector tests: a fake Graph server on 127.0.0.1 and one app, page and form.

    The fake server checks ``appsecret_proof`` against ``APP_SECRET`` and accepts only ``PAGE_TOKEN``, so a test
    that reaches it without the right credentials fails with the Graph errors Meta would send.
    """

    @classmethod
    def setup_meta(cls):
        cls.fake = FakeGraphServer(app_id="5001", app_secret=APP_SECRET, valid_tokens=[PAGE_TOKEN]).start()
        cls.addClassCleanup(cls.fake.stop)
        cls.fake.add_form(FORM_ID, PAGE_ID)
        cls.india = cls.env.ref("base.in")
        cls.env.company.country_id = cls.india
        cls.team = cls.env["crm.team"].create({"name": "Admissions"})
        cls.app = cls.env["crm.meta.app"].create(
            {
                "name": "Test App",
                "meta_app_id": "5001",
                "app_secret": APP_SECRET,
                "verify_token": VERIFY_TOKEN,
                "graph_base_url": cls.fake.url,
                "request_timeout": 2,
                "retry_delay": 60,
                "max_attempts": 3,
            }
        )
        cls.page = cls.env["crm.meta.page"].create(
            {
                "name": "Test Page",
                "meta_page_id": PAGE_ID,
                "app_id": cls.app.id,
                "access_token": PAGE_TOKEN,
                "team_id": cls.team.id,
                "phone_country_id": cls.india.id,
            }
        )
        cls.form = cls.env["crm.meta.form"].create(
            {
                "name": "Admissions form",
                "meta_form_id": FORM_ID,
                "page_id": cls.page.id,
                "field_ids": [
                    Command.create({"sequence": sequence, "question_key": key, "label": label, "target": target})
                    for sequence, (key, label, target) in enumerate(
                        [
                            ("full_name", "Full name", "contact_name"),
                            ("email", "Email", "email_from"),
                            ("phone_number", "Phone", "phone"),
                            ("city", "City", "city"),
                            ("course", "Course", "interest_id"),
                        ],
                        start=1,
                    )
                ],
            }
        )
        cls.Event = cls.env["crm.meta.lead.event"]

    def add_graph_lead(self, leadgen_id, **values):
        return self.fake.add_lead(make_lead(leadgen_id, values.pop("form_id", FORM_ID), **values))

    def store_events(self, *leadgen_ids):
        """Store webhook events without HTTP, as the controller does after checking the signature."""
        values = [{"leadgen_id": str(i), "page_id": PAGE_ID, "form_id": FORM_ID} for i in leadgen_ids]
        self.Event._store_webhook_changes(self.app, values)
        return self.Event.search([("leadgen_id", "in", [str(i) for i in leadgen_ids])])

    def graph_time(self, year, month, day, hour=0, minute=0):
        return datetime(year, month, day, hour, minute, tzinfo=UTC)
