from odoo.tests import tagged
from odoo.tools import SQL

from .test_assignment_common import AssignmentCase


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_duplicate")
class TestDuplicates(AssignmentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.original = cls._create_leads(
            phone="+91 98765 43210",
            email_from="Priya.Sharma@Example.com",
            user_id=cls.counsellor_3.id,
            team_id=cls.team.id,
        )

    def test_phone_duplicate_routed(self):
        """The same number written differently marks a duplicate that goes to the original's counsellor."""
        lead = self._create_leads(phone="098765 43210")
        self.assertEqual(lead.phone_sanitized, self.original.phone_sanitized)
        self.assertEqual(lead.duplicate_of_id, self.original)
        self.assertEqual(lead.user_id, self.counsellor_3)
        self.assertEqual(lead.assignment_ids.method, "duplicate")
        self.assertEqual(self.original.duplicate_count, 1)
        action = self.original.action_view_duplicates()
        self.assertEqual(self.env["crm.lead"].search(action["domain"]), lead)

    def test_email_duplicate_routed(self):
        """The same email in another case and format marks a duplicate, without any phone match."""
        lead = self._create_leads(phone=False, email_from='"Priya" <priya.sharma@example.com>')
        self.assertEqual(lead.duplicate_of_id, self.original)
        self.assertEqual(lead.user_id, self.counsellor_3)

    def test_duplicate_of_duplicate(self):
        """A third lead for the same person points to the first lead, not to the second."""
        second = self._create_leads(phone="9876543210")
        third = self._create_leads(phone="+919876543210")
        self.assertEqual(second.duplicate_of_id, self.original)
        self.assertEqual(third.duplicate_of_id, self.original)

    def test_duplicates_in_one_batch(self):
        """Two new leads with the same number in one create: the second duplicates the first."""
        first, second = self.env["crm.lead"].create(
            [
                {
                    "name": "Form A",
                    "phone": "91234 56780",
                    "country_id": self.country_in.id,
                    "company_id": self.company.id,
                    "user_id": False,
                },
                {
                    "name": "Form B",
                    "phone": "+91 91234 56780",
                    "country_id": self.country_in.id,
                    "company_id": self.company.id,
                    "user_id": False,
                },
            ]
        )
        self.assertFalse(first.duplicate_of_id)
        self.assertEqual(second.duplicate_of_id, first)
        self.assertEqual(second.user_id, first.user_id)

    def test_closed_original_ignored(self):
        """Won, lost and archived leads are not originals: the new lead is assigned by rules."""
        self.original.action_set_lost()
        lead = self._create_leads(phone="9876543210")
        self.assertFalse(lead.duplicate_of_id)
        self.assertTrue(lead.user_id)

    def test_window(self):
        """Only leads created within the window count; 0 days turns detection off."""
        aged = self._create_leads(2, user_id=self.counsellor_1.id)
        aged.flush_recordset()
        # create_date comes from the transaction's time, which freezegun does not move: age the leads in SQL.
        self.env.cr.execute(
            SQL("UPDATE crm_lead SET create_date = create_date - INTERVAL '20 days' WHERE id IN %s", tuple(aged.ids))
        )
        aged.invalidate_recordset(["create_date"])
        within = self._create_leads(phone=aged[0].phone)
        self.env["ir.config_parameter"].set_param("ai_calling_crm.duplicate_window_days", 10)
        outside = self._create_leads(phone=aged[1].phone)
        self.env["ir.config_parameter"].set_param("ai_calling_crm.duplicate_window_days", 0)
        off = self._create_leads(phone=self.original.phone)
        self.assertEqual(within.duplicate_of_id, aged[0])
        self.assertEqual(within.user_id, self.counsellor_1)
        self.assertFalse(outside.duplicate_of_id)
        self.assertFalse(off.duplicate_of_id)

    def test_other_company_ignored(self):
        """A lead of another company with the same number is not an original."""
        other_company = self.env["res.company"].create({"name": "Other Institute", "country_id": self.country_in.id})
        lead = self._create_leads(phone="9876543210", company_id=other_company.id)
        self.assertFalse(lead.duplicate_of_id)

    def test_counsellor_creates_duplicate(self):
        """A counsellor who types in a lead another counsellor owns sees it go to that counsellor."""
        lead = (
            self.env["crm.lead"]
            .with_user(self.counsellor_1)
            .create(
                {
                    "name": "Walk-in",
                    "phone": "98765 43210",
                    "country_id": self.country_in.id,
                    "company_id": self.company.id,
                }
            )
        )
        self.assertEqual(lead.sudo().duplicate_of_id, self.original)
        self.assertEqual(lead.sudo().user_id, self.counsellor_3)
        history = lead.sudo().assignment_ids.sorted("id")
        self.assertEqual(history.mapped("method"), ["manual", "duplicate"])
        self.assertEqual(history[-1].previous_user_id, self.counsellor_1)

    def test_explicit_salesperson_kept(self):
        """A duplicate created for a chosen salesperson is linked but keeps that salesperson."""
        lead = self._create_leads(phone="9876543210", user_id=self.counsellor_2.id)
        self.assertEqual(lead.duplicate_of_id, self.original)
        self.assertEqual(lead.user_id, self.counsellor_2)

    def test_blocked_duplicate_not_routed(self):
        """A duplicate blocked from calling is linked but not given to anyone."""
        lead = self._create_leads(phone="9876543210", do_not_call=True)
        self.assertEqual(lead.duplicate_of_id, self.original)
        self.assertFalse(lead.user_id)

    def test_unparseable_phone(self):
        """A phone number that does not parse is no duplicate key and does not break creation."""
        lead = self._create_leads(phone="call me maybe")
        self.assertFalse(lead.phone_sanitized)
        self.assertFalse(lead.duplicate_of_id)
        self.assertTrue(lead.user_id)
