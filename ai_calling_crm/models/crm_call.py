import logging

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

_logger = logging.getLogger(__name__)


class CrmCall(models.Model):
    """One phone call with a lead, logged by a counsellor or reported by a telephony provider.

    Creating a call posts a note on the lead, closes the lead's open "Call" follow-up, applies the
    outcome's effects (flags, stage, lost) and plans the next follow-up.
    """

    _name = "crm.call"
    _description = "Call"
    _order = "call_start desc, id desc"

    # ------------------------------------------------------------
    # Who and what
    # ------------------------------------------------------------
    lead_id = fields.Many2one(
        "crm.lead",
        required=True,
        index=True,
        # A call means nothing without its lead, and erasing a lead must erase its calls.
        ondelete="cascade",
    )
    partner_id = fields.Many2one(related="lead_id.partner_id", store=True, string="Contact")
    team_id = fields.Many2one(related="lead_id.team_id", store=True, string="Sales Team")
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True)
    user_id = fields.Many2one(
        "res.users", string="Caller", default=lambda self: self.env.user, index=True, required=True
    )
    direction = fields.Selection([("outbound", "Outbound"), ("inbound", "Inbound")], default="outbound", required=True)
    phone_number = fields.Char(
        "Number Dialled", help="Stored in E.164 format, e.g. +919812345678. Empty means the lead's number."
    )

    # ------------------------------------------------------------
    # Call data
    # ------------------------------------------------------------
    call_start = fields.Datetime("Start", default=fields.Datetime.now, required=True, index=True)
    duration = fields.Integer("Duration (s)", help="Talk time in seconds.")
    outcome_id = fields.Many2one("crm.call.outcome", index="btree_not_null")
    is_connected = fields.Boolean(related="outcome_id.is_connected", store=True, string="Connected")
    connect_rate = fields.Float(
        "Connect Rate (%)",
        compute="_compute_connect_rate",
        store=True,
        aggregator="avg",
        help="100 for a connected call, 0 otherwise, so that its average over calls is the connect rate.",
    )
    notes = fields.Text()
    next_follow_up_at = fields.Datetime(
        "Next Follow-up", help="Follow-up planned when this call was logged. Empty when none was planned."
    )

    # ------------------------------------------------------------
    # Recording and telephony
    # ------------------------------------------------------------
    recording_attachment_id = fields.Many2one("ir.attachment", string="Recording", ondelete="set null")
    recording_url = fields.Char("Recording URL")
    provider = fields.Char(help="Telephony system that reported the call, e.g. 'exotel'.")
    external_call_id = fields.Char("External Call ID", help="Identifier of the call in the provider's system.")

    _duration_positive = models.Constraint(
        "CHECK(duration >= 0)",
        "The duration of a call cannot be negative; enter the talk time in seconds.",
    )
    _provider_external_call_uniq = models.UniqueIndex(
        "(provider, external_call_id) WHERE provider IS NOT NULL AND external_call_id IS NOT NULL",
        "This provider has already reported a call with this external call ID.",
    )

    @api.depends("is_connected")
    def _compute_connect_rate(self):
        for call in self:
            call.connect_rate = 100.0 if call.is_connected else 0.0

    @api.depends("lead_id", "call_start")
    def _compute_display_name(self):
        for call in self:
            start = fields.Datetime.context_timestamp(call, call.call_start) if call.call_start else False
            call.display_name = self.env._(
                "%(lead)s, %(start)s",
                lead=call.lead_id.display_name or "",
                start=start.strftime("%Y-%m-%d %H:%M") if start else "",
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_phone_vals(vals)
        for vals in vals_list:
            if "next_follow_up_at" not in vals and vals.get("lead_id"):
                vals["next_follow_up_at"] = self._get_default_follow_up_at(vals)
        calls = super().create(vals_list)
        calls._process_logged_calls()
        return calls

    def write(self, vals):
        if vals.get("phone_number"):
            for call in self:
                call_vals = dict(vals, lead_id=call.lead_id.id)
                call._normalize_phone_vals(call_vals)
                super(CrmCall, call).write(call_vals)
            return True
        return super().write(vals)

    # ------------------------------------------------------------
    # Telephony API
    # ------------------------------------------------------------
    @api.model
    def report_provider_call(self, vals):
        """Create the call a telephony provider reports, or update it when it was reported before.

        Meant for telephony integrations calling over the external API. ``vals`` must contain
        ``provider`` and ``external_call_id``. A report for a known call updates only its
        duration, recording and notes: the outcome and its effects on the lead apply once, when the
        call is first reported.

        :return: id of the call
        """
        provider = vals.get("provider")
        external_call_id = vals.get("external_call_id")
        if not provider or not external_call_id:
            raise UserError(
                self.env._(
                    "A reported call needs a provider and an external call ID, got %(provider)s and "
                    "%(external_call_id)s.",
                    provider=provider or self.env._("none"),
                    external_call_id=external_call_id or self.env._("none"),
                )
            )
        # The caller may not see a call reported earlier, e.g. on a lead of another counsellor, but
        # it must be found to avoid a duplicate; updating it still checks the caller's access.
        existing = (
            self.sudo()
            .with_context(active_test=False)
            .search([("provider", "=", provider), ("external_call_id", "=", external_call_id)], limit=1)
        )
        if not existing:
            return self.create(vals).id
        update_vals = {field: vals[field] for field in self._get_provider_update_fields() if field in vals}
        if update_vals:
            self.browse(existing.id).write(update_vals)
        return existing.id

    @api.model
    def _get_provider_update_fields(self):
        return ["duration", "recording_attachment_id", "recording_url", "notes"]

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------
    @api.model
    def _normalize_phone_vals(self, vals):
        """Store the number in E.164, formatted with the lead's country, else its company's.

        A number given in ``vals`` that cannot be parsed raises a ValidationError. When no number is
        given, the lead's phone is used if it parses. Otherwise the number stays empty, so that a call
        to a wrong number can still be logged.
        """
        lead = self.env["crm.lead"].browse(vals.get("lead_id"))
        if not lead:
            raise ValidationError(self.env._("A call must be linked to a lead. Choose the lead that was called."))
        lead = lead.exists()
        if not lead:
            raise ValidationError(
                self.env._(
                    "Lead %(lead_id)s was not found. It may have been deleted, so choose another lead.",
                    lead_id=vals["lead_id"],
                )
            )
        country = lead._get_call_country()
        number = vals.get("phone_number")
        if number:
            formatted = lead._phone_format(number=number, country=country, force_format="E164")
            if not formatted:
                raise ValidationError(
                    self.env._(
                        "The phone number %(number)s is not valid for %(country)s. Enter it with its "
                        "country code, e.g. +919812345678.",
                        number=number,
                        country=country.name or self.env._("an unknown country"),
                    )
                )
            vals["phone_number"] = formatted
        else:
            vals["phone_number"] = lead.phone and lead._phone_format(
                number=lead.phone, country=country, force_format="E164"
            )

    @api.model
    def _get_default_follow_up_at(self, vals):
        """Return when the next call is due according to the outcome's delay, or False."""
        outcome = self.env["crm.call.outcome"].browse(vals.get("outcome_id"))
        if not outcome:
            return False
        delta = outcome._get_follow_up_delta()
        if delta is None:
            return False
        start = vals.get("call_start") or fields.Datetime.now()
        return fields.Datetime.to_datetime(start) + delta

    def _process_logged_calls(self):
        """Post the chatter note, close the open follow-up, apply the outcome and plan the next call."""
        for call in self:
            lead = call.lead_id
            lead._close_call_follow_ups(feedback=call._get_follow_up_feedback())
            lead.message_post(body=call._get_chatter_body(), subtype_xmlid="mail.mt_note")
            call._apply_outcome()
            if call.next_follow_up_at:
                activity = lead._schedule_call_follow_up(call.next_follow_up_at, summary=call.outcome_id.name or None)
                if not activity:
                    call.next_follow_up_at = False
            _logger.debug("Logged call %s on lead %s", call.id, lead.id)

    def _apply_outcome(self):
        """Flag, move or mark lost the lead as set on the call's outcome.

        When the outcome's maximum attempts are reached, the planned follow-up is dropped and, if
        the outcome asks for it, the lead is marked lost.
        """
        self.ensure_one()
        outcome = self.outcome_id
        lead = self.lead_id
        if not outcome:
            return
        lead_vals = self._prepare_outcome_lead_vals()
        if lead_vals:
            lead.write(lead_vals)
        max_reached = outcome.max_attempts and lead._get_call_attempt_count(outcome) >= outcome.max_attempts
        if max_reached or lead.calling_blocked:
            self.next_follow_up_at = False
        mark_lost = outcome.mark_lost or (max_reached and outcome.lost_after_max_attempts)
        if mark_lost and lead.active:
            self.next_follow_up_at = False
            lead._close_call_follow_ups(feedback=self.env._("Lead marked lost after the call."))
            lead.action_set_lost(lost_reason_id=outcome.lost_reason_id.id)

    def _prepare_outcome_lead_vals(self):
        outcome = self.outcome_id
        vals = {}
        if outcome.set_wrong_number and not self.lead_id.wrong_number:
            vals["wrong_number"] = True
        if outcome.set_do_not_call and not self.lead_id.do_not_call:
            vals["do_not_call"] = True
        if outcome.stage_id and self.lead_id.stage_id != outcome.stage_id:
            vals["stage_id"] = outcome.stage_id.id
        return vals

    def _get_follow_up_feedback(self):
        self.ensure_one()
        parts = [self.outcome_id.name or self.env._("Call logged")]
        if self.notes:
            parts.append(self.notes)
        return "\n".join(parts)

    def _get_chatter_body(self):
        self.ensure_one()
        minutes, seconds = divmod(self.duration or 0, 60)
        direction = dict(self._fields["direction"]._description_selection(self.env))[self.direction]
        summary = self.env._(
            "%(direction)s call: %(outcome)s, %(minutes)s min %(seconds)s s",
            direction=direction,
            outcome=self.outcome_id.name or self.env._("no outcome"),
            minutes=minutes,
            seconds=seconds,
        )
        body = Markup("<p>%s</p>") % summary
        if self.notes:
            body += Markup("<p>%s</p>") % Markup("<br/>").join(escape(line) for line in self.notes.splitlines())
        return body

    def action_open_lead(self):
        """Open the lead of the call."""
        self.ensure_one()
        if not self.lead_id.has_access("read"):
            raise UserError(self.env._("You cannot open this lead because you do not have access to it."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": self.lead_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
