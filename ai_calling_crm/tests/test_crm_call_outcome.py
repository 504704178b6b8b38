from datetime import datetime, timedelta

from odoo.tests import freeze_time, tagged

from .common import AiCallingCrmCase


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_calls")
class TestCrmCallOutcome(AiCallingCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lead = cls._create_lead(cls.user_counsellor_1)
        cls.stage_qualified = cls.env["crm.stage"].create({"name": "Counselled", "sequence": 50})
        cls.lost_reason = cls.env["crm.lost.reason"].create({"name": "Joined another institute"})
        cls.outcome_retry = cls.env["crm.call.outcome"].create(
            {
                "name": "Not picked up",
                "schedule_follow_up": True,
                "follow_up_delay": 2,
                "follow_up_delay_unit": "hours",
                "max_attempts": 3,
                "lost_after_max_attempts": True,
                "lost_reason_id": cls.lost_reason.id,
            }
        )
        cls.outcome_connected = cls.env["crm.call.outcome"].create(
            {"name": "Spoke", "is_connected": True, "stage_id": cls.stage_qualified.id}
        )

    def _log_call(self, outcome, lead=None, **vals):
        return self.env["crm.call"].create({"lead_id": (lead or self.lead).id, "outcome_id": outcome.id, **vals})

    @freeze_time("2026-03-02 06:00:00")
    def test_follow_up_delay(self):
        """An outcome with a delay plans the next call that long after the call started."""
        call = self._log_call(self.outcome_retry)
        self.assertEqual(call.next_follow_up_at, datetime(2026, 3, 2, 8, 0))
        self.assertEqual(self.lead.next_follow_up_at, datetime(2026, 3, 2, 8, 0))
        self.assertEqual(len(self.lead.activity_ids), 1)

    def test_follow_up_delay_units(self):
        """The delay unit turns into minutes, hours or days."""
        for unit, expected in (
            ("minutes", timedelta(minutes=2)),
            ("hours", timedelta(hours=2)),
            ("days", timedelta(days=2)),
        ):
            with self.subTest(unit=unit):
                self.outcome_retry.follow_up_delay_unit = unit
                self.assertEqual(self.outcome_retry._get_follow_up_delta(), expected)

    def test_no_follow_up(self):
        """An outcome without a follow-up plans nothing."""
        call = self._log_call(self.outcome_connected)
        self.assertFalse(call.next_follow_up_at)
        self.assertFalse(self.lead.activity_ids)
        self.assertFalse(self.lead.next_follow_up_at)

    def test_stage(self):
        """The outcome moves the lead to its stage."""
        self._log_call(self.outcome_connected)
        self.assertEqual(self.lead.stage_id, self.stage_qualified)

    def test_max_attempts_lost(self):
        """After the maximum attempts the lead gets no follow-up and is marked lost."""
        start = datetime(2026, 3, 2, 6, 0)
        for attempt in range(2):
            call = self._log_call(self.outcome_retry, call_start=start + timedelta(hours=attempt))
            self.assertTrue(call.next_follow_up_at)
            self.assertTrue(self.lead.active)
        last_call = self._log_call(self.outcome_retry, call_start=start + timedelta(hours=2))
        self.assertFalse(last_call.next_follow_up_at)
        self.assertFalse(self.lead.active)
        self.assertEqual(self.lead.won_status, "lost")
        self.assertEqual(self.lead.lost_reason_id, self.lost_reason)
        self.assertFalse(self.lead.activity_ids)

    def test_max_attempts_reset_by_connected_call(self):
        """A connected call restarts the count of unanswered attempts."""
        start = datetime(2026, 3, 2, 6, 0)
        self._log_call(self.outcome_retry, call_start=start)
        self._log_call(self.outcome_retry, call_start=start + timedelta(hours=1))
        self._log_call(self.outcome_connected, call_start=start + timedelta(hours=2))
        call = self._log_call(self.outcome_retry, call_start=start + timedelta(hours=3))
        self.assertTrue(call.next_follow_up_at)
        self.assertTrue(self.lead.active)

    def test_max_attempts_without_lost(self):
        """Without "mark lost", reaching the maximum attempts only stops the follow-ups."""
        self.outcome_retry.write({"max_attempts": 1, "lost_after_max_attempts": False})
        call = self._log_call(self.outcome_retry)
        self.assertFalse(call.next_follow_up_at)
        self.assertTrue(self.lead.active)
        self.assertFalse(self.lead.activity_ids)

    def test_mark_lost(self):
        """The "not interested" outcome marks the lead lost with its reason."""
        outcome = self.env.ref("ai_calling_crm.call_outcome_not_interested")
        self._log_call(outcome)
        self.assertEqual(self.lead.won_status, "lost")
        self.assertEqual(self.lead.lost_reason_id, self.env.ref("ai_calling_crm.lost_reason_not_interested"))

    def test_wrong_number(self):
        """A wrong number flags the lead, blocks calling and plans no follow-up, even when asked."""
        outcome = self.env.ref("ai_calling_crm.call_outcome_wrong_number")
        self.lead._schedule_call_follow_up(datetime(2026, 3, 3, 6, 0))
        call = self._log_call(outcome, next_follow_up_at=datetime(2026, 3, 4, 6, 0))
        self.assertTrue(self.lead.wrong_number)
        self.assertTrue(self.lead.calling_blocked)
        self.assertFalse(call.next_follow_up_at)
        self.assertFalse(self.lead.activity_ids)
        self.assertFalse(self.lead.next_follow_up_at)

    def test_do_not_call(self):
        """Do not call flags the lead, and no follow-up can be planned afterwards."""
        self.env.ref("ai_calling_crm.call_outcome_do_not_call").mark_lost = False
        self._log_call(self.env.ref("ai_calling_crm.call_outcome_do_not_call"))
        self.assertTrue(self.lead.do_not_call)
        self.assertTrue(self.lead.calling_blocked)
        self.assertTrue(self.lead.active)
        activity = self.lead._schedule_call_follow_up(datetime(2026, 3, 3, 6, 0))
        self.assertFalse(activity)

    def test_blocking_outcome_never_schedules(self):
        """An outcome that flags the number never returns a follow-up delay."""
        outcome = self.env["crm.call.outcome"].create(
            {"name": "Blocked", "schedule_follow_up": True, "set_do_not_call": True}
        )
        self.assertIsNone(outcome._get_follow_up_delta())

    def test_default_outcomes(self):
        """The eight default outcomes exist, and only the connected ones count as connected."""
        xmlids = {
            "call_outcome_interested": True,
            "call_outcome_not_interested": True,
            "call_outcome_call_back": True,
            "call_outcome_no_answer": False,
            "call_outcome_busy": False,
            "call_outcome_unreachable": False,
            "call_outcome_wrong_number": False,
            "call_outcome_do_not_call": True,
        }
        for xmlid, connected in xmlids.items():
            with self.subTest(outcome=xmlid):
                self.assertEqual(self.env.ref(f"ai_calling_crm.{xmlid}").is_connected, connected)
