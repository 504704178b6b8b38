from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import IrCron

from .common import PrivacyCommon


@tagged("post_install", "-at_install", "ai_calling_crm_privacy", "privacy_retention")
class TestRetention(PrivacyCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Policy = cls.env["crm.privacy.retention.policy"]
        cls.lost_leads = cls.env["crm.lead"]
        for index in range(5):
            lead = cls._create_lead(f"Lost Lead {index}", email=f"lost{index}@example.org")
            lead.message_post(body=f"Old note {index}")
            cls.lost_leads |= lead
        cls.lost_leads.action_set_lost()
        cls.held_lead = cls._create_lead("Held Lead", email="held@example.org", privacy_legal_hold=True)
        cls.held_lead.action_set_lost()
        cls.recent_lead = cls._create_lead("Recent Lead", email="recent@example.org")
        cls.recent_lead.action_set_lost()
        cls.env.flush_all()
        cls._age(cls.lost_leads | cls.held_lead, days=400)
        cls.policy = cls.Policy.create({"name": "Lost leads after a year", "target": "lead_lost", "days": 365})
        # Policies shipped inactive or created by other tests must not run here.
        cls.Policy.search([("id", "!=", cls.policy.id)]).active = False

    @classmethod
    def _age(cls, leads, days):
        # write_date is set by the ORM on every write, so only SQL can move it back in time.
        cls.env.cr.execute(
            SQL(
                "UPDATE crm_lead SET write_date = now() at time zone 'UTC' - %s * interval '1 day' WHERE id IN %s",
                days,
                tuple(leads.ids),
            )
        )
        leads.invalidate_recordset(["write_date"])

    def test_preview_lists_matching_leads(self):
        """The preview shows old lost leads and leaves out leads on legal hold and recent ones."""
        action = self.policy.with_user(self.officer).action_preview()
        matching = self.env["crm.lead"].with_context(active_test=False).search(action["domain"])
        self.assertEqual(matching, self.lost_leads)

    def test_run_in_batches(self):
        """The job anonymises in batches that each commit their progress, with an audit entry of the total."""
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")) as commit:
            self.Policy._cron_apply_retention(batch_size=2)
        batch_calls = [call for call in commit.call_args_list if len(call.args) > 1]
        self.assertEqual([call.args[1] for call in batch_calls], [2, 2, 1])
        self.assertEqual(batch_calls[-1].kwargs["remaining"], 0)
        self.assertTrue(all(self.lost_leads.mapped("privacy_erased")))
        self.assertEqual(set(self.lost_leads.mapped("contact_name")), {False})
        self.assertFalse(self.lost_leads.message_ids, "chatter of anonymised leads is deleted")
        self.assertEqual(self.held_lead.contact_name, "Held Lead")
        self.assertEqual(self.recent_lead.contact_name, "Recent Lead")
        log = self.env["crm.privacy.audit.log"].search([("event_type", "=", "retention")])
        self.assertEqual(log.record_count, 5)
        self.assertEqual(self.policy.last_run_count, 5)

    def test_resume_after_interruption(self):
        """When the cron's time runs out the job stops, and the next run processes only what is left."""
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=0):
            self.Policy._cron_apply_retention(batch_size=2)
        self.assertEqual(len(self.lost_leads.filtered("privacy_erased")), 2)
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")):
            self.Policy._cron_apply_retention(batch_size=2)
        self.assertTrue(all(self.lost_leads.mapped("privacy_erased")))
        self.assertEqual(self.policy.last_run_count, 3)

    def test_scheduled_job(self):
        """The scheduled action runs the policies with real progress commits."""
        cron = self.env.ref("ai_calling_crm_privacy.ir_cron_privacy_retention")
        with self.enter_registry_test_mode():
            cron.method_direct_trigger()
        self.assertTrue(all(self.lost_leads.mapped("privacy_erased")))

    def test_delete_action(self):
        """A delete policy removes the matching leads."""
        self.policy.action = "delete"
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")):
            self.Policy._cron_apply_retention(batch_size=10)
        self.assertFalse(self.lost_leads.exists())
        self.assertTrue(self.held_lead.exists())

    def test_archive_rules(self):
        """Archiving applies only to leads that are still active."""
        with self.assertRaises(ValidationError):
            self.Policy.create({"name": "Archive archived", "target": "lead_archived", "days": 30, "action": "archive"})

    def test_call_recordings(self):
        """Old call recordings are deleted while the call itself stays."""
        lead = self._create_lead("Caller", email="caller@example.org")
        recording = self.env["ir.attachment"].create({"name": "rec.mp3", "raw": b"audio"})
        call = self.env["crm.call"].create(
            {
                "lead_id": lead.id,
                "call_start": fields.Datetime.now() - timedelta(days=200),
                "recording_attachment_id": recording.id,
                "recording_url": "https://pbx.test/rec/1",
            }
        )
        self.Policy.create({"name": "Recordings", "target": "call_recording", "days": 180, "action": "delete"})
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")):
            self.Policy._cron_apply_retention()
        self.assertTrue(call.exists())
        self.assertFalse(recording.exists())
        self.assertFalse(call.recording_url)

    def test_meta_payloads(self):
        """Old raw Meta payloads are cleared by an anonymising policy while recent ones stay."""
        if "crm.meta.lead.event" not in self.env:
            self.skipTest("ai_calling_crm_meta is not installed")
        events = self.env["crm.meta.lead.event"].create(
            [
                {"leadgen_id": "7001", "raw_payload": '{"email": "old@example.org"}'},
                {"leadgen_id": "7002", "raw_payload": '{"email": "new@example.org"}'},
            ]
        )
        self.env.cr.execute(
            SQL("UPDATE crm_meta_lead_event SET create_date = now() - interval '100 days' WHERE id = %s", events[0].id)
        )
        events.invalidate_recordset(["create_date"])
        self.Policy.create({"name": "Payloads", "target": "meta_payload", "days": 90, "action": "anonymise"})
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")):
            self.Policy._cron_apply_retention()
        self.assertFalse(events[0].raw_payload)
        self.assertEqual(events[1].raw_payload, '{"email": "new@example.org"}')

    def test_audit_log_kept_a_year(self):
        """Audit entries younger than a year survive both users and retention policies."""
        with self.assertRaises(ValidationError):
            self.Policy.create({"name": "Audit", "target": "audit_log", "days": 90, "action": "delete"})
        entry = self.env["crm.privacy.audit.log"]._log("export", self.recent_lead)
        with self.assertRaises(UserError):
            entry.sudo().unlink()
        self.Policy.create({"name": "Audit", "target": "audit_log", "days": 365, "action": "delete"})
        with patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")):
            self.Policy._cron_apply_retention()
        self.assertTrue(entry.exists())
        with (
            freeze_time(fields.Datetime.now() + timedelta(days=400)),
            patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")),
        ):
            self.Policy._cron_apply_retention()
        self.assertFalse(entry.exists())
