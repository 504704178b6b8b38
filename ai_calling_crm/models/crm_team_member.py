import datetime
from ast import literal_eval

from odoo import api, fields, models
from odoo.fields import Domain


class CrmTeamMember(models.Model):
    _inherit = "crm.team.member"

    # ------------------------------------------------------------
    # Calling assignment rules
    # ------------------------------------------------------------
    calling_assignment = fields.Boolean(related="crm_team_id.calling_assignment")
    assignment_weight = fields.Integer(
        "Weight",
        default=1,
        help="Share of new leads under weighted round robin: a counsellor with weight 2 gets twice as many leads "
        "as one with weight 1.",
    )
    assignment_open_max = fields.Integer(
        "Max Open Leads",
        help="The counsellor gets no new leads while she has this many open leads (active and neither won nor lost). "
        "0 means no cap.",
    )
    assignment_daily_max = fields.Integer(
        "Max New Leads per Day",
        help="The counsellor gets no new leads once this many leads were assigned to her in the last 24 hours. "
        "0 means no cap.",
    )
    assignment_interest_ids = fields.Many2many(
        "crm.lead.interest",
        "crm_team_member_assignment_interest_rel",
        "member_id",
        "interest_id",
        string="Handled Interests",
        help="Only leads with one of these course or product interests go to this counsellor. Empty means any.",
    )
    lead_open_count = fields.Integer("Open Leads", compute="_compute_lead_open_count")

    _assignment_weight_positive = models.Constraint(
        "CHECK(assignment_weight > 0)",
        "The weight of a team member must be at least 1.",
    )
    _assignment_caps_positive = models.Constraint(
        "CHECK(assignment_open_max >= 0 AND assignment_daily_max >= 0)",
        "Lead caps of a team member cannot be negative; use 0 for no cap.",
    )

    @api.depends("user_id")
    def _compute_lead_open_count(self):
        counts = self._get_assignment_open_counts()
        for member in self:
            member.lead_open_count = counts.get(member.user_id.id, 0)

    # ------------------------------------------------------------
    # Assignment helpers
    # ------------------------------------------------------------

    def _get_assignment_rule_domain(self):
        """Return the lead domain of this member's own conditions, or None when she takes any lead."""
        self.ensure_one()
        domains = []
        if self.assignment_domain:
            domains.append(Domain(literal_eval(self.assignment_domain)))
        if self.assignment_interest_ids:
            domains.append(Domain("interest_id", "in", self.assignment_interest_ids.ids))
        return Domain.AND(domains) if domains else None

    def _get_assignment_open_counts(self):
        """Return ``{user_id: number of open leads}`` for the users of ``self``, whatever their team."""
        if not self.user_id:
            return {}
        groups = (
            self.env["crm.lead"]
            .sudo()
            ._read_group(
                [("user_id", "in", self.user_id.ids), ("active", "=", True), ("won_status", "=", "pending")],
                ["user_id"],
                ["__count"],
            )
        )
        return {user.id: count for user, count in groups}

    def _get_assignment_day_counts(self):
        """Return ``{user_id: leads assigned in the last 24 hours}`` for the users of ``self``.

        Lost and archived leads count too: the cap limits how many new leads a counsellor receives, not how many
        she still holds. A rolling 24-hour window matches Odoo's own ``lead_day_count``.
        """
        if not self.user_id:
            return {}
        groups = (
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            ._read_group(
                # date_open is set from the transaction's time, so compare with that time.
                [
                    ("user_id", "in", self.user_id.ids),
                    ("date_open", ">", self.env.cr.now() - datetime.timedelta(hours=24)),
                ],
                ["user_id"],
                ["__count"],
            )
        )
        return {user.id: count for user, count in groups}
