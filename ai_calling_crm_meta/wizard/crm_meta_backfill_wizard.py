import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools.meta_graph import MetaGraphError

_logger = logging.getLogger(__name__)

# Meta keeps leads available to the API for 90 days (the "past 90 days" window of Meta's lead retrieval guide,
# developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving, checked December 2026).
RETENTION_DAYS = 90


class CrmMetaBackfillWizard(models.TransientModel):
    """Import the leads of chosen forms created in a date range, e.g. after the webhook was down."""

    _name = "crm.meta.backfill.wizard"
    _description = "Import Meta Leads for a Date Range"

    form_ids = fields.Many2many("crm.meta.form", string="Forms", required=True)
    date_from = fields.Datetime("From", required=True, default=lambda self: fields.Datetime.now() - timedelta(days=7))
    date_to = fields.Datetime("To", required=True, default=fields.Datetime.now)

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        oldest = fields.Datetime.now() - timedelta(days=RETENTION_DAYS)
        for wizard in self:
            if wizard.date_from >= wizard.date_to:
                raise ValidationError(self.env._("The start date must be before the end date."))
            if wizard.date_from < oldest:
                raise ValidationError(
                    self.env._(
                        "Meta keeps leads for %(days)s days: choose a start date after %(oldest)s.",
                        days=RETENTION_DAYS,
                        oldest=fields.Datetime.to_string(oldest),
                    )
                )

    def action_import(self):
        """Queue the leads of the chosen forms and range that Odoo has not stored; the sync points stay unchanged."""
        self.ensure_one()
        self.form_ids.page_id._check_config_access()
        created = 0
        for form in self.form_ids:
            try:
                created += form._backfill_range(self.date_from, self.date_to)
            except MetaGraphError as error:
                raise UserError(
                    self.env._(
                        "Reading the leads of form %(form)s failed: %(error)s. Nothing was imported: fix the "
                        "cause and import again.",
                        form=form.name,
                        error=str(error),
                    )
                ) from error
        self.env["crm.meta.lead.event"]._trigger_processing()
        _logger.info("Meta backfill wizard: %s forms, %s leads queued", len(self.form_ids), created)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": self.env._("%(count)s leads queued for import.", count=created),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
