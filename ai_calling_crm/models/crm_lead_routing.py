import datetime
import logging
from collections import defaultdict

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError
from odoo.fields import Domain

_logger = logging.getLogger(__name__)

# Context key that makes create() skip duplicate detection and rule assignment, and write() skip the history:
# for data migrations and for the lead-creation benchmark's baseline.
SKIP_ROUTING_KEY = "ai_calling_crm_skip_routing"
# Context keys that label the history lines written by write(): the cause (a crm.lead.assignment method) and a reason.
METHOD_KEY = "ai_calling_crm_assignment_method"
REASON_KEY = "ai_calling_crm_assignment_reason"
# Default duplicate window: a lead seen within the last month is usually still being worked on.
DEFAULT_DUPLICATE_WINDOW_DAYS = 30


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # Duplicates
    # ------------------------------------------------------------
    duplicate_of_id = fields.Many2one(
        "crm.lead",
        index="btree_not_null",
        copy=False,
        readonly=True,
        ondelete="set null",
        help="Open lead with the same phone number or email that existed when this lead was created.",
    )
    duplicate_ids = fields.One2many("crm.lead", "duplicate_of_id", string="Duplicates")
    duplicate_count = fields.Integer(compute="_compute_duplicate_count")

    # ------------------------------------------------------------
    # Assignment history
    # ------------------------------------------------------------
    assignment_ids = fields.One2many("crm.lead.assignment", "lead_id", string="Assignment History")

    def _compute_duplicate_count(self):
        groups = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            ._read_group([("duplicate_of_id", "in", self.ids)], ["duplicate_of_id"], ["__count"])
        )
        counts = {lead.id: count for lead, count in groups}
        for lead in self:
            lead.duplicate_count = counts.get(lead.id, 0)

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        """Create leads, then mark duplicates, route them to the original's counsellor and assign the rest by rules.

        Odoo defaults the salesperson to the creator. That default is dropped, so that the rules pick a
        salesperson, when the creator cannot own a lead (the superuser of crons and connectors, a public or portal
        user) and when the lead comes from an import.
        """
        if self.env.context.get(SKIP_ROUTING_KEY):
            return super().create(vals_list)
        if "default_user_id" not in self.env.context and (
            self.env.uid == SUPERUSER_ID or self.env.user.share or self.env.context.get("import_file")
        ):
            vals_list = [vals if "user_id" in vals else {**vals, "user_id": False} for vals in vals_list]
        leads = super().create(vals_list)
        leads._log_assignment({}, method="import" if self.env.context.get("import_file") else "manual")
        leads._route_new_leads()
        return leads

    def write(self, vals):
        if "user_id" not in vals or self.env.context.get(SKIP_ROUTING_KEY):
            return super().write(vals)
        new_user_id = vals["user_id"] or False
        previous_users = {lead.id: lead.user_id.id for lead in self if lead.user_id.id != new_user_id}
        result = super().write(vals)
        if previous_users:
            default_method = "import" if self.env.context.get("import_file") else "manual"
            self.browse(previous_users)._log_assignment(
                previous_users,
                method=self.env.context.get(METHOD_KEY) or default_method,
                reason=self.env.context.get(REASON_KEY),
            )
        return result

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_assign_by_rules(self):
        """Assign the selected open unassigned leads by the calling assignment rules and report the result."""
        if not self.env.user.has_group("sales_team.group_sale_salesman_all_leads"):
            raise AccessError(self.env._("Only users who see all leads can assign leads by rules."))
        unassigned = self.filtered(lambda lead: not lead.user_id)
        unassigned._assign_by_rules()
        assigned = unassigned.filtered("user_id")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if assigned else "warning",
                "title": self.env._("Assignment by Rules"),
                "message": self.env._(
                    "%(assigned)s of %(total)s unassigned leads were assigned.",
                    assigned=len(assigned),
                    total=len(unassigned),
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_view_duplicates(self):
        """Open the duplicates of this lead."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Duplicates"),
            "res_model": "crm.lead",
            "view_mode": "list,form",
            "domain": [("duplicate_of_id", "=", self.id)],
            "context": {"active_test": False, "create": False},
        }

    # ------------------------------------------------------------
    # Routing of new leads
    # ------------------------------------------------------------

    def _route_new_leads(self):
        """Mark duplicates among the new leads ``self``, route them, and assign the unassigned rest by rules.

        Duplicates of an earlier lead of ``self`` are routed after the rules have assigned that lead.
        """
        originals = self._get_duplicate_originals()
        if originals:
            self._link_duplicates(originals)
        in_batch = {lead: original for lead, original in originals.items() if original in self}
        earlier = {lead: original for lead, original in originals.items() if original not in self}
        routed = self._route_duplicates(earlier) if earlier else self.browse()
        waiting = self.browse([lead.id for lead in in_batch])
        to_assign = (self - routed - waiting).filtered(lambda lead: not lead.user_id)
        if to_assign:
            to_assign._assign_by_rules()
        if in_batch:
            self._route_duplicates(in_batch)

    def _get_duplicate_window_days(self):
        param = self.env["ir.config_parameter"].sudo().get_param("ai_calling_crm.duplicate_window_days")
        if not param:
            return DEFAULT_DUPLICATE_WINDOW_DAYS
        try:
            return int(param)
        except ValueError:
            _logger.warning("Invalid ai_calling_crm.duplicate_window_days %r: using the default", param)
            return DEFAULT_DUPLICATE_WINDOW_DAYS

    def _get_duplicate_originals(self):
        """Return ``{lead: original lead}`` for the leads of ``self`` that duplicate an open lead.

        Two leads are duplicates when their E.164 phone (``phone_sanitized``) or normalised email
        (``email_normalized``) are equal and they belong to the same company, or one of them to none. The original
        is an active lead that is neither won nor lost, created within the duplicate window
        (``ai_calling_crm.duplicate_window_days``, 0 disables the check), or an earlier lead of ``self``. A
        duplicate of a duplicate points to the first one.
        """
        window = self._get_duplicate_window_days()
        if window <= 0:
            return {}
        phones = {lead.phone_sanitized for lead in self if lead.phone_sanitized}
        emails = {lead.email_normalized for lead in self if lead.email_normalized}
        if not phones and not emails:
            return {}
        match_domain = Domain.FALSE
        if phones:
            match_domain |= Domain("phone_sanitized", "in", list(phones))
        if emails:
            match_domain |= Domain("email_normalized", "in", list(emails))
        # The transaction's time, like create_date.
        since = self.env.cr.now() - datetime.timedelta(days=window)
        # sudo: the original often belongs to another counsellor whom the creator cannot see.
        candidates = self.sudo().search(
            match_domain
            & Domain("id", "not in", self.ids)
            & Domain("active", "=", True)
            & Domain("won_status", "=", "pending")
            & Domain("create_date", ">=", since),
            order="id",
        )

        # key -> possible originals in id order, so that the oldest compatible one wins
        originals_by_key = defaultdict(list)
        for candidate in candidates:
            for key in candidate._get_duplicate_keys():
                originals_by_key[key].append(candidate.duplicate_of_id or candidate)
        originals = {}
        for lead in self.sorted("id"):
            keys = lead._get_duplicate_keys()
            original = next(
                (
                    original
                    for key in keys
                    for original in originals_by_key.get(key, [])
                    if lead._is_company_compatible(original)
                ),
                None,
            )
            if original:
                originals[lead] = original
            else:
                for key in keys:
                    originals_by_key[key].append(lead)
        return originals

    def _get_duplicate_keys(self):
        self.ensure_one()
        keys = []
        if self.phone_sanitized:
            keys.append(("phone", self.phone_sanitized))
        if self.email_normalized:
            keys.append(("email", self.email_normalized))
        return keys

    def _is_company_compatible(self, other):
        """Return whether ``self`` and ``other`` may be the same person's leads: same company, or one has none."""
        self.ensure_one()
        return not self.company_id or not other.company_id or self.company_id == other.company_id

    def _link_duplicates(self, originals):
        by_original = defaultdict(list)
        for lead, original in originals.items():
            by_original[original].append(lead.id)
        for original, lead_ids in by_original.items():
            self.browse(lead_ids).sudo().write({"duplicate_of_id": original.id})
        _logger.info("Linked %s new leads to %s open leads as duplicates", len(originals), len(by_original))

    def _route_duplicates(self, originals):
        """Give each duplicate its original's counsellor and team.

        Only duplicates without a salesperson, or with their creator as salesperson (the form's default), are
        routed: a salesperson chosen on purpose is kept. Blocked leads (``calling_blocked``) and duplicates of
        unassigned originals are only linked.

        :return: the duplicates that were given a counsellor
        """
        by_original = defaultdict(list)
        for lead, original in originals.items():
            by_original[original].append(lead.id)
        routed_ids = []
        for original, lead_ids in by_original.items():
            duplicates = self.browse(lead_ids).sudo()
            owner = original.user_id
            to_route = duplicates.filtered(
                lambda lead: not lead.calling_blocked and (not lead.user_id or lead.user_id == self.env.user)
            )
            if not owner.active or not to_route:
                continue
            to_route.with_context(
                **{
                    METHOD_KEY: "duplicate",
                    REASON_KEY: self.env._("Duplicate of lead %(lead_id)s", lead_id=original.id),
                }
            ).write({"user_id": owner.id, "team_id": original.team_id.id})
            routed_ids += to_route.ids
        return self.browse(routed_ids)

    # ------------------------------------------------------------
    # Assignment by rules
    # ------------------------------------------------------------

    def _assign_by_rules(self, method="rule", exclude_users=None, notify=True):
        """Give each lead of ``self`` a counsellor by the calling assignment rules of the teams.

        Leads that are archived, won, lost or ``calling_blocked`` are left alone. A lead whose team has calling
        assignment rules stays in it, a lead in another team is left to that team, and a lead without team goes
        to the first team, in sequence order, whose conditions match.
        Leads nobody in the team can take go to the team's fallback salesperson, else to its fallback team's
        members, else stay unassigned in the team.

        :param method: history cause written for leads a rule assigns (``rule`` or ``redistribution``)
        :param exclude_users: ``res.users`` never picked, e.g. the counsellor whose leads are redistributed
        :param notify: send each new salesperson Odoo's assignment notification (batch runs turn it off, as
            Odoo's own batch assignment does)
        :return: the leads that were given a counsellor
        """
        leads = self.sudo().filtered(
            lambda lead: lead.active and lead.won_status == "pending" and not lead.calling_blocked
        )
        if not leads:
            return self.browse()
        teams = self.env["crm.team"].sudo().search([("calling_assignment", "=", True)], order="sequence, id")
        if not teams:
            return self.browse()
        now = fields.Datetime.now()
        exclude_users = exclude_users or self.env["res.users"]

        writes = defaultdict(list)  # (user id, team id, method, reason) -> lead ids
        team_only = defaultdict(list)  # team id -> ids of leads that stay unassigned in the team
        for team, team_leads in leads._get_assignment_teams(teams).items():
            allocation, left = team._allocate_calling_leads(team_leads, exclude_users, now)
            reason = self.env._("Rule of team %(team)s", team=team.name)
            for lead, user in allocation.items():
                writes[user.id, team.id, method, reason].append(lead.id)
            if not left:
                continue
            fallback_user = team.assignment_fallback_user_id
            fallback_team = team.assignment_fallback_team_id
            if fallback_user and fallback_user.active and fallback_user not in exclude_users:
                reason = self.env._("No counsellor of team %(team)s could take the lead", team=team.name)
                writes[fallback_user.id, team.id, "fallback", reason] += left.ids
                continue
            if fallback_team:
                allocation, left = fallback_team._allocate_calling_leads(left, exclude_users, now)
                reason = self.env._(
                    "No counsellor of team %(team)s could take the lead: fallback team %(fallback)s",
                    team=team.name,
                    fallback=fallback_team.name,
                )
                for lead, user in allocation.items():
                    writes[user.id, fallback_team.id, "fallback", reason].append(lead.id)
            team_only[team.id] += left.filtered(lambda lead: not lead.team_id).ids

        assigned = self.browse()
        for (user_id, team_id, cause, reason), lead_ids in writes.items():
            batch = self.browse(lead_ids).sudo()
            batch.with_context(
                **{METHOD_KEY: cause, REASON_KEY: reason, "mail_auto_subscribe_no_notify": not notify}
            ).write({"user_id": user_id, "team_id": team_id})
            assigned |= batch
        for team_id, lead_ids in team_only.items():
            self.browse(lead_ids).sudo().write({"team_id": team_id})
        _logger.info(
            "Assigned %s of %s leads by rules; %s left unassigned in their team",
            len(assigned),
            len(leads),
            sum(len(ids) for ids in team_only.values()),
        )
        return assigned.with_env(self.env)

    def _get_assignment_teams(self, teams):
        """Return ``{team: leads}`` for the leads of ``self`` that one of ``teams`` takes; see ``_assign_by_rules``."""
        result = {}
        in_team = self.filtered(lambda lead: lead.team_id in teams)
        for team, leads in in_team.grouped("team_id").items():
            result[team] = leads
        # A lead already in a team without calling rules was routed there on purpose: leave it to that team.
        remaining = self.filtered(lambda lead: not lead.team_id)
        for team in teams:
            if not remaining:
                break
            matched = remaining.filtered_domain(team._get_assignment_rule_domain())
            if matched:
                result[team] = result.get(team, self.browse()) | matched
                remaining -= matched
        return result

    @api.model
    def _assign_calling_backlog(self, teams=None):
        """Assign the open unassigned leads that calling teams take, and return the leads that were considered.

        The new salespersons are not notified lead by lead: the backlog can hold thousands of leads.

        :param teams: limit to leads these teams take (default: every team with calling assignment rules)
        """
        domain = (
            Domain("user_id", "=", False) & Domain("won_status", "=", "pending") & Domain("calling_blocked", "=", False)
        )
        leads = self.sudo().search(domain, order="id")
        if teams is not None:
            calling_teams = teams.sudo().filtered("calling_assignment")
            leads = self.browse().sudo().union(*leads._get_assignment_teams(calling_teams).values())
        leads._assign_by_rules(notify=False)
        return leads.with_env(self.env)

    @api.model
    def _cron_assign_calling_backlog(self):
        """Assign the unassigned backlog, e.g. leads created while every counsellor was off shift."""
        _logger.info("Backlog assignment started")
        leads = self._assign_calling_backlog()
        assigned = leads.filtered("user_id")
        self.env["ir.cron"]._commit_progress(len(leads))
        _logger.info("Backlog assignment done: %s of %s leads assigned", len(assigned), len(leads))

    # ------------------------------------------------------------
    # History
    # ------------------------------------------------------------

    def _log_assignment(self, previous_users, method, reason=None):
        """Write one history line per lead of ``self`` that has a salesperson or had one.

        :param previous_users: ``{lead id: previous user id}``; leads missing from it had none
        """
        vals_list = [
            {
                "lead_id": lead.id,
                "previous_user_id": previous_users.get(lead.id) or False,
                "user_id": lead.user_id.id,
                "team_id": lead.team_id.id,
                "changed_by_id": self.env.uid,
                "method": method,
                "reason": reason,
            }
            for lead in self
            if lead.user_id or previous_users.get(lead.id)
        ]
        if vals_list:
            self.env["crm.lead.assignment"].sudo().create(vals_list)
