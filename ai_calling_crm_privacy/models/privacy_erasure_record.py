from odoo import fields, models
from odoo.tools import email_normalize, hmac

# Scope string mixed into every identifier hash, so that these hashes cannot be compared with other HMACs that Odoo
# computes from the same database secret.
HASH_SCOPE = "ai_calling_crm_privacy.erasure"


class CrmPrivacyErasureRecord(models.Model):
    """Minimal proof that a person was erased: when, by whom, how many records, and hashed identifiers.

    The hashes are HMAC-SHA256 of the normalised identifiers keyed with the database secret, so the record shows
    that a given email or phone was erased without storing it, and nobody without the secret can reverse them.
    """

    _name = "crm.privacy.erasure.record"
    _description = "Erasure Record"
    _order = "date desc, id desc"
    _rec_name = "date"

    request_id = fields.Many2one("crm.privacy.request", readonly=True, ondelete="set null", index="btree_not_null")
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    approved_by_id = fields.Many2one("res.users", readonly=True, ondelete="restrict")
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    mode = fields.Selection([("anonymise", "Anonymise"), ("delete", "Delete")], readonly=True)
    name_hash = fields.Char(readonly=True)
    email_hash = fields.Char(readonly=True)
    phone_hash = fields.Char(readonly=True)
    counts = fields.Json(readonly=True, help="Number of records erased per kind of data.")
    counts_text = fields.Text(string="Erased Records", compute="_compute_counts_text")

    def _compute_counts_text(self):
        for record in self:
            record.counts_text = "\n".join(f"{key}: {value}" for key, value in sorted((record.counts or {}).items()))

    def _hash_identifier(self, kind, value):
        """Return the HMAC of one normalised identifier, or False when ``value`` is empty."""
        if not value:
            return False
        if kind == "email":
            value = email_normalize(value) or value.strip().lower()
        elif kind == "phone":
            value = "".join(char for char in value if char.isdigit())[-10:]
        else:
            value = " ".join(value.lower().split())
        return hmac(self.env(su=True), f"{HASH_SCOPE}.{kind}", value)
