from odoo import fields, models


class CrmPrivacyPurpose(models.Model):
    """Purpose a person can consent to, such as responding to their inquiry or marketing."""

    _name = "crm.privacy.purpose"
    _description = "Privacy Processing Purpose"
    _order = "sequence, id"

    # ------------------------------------------------------------
    # Identification
    # ------------------------------------------------------------
    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Key that code passes to the consent check, e.g. 'marketing'.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True)

    # ------------------------------------------------------------
    # Rules
    # ------------------------------------------------------------
    requires_explicit_consent = fields.Boolean(
        help="When set, the consent check fails until a 'given' consent is recorded. When not set, processing is "
        "allowed until the person withdraws (e.g. answering the inquiry they submitted).",
    )
    blocks_calling = fields.Boolean(
        help="When the person withdraws or lets this consent expire, their leads are kept out of calling and "
        "assignment.",
    )
    validity_days = fields.Integer(
        help="Days after which a given consent expires and must be asked again. 0 means it does not expire.",
    )

    # ------------------------------------------------------------
    # Notice shown to the person
    # ------------------------------------------------------------
    notice_text = fields.Text(translate=True, help="Text shown to the person when asking for consent.")
    notice_version = fields.Char(help="Version of the notice text, copied onto every consent record.")
    blacklist_on_withdrawal = fields.Boolean(
        help="When the person withdraws this consent, their email and phone are added to Odoo's email and phone "
        "blacklists so that mass mailing and SMS campaigns skip them.",
    )
    meta_checkbox_key = fields.Char(
        help="Key of the lead ad disclaimer checkbox that records this consent, as Meta sends it in "
        "custom_disclaimer_responses.",
    )

    _code_company_uniq = models.UniqueIndex(
        "(code, COALESCE(company_id, 0))",
        "A purpose code must be unique per company.",
    )
    _validity_days_positive = models.Constraint(
        "CHECK (validity_days >= 0)",
        "The validity in days cannot be negative.",
    )
