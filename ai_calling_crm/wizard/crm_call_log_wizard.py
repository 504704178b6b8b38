from odoo import api, fields, models
from odoo.exceptions import UserError

SECONDS_PER_MINUTE = 60


class CrmCallLogWizard(models.TransientModel):
    """One-step dialog to log a call on a lead and plan the next one."""

    _name = "crm.call.log.wizard"
    _description = "Log a Call"

    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade")
    lead_phone = fields.Char(related="lead_id.phone", string="Phone")
    lead_second_phone = fields.Char(related="lead_id.second_phone", string="Second Phone")
    outcome_id = fields.Many2one("crm.call.outcome", required=True)
    direction = fields.Selection([("outbound", "Outbound"), ("inbound", "Inbound")], default="outbound", required=True)
    phone_number = fields.Char(
        "Number Dialled", help="Leave empty for the lead's phone. Enter the second number if you called that one."
    )
    duration_minutes = fields.Float("Duration", help="Talk time in minutes and seconds (mm:ss).")
    notes = fields.Text()
    next_follow_up_at = fields.Datetime(
        "Next Follow-up",
        compute="_compute_next_follow_up_at",
        store=True,
        readonly=False,
        help="When to call again, filled from the outcome's delay. Empty means no follow-up.",
    )

    @api.depends("outcome_id")
    def _compute_next_follow_up_at(self):
        for wizard in self:
            delta = wizard.outcome_id._get_follow_up_delta() if wizard.outcome_id else None
            wizard.next_follow_up_at = fields.Datetime.now() + delta if delta is not None else False

    def action_log_call(self):
        """Create the call from the dialog and close it."""
        self.ensure_one()
        if self.duration_minutes < 0:
            raise UserError(
                self.env._(
                    "The duration %(duration)s is negative. Enter the talk time, e.g. 02:30.",
                    duration=self.duration_minutes,
                )
            )
        self.env["crm.call"].create(self._prepare_call_vals())
        return {"type": "ir.actions.act_window_close"}

    def _prepare_call_vals(self):
        return {
            "lead_id": self.lead_id.id,
            "outcome_id": self.outcome_id.id,
            "direction": self.direction,
            "phone_number": self.phone_number or False,
            "duration": round(self.duration_minutes * SECONDS_PER_MINUTE),
            "notes": self.notes,
            "next_follow_up_at": self.next_follow_up_at,
        }
