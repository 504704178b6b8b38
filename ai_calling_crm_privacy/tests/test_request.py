import io
import json
import zipfile
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_cron import IrCron

from .common import PrivacyCommon

INTAKE_EMAIL = """Return-Path: <neha.kapoor@example.org>
From: Neha Kapoor <neha.kapoor@example.org>
To: privacy@privacy-test.example.com
Subject: Please delete my data
Message-ID: <privacy-intake-1@example.org>
Date: Fri, 04 Dec 2026 10:00:00 +0000
Content-Type: text/plain; charset="utf-8"

Hello, I filled in your form last month. Please erase everything you hold about me.
"""


@tagged("post_install", "-at_install", "ai_calling_crm_privacy", "privacy_request")
class TestPrivacyRequest(PrivacyCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lead = cls._create_lead(
            "Neha Kapoor", email="neha.kapoor@example.org", phone="+91 99887 66554", user=cls.counsellor_1
        )
        cls.lead.message_post(body="Interested in the nursing course")
        cls.env["ir.attachment"].create(
            {"name": "form.txt", "raw": b"form copy", "res_model": "crm.lead", "res_id": cls.lead.id}
        )
        cls.other_lead = cls._create_lead("Imran Sheikh", email="imran.sheikh@example.org", user=cls.counsellor_1)
        cls.Request = cls.env["crm.privacy.request"].with_user(cls.officer)

    def _new_request(self, request_type, **values):
        return self.Request.create(
            {"request_type": request_type, "requester_email": "neha.kapoor@example.org", **values}
        )

    def test_email_intake(self):
        """An email to the privacy alias becomes an erasure request with the sender as requester."""
        alias_domain = self.env["mail.alias.domain"].create({"name": "privacy-test.example.com"})
        self.env.ref("ai_calling_crm_privacy.mail_alias_privacy_request").alias_domain_id = alias_domain
        self.env["mail.thread"].message_process(None, INTAKE_EMAIL)
        request = self.env["crm.privacy.request"].search([("source", "=", "email")])
        self.assertEqual(len(request), 1)
        self.assertEqual(request.request_type, "erasure")
        self.assertEqual(request.requester_email, "neha.kapoor@example.org")
        self.assertEqual(request.requester_name, "Neha Kapoor")
        self.assertEqual(request.due_date, (request.submission_date + timedelta(days=30)).date())
        self.assertIn("erase everything", request.message_ids[-1].body)

    def test_matches_listed_before_action(self):
        """Finding matches lists the lead, its messages and attachments, and changes nothing."""
        request = self._new_request("access")
        request.action_find_matches()
        self.assertEqual(request.state, "review")
        models_found = set(request.match_ids.mapped("res_model"))
        self.assertTrue({"crm.lead", "mail.message", "ir.attachment"} <= models_found)
        self.assertNotIn(
            self.other_lead.id, request.match_ids.filtered(lambda m: m.res_model == "crm.lead").mapped("res_id")
        )
        self.assertEqual(self.lead.contact_name, "Neha Kapoor")

    def test_export_archive(self):
        """The export is one zip with JSON, a CSV per kind of data and the attachment files; it is audited."""
        request = self._new_request("access")
        request.action_find_matches()
        action = request.action_export()
        self.assertIn(f"/web/content/{request.export_attachment_id.id}", action["url"])
        archive = zipfile.ZipFile(io.BytesIO(request.export_attachment_id.raw))
        names = archive.namelist()
        self.assertIn("data.json", names)
        self.assertIn("crm.lead.csv", names)
        self.assertTrue(any(name.startswith("attachments/") and name.endswith("form.txt") for name in names))
        data = json.loads(archive.read("data.json"))
        self.assertEqual(data["crm.lead"][0]["email_from"], "neha.kapoor@example.org")
        self.assertIn("Neha Kapoor", archive.read("crm.lead.csv").decode())
        self.assertEqual(request.state, "done", "an access request is answered by the export")
        log = self.env["crm.privacy.audit.log"].search([("event_type", "=", "export"), ("res_id", "=", request.id)])
        self.assertEqual(log.user_id, self.officer)

    def test_restriction_and_lift(self):
        """A restriction blocks calling and blacklists the email until the officer lifts it."""
        request = self._new_request("restriction")
        request.action_find_matches()
        request.action_restrict()
        self.assertTrue(self.lead.privacy_restricted)
        self.assertTrue(self.lead.calling_blocked)
        self.assertFalse(self.lead._check_consent("inquiry"))
        self.assertTrue(self.env["mail.blacklist"].search([("email", "=", "neha.kapoor@example.org")]))
        self.assertFalse(self.other_lead.calling_blocked)
        request.action_lift_restriction()
        self.assertFalse(self.lead.privacy_restricted)
        self.assertFalse(self.lead.calling_blocked)
        events = self.env["crm.privacy.audit.log"].search([("res_id", "=", request.id)]).mapped("event_type")
        self.assertIn("restriction", events)
        self.assertIn("restriction_lifted", events)

    def test_consent_withdrawal_request(self):
        """A withdrawal request records withdrawals and keeps the lead out of calling."""
        self.env["crm.privacy.consent"]._record(self.lead, "marketing", "given", channel="email")
        request = self._new_request("withdrawal")
        request.action_find_matches()
        request.action_withdraw_consent()
        current = self.lead.privacy_consent_ids.filtered("is_current")
        self.assertEqual(set(current.mapped("status")), {"withdrawn"})
        self.assertTrue(self.lead.calling_blocked)
        self.assertEqual(request.state, "done")

    def test_closed_request_rejects_actions(self):
        """A rejected request cannot be erased afterwards."""
        request = self._new_request("erasure")
        request.action_reject()
        with self.assertRaisesRegex(UserError, "already closed"):
            request.action_erase()
        self.assertEqual(self.lead.contact_name, "Neha Kapoor")

    def test_requests_hidden_from_counsellors(self):
        """Counsellors can neither read nor act on requests."""
        request = self._new_request("erasure")
        with self.assertRaises(AccessError):
            request.with_user(self.counsellor_1).read(["requester_email"])
        with self.assertRaises(AccessError):
            request.with_user(self.counsellor_1).action_erase()
        with self.assertRaises(AccessError):
            self.env["crm.privacy.request"].with_user(self.counsellor_1).create({"request_type": "access"})

    def test_phone_too_short(self):
        """A phone number with too few digits is rejected with the number in the message."""
        request = self._new_request("access", requester_email=False, requester_phone="12345")
        with self.assertRaisesRegex(UserError, "12345"):
            request.action_find_matches()

    def test_reminder_before_due_date(self):
        """Open requests due within the reminder period get one to-do for their officer."""
        request = self._new_request("access", submission_date=fields.Datetime.now() - timedelta(days=25))
        done = self._new_request("access", submission_date=fields.Datetime.now() - timedelta(days=25))
        done.action_reject()
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")):
            self.env["crm.privacy.request"]._cron_remind_due_requests()
            self.env["crm.privacy.request"]._cron_remind_due_requests()
        self.assertEqual(len(request.activity_ids), 1)
        self.assertEqual(request.activity_ids.user_id, self.officer)
        self.assertEqual(request.activity_ids.date_deadline, request.due_date)
        self.assertFalse(done.activity_ids)

    def test_settings_due_days_and_alias(self):
        """The settings change the due date of new requests and the local part of the request alias."""
        settings = self.env["res.config.settings"].create({"privacy_request_due_days": 45, "privacy_alias_name": "dpo"})
        settings.execute()
        self.assertEqual(self.env.ref("ai_calling_crm_privacy.mail_alias_privacy_request").alias_name, "dpo")
        request = self._new_request("access")
        self.assertEqual(request.due_date, (request.submission_date + timedelta(days=45)).date())

    def test_privacy_lookup_by_phone(self):
        """Odoo's privacy lookup also lists leads whose phone number matches, whatever its format."""
        wizard = self.env["privacy.lookup.wizard"].create(
            {"name": "Nobody", "email": "nobody@example.org", "phone": "099887-66554"}
        )
        with mute_logger("odoo.models.unlink"):
            wizard.action_lookup()
        found = wizard.line_ids.filtered(lambda line: line.res_model == "crm.lead").mapped("res_id")
        self.assertIn(self.lead.id, found)
        self.assertNotIn(self.other_lead.id, found)
