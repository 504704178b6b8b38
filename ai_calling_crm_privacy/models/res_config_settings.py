from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    privacy_contact_email = fields.Char(related="company_id.privacy_contact_email", readonly=False)
    privacy_grievance_officer_name = fields.Char(related="company_id.privacy_grievance_officer_name", readonly=False)
    privacy_grievance_officer_email = fields.Char(related="company_id.privacy_grievance_officer_email", readonly=False)
    privacy_policy_extra = fields.Html(related="company_id.privacy_policy_extra", readonly=False)
    privacy_request_due_days = fields.Integer(
        string="Request Due Days",
        config_parameter="ai_calling_crm_privacy.request_due_days",
        default=30,
        help="Days from submission to the due date of a data-subject request.",
    )
    privacy_reminder_days = fields.Integer(
        string="Reminder Days",
        config_parameter="ai_calling_crm_privacy.reminder_days",
        default=7,
        help="Days before the due date when the officer gets a to-do for an open request.",
    )
    privacy_erasure_mode = fields.Selection(
        [("anonymise", "Anonymise"), ("delete", "Delete")],
        string="Erasure of Leads",
        config_parameter="ai_calling_crm_privacy.erasure_mode",
        default="anonymise",
        help="Anonymise keeps erased leads for statistics without personal data; Delete removes them.",
    )
    privacy_block_minors = fields.Boolean(
        string="Block Minors Without Guardian Consent",
        config_parameter="ai_calling_crm_privacy.block_minors",
        default=True,
    )
    privacy_retention_batch_size = fields.Integer(
        string="Retention Batch Size",
        config_parameter="ai_calling_crm_privacy.retention_batch_size",
        default=1000,
        help="Records processed per committed batch by the retention job.",
    )
    privacy_meta_app_secret = fields.Char(
        string="Meta App Secret",
        config_parameter="ai_calling_crm_privacy.meta_app_secret",
        help="Secret that signs Meta's data deletion callbacks. Leave empty to use the Meta connector's app secret.",
    )
    privacy_alias_name = fields.Char(
        string="Request Email Alias",
        compute="_compute_privacy_alias_name",
        inverse="_inverse_privacy_alias_name",
        help="Local part of the address that turns incoming emails into data-subject requests, e.g. 'privacy'.",
    )

    @api.depends("company_id")
    def _compute_privacy_alias_name(self):
        alias = self.env.ref("ai_calling_crm_privacy.mail_alias_privacy_request", raise_if_not_found=False)
        for settings in self:
            settings.privacy_alias_name = alias.sudo().alias_name if alias else False

    def _inverse_privacy_alias_name(self):
        alias = self.env.ref("ai_calling_crm_privacy.mail_alias_privacy_request", raise_if_not_found=False)
        for settings in self:
            if alias and alias.sudo().alias_name != settings.privacy_alias_name:
                alias.sudo().alias_name = settings.privacy_alias_name
