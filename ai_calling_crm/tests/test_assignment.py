from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import SUPERUSER_ID
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools import SQL, mute_logger

from .test_assignment_common import AssignmentCase


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_assignment")
class TestAssignmentStrategies(AssignmentCase):
    def test_round_robin_in_turn(self):
        """Six new unassigned leads go to the three counsellors in turn, each with a rule history line."""
        leads = self._create_leads(3) + self._create_leads(3)
        counsellors = [self.counsellor_1, self.counsellor_2, self.counsellor_3]
        self.assertEqual([lead.user_id for lead in leads], counsellors + counsellors)
        self.assertEqual(leads.team_id, self.team)
        for lead in leads:
            self.assertEqual(len(lead.assignment_ids), 1)
            self.assertEqual(lead.assignment_ids.method, "rule")
            self.assertFalse(lead.assignment_ids.previous_user_id)
            self.assertEqual(lead.assignment_ids.user_id, lead.user_id)

    def test_round_robin_continues(self):
        """The round-robin pointer is stored on the team: the next lead goes to the next member."""
        first = self._create_leads()
        second = self._create_leads()
        self.assertNotEqual(first.user_id, second.user_id)
        self.assertEqual(
            self.team.assignment_state["last"],
            self.team.crm_team_member_ids.filtered(lambda member: member.user_id == second.user_id).id,
        )

    def test_weighted_round_robin(self):
        """With weights 2, 1 and 1, eight leads split 4, 2 and 2."""
        self.team.assignment_strategy = "weighted"
        self.member_1.assignment_weight = 2
        leads = self._create_leads(8)
        self.assertEqual(len(leads.filtered(lambda lead: lead.user_id == self.counsellor_1)), 4)
        self.assertEqual(len(leads.filtered(lambda lead: lead.user_id == self.counsellor_2)), 2)
        self.assertEqual(len(leads.filtered(lambda lead: lead.user_id == self.counsellor_3)), 2)

    def test_weighted_round_robin_one_by_one(self):
        """Weighted credits are kept on the team, so leads created one at a time split by weight too."""
        self.team.assignment_strategy = "weighted"
        self.member_1.assignment_weight = 2
        users = [self._create_leads().user_id for _index in range(8)]
        self.assertEqual(users.count(self.counsellor_1), 4)
        self.assertEqual(users.count(self.counsellor_2), 2)
        self.assertEqual(users.count(self.counsellor_3), 2)

    def test_fewest_open_leads(self):
        """Fewest open leads picks the counsellor with the minimum of open leads, in round-robin order on ties."""
        self.team.assignment_strategy = "fewest_open"
        self._create_leads(2, user_id=self.counsellor_1.id)
        self._create_leads(1, user_id=self.counsellor_2.id)
        lost = self._create_leads(1, user_id=self.counsellor_3.id)
        lost.action_set_lost()
        leads = self._create_leads(3)
        self.assertEqual([lead.user_id for lead in leads], [self.counsellor_3, self.counsellor_2, self.counsellor_3])


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_assignment")
class TestAssignmentConditions(AssignmentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_user = cls.env["res.users"].create(
            {
                "name": "Kavya Rao",
                "login": "assign_other_team",
                "company_id": cls.company.id,
                "company_ids": [(6, 0, cls.company.ids)],
                "group_ids": [(6, 0, cls.env.ref("sales_team.group_sale_salesman").ids)],
            }
        )
        cls.mba_team = cls.env["crm.team"].create(
            {
                "name": "MBA Desk",
                "sequence": 0,
                "company_id": cls.company.id,
                "use_leads": True,
                "calling_assignment": True,
                "assignment_interest_ids": [(6, 0, cls.interest_mba.ids)],
                "assignment_cities": "Pune, mumbai",
                "crm_team_member_ids": [(0, 0, {"user_id": cls.other_user.id})],
            }
        )

    def test_team_conditions_pick_team(self):
        """The first team in sequence whose conditions all match takes the lead; others fall through."""
        mba_pune = self._create_leads(interest_id=self.interest_mba.id, city="PUNE")
        mba_delhi = self._create_leads(interest_id=self.interest_mba.id, city="Delhi")
        bba_pune = self._create_leads(interest_id=self.interest_bba.id, city="Pune")
        self.assertEqual(mba_pune.team_id, self.mba_team)
        self.assertEqual(mba_pune.user_id, self.other_user)
        self.assertEqual(mba_delhi.team_id, self.team)
        self.assertEqual(bba_pune.team_id, self.team)

    def test_team_conditions_utm_and_domain(self):
        """Source, medium and Odoo's own assignment domain are conditions too."""
        source = self.env["utm.source"].create({"name": "Instagram Lead Ad"})
        medium = self.env.ref("utm.utm_medium_facebook")
        self.mba_team.write(
            {
                "assignment_interest_ids": [(5, 0, 0)],
                "assignment_cities": False,
                "assignment_source_ids": [(6, 0, source.ids)],
                "assignment_medium_ids": [(6, 0, medium.ids)],
                "assignment_domain": "[('priority', '=', '3')]",
            }
        )
        matching = self._create_leads(source_id=source.id, medium_id=medium.id, priority="3")
        low_priority = self._create_leads(source_id=source.id, medium_id=medium.id, priority="1")
        self.assertEqual(matching.team_id, self.mba_team)
        self.assertEqual(low_priority.team_id, self.team)

    def test_lead_team_kept(self):
        """A lead created in a calling team stays there even if another team's conditions match first."""
        lead = self._create_leads(interest_id=self.interest_mba.id, city="Pune", team_id=self.team.id)
        self.assertEqual(lead.team_id, self.team)
        self.assertIn(lead.user_id, self.team.crm_team_member_ids.user_id)

    def test_member_interests(self):
        """A counsellor who handles only MBA leads never gets a BBA lead."""
        self.member_1.assignment_interest_ids = self.interest_mba
        bba_leads = self._create_leads(4, interest_id=self.interest_bba.id, team_id=self.team.id)
        self.assertNotIn(self.counsellor_1, bba_leads.user_id)
        mba_leads = self._create_leads(3, interest_id=self.interest_mba.id, team_id=self.team.id)
        self.assertIn(self.counsellor_1, mba_leads.user_id)

    def test_blocked_lead_not_assigned(self):
        """A lead blocked from calling (do not call) is never assigned by rules, even from the backlog."""
        lead = self._create_leads(do_not_call=True, team_id=self.team.id)
        self.assertFalse(lead.user_id)
        self.env["crm.lead"]._assign_calling_backlog()
        self.assertFalse(lead.user_id)

    def test_team_without_rules_untouched(self):
        """Leads of a team without calling assignment rules stay unassigned."""
        plain_team = self.env["crm.team"].create({"name": "Plain", "company_id": self.company.id})
        lead = self._create_leads(team_id=plain_team.id)
        self.assertFalse(lead.user_id)
        self.assertEqual(lead.team_id, plain_team)


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_assignment")
class TestAssignmentAvailability(AssignmentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team.assignment_check_availability = True
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Weekday shift",
                "tz": "Asia/Kolkata",
                "attendance_ids": [(5, 0, 0)]
                + [
                    (0, 0, {"name": f"Day {day}", "dayofweek": str(day), "hour_from": 9, "hour_to": 17})
                    for day in range(5)
                ],
            }
        )

    def test_unavailable_skipped(self):
        """A counsellor marked unavailable gets no leads; once her until-date passes she gets them again."""
        self.counsellor_1.calling_unavailable = True
        leads = self._create_leads(4)
        self.assertNotIn(self.counsellor_1, leads.user_id)
        with freeze_time("2030-01-07 06:00:00"):
            self.counsellor_1.calling_unavailable_until = "2030-01-07 05:00:00"
            leads = self._create_leads(3)
        self.assertIn(self.counsellor_1, leads.user_id)

    def test_counsellor_sets_own_leave(self):
        """A counsellor marks herself unavailable in her preferences, but cannot change her calling hours."""
        self.counsellor_1.with_user(self.counsellor_1).write(
            {"calling_unavailable": True, "calling_unavailable_until": "2030-01-07 05:00:00"}
        )
        self.assertTrue(self.counsellor_1.calling_unavailable)
        with self.assertRaises(AccessError):
            self.counsellor_1.with_user(self.counsellor_1).write({"calling_calendar_id": self.calendar.id})

    def test_unavailable_ignored_without_check(self):
        """Teams that do not check availability still give leads to counsellors marked unavailable."""
        self.team.assignment_check_availability = False
        self.counsellor_1.calling_unavailable = True
        leads = self._create_leads(3)
        self.assertIn(self.counsellor_1, leads.user_id)

    def test_paused_and_archived_skipped(self):
        """Paused members (Odoo's "Pause assignment") and archived users get no leads."""
        self.member_1.assignment_optout = True
        self.counsellor_2.active = False
        leads = self._create_leads(3)
        self.assertEqual(leads.user_id, self.counsellor_3)

    def test_working_hours(self):
        """Outside her calling hours a counsellor is skipped; inside them she gets leads."""
        (self.counsellor_1 | self.counsellor_2 | self.counsellor_3).calling_calendar_id = self.calendar
        self.team.assignment_fallback_user_id = self.leader
        # Monday 2030-01-07 10:30 in India is 05:00 UTC.
        with freeze_time("2030-01-07 05:00:00"):
            inside = self._create_leads()
        # Saturday 2030-01-12: nobody works.
        with freeze_time("2030-01-12 05:00:00"):
            weekend = self._create_leads()
        self.assertIn(inside.user_id, self.counsellor_1 | self.counsellor_2 | self.counsellor_3)
        self.assertEqual(weekend.user_id, self.leader)
        self.assertEqual(weekend.assignment_ids.method, "fallback")

    def test_fallback_team(self):
        """When nobody in the team can take the lead and no fallback salesperson is set, the fallback team does."""
        (self.member_1 | self.member_2 | self.member_3).assignment_optout = True
        night_team = self.env["crm.team"].create(
            {
                "name": "Night Desk",
                "company_id": self.company.id,
                "crm_team_member_ids": [(0, 0, {"user_id": self.leader.id})],
            }
        )
        self.team.assignment_fallback_team_id = night_team
        lead = self._create_leads()
        self.assertEqual(lead.user_id, self.leader)
        self.assertEqual(lead.team_id, night_team)
        self.assertEqual(lead.assignment_ids.method, "fallback")

    def test_nobody_available_stays_in_team(self):
        """Without fallbacks a lead nobody can take stays unassigned in the team, for the backlog job."""
        (self.member_1 | self.member_2 | self.member_3).assignment_optout = True
        lead = self._create_leads()
        self.assertFalse(lead.user_id)
        self.assertEqual(lead.team_id, self.team)
        self.member_2.assignment_optout = False
        # The cron runs on its own cursor: the test mode makes that cursor see this test's data.
        with self.enter_registry_test_mode():
            result = self.env.ref("ai_calling_crm.ir_cron_assign_calling_backlog").method_direct_trigger()
        self.assertIs(result, True)
        self.assertEqual(lead.user_id, self.counsellor_2)

    def test_fallback_team_not_itself(self):
        """A team cannot be its own fallback team."""
        with self.assertRaises(UserError):
            self.team.assignment_fallback_team_id = self.team


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_assignment")
class TestAssignmentCaps(AssignmentCase):
    def test_open_lead_cap(self):
        """A counsellor at her open-lead cap gets no new leads."""
        self.member_1.assignment_open_max = 1
        self._create_leads(user_id=self.counsellor_1.id)
        leads = self._create_leads(4)
        self.assertNotIn(self.counsellor_1, leads.user_id)

    def test_daily_cap(self):
        """A counsellor who got her daily cap of leads in the last 24 hours gets no more until it frees up."""
        (self.member_1 | self.member_2 | self.member_3).assignment_daily_max = 1
        self.team.assignment_fallback_user_id = self.leader
        leads = self._create_leads(3)
        self.assertEqual(leads.user_id, self.counsellor_1 | self.counsellor_2 | self.counsellor_3)
        capped = self._create_leads()
        self.assertEqual(capped.user_id, self.leader)
        # date_open comes from the transaction's time: move the first assignments back by 25 hours.
        leads.flush_recordset()
        self.env.cr.execute(
            SQL("UPDATE crm_lead SET date_open = date_open - INTERVAL '25 hours' WHERE id IN %s", tuple(leads.ids))
        )
        leads.invalidate_recordset(["date_open"])
        next_day = self._create_leads()
        self.assertIn(next_day.user_id, self.counsellor_1 | self.counsellor_2 | self.counsellor_3)

    def test_negative_cap_rejected(self):
        """Caps cannot be negative and weights must be positive."""
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            self.member_1.assignment_open_max = -1
            self.member_1.flush_recordset()
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            self.member_1.assignment_weight = 0
            self.member_1.flush_recordset()


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_assignment")
class TestAssignmentTriggers(AssignmentCase):
    def test_assignee_notified(self):
        """The counsellor a rule picks gets an assignment notification in her inbox."""
        lead = self._create_leads()
        message = self.env["mail.message"].search(
            [("model", "=", "crm.lead"), ("res_id", "=", lead.id), ("partner_ids", "in", lead.user_id.partner_id.ids)]
        )
        self.assertTrue(message)
        self.assertIn("assigned", message[0].subject)

    def test_superuser_creation_unassigned(self):
        """Leads created by the superuser (crons, connectors) go through the rules instead of OdooBot."""
        lead = (
            self.env["crm.lead"]
            .with_user(SUPERUSER_ID)
            .create({"name": "Webhook lead", "company_id": self.company.id, "team_id": self.team.id})
        )
        self.assertIn(lead.user_id, self.team.crm_team_member_ids.user_id)

    def test_import_without_salesperson(self):
        """Imported leads without a Salesperson column go through the rules."""
        lead = (
            self.env["crm.lead"]
            .with_user(self.manager)
            .with_context(import_file=True)
            .create({"name": "Imported", "company_id": self.company.id, "team_id": self.team.id})
        )
        self.assertIn(lead.user_id, self.team.crm_team_member_ids.user_id)

    def test_mail_gateway_creation(self):
        """A lead created from an incoming email to the team's alias goes through the rules."""
        lead = (
            self.env["crm.lead"]
            .with_context(default_company_id=self.company.id)
            .message_new(
                {"subject": "Admission enquiry", "from": "Ravi Kumar <ravi.kumar@example.com>", "body": "Hello"},
                custom_values={"team_id": self.team.id},
            )
        )
        self.assertIn(lead.user_id, self.team.crm_team_member_ids.user_id)
        self.assertEqual(lead.assignment_ids.method, "rule")

    def test_form_creation_keeps_creator(self):
        """A counsellor creating a lead in the form keeps it, as in Odoo, with a manual history line."""
        with Form(self.env["crm.lead"].with_user(self.counsellor_2)) as lead_form:
            lead_form.name = "Walk-in"
        lead = lead_form.save()
        self.assertEqual(lead.user_id, self.counsellor_2)
        self.assertEqual(lead.assignment_ids.method, "manual")

    def test_backlog_action(self):
        """A sales administrator assigns the backlog from the team; counsellors may not."""
        leads = self._create_leads(3, team_id=self.team.id, env=self.env(context={"ai_calling_crm_skip_routing": True}))
        self.assertFalse(leads.user_id)
        with self.assertRaises(AccessError):
            self.team.with_user(self.counsellor_1).action_assign_calling_backlog()
        result = self.team.with_user(self.manager).action_assign_calling_backlog()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(leads.user_id, self.counsellor_1 | self.counsellor_2 | self.counsellor_3)

    def test_assign_selected_leads(self):
        """The list action assigns the selected unassigned leads by rules."""
        leads = self._create_leads(2, team_id=self.team.id, env=self.env(context={"ai_calling_crm_skip_routing": True}))
        leads.with_user(self.manager).action_assign_by_rules()
        self.assertEqual(len(leads.user_id), 2)

    def test_redistribute(self):
        """Redistribution moves a leaving counsellor's open leads to colleagues and marks her unavailable."""
        leads = self._create_leads(4, user_id=self.counsellor_1.id, team_id=self.team.id)
        won = self._create_leads(user_id=self.counsellor_1.id, team_id=self.team.id)
        won.action_set_won()
        wizard = (
            self.env["crm.lead.redistribute.wizard"].with_user(self.manager).create({"user_id": self.counsellor_1.id})
        )
        self.assertEqual(wizard.lead_count, 4)
        wizard.action_redistribute()
        self.assertEqual(leads.user_id, self.counsellor_2 | self.counsellor_3)
        self.assertEqual(won.user_id, self.counsellor_1)
        self.assertTrue(self.counsellor_1.calling_unavailable)
        for lead in leads:
            line = lead.assignment_ids.sorted("id")[-1]
            self.assertEqual(line.method, "redistribution")
            self.assertEqual(line.previous_user_id, self.counsellor_1)
            self.assertEqual(line.changed_by_id, self.manager)

    def test_redistribute_nothing(self):
        """Redistributing a counsellor without open leads raises a clear error."""
        wizard = (
            self.env["crm.lead.redistribute.wizard"].with_user(self.manager).create({"user_id": self.counsellor_3.id})
        )
        with self.assertRaises(UserError):
            wizard.action_redistribute()


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_assignment")
class TestAssignmentQueries(AssignmentCase):
    def test_create_query_count(self):
        """Creating one lead that goes through duplicate check and rule assignment stays within a query bound."""
        self._create_leads()  # warm caches: team rules, members, users
        self.env.invalidate_all()
        # 64 to 65 queries measured on Odoo 19.0, with a little headroom. Roughly, they are:
        # - the lead insert with its computed fields and creation message;
        # - the duplicate search (1), the calling teams search (1), the team lock and state update (2);
        # - member and user reads, and the salesperson write with tracking;
        # - the assignee's subscription and notification message, and the history insert.
        with self.assertQueryCount(__system__=70):
            lead = self._create_leads()
            lead.flush_recordset()
        self.assertTrue(lead.user_id)
