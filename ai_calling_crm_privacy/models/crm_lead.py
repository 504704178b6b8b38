import logging

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# Age of majority for consent under India's DPDP Act 2023 (section 2(j)); GDPR lets member states pick 13 to 16,
# so 18 is the stricter choice for a product used in both.
ADULT_AGE = 18


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # Consent
    # ------------------------------------------------------------
    privacy_consent_ids = fields.One2many("crm.privacy.consent", "lead_id", string="Consent Records")
    privacy_consent_blocked = fields.Boolean(
        string="Consent Withdrawn",
        compute="_compute_privacy_consent_blocked",
        store=True,
        help="Set when consent for a purpose that blocks calling was withdrawn or expired.",
    )

    # ------------------------------------------------------------
    # Minors
    # ------------------------------------------------------------
    date_of_birth = fields.Date()
    privacy_is_minor = fields.Boolean(
        string="Minor",
        compute="_compute_privacy_is_minor",
        store=True,
        help="Set when the date of birth shows an age under 18.",
    )
    privacy_guardian_consent = fields.Boolean(
        string="Guardian Consent",
        compute="_compute_privacy_guardian_consent",
        store=True,
        help="Set when a parent or guardian gave consent on behalf of the minor.",
    )
    privacy_minor_blocked = fields.Boolean(
        string="Minor Without Guardian Consent",
        compute="_compute_privacy_minor_blocked",
        store=True,
    )

    # ------------------------------------------------------------
    # Processing state
    # ------------------------------------------------------------
    privacy_restricted = fields.Boolean(
        string="Processing Restricted",
        tracking=True,
        help="Set by a restriction request: the lead is kept out of calling, assignment and marketing until lifted.",
    )
    privacy_legal_hold = fields.Boolean(
        string="Legal Hold", tracking=True, help="Retention policies skip leads on legal hold."
    )
    privacy_erased = fields.Boolean(string="Erased", readonly=True, index=True, copy=False)

    @api.depends("privacy_consent_ids.status", "privacy_consent_ids.purpose_id.blocks_calling")
    def _compute_privacy_consent_blocked(self):
        current_ids = set(self.env["crm.privacy.consent"].sudo()._current_consent_ids(self.privacy_consent_ids.ids))
        for lead in self:
            lead.privacy_consent_blocked = any(
                consent.id in current_ids and consent.status != "given" and consent.purpose_id.blocks_calling
                for consent in lead.sudo().privacy_consent_ids
            )

    @api.depends("date_of_birth")
    def _compute_privacy_is_minor(self):
        adult_birth_limit = fields.Date.context_today(self) - relativedelta(years=ADULT_AGE)
        for lead in self:
            lead.privacy_is_minor = bool(lead.date_of_birth) and lead.date_of_birth > adult_birth_limit

    @api.depends("privacy_consent_ids.status", "privacy_consent_ids.is_guardian_consent")
    def _compute_privacy_guardian_consent(self):
        current_ids = set(self.env["crm.privacy.consent"].sudo()._current_consent_ids(self.privacy_consent_ids.ids))
        for lead in self:
            lead.privacy_guardian_consent = any(
                consent.id in current_ids and consent.is_guardian_consent and consent.status == "given"
                for consent in lead.sudo().privacy_consent_ids
            )

    @api.depends("privacy_is_minor", "privacy_guardian_consent")
    def _compute_privacy_minor_blocked(self):
        blocking = self._is_minor_blocking_enabled()
        for lead in self:
            lead.privacy_minor_blocked = blocking and lead.privacy_is_minor and not lead.privacy_guardian_consent

    @api.depends("privacy_restricted", "privacy_consent_blocked", "privacy_minor_blocked", "privacy_erased")
    def _compute_calling_blocked(self):
        result = super()._compute_calling_blocked()
        for lead in self:
            lead.calling_blocked = (
                lead.calling_blocked
                or lead.privacy_restricted
                or lead.privacy_consent_blocked
                or lead.privacy_minor_blocked
                or lead.privacy_erased
            )
        return result

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        if "meta_disclaimer_responses" in self._fields:
            leads.filtered("meta_disclaimer_responses")._record_meta_disclaimer_consents()
        return leads

    def write(self, vals):
        result = super().write(vals)
        if vals.get("meta_disclaimer_responses") and "meta_disclaimer_responses" in self._fields:
            self._record_meta_disclaimer_consents()
        return result

    # ------------------------------------------------------------
    # Consent API
    # ------------------------------------------------------------
    def _check_consent(self, purpose_code, channel="any"):
        """Return whether this lead may be processed for ``purpose_code`` on ``channel``.

        Call it before calling, messaging or marketing. It returns False for erased or restricted leads and for
        minors without guardian consent when that rule is enabled. It also returns False when the latest consent
        of the lead or its contact for the purpose was withdrawn or expired, or never given for a purpose that
        requires it.
        """
        self.ensure_one()
        if self.privacy_erased or self.privacy_restricted or self.privacy_minor_blocked:
            return False
        consents = self.env["crm.privacy.consent"]
        if not consents._is_allowed(self, purpose_code, channel):
            return False
        if self.partner_id:
            return self.partner_id._check_consent(purpose_code, channel, explicit_needed=False)
        return True

    # ------------------------------------------------------------
    # Private helpers
    # ------------------------------------------------------------
    @api.model
    def _is_minor_blocking_enabled(self):
        param = self.env["ir.config_parameter"].sudo().get_param("ai_calling_crm_privacy.block_minors", "True")
        return param not in ("False", "0", "")

    def _record_meta_disclaimer_consents(self):
        """Turn the checked boxes of Meta lead ad disclaimers into 'given' consent records.

        Each response in ``meta_disclaimer_responses`` with ``is_checked`` set is matched to the purpose whose
        ``meta_checkbox_key`` equals its ``checkbox_key``; a response without a matching purpose is skipped.
        A lead gets at most one record per checkbox key, so re-importing the same lead adds nothing.
        """
        purposes = self.env["crm.privacy.purpose"].sudo().search([("meta_checkbox_key", "!=", False)])
        purpose_by_key = {purpose.meta_checkbox_key: purpose for purpose in purposes}
        consent_vals = []
        for lead in self.sudo():
            existing_keys = set(lead.privacy_consent_ids.mapped("meta_checkbox_key"))
            for response in lead.meta_disclaimer_responses or []:
                key = isinstance(response, dict) and response.get("checkbox_key")
                checked = isinstance(response, dict) and str(response.get("is_checked", "")).lower() in ("1", "true")
                purpose = purpose_by_key.get(key)
                if not checked or not purpose or key in existing_keys:
                    continue
                existing_keys.add(key)
                consent_vals.append(
                    {
                        "lead_id": lead.id,
                        "purpose_id": purpose.id,
                        "status": "given",
                        "channel": "any",
                        "source": "meta_lead_ad",
                        "meta_checkbox_key": key,
                        "meta_form_id": lead.meta_form_id if "meta_form_id" in lead._fields else False,
                        "meta_leadgen_id": lead.meta_leadgen_id if "meta_leadgen_id" in lead._fields else False,
                        "notice_text": purpose.notice_text,
                        "date": lead.create_date or fields.Datetime.now(),
                    }
                )
        if consent_vals:
            self.env["crm.privacy.consent"].sudo().create(consent_vals)

    @api.model
    def _cron_refresh_minor_flags(self):
        """Clear the minor flag of leads that turned 18 since it was computed."""
        adult_birth_limit = fields.Date.context_today(self) - relativedelta(years=ADULT_AGE)
        leads = self.with_context(active_test=False).search(
            [("privacy_is_minor", "=", True), ("date_of_birth", "<=", adult_birth_limit)]
        )
        _logger.info("Refreshing the minor flag of %s leads that turned %s", len(leads), ADULT_AGE)
        leads._compute_privacy_is_minor()
        return len(leads)
