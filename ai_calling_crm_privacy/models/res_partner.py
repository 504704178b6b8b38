from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    privacy_consent_ids = fields.One2many("crm.privacy.consent", "partner_id", string="Consent Records")
    privacy_restricted = fields.Boolean(
        string="Processing Restricted",
        help="Set by a restriction request: the contact's leads are kept out of calling and marketing until lifted.",
    )
    privacy_legal_hold = fields.Boolean(string="Legal Hold", help="Retention policies skip contacts on legal hold.")
    privacy_erased = fields.Boolean(string="Erased", readonly=True, copy=False)

    def _check_consent(self, purpose_code, channel="any", explicit_needed=True):
        """Return whether this contact may be processed for ``purpose_code`` on ``channel``.

        With ``explicit_needed`` False (the lead check uses it), a contact without any consent record for the
        purpose does not refuse, because the lead itself carries the consent.
        """
        self.ensure_one()
        if self.privacy_erased or self.privacy_restricted:
            return False
        consents = self.env["crm.privacy.consent"]
        if not explicit_needed and not consents.sudo().search_count(
            [("partner_id", "=", self.id), ("purpose_code", "=", purpose_code)], limit=1
        ):
            return True
        return consents._is_allowed(self, purpose_code, channel)
