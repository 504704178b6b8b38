import contextlib
import json
from datetime import timedelta
from unittest.mock import patch

import psycopg2

import odoo.http
import odoo.service.db
from odoo.fields import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import config, mute_logger

from ..controllers import main as webhook_controller
from .common import FORM_ID, PAGE_ID, VERIFY_TOKEN, MetaTestMixin, sign, webhook_body

WEBHOOK = "/ai_calling_crm_meta/webhook"
CONTROLLER_LOGGER = "odoo.addons.ai_calling_crm_meta.controllers.main"
EVENT_LOGGER = "odoo.addons.ai_calling_crm_meta.models.crm_meta_lead_event"


@tagged("post_install", "-at_install", "ai_calling_crm_meta", "ai_calling_crm_meta_webhook")
class TestWebhook(MetaTestMixin, HttpCase):
    """Real HTTP requests to the webhook route; Graph is the fake server on 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_meta()

    def post(self, body, signature="sign", path=WEBHOOK):
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            signature = sign(body)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return self.url_open(path, data=body, headers=headers)

    def events(self):
        return self.Event.search([("app_id", "=", self.app.id)])

    # ------------------------------------------------------------
    # Handshake
    # ------------------------------------------------------------
    def test_handshake_echoes_challenge(self):
        """A subscribe request with the right verify token gets the challenge back as the whole body."""
        response = self.url_open(
            f"{WEBHOOK}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "1158201444")
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))

    @mute_logger(CONTROLLER_LOGGER)
    def test_handshake_rejects_wrong_token(self):
        """A wrong verify token, a missing one or another mode gets 403."""
        for query in (
            "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
            "hub.mode=subscribe&hub.challenge=1",
            f"hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1",
        ):
            with self.subTest(query=query):
                self.assertEqual(self.url_open(f"{WEBHOOK}?{query}").status_code, 403)

    # ------------------------------------------------------------
    # Signatures
    # ------------------------------------------------------------
    def test_signed_delivery_stored(self):
        """A correctly signed delivery is acknowledged with 200 and stored as a pending event, without Graph calls."""
        response = self.post(webhook_body("900001"))
        self.assertEqual(response.status_code, 200)
        event = self.events()
        self.assertEqual(event.leadgen_id, "900001")
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.page_id, self.page)
        self.assertEqual(event.meta_form_id, FORM_ID)
        self.assertEqual(json.loads(event.raw_payload)["leadgen_id"], "900001")
        self.assertFalse(self.fake.requests, "the webhook request must not call Graph")

    @mute_logger(CONTROLLER_LOGGER)
    def test_bad_signatures_rejected(self):
        """Missing, wrong, malformed and one-byte-changed signatures get 403 and store nothing."""
        body = webhook_body("900002")
        tampered = body.replace(b"900002", b"900003")
        cases = {
            "missing": (body, None),
            "wrong secret": (body, sign(body, "another-secret")),
            "no prefix": (body, sign(body)[len("sha256=") :]),
            "sha1": (body, "sha1=" + sign(body)[len("sha256=") :]),
            "body changed": (tampered, sign(body)),
        }
        for name, (payload, signature) in cases.items():
            with self.subTest(name):
                self.assertEqual(self.post(payload, signature).status_code, 403)
        self.assertFalse(self.events())

    def test_rejection_log_has_no_body(self):
        """The warning for a rejected delivery names the problem but not the body's content."""
        body = webhook_body("900099").replace(b'"ad_id"', b'"secret_marker": "Priya 98765", "ad_id"')
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING") as logs:
            self.assertEqual(self.post(body, sign(body, "another-secret")).status_code, 403)
        self.assertEqual(len(logs.output), 1)
        self.assertIn("wrong signature", logs.output[0])
        self.assertNotIn("Priya", logs.output[0])
        self.assertNotIn("900099", logs.output[0])

    def test_signature_over_raw_non_ascii_bytes(self):
        """The signature covers the raw bytes: UTF-8 text and Meta's escaped form are both verified as sent."""
        payload = json.loads(webhook_body("900004"))
        payload["entry"][0]["changes"][0]["value"]["note"] = "प्रवेश தமிழ்"
        raw_utf8 = json.dumps(payload, ensure_ascii=False).encode()
        self.assertEqual(self.post(raw_utf8).status_code, 200)
        payload["entry"][0]["changes"][0]["value"]["leadgen_id"] = "900005"
        escaped = json.dumps(payload).encode()  # \\u escapes, as Meta sends
        self.assertEqual(self.post(escaped).status_code, 200)
        self.assertEqual(set(self.events().mapped("leadgen_id")), {"900004", "900005"})

    @mute_logger(CONTROLLER_LOGGER)
    def test_signature_of_decoded_text_rejected(self):
        """A signature computed over other bytes than those sent (escaped vs UTF-8) is rejected."""
        payload = json.loads(webhook_body("900006"))
        payload["entry"][0]["changes"][0]["value"]["note"] = "नमस्ते"
        sent = json.dumps(payload).encode()
        other_bytes = json.dumps(payload, ensure_ascii=False).encode()
        self.assertEqual(self.post(sent, sign(other_bytes)).status_code, 403)

    # ------------------------------------------------------------
    # Payloads
    # ------------------------------------------------------------
    def test_batch_of_entries_and_changes(self):
        """Every leadgen change of every entry is stored; ids sent as numbers are stored as text."""
        first = json.loads(webhook_body(*range(910000, 910030), numeric=True))
        second = json.loads(webhook_body(*range(910030, 910050)))
        first["entry"] += second["entry"]
        self.assertEqual(self.post(json.dumps(first).encode()).status_code, 200)
        events = self.events()
        self.assertEqual(len(events), 50)
        self.assertEqual(set(events.mapped("leadgen_id")), {str(i) for i in range(910000, 910050)})
        self.assertEqual(set(events.mapped("meta_page_id")), {PAGE_ID})

    def test_duplicate_deliveries_stored_once(self):
        """Meta's retries and duplicate changes inside a delivery create one event per leadgen id."""
        body = webhook_body("920001", "920001", "920002")
        for _attempt in range(3):
            self.assertEqual(self.post(body).status_code, 200)
        self.assertEqual(sorted(self.events().mapped("leadgen_id")), ["920001", "920002"])

    @mute_logger(CONTROLLER_LOGGER)
    def test_malformed_bodies(self):
        """Signed bodies that are not JSON, or JSON without an entry list, get 400."""
        for body in (b"{not json", b"[1, 2]", b'{"object": "page", "entry": {"id": 1}}', b"\xff\xfe"):
            with self.subTest(body=body):
                self.assertEqual(self.post(body).status_code, 400)
        self.assertFalse(self.events())

    def test_other_objects_and_fields_ignored(self):
        """Other objects, other fields and leadgen changes without a value are acknowledged and skipped."""
        bodies = [
            {"object": "instagram", "entry": [{"id": "1", "changes": [{"field": "comments", "value": {}}]}]},
            {"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "feed", "value": {"item": "post"}}]}]},
            {"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "leadgen", "value": "x"}, "junk"]}]},
            {"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "leadgen", "value": {}}]}]},
        ]
        for body in bodies:
            with self.subTest(body=body):
                self.assertEqual(self.post(json.dumps(body).encode()).status_code, 200)
        self.assertFalse(self.events())

    def test_database_named_in_url(self):
        """The callback URL may name the database; an unknown database gets 404."""
        body = webhook_body("930001")
        path = f"{WEBHOOK}?db={self.env.cr.dbname}"
        self.assertEqual(self.post(body, path=path).status_code, 200)
        self.assertEqual(self.events().leadgen_id, "930001")
        self.assertIn(f"?db={self.env.cr.dbname}", self.app.webhook_url)

    @mute_logger(CONTROLLER_LOGGER)
    def test_unknown_database_not_found(self):
        """A ``db`` parameter naming a database that is not served gets 404 and stores nothing."""
        response = self.post(webhook_body("930002"), path=f"{WEBHOOK}?db=no_such_database_aicc")
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.events())

    @contextlib.contextmanager
    def serve_several_databases(self, databases):
        """Make the test server behave as one serving ``databases`` with the addon loaded server-wide (``--load``).

        With several databases and no ``dbfilter``, Odoo selects no database for a request without session or
        header, so only the server-wide routes of the database-free routing map can answer.
        """
        server_wide = [*config["server_wide_modules"], "ai_calling_crm_meta"]
        odoo.http.root.__dict__.pop("nodb_routing_map", None)
        try:
            with (
                patch.dict(config._runtime_options, {"server_wide_modules": server_wide}),
                patch.object(odoo.http, "db_list", return_value=databases),
                patch.object(odoo.service.db, "list_dbs", return_value=databases),
                # The test server runs with --database, which db_filter would apply; the simulated one has neither.
                patch.object(odoo.http, "db_filter", side_effect=lambda dbs, host=None: dbs),
            ):
                yield
        finally:
            odoo.http.root.__dict__.pop("nodb_routing_map", None)

    def test_several_databases(self):
        """On a server with several databases, the ``db`` parameter selects the database."""
        with self.serve_several_databases([self.env.cr.dbname, "aicc_meta_other"]):
            response = self.post(webhook_body("930004"), path=f"{WEBHOOK}?db={self.env.cr.dbname}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.events().leadgen_id, "930004")

    @mute_logger(CONTROLLER_LOGGER)
    def test_several_databases_without_db(self):
        """On a server with several databases, a URL without ``db`` gets 404 and stores nothing."""
        with self.serve_several_databases([self.env.cr.dbname, "aicc_meta_other"]):
            response = self.post(webhook_body("930005"))
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.events())

    @mute_logger(CONTROLLER_LOGGER)
    def test_database_down_returns_503(self):
        """When the named database cannot be opened the webhook returns 503, so Meta retries, never 200."""

        def fail_to_connect(db_name):
            raise psycopg2.OperationalError("connection refused")

        with (
            self.serve_several_databases([self.env.cr.dbname, "aicc_meta_down"]),
            patch.object(webhook_controller.http, "db_filter", side_effect=lambda dbs, host=None: dbs),
            patch.object(webhook_controller, "Registry", side_effect=fail_to_connect),
        ):
            response = self.post(webhook_body("930003"), path=f"{WEBHOOK}?db=aicc_meta_down")
        self.assertEqual(response.status_code, 503)
        self.assertFalse(self.events())

    @mute_logger(CONTROLLER_LOGGER)
    def test_database_server_down_returns_503(self):
        """When PostgreSQL cannot even list the databases, the webhook returns 503 instead of Odoo's 404."""
        with (
            self.serve_several_databases([self.env.cr.dbname, "aicc_meta_other"]),
            patch.object(odoo.service.db, "list_dbs", side_effect=psycopg2.OperationalError("connection refused")),
        ):
            response = self.post(webhook_body("930006"))
        self.assertEqual(response.status_code, 503)
        self.assertFalse(self.events())

    @mute_logger(CONTROLLER_LOGGER)
    def test_oversized_delivery_rejected(self):
        """A delivery larger than the limit gets 413 before its signature is checked, and nothing is stored."""
        body = webhook_body("930007")
        padded = body[:-1] + b', "padding": "' + b"x" * webhook_controller.MAX_BODY_BYTES + b'"}'
        response = self.post(padded)
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.events())

    # ------------------------------------------------------------
    # End to end
    # ------------------------------------------------------------
    @mute_logger(EVENT_LOGGER)
    def test_submission_becomes_one_assigned_lead(self):
        """A signed delivery, repeated, while Graph first fails, becomes one complete assigned lead with a call.

        Graph fails the first fetch with a transient error, so the event waits for its retry. The webhook is
        delivered again meanwhile, and the retry creates the lead once.
        """
        counsellor = self.env["res.users"].create(
            {
                "name": "Counsellor",
                "login": "meta_counsellor",
                "group_ids": [Command.link(self.env.ref("sales_team.group_sale_salesman").id)],
            }
        )
        self.team.write({"calling_assignment": True, "member_ids": [Command.link(counsellor.id)]})
        self.add_graph_lead(
            "940001",
            field_data=[
                {"name": "full_name", "values": ["अनुष्का शर्मा"]},
                {"name": "email", "values": ["anushka@example.com"]},
                {"name": "phone_number", "values": ["098765-43210"]},
                {"name": "city", "values": ["Pune"]},
            ],
        )
        self.fake.add_failure(code=2, path="940001")
        cron = self.env.ref("ai_calling_crm_meta.ir_cron_meta_lead_process")

        self.assertEqual(self.post(webhook_body("940001")).status_code, 200)
        cron.method_direct_trigger()
        self.env.invalidate_all()
        event = self.events()
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.attempt_count, 1)
        self.assertFalse(event.lead_id)

        self.assertEqual(self.post(webhook_body("940001")).status_code, 200)
        event.sudo().write({"next_attempt_at": event.next_attempt_at - timedelta(hours=2)})
        cron.method_direct_trigger()
        self.env.invalidate_all()

        self.assertEqual(len(self.events()), 1)
        self.assertEqual(event.state, "done")
        lead = event.lead_id
        self.assertEqual(self.env["crm.lead"].search_count([("meta_leadgen_id", "=", "940001")]), 1)
        self.assertEqual(lead.contact_name, "अनुष्का शर्मा")
        self.assertEqual(lead.phone, "+919876543210")
        self.assertEqual(lead.team_id, self.team)
        self.assertEqual(lead.user_id, counsellor)
        self.assertEqual(lead.activity_ids.mapped("summary"), ["First call: new Meta lead"])
        self.assertEqual(len(self.fake.requests_to("/940001")), 2)
