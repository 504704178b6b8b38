import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

# Privacy laws ask controllers to show what they did with personal data. One year is the shortest period this addon
# keeps the trail, whatever retention policy is configured.
MIN_RETENTION_DAYS = 365


class CrmPrivacyAuditLog(models.Model):
    """Audit trail entry for a privacy operation: who did what, when, on which record ids, with counts.

    Entries hold ids and counts only, never names, emails or phone numbers, so an erasure does not have to touch
    them. They cannot be edited, and they cannot be deleted before they are ``MIN_RETENTION_DAYS`` old.
    """

    _name = "crm.privacy.audit.log"
    _description = "Privacy Audit Log Entry"
    _order = "date desc, id desc"
    _rec_name = "event_type"

    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    user_id = fields.Many2one("res.users", string="Done By", required=True, readonly=True, ondelete="restrict")
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    event_type = fields.Selection(
        [
            ("export", "Export"),
            ("erasure", "Erasure"),
            ("restriction", "Restriction"),
            ("restriction_lifted", "Restriction Lifted"),
            ("consent", "Consent Change"),
            ("retention", "Retention Run"),
            ("request", "Request State Change"),
            ("meta_callback", "Meta Data Deletion Callback"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    res_model = fields.Char(string="Model", readonly=True)
    res_id = fields.Integer(string="Record ID", readonly=True)
    record_count = fields.Integer(readonly=True, help="Number of records the operation touched.")
    details = fields.Json(
        string="Counts", readonly=True, help="Counts and codes describing the operation; never personal data."
    )
    details_text = fields.Text(string="Details", compute="_compute_details_text")

    def _compute_details_text(self):
        for entry in self:
            entry.details_text = "\n".join(f"{key}: {value}" for key, value in sorted((entry.details or {}).items()))

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(self.env._("Audit log entries are written by the privacy operations themselves."))
        return super().create(vals_list)

    def write(self, vals):
        if self:
            raise UserError(self.env._("Audit log entries cannot be changed."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_recent(self):
        cutoff = fields.Datetime.subtract(fields.Datetime.now(), days=MIN_RETENTION_DAYS)
        recent = self.filtered(lambda entry: entry.date > cutoff)
        if recent:
            raise UserError(
                self.env._(
                    "Audit log entries are kept at least %(days)s days; %(count)s of the selected entries are "
                    "younger. Delete only entries older than that.",
                    days=MIN_RETENTION_DAYS,
                    count=len(recent),
                )
            )

    @api.model
    def _log(self, event_type, records=None, record_count=None, details=None):
        """Append one entry for ``event_type`` on ``records`` (any recordset, only its model and first id are kept)."""
        records = records if records is not None else self.env["crm.privacy.audit.log"]
        company = records[:1].company_id if records and "company_id" in records._fields else self.env.company
        return self.sudo().create(
            {
                "user_id": self.env.uid,
                "company_id": company.id,
                "event_type": event_type,
                "res_model": records._name if records else False,
                "res_id": records[:1].id,
                "record_count": len(records) if record_count is None else record_count,
                "details": details or {},
            }
        )
