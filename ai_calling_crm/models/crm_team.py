import json
import logging
from ast import literal_eval

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class CrmTeam(models.Model):
    _inherit = "crm.team"

    # ------------------------------------------------------------
    # Calling assignment: switch and strategy
    # ------------------------------------------------------------
    calling_assignment = fields.Boolean(
        "Calling Assignment Rules",
        help="Give new unassigned leads that match this team's conditions to its counsellors as soon as they are "
        "created. Teams are tried in sequence order and the first match wins.",
    )
    assignment_strategy = fields.Selection(
        [
            ("round_robin", "Round Robin"),
            ("weighted", "Weighted Round Robin"),
            ("fewest_open", "Fewest Open Leads"),
        ],
        string="Strategy",
        default="round_robin",
        required=True,
        help="Round Robin: each counsellor in turn. Weighted Round Robin: in proportion to each member's weight. "
        "Fewest Open Leads: the counsellor with the fewest open leads, in turn on ties.",
    )
    assignment_check_availability = fields.Boolean(
        "Skip Unavailable Counsellors",
        help="Skip counsellors marked unavailable and counsellors outside their calling hours.",
    )
    assignment_fallback_user_id = fields.Many2one(
        "res.users",
        string="Fallback Salesperson",
        domain="[('share', '=', False)]",
        help="Receives the team's leads when no counsellor can take them (all unavailable, capped or filtered out).",
    )
    assignment_fallback_team_id = fields.Many2one(
        "crm.team",
        string="Fallback Team",
        help="When no counsellor of this team can take a lead and no fallback salesperson is set, this team's "
        "members get it by the fallback team's strategy. Its own fallbacks are not followed.",
    )
    # Round-robin pointer and weighted round-robin credits, updated under a row lock only.
    assignment_state = fields.Json(copy=False, readonly=True)

    # ------------------------------------------------------------
    # Calling assignment: conditions on the lead
    # ------------------------------------------------------------
    assignment_source_ids = fields.Many2many(
        "utm.source", "crm_team_assignment_source_rel", "team_id", "source_id", string="Sources"
    )
    assignment_medium_ids = fields.Many2many(
        "utm.medium", "crm_team_assignment_medium_rel", "team_id", "medium_id", string="Media"
    )
    assignment_campaign_ids = fields.Many2many(
        "utm.campaign", "crm_team_assignment_campaign_rel", "team_id", "campaign_id", string="Campaigns"
    )
    assignment_cities = fields.Char(
        "Cities", help="Comma-separated city names, compared without regard to case. Empty means any city."
    )
    assignment_state_ids = fields.Many2many(
        "res.country.state", "crm_team_assignment_state_rel", "team_id", "state_id", string="States"
    )
    assignment_country_ids = fields.Many2many(
        "res.country", "crm_team_assignment_country_rel", "team_id", "country_id", string="Countries"
    )
    assignment_interest_ids = fields.Many2many(
        "crm.lead.interest",
        "crm_team_assignment_interest_rel",
        "team_id",
        "interest_id",
        string="Interests",
    )
    assignment_tag_ids = fields.Many2many(
        "crm.tag",
        "crm_team_assignment_tag_rel",
        "team_id",
        "tag_id",
        string="Tags",
        help="The lead must carry at least one of these tags.",
    )

    @api.constrains("assignment_fallback_team_id")
    def _check_assignment_fallback_team_id(self):
        for team in self:
            if team.assignment_fallback_team_id == team:
                raise ValidationError(
                    self.env._(
                        "Team %(team)s cannot be its own fallback team. Pick another team or clear the field.",
                        team=team.name,
                    )
                )

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_assign_calling_backlog(self):
        """Assign the open unassigned leads of these teams' conditions now, and report how many were assigned."""
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(self.env._("Only sales administrators can assign the backlog of unassigned leads."))
        leads = self.env["crm.lead"]._assign_calling_backlog(teams=self)
        assigned = leads.filtered("user_id")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if assigned else "warning",
                "title": self.env._("Backlog Assignment"),
                "message": self.env._(
                    "%(assigned)s of %(total)s unassigned leads were assigned.",
                    assigned=len(assigned),
                    total=len(leads),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------
    # Assignment helpers
    # ------------------------------------------------------------

    def _get_assignment_rule_domain(self):
        """Return the lead domain built from this team's conditions; an empty team matches every lead."""
        self.ensure_one()
        domains = [Domain(literal_eval(self.assignment_domain or "[]"))]
        if self.company_id:
            domains.append(Domain("company_id", "in", [self.company_id.id, False]))
        for fname, lead_fname in [
            ("assignment_source_ids", "source_id"),
            ("assignment_medium_ids", "medium_id"),
            ("assignment_campaign_ids", "campaign_id"),
            ("assignment_state_ids", "state_id"),
            ("assignment_country_ids", "country_id"),
            ("assignment_interest_ids", "interest_id"),
            ("assignment_tag_ids", "tag_ids"),
        ]:
            if self[fname]:
                domains.append(Domain(lead_fname, "in", self[fname].ids))
        cities = [city.strip() for city in (self.assignment_cities or "").split(",") if city.strip()]
        if cities:
            domains.append(Domain.OR(Domain("city", "=ilike", city) for city in cities))
        return Domain.AND(domains)

    def _get_assignment_candidates(self, exclude_users=None, now=None):
        """Return the members who may receive leads now, sorted by id (the round-robin order).

        Skips paused members (Odoo's ``assignment_optout``), archived users, ``exclude_users`` and, when the team
        checks availability, users that ``res.users._get_calling_unavailable_users`` returns. Caps are checked
        per lead by the caller because they change while leads are handed out.
        """
        self.ensure_one()
        members = self.crm_team_member_ids.filtered(
            lambda member: member.user_id.active and not member.assignment_optout
        )
        if exclude_users:
            members = members.filtered(lambda member: member.user_id not in exclude_users)
        if self.assignment_check_availability and members:
            unavailable = members.user_id._get_calling_unavailable_users(now)
            members = members.filtered(lambda member: member.user_id not in unavailable)
        return members.sorted("id")

    def _allocate_calling_leads(self, leads, exclude_users=None, now=None):
        """Pick a counsellor of this team for each of ``leads``, without writing the leads.

        Steps:
          1. take the candidate members (see ``_get_assignment_candidates``);
          2. lock this team's row (``SELECT ... FOR NO KEY UPDATE``) and read the round-robin state, so that
             parallel transactions hand out leads in turn. Under PostgreSQL's repeatable-read isolation a
             transaction that waited for a concurrent one to commit gets a serialization failure here, which
             Odoo's request and cron runners retry;
          3. for each lead in id order, keep the members whose own conditions match and who are under their
             open-lead and daily caps, then pick one by the team's strategy;
          4. store the new state (last member picked, weighted round-robin credits).

        :param leads: ``crm.lead`` recordset, all meant for this team
        :param exclude_users: ``res.users`` who must not be picked (e.g. a counsellor who leaves)
        :param now: naive UTC datetime for availability (default: now)
        :return: ``({lead: res.users}, leads left without counsellor)``
        """
        self.ensure_one()
        now = now or fields.Datetime.now()
        members = self._get_assignment_candidates(exclude_users, now)
        if not members or not leads:
            return {}, leads
        state = self._lock_assignment_state()

        needs_open = self.assignment_strategy == "fewest_open" or any(members.mapped("assignment_open_max"))
        open_counts = members._get_assignment_open_counts() if needs_open else {}
        day_counts = members._get_assignment_day_counts() if any(members.mapped("assignment_daily_max")) else {}
        member_lead_ids = {}
        for member in members:
            domain = member._get_assignment_rule_domain()
            member_lead_ids[member] = None if domain is None else set(leads.filtered_domain(domain).ids)

        allocation = {}
        left_ids = []
        for lead in leads.sorted("id"):
            candidates = [
                member
                for member in members
                if (member_lead_ids[member] is None or lead.id in member_lead_ids[member])
                and not (
                    member.assignment_open_max and open_counts.get(member.user_id.id, 0) >= member.assignment_open_max
                )
                and not (
                    member.assignment_daily_max and day_counts.get(member.user_id.id, 0) >= member.assignment_daily_max
                )
            ]
            if not candidates:
                left_ids.append(lead.id)
                continue
            member = self._pick_assignment_member(candidates, state, open_counts)
            allocation[lead] = member.user_id
            open_counts[member.user_id.id] = open_counts.get(member.user_id.id, 0) + 1
            day_counts[member.user_id.id] = day_counts.get(member.user_id.id, 0) + 1

        if allocation:
            self._save_assignment_state(state)
        return allocation, leads.browse(left_ids)

    def _pick_assignment_member(self, candidates, state, open_counts):
        """Return the member of ``candidates`` (sorted by id) who gets the next lead, and update ``state``.

        Every strategy breaks ties in round-robin order: members after the last one picked come first.
        Weighted round robin is the smooth variant (as in nginx): each candidate earns its weight in credits, the
        richest is picked and pays back the candidates' total, which spreads picks evenly over a cycle.
        """
        last_id = state.get("last") or 0
        ordered = sorted(candidates, key=lambda member: (member.id <= last_id, member.id))
        if self.assignment_strategy == "weighted":
            credits = state.setdefault("credits", {})
            for member in ordered:
                credits[str(member.id)] = credits.get(str(member.id), 0) + member.assignment_weight
            chosen = max(ordered, key=lambda member: credits[str(member.id)])
            credits[str(chosen.id)] -= sum(member.assignment_weight for member in ordered)
        elif self.assignment_strategy == "fewest_open":
            chosen = min(ordered, key=lambda member: open_counts.get(member.user_id.id, 0))
        else:
            chosen = ordered[0]
        state["last"] = chosen.id
        return chosen

    def _lock_assignment_state(self):
        """Lock this team's row until the transaction ends and return its assignment state, read after the lock.

        ``FOR NO KEY UPDATE`` leaves other transactions free to insert leads that reference the team.

        NOTE: a transaction that waited here for a concurrent one fails with a serialization error. Odoo's
        request and cron runners retry it, but code that creates leads on its own cursor must retry itself.
        """
        self.ensure_one()
        self.env.cr.execute(SQL("SELECT assignment_state FROM crm_team WHERE id = %s FOR NO KEY UPDATE", self.id))
        row = self.env.cr.fetchone()
        return dict(row[0] or {}) if row else {}

    def _save_assignment_state(self, state):
        self.ensure_one()
        self.env.cr.execute(
            SQL("UPDATE crm_team SET assignment_state = %s::jsonb WHERE id = %s", json.dumps(state), self.id)
        )
        self.invalidate_recordset(["assignment_state"])
