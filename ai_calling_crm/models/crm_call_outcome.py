from datetime import timedelta

from odoo import api, fields, models


class CrmCallOutcome(models.Model):
    """Result of a call, and what logging it does to the lead."""

    _name = "crm.call.outcome"
    _description = "Call Outcome"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True)
    color = fields.Integer()

    # ------------------------------------------------------------
    # Reporting
    # ------------------------------------------------------------
    is_connected = fields.Boolean(
        "Counts as Connected",
        help="Calls with this outcome reached the person and count towards the connect rate.",
    )

    # ------------------------------------------------------------
    # Follow-up
    # ------------------------------------------------------------
    schedule_follow_up = fields.Boolean(
        "Schedule Follow-up", help="Plan the next call on the lead after the delay below."
    )
    follow_up_delay = fields.Integer("Follow-up Delay", default=1)
    follow_up_delay_unit = fields.Selection(
        # The keys are timedelta keyword arguments.
        [("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days")],
        string="Delay Unit",
        default="hours",
        required=True,
    )
    max_attempts = fields.Integer(
        "Maximum Attempts",
        help="Number of calls after which no follow-up is planned any more. 0 means no limit. "
        "For outcomes that do not count as connected, the calls counted are the lead's calls since "
        "its last connected call; otherwise the lead's calls with this outcome.",
    )
    lost_after_max_attempts = fields.Boolean(
        "Mark Lost After Maximum Attempts",
        help="Mark the lead lost, with the lost reason below, once the maximum attempts are reached.",
    )

    # ------------------------------------------------------------
    # Effects on the lead
    # ------------------------------------------------------------
    mark_lost = fields.Boolean("Mark Lead Lost", help="Mark the lead lost as soon as a call has this outcome.")
    lost_reason_id = fields.Many2one("crm.lost.reason")
    set_wrong_number = fields.Boolean(
        "Flag Wrong Number", help="Flag the lead's number as wrong, so the lead is not offered for calling again."
    )
    set_do_not_call = fields.Boolean(
        "Flag Do Not Call", help="Flag the lead as do-not-call, so the lead is not offered for calling again."
    )
    stage_id = fields.Many2one(
        "crm.stage", string="Move to Stage", help="Stage the lead moves to when a call has this outcome."
    )

    _follow_up_delay_positive = models.Constraint(
        "CHECK(follow_up_delay >= 0)",
        "The follow-up delay of a call outcome cannot be negative.",
    )
    _max_attempts_positive = models.Constraint(
        "CHECK(max_attempts >= 0)",
        "The maximum attempts of a call outcome cannot be negative; use 0 for no limit.",
    )

    @api.onchange("set_wrong_number", "set_do_not_call")
    def _onchange_blocking_flags(self):
        # A number that must not be called again never gets a follow-up.
        for outcome in self:
            if outcome.set_wrong_number or outcome.set_do_not_call:
                outcome.schedule_follow_up = False

    def _get_follow_up_delta(self):
        """Return the delay before the next call as a timedelta, or None when no follow-up is planned."""
        self.ensure_one()
        if not self.schedule_follow_up or self.set_wrong_number or self.set_do_not_call:
            return None
        return timedelta(**{self.follow_up_delay_unit: self.follow_up_delay})
