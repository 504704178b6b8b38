from collections import defaultdict

from odoo.tests import tagged
from odoo.tools import SQL

from .common import PrivacyCommon

ERASED_NAME = "Zephyrine Quorvath"
ERASED_EMAIL = "zephyrine.quorvath@example.org"
ERASED_PHONE = "+91 98765 43210"
ERASED_DIGITS = "9876543210"
KEPT_NAME = "Balthazar Ormsby"
KEPT_EMAIL = "balthazar.ormsby@example.net"
KEPT_PHONE = "+91 91234 56780"

# The column types PostgreSQL uses for Odoo's char, text, html, selection, json and translated fields.
TEXT_COLUMN_TYPES = ("character varying", "text", "jsonb", "character")


def scan_database(cr, needles, digits):
    """Return ``{(table, column): row count}`` of text columns holding any needle or the digit sequence.

    Needles are compared case-insensitively as substrings; ``digits`` is compared after removing every non-digit
    character from the value, so any phone formatting is found.
    """
    cr.execute(
        SQL(
            """SELECT c.table_name, c.column_name
                 FROM information_schema.columns c
                 JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.data_type IN %s
             ORDER BY c.table_name, c.column_name""",
            TEXT_COLUMN_TYPES,
        )
    )
    columns_by_table = defaultdict(list)
    for table, column in cr.fetchall():
        columns_by_table[table].append(column)
    patterns = [f"%{needle}%" for needle in needles]
    hits = {}
    for table, columns in columns_by_table.items():
        for column in columns:
            value = SQL("%s::text", SQL.identifier(column))
            cr.execute(
                SQL(
                    "SELECT count(*) FROM %s WHERE %s ILIKE ANY(%s) OR regexp_replace(%s, '[^0-9]', '', 'g') LIKE %s",
                    SQL.identifier(table),
                    value,
                    patterns,
                    value,
                    f"%{digits}%",
                )
            )
            count = cr.fetchone()[0]
            if count:
                hits[(table, column)] = count
    return hits


