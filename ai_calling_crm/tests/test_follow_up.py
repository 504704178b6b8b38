import json
from datetime import date, datetime

from odoo.tests import freeze_time, tagged

from .common import AiCallingCrmCase


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_follow_up")
class TestFollowUp(AiCallingCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lead = cls._create_lead(cls.user_counsellor_1)
        cls.call_type = cls.env.ref("mail.mail_activity_data_call")
        cls.notify_cron = cls.env.ref("ai_calling_crm.ir_cron_notify_call_follow_ups")
        cls.escalate_cron = cls.env.ref("ai_calling_crm.ir_cron_escalate_call_follow_ups")

    def _run_cron(self, cron):
        # The cron runs in its own cursor; test mode makes it share the test transaction.
        with self.enter_registry_test_mode():
            cron.method_direct_trigger()

    def _inbox_messages(self, user, lead=None):
        """Return the reminders and escalations in the inbox of ``user`` about ``lead``."""
        notifications = self.env["mail.notification"].search(
            [
                ("res_partner_id", "=", user.partner_id.id),
                ("notification_type", "=", "inbox"),
                ("mail_message_id.model", "=", "crm.lead"),
                ("mail_message_id.res_id", "=", (lead or self.lead).id),
            ]
        )
        return notifications.mail_message_id.filtered(
            lambda message: message.subject and message.subject.startswith(("Call ", "Overdue call"))
        )

    def test_schedule_creates_call_activity(self):
        """A follow-up is a "Call" activity for the lead's salesperson at the given time."""
        # 12:00 UTC is 17:30 in Asia/Kolkata, the counsellor's time zone.
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0), summary="Call back at 17:30")
        self.assertEqual(activity.activity_type_id, self.call_type)
        self.assertEqual(activity.user_id, self.user_counsellor_1)
        self.assertEqual(activity.res_id, self.lead.id)
        self.assertEqual(activity.call_due_at, datetime(2026, 3, 2, 12, 0))
        self.assertEqual(activity.date_deadline, date(2026, 3, 2))
        self.assertEqual(activity.summary, "Call back at 17:30")
        self.assertEqual(self.lead.next_follow_up_at, datetime(2026, 3, 2, 12, 0))

    def test_deadline_in_user_time_zone(self):
        """A call due at 20:00 UTC falls on the next day in India."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 20, 0))
        self.assertEqual(activity.date_deadline, date(2026, 3, 3))

    def test_schedule_moves_single_activity(self):
        """Scheduling again moves the open follow-up instead of adding a second one."""
        first = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        first.call_notified = True
        second = self.lead._schedule_call_follow_up(datetime(2026, 3, 4, 6, 0), user=self.user_counsellor_2)
        self.assertEqual(first, second)
        self.assertEqual(len(self.lead.activity_ids), 1)
        self.assertEqual(second.user_id, self.user_counsellor_2)
        self.assertEqual(second.date_deadline, date(2026, 3, 4))
        self.assertFalse(second.call_notified, "a moved follow-up is notified again")
        self.assertEqual(self.lead.next_follow_up_at, datetime(2026, 3, 4, 6, 0))

    def test_schedule_default_user(self):
        """An unassigned lead's follow-up goes to the current user."""
        lead = self._create_lead()
        lead.user_id = False
        activity = lead.with_user(self.user_counsellor_2)._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        self.assertEqual(activity.user_id, self.user_counsellor_2)

    def test_schedule_triggers_crons(self):
        """Scheduling wakes the reminder cron at the due time and the escalation cron after the grace."""
        self.env["ir.config_parameter"].set_param("ai_calling_crm.follow_up_escalation_minutes", "45")
        self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "in", (self.notify_cron | self.escalate_cron).ids)])
        planned = [(trigger.cron_id, trigger.call_at) for trigger in triggers]
        self.assertIn((self.notify_cron, datetime(2026, 3, 2, 12, 0)), planned)
        self.assertIn((self.escalate_cron, datetime(2026, 3, 2, 12, 45)), planned)

    def test_cron_triggers_per_minute(self):
        """Follow-ups due within the same minute share one trigger, never earlier than their time."""
        lead_2 = self._create_lead(self.user_counsellor_2)
        self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0, 10))
        lead_2._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0, 40))
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", self.notify_cron.id)])
        self.assertEqual(triggers.mapped("call_at"), [datetime(2026, 3, 2, 12, 1)] * 2)
        activities = self.env["mail.activity"].search([("res_id", "in", (self.lead | lead_2).ids)])
        activities.write({"date_deadline": date(2026, 3, 6)})
        new_triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", self.notify_cron.id)]) - triggers
        self.assertEqual(new_triggers.mapped("call_at"), [datetime(2026, 3, 6, 12, 1)])

    def test_logging_call_closes_follow_up(self):
        """Logging a call marks the open follow-up done with the outcome and notes as feedback."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        outcome = self.env.ref("ai_calling_crm.call_outcome_interested")
        outcome.schedule_follow_up = False
        self.env["crm.call"].with_user(self.user_counsellor_1).create(
            {"lead_id": self.lead.id, "outcome_id": outcome.id, "notes": "Will visit the campus"}
        )
        self.assertFalse(activity.active)
        self.assertIn("Will visit the campus", activity.feedback)
        self.assertFalse(self.lead.activity_ids)
        self.assertFalse(self.lead.next_follow_up_at)
        done_message = self.lead.message_ids.filtered(lambda message: message.mail_activity_type_id == self.call_type)
        self.assertTrue(done_message)

    def test_activity_done_clears_next_follow_up(self):
        """Marking the follow-up done by hand also clears the lead's next follow-up."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        activity.action_done()
        self.assertFalse(self.lead.next_follow_up_at)

    def test_activity_popup_time(self):
        """A call activity created from the activity dialog with a time feeds the lead's next follow-up."""
        activity = self.env["mail.activity"].create(
            {
                "activity_type_id": self.call_type.id,
                "res_model_id": self.env["ir.model"]._get_id("crm.lead"),
                "res_id": self.lead.id,
                "user_id": self.user_counsellor_1.id,
                "call_due_at": datetime(2026, 3, 5, 4, 0),
            }
        )
        self.assertEqual(activity.date_deadline, date(2026, 3, 5))
        self.assertEqual(self.lead.next_follow_up_at, datetime(2026, 3, 5, 4, 0))
        activity.unlink()
        self.assertFalse(self.lead.next_follow_up_at)

    def test_wizard_prefills_follow_up(self):
        """The dialog proposes the next follow-up from the outcome, and an emptied one plans nothing."""
        with freeze_time("2026-03-02 06:00:00"):
            wizard = self.env["crm.call.log.wizard"].create(
                {"lead_id": self.lead.id, "outcome_id": self.env.ref("ai_calling_crm.call_outcome_busy").id}
            )
            self.assertEqual(wizard.next_follow_up_at, datetime(2026, 3, 2, 6, 30))
            wizard.next_follow_up_at = False
            wizard.action_log_call()
        self.assertEqual(self.lead.call_count, 1)
        self.assertFalse(self.lead.activity_ids)

    def test_wizard_custom_follow_up(self):
        """A follow-up time chosen in the dialog wins over the outcome's delay."""
        wizard = self.env["crm.call.log.wizard"].create(
            {
                "lead_id": self.lead.id,
                "outcome_id": self.env.ref("ai_calling_crm.call_outcome_call_back").id,
                "notes": "Call back today at 17:30",
            }
        )
        wizard.next_follow_up_at = datetime(2026, 3, 2, 12, 0)
        wizard.action_log_call()
        self.assertEqual(self.lead.next_follow_up_at, datetime(2026, 3, 2, 12, 0))
        self.assertEqual(self.lead.activity_ids.call_due_at, datetime(2026, 3, 2, 12, 0))

    def test_notification_at_due_time(self):
        """The counsellor gets one inbox notification when the call is due, not before and not twice."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        with freeze_time("2026-03-02 11:59:00"):
            self._run_cron(self.notify_cron)
        self.assertFalse(activity.call_notified)
        self.assertFalse(self._inbox_messages(self.user_counsellor_1))
        with freeze_time("2026-03-02 12:00:30"):
            self._run_cron(self.notify_cron)
            self._run_cron(self.notify_cron)
        self.assertTrue(activity.call_notified)
        messages = self._inbox_messages(self.user_counsellor_1)
        self.assertEqual(len(messages), 1)
        self.assertIn("17:30", messages.body, "the time is shown in the counsellor's time zone")
        popups = self.env["bus.bus"].search([("message", "like", "simple_notification")])
        popups = popups.filtered(lambda popup: "Call Enquiry now" in popup.message)
        self.assertEqual(len(popups), 1, "one pop-up for open web client and mobile app sessions")
        self.assertEqual(json.loads(popups.channel)[1:], ["res.partner", self.user_counsellor_1.partner_id.id])

    def test_escalation_once(self):
        """An overdue follow-up is escalated to the team leader once, after the grace period."""
        self.env["ir.config_parameter"].set_param("ai_calling_crm.follow_up_escalation_minutes", "30")
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        with freeze_time("2026-03-02 12:20:00"):
            self._run_cron(self.escalate_cron)
        self.assertFalse(activity.call_escalated)
        with freeze_time("2026-03-02 12:31:00"):
            self._run_cron(self.escalate_cron)
        self.assertTrue(activity.call_escalated)
        self.assertEqual(len(self._inbox_messages(self.user_leader)), 1)
        popups = self.env["bus.bus"].search(
            [("message", "like", "simple_notification"), ("message", "like", "Overdue call: Enquiry")]
        )
        self.assertEqual(json.loads(popups.channel)[1:], ["res.partner", self.user_leader.partner_id.id])
        with freeze_time("2026-03-02 13:31:00"):
            self._run_cron(self.escalate_cron)
        self.assertEqual(len(self._inbox_messages(self.user_leader)), 1, "escalated only once")

    def test_escalation_after_move(self):
        """Moving an escalated follow-up allows a new escalation at the new time."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        with freeze_time("2026-03-02 13:00:00"):
            self._run_cron(self.escalate_cron)
        self.lead._schedule_call_follow_up(datetime(2026, 3, 3, 12, 0))
        self.assertFalse(activity.call_escalated)
        with freeze_time("2026-03-03 13:00:00"):
            self._run_cron(self.escalate_cron)
        self.assertEqual(len(self._inbox_messages(self.user_leader)), 2)

    def test_escalation_skips_leader_own_follow_up(self):
        """A follow-up assigned to the team leader is flagged without notifying her."""
        lead = self._create_lead(self.user_leader)
        activity = lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        with freeze_time("2026-03-02 14:00:00"):
            self._run_cron(self.escalate_cron)
        self.assertTrue(activity.call_escalated)
        self.assertFalse(self._inbox_messages(self.user_leader, lead=lead))

    def test_done_follow_up_not_escalated(self):
        """A follow-up closed by logging the call is neither notified nor escalated."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        self.env["crm.call"].create({"lead_id": self.lead.id})
        with freeze_time("2026-03-02 14:00:00"):
            self._run_cron(self.notify_cron)
            self._run_cron(self.escalate_cron)
        self.assertFalse(activity.call_notified)
        self.assertFalse(activity.call_escalated)
        self.assertFalse(self._inbox_messages(self.user_leader))

    def test_settings_grace_period(self):
        """The settings page stores the escalation grace period in the system parameter."""
        settings = self.env["res.config.settings"].create({"call_follow_up_escalation_minutes": 90})
        settings.execute()
        self.assertEqual(self.env["ir.config_parameter"].get_param("ai_calling_crm.follow_up_escalation_minutes"), "90")
        self.assertEqual(self.env["mail.activity"]._get_escalation_grace_minutes(), 90)

    def test_follow_up_follows_salesperson(self):
        """Reassigning a lead moves its open call follow-up to the new salesperson."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        self.lead.user_id = self.user_counsellor_2
        self.assertEqual(activity.user_id, self.user_counsellor_2)

    def test_follow_up_of_other_user_stays(self):
        """A follow-up planned for someone other than the salesperson stays with that person."""
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0), user=self.user_leader)
        self.lead.user_id = self.user_counsellor_2
        self.assertEqual(activity.user_id, self.user_leader)

    def test_follow_up_public_user(self):
        """A follow-up planned from a public request on an unassigned lead stays unassigned until assignment."""
        lead = self._create_lead()
        lead.user_id = False
        public_user = self.env.ref("base.public_user")
        activity = lead.with_user(public_user).sudo()._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        self.assertFalse(activity.user_id)
        lead.user_id = self.user_counsellor_1
        self.assertEqual(activity.user_id, self.user_counsellor_1)

    def test_reschedule_keeps_time_of_day(self):
        """Moving a call follow-up to another day keeps its time of day and notifies again."""
        # 12:00 UTC is 17:30 in Asia/Kolkata.
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        activity.write({"call_notified": True, "call_escalated": True})
        activity.date_deadline = date(2026, 3, 5)
        self.assertEqual(activity.call_due_at, datetime(2026, 3, 5, 12, 0))
        self.assertFalse(activity.call_notified)
        self.assertFalse(activity.call_escalated)
        self.assertEqual(self.lead.next_follow_up_at, datetime(2026, 3, 5, 12, 0))

    def test_cron_rechecks_after_lock(self):
        """Before acting, the crons drop follow-ups closed, moved or flagged since their search."""
        leads = self.lead | self._create_lead(self.user_counsellor_1) | self._create_lead(self.user_counsellor_1)
        leads |= self._create_lead(self.user_counsellor_1)
        activities = self.env["mail.activity"]
        for lead in leads:
            activities |= lead._schedule_call_follow_up(datetime(2026, 3, 2, 12, 0))
        pending, flagged, closed, moved = activities
        flagged.call_notified = True
        closed.action_done()
        moved.call_due_at = datetime(2026, 3, 9, 12, 0)
        result = activities.with_context(active_test=False)._lock_pending("call_notified", datetime(2026, 3, 2, 12, 5))
        self.assertEqual(result, pending)
