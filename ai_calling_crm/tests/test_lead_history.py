from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_assignment_common import AssignmentCase


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_history")
class TestLeadHistory(AssignmentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lead_1 = cls._create_leads(user_id=cls.counsellor_1.id, team_id=cls.team.id)
        cls.lead_2 = cls._create_leads(user_id=cls.counsellor_2.id, team_id=cls.team.id)

    def test_manual_change(self):
        """A manual change of salesperson logs previous and new user, the acting user and the cause."""
        self.lead_1.with_user(self.manager).user_id = self.counsellor_3
        line = self.lead_1.assignment_ids.sorted("id")[-1]
        self.assertEqual(line.previous_user_id, self.counsellor_1)
        self.assertEqual(line.user_id, self.counsellor_3)
        self.assertEqual(line.changed_by_id, self.manager)
        self.assertEqual(line.method, "manual")
        self.assertEqual(line.team_id, self.team)

    def test_unassign_and_same_user(self):
        """Clearing the salesperson is logged; writing the same salesperson again is not."""
        self.lead_1.user_id = self.counsellor_1
        self.assertEqual(len(self.lead_1.assignment_ids), 1)
        self.lead_1.user_id = False
        line = self.lead_1.assignment_ids.sorted("id")[-1]
        self.assertEqual(line.previous_user_id, self.counsellor_1)
        self.assertFalse(line.user_id)

    def test_import_cause(self):
        """Changes made by an import are labelled as such."""
        self.lead_1.with_context(import_file=True).write({"user_id": self.counsellor_2.id})
        self.assertEqual(self.lead_1.assignment_ids.sorted("id")[-1].method, "import")

    def test_read_only_for_users(self):
        """Nobody but the ORM writes history: counsellors and administrators cannot create, edit or delete lines."""
        line = self.lead_1.assignment_ids
        for user in (self.counsellor_1, self.manager):
            with self.assertRaises(AccessError):
                line.with_user(user).write({"reason": "edited"})
            with self.assertRaises(AccessError):
                line.with_user(user).unlink()
            with self.assertRaises(AccessError):
                self.env["crm.lead.assignment"].with_user(user).create({"lead_id": self.lead_1.id, "method": "manual"})

    def test_counsellor_sees_own(self):
        """A counsellor reads the history of her own leads only; the team leader reads her team's."""
        History = self.env["crm.lead.assignment"]
        own = History.with_user(self.counsellor_1).search([("lead_id", "in", (self.lead_1 | self.lead_2).ids)])
        self.assertEqual(own.lead_id, self.lead_1)
        led = History.with_user(self.leader).search([("lead_id", "in", (self.lead_1 | self.lead_2).ids)])
        self.assertEqual(led.lead_id, self.lead_1 | self.lead_2)

    def test_other_company_hidden(self):
        """Users who see all leads still do not see another company's history."""
        other_company = self.env["res.company"].create({"name": "Elsewhere"})
        self.manager.company_ids |= other_company
        other_lead = self.env["crm.lead"].create(
            {"name": "Elsewhere lead", "company_id": other_company.id, "user_id": self.manager.id}
        )
        self.assertTrue(other_lead.assignment_ids)
        self.assertFalse(
            self.env["crm.lead.assignment"]
            .with_user(self.manager)
            .with_context(allowed_company_ids=self.company.ids)
            .search([("lead_id", "=", other_lead.id)])
        )
