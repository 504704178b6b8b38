from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    privacy_contact_email = fields.Char(help="Address shown on the privacy policy page for privacy questions.")
    privacy_grievance_officer_name = fields.Char(
        string="Grievance Officer", help="Person named on the privacy policy page to handle grievances."
    )
    privacy_grievance_officer_email = fields.Char(string="Grievance Officer Email")
    privacy_policy_extra = fields.Html(
        string="Privacy Policy Additions",
        sanitize=True,
        help="Extra paragraphs appended to the public privacy policy page, e.g. course-specific uses of data.",
    )
