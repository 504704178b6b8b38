from odoo import fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # Meta lead ad origin (ids as text: Meta ids exceed 32-bit integers)
    # ------------------------------------------------------------
    meta_leadgen_id = fields.Char("Meta Leadgen ID", readonly=True, copy=False, index="btree_not_null")
    meta_page_id = fields.Char("Meta Page ID", readonly=True, copy=False)
    meta_form_id = fields.Char("Meta Form ID", readonly=True, copy=False)
    meta_ad_id = fields.Char("Meta Ad ID", readonly=True, copy=False)
    meta_ad_name = fields.Char("Meta Ad", readonly=True, copy=False)
    meta_adset_id = fields.Char("Meta Ad Set ID", readonly=True, copy=False)
    meta_adset_name = fields.Char("Meta Ad Set", readonly=True, copy=False)
    meta_campaign_id = fields.Char("Meta Campaign ID", readonly=True, copy=False)
    meta_campaign_name = fields.Char("Meta Campaign", readonly=True, copy=False)
    meta_created_time = fields.Datetime("Submitted on Meta", readonly=True, copy=False)
    meta_is_organic = fields.Boolean("Organic Meta Lead", readonly=True, copy=False)
    meta_platform = fields.Selection([("fb", "Facebook"), ("ig", "Instagram")], readonly=True, copy=False)
    meta_disclaimer_responses = fields.Json(
        readonly=True,
        copy=False,
        help="Custom disclaimer check boxes as Meta returned them (custom_disclaimer_responses).",
    )
