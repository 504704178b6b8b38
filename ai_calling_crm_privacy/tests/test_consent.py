from datetime import timedelta
from unittest.mock import patch

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.base.models.ir_cron import IrCron

from .common import PrivacyCommon


@tagged("post_install", "-at_install", "ai_calling_crm_privacy", "privacy_consent")
class TestConsent(PrivacyCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Consent = cls.env["crm.privacy.consent"]
        cls.lead = cls._create_lead(
            "Asha Verma", email="asha.verma@example.org", phone="+91 90000 11111", user=cls.counsellor_1
        )
        cls.lead_other = cls._create_lead("Ravi Menon", email="ravi.menon@example.org", user=cls.counsellor_2)

    def test_evidence_append_only(self):
        """Neither users nor the superuser can edit or delete a consent record."""
        consent = self.Consent._record(self.lead, "inquiry", "given", source="web_form", ip_address="198.51.100.4")
        with self.assertRaises(UserError):
            consent.write({"status": "withdrawn"})
        with self.assertRaises(UserError):
            consent.sudo().write({"ip_address": "198.51.100.5"})
        with self.assertRaises(UserError):
            consent.sudo().unlink()
        self.assertEqual(consent.status, "given")

    def test_withdrawal_blocks_calling(self):
        """A withdrawal of the inquiry purpose is a new record, keeps the history and blocks calling."""
        given = self.Consent._record(self.lead, "inquiry", "given", source="meta_lead_ad")
        self.assertTrue(self.lead._check_consent("inquiry"))
        self.assertFalse(self.lead.calling_blocked)
        withdrawn = self.Consent._record(self.lead, "inquiry", "withdrawn", source="call")
        self.assertEqual(self.lead.privacy_consent_ids, given | withdrawn)
        self.assertTrue(withdrawn.is_current)
        self.assertFalse(given.is_current)
        self.assertEqual(self.Consent.search([("lead_id", "=", self.lead.id), ("is_current", "=", True)]), withdrawn)
        self.assertTrue(self.lead.privacy_consent_blocked)
        self.assertTrue(self.lead.calling_blocked, "assignment and calling skip blocked leads")
        self.assertFalse(self.lead._check_consent("inquiry"))

    def test_explicit_purpose_and_expiry(self):
        """Marketing needs an explicit 'given' record, which stops counting once its validity has passed."""
        self.assertTrue(self.lead._check_consent("inquiry"), "the inquiry purpose applies until withdrawn")
        self.assertFalse(self.lead._check_consent("marketing"))
        self.Consent._record(self.lead, "marketing", "given", channel="email")
        self.assertTrue(self.lead._check_consent("marketing", "email"))
        self.assertFalse(self.lead._check_consent("marketing", "whatsapp"), "consent is per channel")
        later = fields.Datetime.now() + timedelta(days=731)
        with freeze_time(later):
            self.assertFalse(self.lead._check_consent("marketing", "email"))

    def test_check_consent_query_count(self):
        """A consent check costs a fixed, small number of queries, so calling code can run it per lead."""
        self.Consent._record(self.lead, "marketing", "given", channel="email")
        lead = self.lead.with_user(self.counsellor_1)
        self.env.invalidate_all()
        # 17 with a cold cache: the lead's record rules and flags, the purpose search and its company, the latest
        # consent search and its fields. The lead has no contact, so no contact check runs.
        with self.assertQueryCount(17):
            self.assertTrue(lead._check_consent("marketing", "email"))

    def test_expiry_cron_records_expired_state(self):
        """The expiry job appends an 'expired' record for consents past their validity."""
        self.Consent._record(self.lead, "marketing", "given", channel="email")
        with (
            freeze_time(fields.Datetime.now() + timedelta(days=731)),
            patch.object(IrCron, "_commit_progress", autospec=True, return_value=float("inf")),
        ):
            self.Consent._cron_expire_consents()
        current = self.lead.privacy_consent_ids.filtered("is_current")
        self.assertEqual(current.mapped("status"), ["expired"])

    def test_withdrawal_fills_blacklists(self):
        """Withdrawing marketing adds the lead's email and phone to Odoo's blacklists."""
        self.Consent._record(self.lead, "marketing", "withdrawn", channel="email")
        self.assertTrue(self.env["mail.blacklist"].search([("email", "=", "asha.verma@example.org")]))
        self.assertTrue(self.env["phone.blacklist"].search([("number", "=", "+919000011111")]))

    def test_unknown_purpose(self):
        """A consent check on a purpose code that does not exist raises an error naming the code."""
        with self.assertRaisesRegex(UserError, "no_such_purpose"):
            self.lead._check_consent("no_such_purpose")

    def test_counsellor_access(self):
        """Counsellors see consents of their own leads only, without the evidence fields, and cannot edit them."""
        mine = self.Consent._record(self.lead, "inquiry", "given", source="web_form", ip_address="198.51.100.4")
        theirs = self.Consent._record(self.lead_other, "inquiry", "given")
        consents = self.Consent.with_user(self.counsellor_1)
        self.assertEqual(consents.search([("id", "in", (mine | theirs).ids)]), mine)
        self.assertEqual(mine.with_user(self.counsellor_1).status, "given")
        with self.assertRaises(AccessError):
            mine.with_user(self.counsellor_1).read(["ip_address"])
        with self.assertRaises(AccessError):
            theirs.with_user(self.counsellor_1).read(["status"])
        with self.assertRaises(UserError):
            mine.with_user(self.counsellor_1).write({"status": "withdrawn"})
        verbal = consents._record(self.lead.with_user(self.counsellor_1), "call_recording", "given", source="call")
        self.assertEqual(verbal.user_id, self.counsellor_1)
        self.assertEqual(mine.with_user(self.officer).ip_address, "198.51.100.4")

    def test_counsellor_cannot_read_privacy_records(self):
        """Requests, erasure records and the audit log are hidden from counsellors."""
        for model_name in ("crm.privacy.request", "crm.privacy.erasure.record", "crm.privacy.audit.log"):
            with self.subTest(model=model_name), self.assertRaises(AccessError):
                self.env[model_name].with_user(self.counsellor_1).search([])

    def test_audit_log_on_consent_change(self):
        """Each consent change writes an audit entry with ids and codes only."""
        consent = self.Consent._record(self.lead, "inquiry", "withdrawn")
        log = self.env["crm.privacy.audit.log"].search([("res_model", "=", consent._name), ("res_id", "=", consent.id)])
        self.assertEqual(log.event_type, "consent")
        self.assertEqual(log.details, {"status": "withdrawn", "purpose": "inquiry", "channel": "any"})
        with self.assertRaises(UserError):
            log.write({"record_count": 5})
        with self.assertRaises(UserError):
            log.unlink()
        with self.assertRaises(UserError):
            self.env["crm.privacy.audit.log"].with_user(self.officer).create({"event_type": "export"})

    def test_meta_disclaimer_consent(self):
        """Checked lead ad disclaimer boxes become consent records when the Meta connector is installed."""
        if "meta_disclaimer_responses" not in self.env["crm.lead"]._fields:
            self.skipTest("ai_calling_crm_meta is not installed")
        self.env.ref("ai_calling_crm_privacy.privacy_purpose_marketing").meta_checkbox_key = "marketing_optin"
        lead = self._create_lead(
            "Meta Lead",
            meta_disclaimer_responses=[
                {"checkbox_key": "marketing_optin", "is_checked": "1"},
                {"checkbox_key": "unmapped", "is_checked": "1"},
            ],
        )
        self.assertEqual(lead.privacy_consent_ids.mapped("purpose_code"), ["marketing"])
        self.assertEqual(lead.privacy_consent_ids.source, "meta_lead_ad")
        self.assertEqual(lead.privacy_consent_ids.meta_checkbox_key, "marketing_optin")


@tagged("post_install", "-at_install", "ai_calling_crm_privacy", "privacy_minor")
class TestMinors(PrivacyCommon):
    def test_minor_blocked_until_guardian_consent(self):
        """A lead under 18 is kept out of calling and marketing until a guardian's consent is recorded."""
        birth = fields.Date.today() - relativedelta(years=16)
        lead = self._create_lead("Young Student", email="young.student@example.org", date_of_birth=birth)
        self.assertTrue(lead.privacy_is_minor)
        self.assertTrue(lead.calling_blocked)
        self.assertFalse(lead._check_consent("inquiry"))
        self.env["crm.privacy.consent"]._record(lead, "inquiry", "given", is_guardian_consent=True)
        self.assertTrue(lead.privacy_guardian_consent)
        self.assertFalse(lead.calling_blocked)
        self.assertTrue(lead._check_consent("inquiry"))

    def test_adult_not_blocked(self):
        """A lead of 18 or more is not flagged."""
        birth = fields.Date.today() - relativedelta(years=19)
        lead = self._create_lead("Adult Student", date_of_birth=birth)
        self.assertFalse(lead.privacy_is_minor)
        self.assertFalse(lead.calling_blocked)

    def test_minor_rule_disabled(self):
        """With the minors rule switched off, a minor is flagged but not blocked."""
        self.env["ir.config_parameter"].set_param("ai_calling_crm_privacy.block_minors", "False")
        birth = fields.Date.today() - relativedelta(years=15)
        lead = self._create_lead("Another Student", date_of_birth=birth)
        self.assertTrue(lead.privacy_is_minor)
        self.assertFalse(lead.calling_blocked)

    def test_minor_flag_refresh(self):
        """The daily job clears the minor flag once the lead turns 18."""
        birth = fields.Date.today() - relativedelta(years=17)
        lead = self._create_lead("Almost Adult", date_of_birth=birth)
        with freeze_time(fields.Date.today() + timedelta(days=366)):
            self.env["crm.lead"]._cron_refresh_minor_flags()
        self.assertFalse(lead.privacy_is_minor)
