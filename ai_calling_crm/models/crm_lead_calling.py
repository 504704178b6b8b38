import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3600.0


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # Calls
    # ------------------------------------------------------------
    call_ids = fields.One2many("crm.call", "lead_id")
    call_count = fields.Integer("Number of Calls", compute="_compute_call_count")
    first_call_date = fields.Datetime("First Call", compute="_compute_call_stats", store=True)
    last_call_date = fields.Datetime("Last Call", compute="_compute_call_stats", store=True)
    last_call_outcome_id = fields.Many2one("crm.call.outcome", compute="_compute_call_stats", store=True)
    time_to_first_call = fields.Float(
        "Time to First Call (h)",
        compute="_compute_time_to_first_call",
        store=True,
        aggregator="avg",
        help="Hours between the creation of the lead and its first call.",
    )

    # ------------------------------------------------------------
    # Follow-ups
    # ------------------------------------------------------------
    next_follow_up_at = fields.Datetime(
        "Next Follow-up",
        readonly=True,
        copy=False,
        help="Due time of the lead's open call follow-up, kept up to date by the follow-up activities.",
    )

    def _compute_call_count(self):
        counts = dict(self.env["crm.call"]._read_group([("lead_id", "in", self.ids)], ["lead_id"], ["__count"]))
        for lead in self:
            lead.call_count = counts.get(lead._origin, 0)

    @api.depends("call_ids.call_start", "call_ids.outcome_id")
    def _compute_call_stats(self):
        for lead in self:
            calls = lead.call_ids.sorted(lambda call: (call.call_start, call.id))
            lead.first_call_date = calls[:1].call_start
            lead.last_call_date = calls[-1:].call_start
            lead.last_call_outcome_id = calls[-1:].outcome_id

    @api.depends("first_call_date", "create_date")
    def _compute_time_to_first_call(self):
        for lead in self:
            if lead.first_call_date and lead.create_date:
                delay = (lead.first_call_date - lead.create_date).total_seconds()
                lead.time_to_first_call = max(delay, 0.0) / SECONDS_PER_HOUR
            else:
                lead.time_to_first_call = 0.0

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------
    def write(self, vals):
        if "user_id" not in vals:
            return super().write(vals)
        previous_users = {lead.id: lead.user_id for lead in self}
        result = super().write(vals)
        self._reassign_call_follow_ups(previous_users)
        return result

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------
    def action_log_call(self):
        """Open the one-step dialog that logs a call on the lead."""
        self.ensure_one()
        self.check_access("write")
        if self.calling_blocked:
            raise UserError(
                self.env._(
                    "Lead %(lead)s is flagged wrong number or do not call; clear the flag before logging a call.",
                    lead=self.display_name,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Log a Call"),
            "res_model": "crm.call.log.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_lead_id": self.id},
        }

    def action_view_calls(self):
        """Open the calls of the lead."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ai_calling_crm.crm_call_action")
        action["domain"] = [("lead_id", "=", self.id)]
        action["context"] = {"default_lead_id": self.id}
        return action

    # ------------------------------------------------------------
    # Follow-ups
    # ------------------------------------------------------------
    @api.private
    def _schedule_call_follow_up(self, when, user=None, summary=None, note=None):
        """Plan the lead's next call at ``when`` and return its "Call" activity.

        The lead keeps a single open call follow-up: an existing one is moved to the new time and
        user, otherwise a new one is created. Leads that must not be called (wrong number, do not
        call) and inactive leads get no follow-up, and an empty recordset is returned.

        :param datetime when: due time, naive UTC
        :param user: res.users to call; defaults to the lead's salesperson, else the current user
            when that user is internal. Otherwise, e.g. in a public webhook, the follow-up stays
            unassigned until the lead gets a salesperson.
        :param str summary: activity summary; defaults to the activity type's
        :param str note: activity note (HTML)
        """
        self.ensure_one()
        activity_model = self.env["mail.activity"]
        if self.calling_blocked or not self.active:
            return activity_model
        user = user or self.user_id or self.env.user
        if user.share:
            user = self.env["res.users"]
        vals = {"call_due_at": when, "user_id": user.id}
        if summary:
            vals["summary"] = summary
        if note:
            vals["note"] = note
        activity = self._get_open_call_follow_ups()[:1]
        if activity:
            activity.write(vals)
            return activity
        activity_type = activity_model._get_call_activity_type()
        return activity_model.create(
            {
                "activity_type_id": activity_type.id,
                "res_model_id": self.env["ir.model"]._get_id(self._name),
                "res_id": self.id,
                **vals,
            }
        )

    def _get_open_call_follow_ups(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", self._name),
                ("res_id", "in", self.ids),
                ("activity_category", "=", "phonecall"),
            ],
            order="call_due_at, id",
        )

    def _close_call_follow_ups(self, feedback=False):
        """Mark the open call follow-ups of the leads done, with ``feedback`` in the done message."""
        activities = self._get_open_call_follow_ups()
        if activities:
            # The caller may close a follow-up that was assigned to someone else.
            activities.sudo()._action_done(feedback=feedback)
        return activities

    def _reassign_call_follow_ups(self, previous_users):
        """Move the open call follow-ups of the previous salesperson to the lead's new one.

        Follow-ups that were unassigned also move. Those assigned to someone else (e.g. a team
        leader who planned a call for herself) stay with that person.

        :param dict previous_users: lead id to the res.users that was the salesperson before
        """
        leads_by_id = {lead.id: lead for lead in self}
        moves = {}
        for activity in self.sudo()._get_open_call_follow_ups():
            lead = leads_by_id[activity.res_id]
            previous_user = previous_users.get(lead.id)
            if not lead.user_id or activity.user_id == lead.user_id:
                continue
            if not activity.user_id or activity.user_id == previous_user:
                moves.setdefault(lead.user_id, self.env["mail.activity"].sudo())
                moves[lead.user_id] |= activity
        for user, activities in moves.items():
            activities.write({"user_id": user.id})

    def _update_next_follow_up(self):
        """Store the due time of each lead's earliest open call follow-up."""
        activities = self.sudo()._get_open_call_follow_ups()
        due_by_lead = {}
        for activity in activities:
            # NOTE: a call activity planned by date only (no call time) counts from 00:00 UTC of
            # its due date, and the reminder cron skips it.
            due = activity.call_due_at or fields.Datetime.to_datetime(activity.date_deadline)
            if activity.res_id not in due_by_lead or due < due_by_lead[activity.res_id]:
                due_by_lead[activity.res_id] = due
        for lead in self.sudo():
            next_due = due_by_lead.get(lead.id, False)
            if lead.next_follow_up_at != next_due:
                lead.next_follow_up_at = next_due

    def _get_call_country(self):
        self.ensure_one()
        return self.country_id or self.company_id.country_id or self.env.company.country_id

    def _get_call_attempt_count(self, outcome):
        """Count the calls that use up the attempts of ``outcome`` on the lead.

        For an outcome that counts as connected, these are the lead's calls with that outcome. For
        the others (no answer, busy, ...), these are the calls since the lead's last connected call.
        """
        self.ensure_one()
        calls = self.env["crm.call"].sudo().search([("lead_id", "=", self.id)], order="call_start desc, id desc")
        if outcome.is_connected:
            return len(calls.filtered(lambda call: call.outcome_id == outcome))
        count = 0
        for call in calls:
            if call.is_connected:
                break
            count += 1
        return count
