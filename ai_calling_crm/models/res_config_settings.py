from odoo import fields, models

from .mail_activity import ESCALATION_GRACE_DEFAULT, ESCALATION_GRACE_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    call_follow_up_escalation_minutes = fields.Integer(
        "Escalation Grace Period (min)",
        config_parameter=ESCALATION_GRACE_PARAM,
        default=ESCALATION_GRACE_DEFAULT,
        help="Minutes a call follow-up may stay overdue before its lead's team leader is notified.",
    )
