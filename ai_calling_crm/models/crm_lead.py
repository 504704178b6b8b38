from odoo import api, fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # Lead data
    # ------------------------------------------------------------
    interest_id = fields.Many2one(
        "crm.lead.interest", string="Course or Product Interest", index="btree_not_null", tracking=True
    )
    second_phone = fields.Char(help="Another number for the lead, e.g. WhatsApp or a parent's phone.")
    form_answer_ids = fields.One2many("crm.lead.form.answer", "lead_id", string="Form Answers")

    # ------------------------------------------------------------
    # Calling state
    # ------------------------------------------------------------
    do_not_call = fields.Boolean(tracking=True)
    wrong_number = fields.Boolean(tracking=True)
    calling_blocked = fields.Boolean(
        compute="_compute_calling_blocked",
        store=True,
        help="Set when the lead must not be offered for calling or assignment.",
    )

    @api.depends("do_not_call", "wrong_number")
    def _compute_calling_blocked(self):
        # Other addons extend this compute (and its dependencies) to add their own reasons.
        for lead in self:
            lead.calling_blocked = lead.do_not_call or lead.wrong_number
