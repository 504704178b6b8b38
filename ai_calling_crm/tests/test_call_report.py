from ast import literal_eval
from datetime import datetime

from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from .common import AiCallingCrmCase


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_report")
class TestCallReport(AiCallingCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outcome_connected = cls.env.ref("ai_calling_crm.call_outcome_interested")
        cls.outcome_missed = cls.env.ref("ai_calling_crm.call_outcome_no_answer")
        cls.lead_1 = cls._create_lead(cls.user_counsellor_1)
        cls.lead_2 = cls._create_lead(cls.user_counsellor_2)
        # The database sets create_date to the real time; move it before the calls.
        cls.env.cr.execute(
            SQL(
                "UPDATE crm_lead SET create_date = %s WHERE id IN %s",
                datetime(2026, 3, 2, 4, 0),
                tuple((cls.lead_1 | cls.lead_2).ids),
            )
        )
        cls.env.invalidate_all()
        calls = [
            (cls.lead_1, cls.user_counsellor_1, cls.outcome_missed, datetime(2026, 3, 2, 5, 0)),
            (cls.lead_1, cls.user_counsellor_1, cls.outcome_connected, datetime(2026, 3, 2, 9, 0)),
            (cls.lead_2, cls.user_counsellor_2, cls.outcome_missed, datetime(2026, 3, 2, 7, 0)),
            (cls.lead_2, cls.user_counsellor_2, cls.outcome_missed, datetime(2026, 3, 3, 7, 0)),
        ]
        cls.calls = cls.env["crm.call"].create(
            [
                {"lead_id": lead.id, "user_id": user.id, "outcome_id": outcome.id, "call_start": start}
                for lead, user, outcome, start in calls
            ]
        )

    def test_connect_rate_per_counsellor(self):
        """Grouping calls by caller averages the connect rate into each caller's ratio."""
        groups = self.env["crm.call"]._read_group(
            [("id", "in", self.calls.ids)], ["user_id"], ["connect_rate:avg", "__count"]
        )
        rates = {user: (rate, count) for user, rate, count in groups}
        self.assertEqual(rates[self.user_counsellor_1], (50.0, 2))
        self.assertEqual(rates[self.user_counsellor_2], (0.0, 2))

    def test_calls_per_day_and_outcome(self):
        """Calls group by day, outcome and direction."""
        groups = self.env["crm.call"]._read_group(
            [("id", "in", self.calls.ids)], ["call_start:day", "outcome_id", "direction"], ["__count"]
        )
        counts = {(day.date().isoformat(), outcome, direction): count for day, outcome, direction, count in groups}
        self.assertEqual(counts[("2026-03-02", self.outcome_missed, "outbound")], 2)
        self.assertEqual(counts[("2026-03-02", self.outcome_connected, "outbound")], 1)
        self.assertEqual(counts[("2026-03-03", self.outcome_missed, "outbound")], 1)

    def test_time_to_first_call(self):
        """Time to first call averages per salesperson, in hours."""
        groups = self.env["crm.lead"]._read_group(
            [("id", "in", (self.lead_1 | self.lead_2).ids)], ["user_id"], ["time_to_first_call:avg"]
        )
        delays = dict(groups)
        self.assertAlmostEqual(delays[self.user_counsellor_1], 1.0)
        self.assertAlmostEqual(delays[self.user_counsellor_2], 3.0)

    def test_overdue_follow_ups_per_counsellor(self):
        """The overdue report lists open call follow-ups past their time, per counsellor."""
        with freeze_time("2026-03-04 10:00:00"):
            action = self.env["ir.actions.act_window"]._for_xml_id("ai_calling_crm.mail_activity_overdue_calls_action")
            domain = literal_eval(action["domain"])
            groups = self.env["mail.activity"]._read_group(
                domain + [("res_id", "in", (self.lead_1 | self.lead_2).ids)], ["user_id"], ["__count"]
            )
        counts = dict(groups)
        # Both leads got a follow-up from their last call; the connected one is due a day later.
        self.assertEqual(counts.get(self.user_counsellor_2), 1)
        self.assertEqual(counts.get(self.user_counsellor_1), 1)
        with freeze_time("2026-03-03 09:30:00"):
            overdue = self.env["mail.activity"].search(
                [("is_call_overdue", "=", True), ("res_id", "in", (self.lead_1 | self.lead_2).ids)]
            )
        self.assertEqual(overdue.user_id, self.user_counsellor_1, "only the earliest follow-up is overdue then")

    def test_report_views_load(self):
        """The pivot and graph views of the call analysis load."""
        for view_type in ("pivot", "graph", "kanban", "list", "form"):
            with self.subTest(view_type=view_type):
                self.env["crm.call"].with_user(self.user_counsellor_1).get_view(view_type=view_type)
        calendar = self.env.ref("ai_calling_crm.mail_activity_view_calendar_call_follow_ups")
        arch = self.env["mail.activity"].with_user(self.user_counsellor_1).get_view(calendar.id, "calendar")["arch"]
        self.assertIn('date_start="call_due_at"', arch)

    def test_lead_views_load(self):
        """The lead form, list and kanban views with the calling additions load for a counsellor."""
        for view_type in ("form", "list", "kanban"):
            with self.subTest(view_type=view_type):
                arch = self.env["crm.lead"].with_user(self.user_counsellor_1).get_view(view_type=view_type)["arch"]
                self.assertIn("action_log_call", arch)
