from odoo import fields, models


class CrmLeadAssignment(models.Model):
    """One change of salesperson on a lead.

    Lines are written by the ORM only (``crm.lead`` create and write, in sudo), so users get read access and
    nothing else: the history cannot be edited after the fact.
    """

    _name = "crm.lead.assignment"
    _description = "Lead Assignment History"
    _order = "date desc, id desc"
    _rec_name = "lead_id"

    # ------------------------------------------------------------
    # Lead and users
    # ------------------------------------------------------------
    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index="btree_not_null")
    previous_user_id = fields.Many2one("res.users", string="Previous Salesperson", readonly=True)
    user_id = fields.Many2one("res.users", string="New Salesperson", index="btree_not_null", readonly=True)
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        readonly=True,
        help="Team of the lead after the change; for rule assignments, the team whose rules picked the salesperson.",
    )
    changed_by_id = fields.Many2one("res.users", readonly=True)

    # ------------------------------------------------------------
    # Cause
    # ------------------------------------------------------------
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    method = fields.Selection(
        [
            ("rule", "Assignment Rule"),
            ("fallback", "Fallback"),
            ("duplicate", "Duplicate Routing"),
            ("redistribution", "Redistribution"),
            ("import", "Import"),
            ("manual", "Manual"),
        ],
        string="Cause",
        required=True,
        default="manual",
        readonly=True,
    )
    reason = fields.Char(readonly=True)
