import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Context key that lets an erasure delete consent evidence (honoured only together with superuser mode).
ERASURE_CONTEXT_KEY = "privacy_consent_erasure"

CHANNELS = [
    ("any", "Any Channel"),
    ("phone", "Phone Call"),
    ("email", "Email"),
    ("sms", "SMS"),
    ("whatsapp", "WhatsApp"),
]
EVIDENCE_GROUP = "ai_calling_crm_privacy.group_privacy_officer"


class CrmPrivacyConsent(models.Model):
    """One timestamped consent event: given, withdrawn or expired.

    Records are append-only evidence, because no user can edit or delete them through the ORM. A withdrawal or an
    expiry is a new record, and the latest record per person, purpose and channel is the current state. Only an erasure
    removes them, through ``_unlink_for_erasure``.
    """

    _name = "crm.privacy.consent"
    _description = "Consent Record"
    _order = "date desc, id desc"
    _rec_name = "purpose_id"

    # ------------------------------------------------------------
    # Whose consent, for what
    # ------------------------------------------------------------
    lead_id = fields.Many2one("crm.lead", index="btree_not_null", ondelete="cascade")
    partner_id = fields.Many2one("res.partner", index="btree_not_null", ondelete="cascade")
    company_id = fields.Many2one("res.company", index=True)
    purpose_id = fields.Many2one("crm.privacy.purpose", required=True, ondelete="restrict")
    purpose_code = fields.Char(related="purpose_id.code", store=True, index=True)
    channel = fields.Selection(CHANNELS, required=True, default="any")
    status = fields.Selection(
        [("given", "Given"), ("withdrawn", "Withdrawn"), ("expired", "Expired")],
        required=True,
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    is_guardian_consent = fields.Boolean(help="Given by a parent or guardian on behalf of a person under 18.")
    is_current = fields.Boolean(
        compute="_compute_is_current",
        search="_search_is_current",
        help="Latest record for this person, purpose and channel, i.e. the consent state in force.",
    )

    # ------------------------------------------------------------
    # Source and evidence
    # ------------------------------------------------------------
    source = fields.Selection(
        [
            ("meta_lead_ad", "Lead Ad Form"),
            ("web_form", "Web Form"),
            ("call", "Verbal During a Call"),
            ("import", "Import"),
            ("request", "Data-Subject Request"),
            ("manual", "Recorded by a User"),
            ("system", "Expiry"),
        ],
        required=True,
        default="manual",
    )
    user_id = fields.Many2one("res.users", string="Recorded By", default=lambda self: self.env.user)
    call_id = fields.Many2one("crm.call", ondelete="set null", help="Call during which verbal consent was recorded.")
    meta_form_id = fields.Char(string="Lead Form ID")
    meta_leadgen_id = fields.Char(string="Meta Lead ID")
    meta_checkbox_key = fields.Char(string="Checkbox Key")
    ip_address = fields.Char(string="IP Address", groups=EVIDENCE_GROUP)
    user_agent = fields.Char(groups=EVIDENCE_GROUP)
    notice_text = fields.Text(groups=EVIDENCE_GROUP, help="Notice text the person was shown.")
    notice_version = fields.Char()
    note = fields.Text(groups=EVIDENCE_GROUP)

    @api.constrains("lead_id", "partner_id")
    def _check_subject(self):
        for consent in self:
            if not consent.lead_id and not consent.partner_id:
                raise ValidationError(
                    self.env._(
                        "Consent for purpose %(purpose)s has neither a lead nor a contact: set one of them.",
                        purpose=consent.purpose_id.display_name,
                    )
                )

    def _compute_is_current(self):
        current_ids = set(self._current_consent_ids(self.ids))
        for consent in self:
            consent.is_current = consent.id in current_ids

    def _search_is_current(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Operation %(operator)s is not supported on Current.", operator=operator))
        query = SQL(
            """SELECT DISTINCT ON (COALESCE(lead_id, 0), COALESCE(partner_id, 0), purpose_id, channel) id
                 FROM crm_privacy_consent
             ORDER BY COALESCE(lead_id, 0), COALESCE(partner_id, 0), purpose_id, channel, date DESC, id DESC"""
        )
        is_in = (operator == "=") == value
        return Domain("id", "in" if is_in else "not in", query)

    # ------------------------------------------------------------
    # CRUD: evidence is append-only
    # ------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("company_id"):
                subject = (
                    self.env["crm.lead"].browse(vals["lead_id"])
                    if vals.get("lead_id")
                    else self.env["res.partner"].browse(vals.get("partner_id"))
                )
                vals["company_id"] = subject.company_id.id or self.env.company.id
            if vals.get("purpose_id") and not vals.get("notice_version"):
                vals["notice_version"] = self.env["crm.privacy.purpose"].browse(vals["purpose_id"]).notice_version
        consents = super().create(vals_list)
        consents._after_consent_recorded()
        return consents

    def write(self, vals):
        if self:
            raise UserError(
                self.env._(
                    "Consent records are evidence and cannot be changed. Record a new consent (given, withdrawn or "
                    "expired) instead."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_evidence(self):
        # Only an erasure deletes evidence: it runs as superuser, which no RPC context can turn on.
        if self.env.su and self.env.context.get(ERASURE_CONTEXT_KEY):
            return
        raise UserError(
            self.env._(
                "Consent records are evidence and cannot be deleted. Only the erasure of a data-subject request "
                "removes them."
            )
        )

    @api.private
    def _unlink_for_erasure(self):
        """Delete consent records as part of an erasure; the only path that bypasses the append-only rule."""
        return self.sudo().with_context(**{ERASURE_CONTEXT_KEY: True}).unlink()

    # ------------------------------------------------------------
    # Consent API used by other code
    # ------------------------------------------------------------
    @api.model
    def _record(self, subjects, purpose_code, status, channel="any", source="manual", **evidence):
        """Create one consent record per lead or contact in ``subjects`` and return them.

        :param subjects: ``crm.lead`` or ``res.partner`` recordset
        :param evidence: extra field values, e.g. ``ip_address``, ``meta_form_id``, ``call_id``
        """
        purpose = self._get_purpose(purpose_code, subjects[:1].company_id)
        field_name = "lead_id" if subjects._name == "crm.lead" else "partner_id"
        # sudo: counsellors record verbal consent, but the evidence fields are readable by privacy officers only.
        return self.sudo().create(
            [
                {
                    field_name: subject.id,
                    "purpose_id": purpose.id,
                    "status": status,
                    "channel": channel,
                    "source": source,
                    "notice_text": purpose.notice_text,
                    **evidence,
                }
                for subject in subjects
            ]
        )

    @api.model
    def _is_allowed(self, subject, purpose_code, channel="any"):
        """Return whether ``subject`` (one lead or contact) may be processed for ``purpose_code`` on ``channel``.

        The latest consent record for the purpose on that channel (or on "any") decides: a 'given' one that has not
        outlived the purpose's validity allows, a withdrawn or expired one refuses. Without any record, purposes
        that require explicit consent refuse and the others allow.
        """
        subject.ensure_one()
        purpose = self._get_purpose(purpose_code, subject.company_id)
        field_name = "lead_id" if subject._name == "crm.lead" else "partner_id"
        latest = self.sudo().search(
            [
                (field_name, "=", subject.id),
                ("purpose_id", "=", purpose.id),
                ("channel", "in", ["any", channel]),
            ],
            order="date desc, id desc",
            limit=1,
        )
        if not latest:
            return not purpose.requires_explicit_consent
        if latest.status != "given":
            return False
        return not latest._is_outdated()

    def _is_outdated(self):
        self.ensure_one()
        days = self.purpose_id.validity_days
        return bool(days) and fields.Datetime.add(self.date, days=days) < fields.Datetime.now()

    @api.model
    def _get_purpose(self, purpose_code, company=None):
        purposes = self.env["crm.privacy.purpose"].sudo().search([("code", "=", purpose_code)])
        purpose = (
            purposes.filtered(lambda p: p.company_id == company)[:1]
            or purposes.filtered(lambda p: not p.company_id)[:1]
        )
        if not purpose:
            raise UserError(
                self.env._(
                    "No consent purpose with code %(code)s exists. Create it under CRM > Configuration > "
                    "Consent Purposes or fix the code.",
                    code=purpose_code,
                )
            )
        return purpose

    # ------------------------------------------------------------
    # Private helpers
    # ------------------------------------------------------------
    def _current_consent_ids(self, ids=None):
        where = SQL("WHERE id IN %s", tuple(ids)) if ids else SQL()
        self.env["crm.privacy.consent"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM (
                    SELECT DISTINCT ON (COALESCE(lead_id, 0), COALESCE(partner_id, 0), purpose_id, channel) id
                      FROM crm_privacy_consent
                  ORDER BY COALESCE(lead_id, 0), COALESCE(partner_id, 0), purpose_id, channel, date DESC, id DESC
                ) AS current %s""",
                where,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _cron_expire_consents(self):
        """Record an 'expired' consent for every given consent that outlived its purpose's validity."""
        purposes = self.env["crm.privacy.purpose"].sudo().search([("validity_days", ">", 0)])
        current = self.sudo().browse(self._current_consent_ids())
        outdated = current.filtered(
            lambda consent: consent.status == "given" and consent.purpose_id in purposes and consent._is_outdated()
        )
        _logger.info("Consent expiry started: %s consents outlived their validity", len(outdated))
        self.sudo().create(
            [
                {
                    "lead_id": consent.lead_id.id,
                    "partner_id": consent.partner_id.id,
                    "purpose_id": consent.purpose_id.id,
                    "channel": consent.channel,
                    "status": "expired",
                    "source": "system",
                    "user_id": self.env.uid,
                }
                for consent in outdated
            ]
        )
        self.env["ir.cron"]._commit_progress(len(outdated))
        _logger.info("Consent expiry finished: %s expired consents recorded", len(outdated))

    def _after_consent_recorded(self):
        """Log each consent change and apply the blacklists of purposes that ask for it."""
        for consent in self:
            self.env["crm.privacy.audit.log"]._log(
                "consent",
                consent,
                details={"status": consent.status, "purpose": consent.purpose_code, "channel": consent.channel},
            )
        withdrawn = self.filtered(lambda c: c.status == "withdrawn" and c.purpose_id.blacklist_on_withdrawal)
        for consent in withdrawn:
            subject = consent.lead_id or consent.partner_id
            if subject.email_normalized:
                self.env["mail.blacklist"].sudo()._add(subject.email_normalized)
            if subject.phone_sanitized:
                self.env["phone.blacklist"].sudo()._add([subject.phone_sanitized])
