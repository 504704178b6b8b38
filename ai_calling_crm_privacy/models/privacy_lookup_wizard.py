from odoo import fields, models
from odoo.tools import SQL

from .privacy_person import MIN_PHONE_DIGITS, PHONE_KEY_DIGITS

# Columns holding phone numbers, per model, searched on their last digits.
PHONE_COLUMNS = {
    "res.partner": ["phone", "phone_sanitized"],
    "crm.lead": ["phone", "phone_sanitized", "second_phone"],
    "crm.call": ["phone_number"],
}


class PrivacyLookupWizard(models.TransientModel):
    _inherit = "privacy.lookup.wizard"

    phone = fields.Char(help="Also list contacts, leads and calls whose phone number ends with the same digits.")

    def _get_query(self):
        query = super()._get_query()
        digits = "".join(char for char in self.phone or "" if char.isdigit())
        if len(digits) < MIN_PHONE_DIGITS:
            return query
        phone_key = f"%{digits[-PHONE_KEY_DIGITS:]}"
        parts = [query]
        for model_name, columns in PHONE_COLUMNS.items():
            if model_name not in self.env:
                continue
            model = self.env[model_name]
            conditions = SQL(" OR ").join(
                SQL("regexp_replace(%s, '[^0-9]', '', 'g') LIKE %s", SQL.identifier(column), phone_key)
                for column in columns
            )
            parts.append(
                SQL(
                    "SELECT %s AS res_model_id, id AS res_id, %s AS is_active FROM %s WHERE %s",
                    self.env["ir.model"]._get_id(model_name),
                    SQL.identifier("active") if "active" in model._fields else True,
                    SQL.identifier(model._table),
                    conditions,
                )
            )
        return SQL(" UNION ALL ").join(parts)
