from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    calling_duplicate_window_days = fields.Integer(
        "Duplicate Window (days)",
        config_parameter="ai_calling_crm.duplicate_window_days",
        default=30,
        help="A new lead is a duplicate when an open lead with the same phone number or email was created within "
        "this many days. 0 turns duplicate detection off.",
    )
