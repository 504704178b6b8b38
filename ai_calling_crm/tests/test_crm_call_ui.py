from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_calls")
class TestCrmCallUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_counsellor = new_test_user(
            cls.env,
            login="test_aicc_ui_counsellor",
            groups="sales_team.group_sale_salesman",
            tz="Asia/Kolkata",
        )
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "B.Sc Nursing enquiry",
                "contact_name": "Kavya Menon",
                "phone": "+91 98450 12345",
                "type": "lead",
                "user_id": cls.user_counsellor.id,
            }
        )

    def test_log_call_from_lead_form(self):
        """A counsellor logs a call from the lead form dialog in the browser."""
        self.start_tour(f"/odoo/crm.lead/{self.lead.id}", "ai_calling_crm_log_call", login=self.user_counsellor.login)
        call = self.lead.call_ids
        self.assertEqual(len(call), 1)
        self.assertEqual(call.outcome_id, self.env.ref("ai_calling_crm.call_outcome_call_back"))
        self.assertEqual(call.notes, "माता-पिता से बात करके बताएंगे")
        self.assertEqual(call.phone_number, "+919845012345")
        self.assertTrue(self.lead.next_follow_up_at)

    def test_log_call_from_kanban_card(self):
        """A counsellor logs a call from the phone button of her pipeline card."""
        opportunity = self.env["crm.lead"].create(
            {
                "name": "Spoken English enquiry",
                "phone": "+91 99350 67890",
                "type": "opportunity",
                "user_id": self.user_counsellor.id,
            }
        )
        self.start_tour(
            "/odoo/action-crm.crm_lead_action_pipeline",
            "ai_calling_crm_log_call_kanban",
            login=self.user_counsellor.login,
        )
        self.assertEqual(opportunity.call_ids.outcome_id, self.env.ref("ai_calling_crm.call_outcome_no_answer"))

    def test_log_call_from_list_row(self):
        """A counsellor logs a call from the row button of the leads list."""
        lead = self.env["crm.lead"].create(
            {
                "name": "Data Science enquiry",
                "phone": "+91 90000 45678",
                "type": "lead",
                "user_id": self.user_counsellor.id,
            }
        )
        self.start_tour(
            "/odoo/action-crm.crm_lead_all_leads", "ai_calling_crm_log_call_list", login=self.user_counsellor.login
        )
        self.assertEqual(lead.call_ids.outcome_id, self.env.ref("ai_calling_crm.call_outcome_busy"))


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_calls")
class TestCrmCallUiMobile(TestCrmCallUi):
    """The form and kanban scenarios on a phone-sized touch screen, as in the Odoo mobile app.

    The leads list is left out: the mobile app opens leads as kanban cards.
    """

    browser_size = "375x667"
    touch_enabled = True

    def test_mobile_log_call_from_lead_form(self):
        """On a phone, the Log Call button stays visible in the lead form header."""
        self.test_log_call_from_lead_form()

    def test_mobile_log_call_from_kanban_card(self):
        """On a phone, the phone button of a pipeline card opens the dialog."""
        self.test_log_call_from_kanban_card()