@tagged("post_install", "-at_install", "ai_calling_crm_privacy", "privacy_erasure")
class TestErasureCompleteness(PrivacyCommon):
    """Erase a person with several leads, calls, messages and files, then scan every text column for them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.partner = env["res.partner"].create(
            {"name": ERASED_NAME, "email": ERASED_EMAIL, "phone": ERASED_PHONE, "company_id": cls.company.id}
        )
        cls.other_partner = env["res.partner"].create(
            {"name": KEPT_NAME, "email": KEPT_EMAIL, "phone": KEPT_PHONE, "company_id": cls.company.id}
        )
        # Three leads found three ways: through the contact, by email only, by phone only.
        cls.lead_partner = cls._create_lead(ERASED_NAME, user=cls.counsellor_1, partner_id=cls.partner.id)
        cls.lead_email = cls._create_lead(ERASED_NAME, email=ERASED_EMAIL.upper(), user=cls.counsellor_1)
        cls.lead_phone = cls._create_lead(
            ERASED_NAME, phone="098765 43210", user=cls.counsellor_2, second_phone="98765-43210"
        )
        cls.erased_leads = cls.lead_partner | cls.lead_email | cls.lead_phone
        cls.other_lead = cls._create_lead(
            KEPT_NAME, email=KEPT_EMAIL, phone=KEPT_PHONE, user=cls.counsellor_1, description="Asked about B.Sc."
        )

    def _populate_person(self):
        env = self.env
        lead = self.lead_partner
        lead.write({"description": f"<p>{ERASED_NAME} asked about fees, write to {ERASED_EMAIL}</p>"})
        env["crm.lead.form.answer"].create(
            [
                {"lead_id": lead.id, "question_key": "full_name", "question_label": "Name", "answer": ERASED_NAME},
                {"lead_id": lead.id, "question_key": "phone_number", "answer": ERASED_PHONE},
            ]
        )
        for erased_lead in self.erased_leads:
            erased_lead.message_post(body=f"Spoke with {ERASED_NAME} on {ERASED_PHONE}", subject=ERASED_NAME)
        lead.message_post(
            body="Reply from the student", email_from=f'"{ERASED_NAME}" <{ERASED_EMAIL}>', message_type="email"
        )
        calls = env["crm.call"].create(
            [
                {"lead_id": lead.id, "phone_number": ERASED_PHONE, "notes": f"{ERASED_NAME} wants a callback"},
                {"lead_id": self.lead_phone.id, "notes": "No answer", "recording_url": "https://pbx.test/rec/42"},
            ]
        )
        recording = env["ir.attachment"].create(
            {
                "name": f"{ERASED_NAME} call.txt",
                "raw": f"Transcript: {ERASED_NAME} {ERASED_EMAIL}".encode(),
                "mimetype": "text/plain",
                "res_model": "crm.call",
                "res_id": calls[0].id,
            }
        )
        calls[0].recording_attachment_id = recording
        env["ir.attachment"].create(
            {
                "name": f"{ERASED_NAME} marksheet.txt",
                "raw": f"Marksheet of {ERASED_NAME}".encode(),
                "mimetype": "text/plain",
                "res_model": "crm.lead",
                "res_id": lead.id,
            }
        )
        lead.activity_schedule("mail.mail_activity_data_todo", summary=f"Call {ERASED_NAME} back", note=ERASED_PHONE)
        env["mail.mail"].create(
            {"email_to": ERASED_EMAIL, "subject": "Your brochure", "body_html": f"<p>Dear {ERASED_NAME}</p>"}
        )
        env["crm.privacy.consent"]._record(
            lead, "marketing", "given", channel="email", source="web_form", ip_address="203.0.113.7"
        )
        env["mail.blacklist"]._add(ERASED_EMAIL)
        env["phone.blacklist"]._add(["+919876543210"])
        # The other person's lead once pointed at the erased contact: its tracking keeps the contact's name.
        self.other_lead.partner_id = self.partner
        self._flush_tracking()
        self.other_lead.partner_id = self.other_partner
        self.other_lead.message_post(body=f"Note by {KEPT_NAME}", email_from=ERASED_EMAIL, message_type="email")
        self.other_lead.message_post(body=f"Kept note about {KEPT_NAME}")
        self._flush_tracking()

    def _flush_tracking(self):
        # Tracking values and bus notifications are written by precommit hooks, which tests do not run on their own.
        self.env.flush_all()
        self.env.cr.precommit.run()

    def test_erasure_leaves_no_trace(self):
        """After the erasure no text column contains the person's name, email or phone; the other person is intact."""
        self._populate_person()
        request = (
            self.env["crm.privacy.request"]
            .with_user(self.officer)
            .create(
                {
                    "request_type": "erasure",
                    "requester_name": ERASED_NAME,
                    "requester_email": ERASED_EMAIL,
                    "requester_phone": ERASED_PHONE,
                    "description": f"Please delete everything about {ERASED_NAME}",
                }
            )
        )
        request.message_post(body=f"Email from {ERASED_NAME} <{ERASED_EMAIL}>")
        request.action_find_matches()
        matched_leads = request.match_ids.filtered(lambda line: line.res_model == "crm.lead").mapped("res_id")
        self.assertEqual(set(matched_leads), set(self.erased_leads.ids))
        self.assertNotIn(self.other_lead.id, matched_leads)
        request.action_export()
        self.assertTrue(request.export_attachment_id)

        before = scan_database(self.env.cr, [ERASED_NAME, ERASED_EMAIL], ERASED_DIGITS)
        self.assertIn(("crm_lead", "contact_name"), before, "the scan must see the data before the erasure")

        request.action_erase()
        self._flush_tracking()

        hits = scan_database(self.env.cr, [ERASED_NAME, ERASED_EMAIL, "Quorvath"], ERASED_DIGITS)
        self.assertEqual(hits, {}, "columns still holding the erased person's data")
        self.assertEqual(request.state, "done")
        self.assertTrue(request.erasure_record_id.email_hash)
        self.assertTrue(all(self.erased_leads.mapped("privacy_erased")))
        self.assertTrue(all(self.erased_leads.mapped("calling_blocked")))

        kept = scan_database(self.env.cr, [KEPT_NAME, KEPT_EMAIL], "9123456780")
        self.assertEqual(self.other_partner.name, KEPT_NAME)
        self.assertEqual(self.other_partner.email, KEPT_EMAIL)
        self.assertEqual(self.other_lead.contact_name, KEPT_NAME)
        self.assertEqual(self.other_lead.partner_id, self.other_partner)
        self.assertIn(("crm_lead", "contact_name"), kept)
        self.assertIn(("res_partner", "name"), kept)
        bodies = self.other_lead.message_ids.mapped("body")
        self.assertTrue(any(f"Kept note about {KEPT_NAME}" in body for body in bodies))

    def test_erasure_record_and_audit(self):
        """The erasure record keeps keyed hashes and counts, and the audit log contains counts without identifiers."""
        request = (
            self.env["crm.privacy.request"]
            .with_user(self.officer)
            .create({"request_type": "erasure", "requester_email": ERASED_EMAIL})
        )
        request.action_find_matches()
        request.action_erase()
        record = request.erasure_record_id
        expected_hash = record._hash_identifier("email", ERASED_EMAIL.upper())
        self.assertEqual(record.email_hash, expected_hash, "hashes use the normalised email")
        self.assertNotIn(ERASED_EMAIL, str(record.read()))
        self.assertEqual(record.counts["crm.lead"], 2, "the contact's lead and the email lead")
        log = self.env["crm.privacy.audit.log"].search([("event_type", "=", "erasure"), ("res_id", "=", request.id)])
        self.assertEqual(len(log), 1)
        self.assertEqual(log.user_id, self.officer)
        self.assertNotIn(ERASED_EMAIL, str(log.details))
        self.assertFalse(request.requester_email, "the request forgets the requester too")

    def test_erasure_delete_mode(self):
        """With the delete mode, erased leads are removed instead of anonymised."""
        self.env["ir.config_parameter"].set_param("ai_calling_crm_privacy.erasure_mode", "delete")
        request = (
            self.env["crm.privacy.request"]
            .with_user(self.officer)
            .create({"request_type": "erasure", "requester_phone": "9876543210"})
        )
        request.action_find_matches()
        request.action_erase()
        self.assertFalse(self.lead_phone.exists())
        self.assertTrue(self.other_lead.exists())
        self.assertEqual(request.erasure_record_id.mode, "delete")

    def test_excluded_match_is_kept(self):
        """A lead the officer excludes from the matches keeps its data."""
        request = (
            self.env["crm.privacy.request"]
            .with_user(self.officer)
            .create({"request_type": "erasure", "requester_email": ERASED_EMAIL})
        )
        request.action_find_matches()
        line = request.match_ids.filtered(lambda m: m.res_model == "crm.lead" and m.res_id == self.lead_email.id)
        line.excluded = True
        request.action_erase()
        self.assertEqual(self.lead_email.contact_name, ERASED_NAME)
        self.assertTrue(self.lead_partner.privacy_erased)

    def test_meta_events_erased(self):
        """Raw Meta webhook events of the person's leads are deleted when the Meta connector is installed."""
        if "crm.meta.lead.event" not in self.env:
            self.skipTest("ai_calling_crm_meta is not installed")
        event = self.env["crm.meta.lead.event"].create(
            {"leadgen_id": "9988776655", "lead_id": self.lead_email.id, "raw_payload": f'{{"email": "{ERASED_EMAIL}"}}'}
        )
        request = (
            self.env["crm.privacy.request"]
            .with_user(self.officer)
            .create({"request_type": "erasure", "requester_email": ERASED_EMAIL})
        )
        request.action_find_matches()
        request.action_erase()
        self.assertFalse(event.exists())
