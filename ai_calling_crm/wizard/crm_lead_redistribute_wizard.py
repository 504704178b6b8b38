from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain


class CrmLeadRedistributeWizard(models.TransientModel):
    """Hand the open leads of a counsellor who leaves to her colleagues by the assignment rules."""

    _name = "crm.lead.redistribute.wizard"
    _description = "Redistribute Open Leads"

    user_id = fields.Many2one(
        "res.users", string="Counsellor", required=True, domain="[('share', '=', False)]", ondelete="cascade"
    )
    team_ids = fields.Many2many(
        "crm.team",
        string="Only Leads of Teams",
        help="Redistribute only the counsellor's open leads in these teams. Empty means all her open leads.",
    )
    mark_unavailable = fields.Boolean(
        default=True,
        help="Also mark the counsellor unavailable so that the rules give her no new leads.",
    )
    lead_count = fields.Integer("Open Leads", compute="_compute_lead_count")

    @api.depends("user_id", "team_ids")
    def _compute_lead_count(self):
        for wizard in self:
            wizard.lead_count = (
                self.env["crm.lead"].sudo().search_count(wizard._get_lead_domain()) if wizard.user_id else 0
            )

    def action_redistribute(self):
        """Reassign the counsellor's open leads by the rules, never to her, and report how many moved."""
        self.ensure_one()
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(self.env._("Only sales administrators can redistribute a counsellor's leads."))
        leads = self.env["crm.lead"].sudo().search(self._get_lead_domain(), order="id")
        if not leads:
            raise UserError(
                self.env._(
                    "%(user)s has no open leads to redistribute. Check the counsellor and the team filter.",
                    user=self.user_id.name,
                )
            )
        if self.mark_unavailable:
            self.user_id.sudo().write({"calling_unavailable": True, "calling_unavailable_until": False})
        moved = leads._assign_by_rules(method="redistribution", exclude_users=self.user_id)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if len(moved) == len(leads) else "warning",
                "title": self.env._("Leads Redistributed"),
                "message": self.env._(
                    "%(moved)s of %(total)s open leads of %(user)s were given to other counsellors.",
                    moved=len(moved),
                    total=len(leads),
                    user=self.user_id.name,
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _get_lead_domain(self):
        domain = (
            Domain("user_id", "=", self.user_id.id) & Domain("active", "=", True) & Domain("won_status", "=", "pending")
        )
        if self.team_ids:
            domain &= Domain("team_id", "in", self.team_ids.ids)
        return domain
