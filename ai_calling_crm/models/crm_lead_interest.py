from odoo import fields, models


class CrmLeadInterest(models.Model):
    """Course or product a lead asks about, chosen from a list the business keeps."""

    _name = "crm.lead.interest"
    _description = "Lead Course or Product Interest"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(help="Short key that connectors match against form answers, e.g. 'bsc-nursing'.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True)

    _code_company_uniq = models.UniqueIndex(
        "(code, company_id) WHERE code IS NOT NULL",
        "An interest code must be unique per company.",
    )
