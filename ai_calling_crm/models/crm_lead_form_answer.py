from odoo import fields, models


class CrmLeadFormAnswer(models.Model):
    """One question and its answer from the form a lead filled in."""

    _name = "crm.lead.form.answer"
    _description = "Lead Form Answer"
    _order = "lead_id, sequence, id"

    lead_id = fields.Many2one("crm.lead", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    question_key = fields.Char(required=True, help="Key the form gave the question, e.g. 'phone_number'.")
    question_label = fields.Char(help="Question as the person saw it.")
    answer = fields.Text(help="Answer as submitted; the values of a multi-value answer are on separate lines.")
    source = fields.Char(help="Where the answer came from, e.g. 'meta' for a Meta lead ad form.")
