import logging

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain

from .privacy_audit_log import MIN_RETENTION_DAYS

_logger = logging.getLogger(__name__)

# Records handled per committed batch. A thousand leads keep the ORM cache of one batch to a few megabytes while
# the per-batch cost (search, commit, cache reset) stays small next to the work on the records.
DEFAULT_BATCH_SIZE = 1000

TARGETS = [
    ("lead_lost", "Lost Leads"),
    ("lead_archived", "Archived Leads"),
    ("lead_inactive", "Leads Without Activity"),
    ("call_recording", "Call Recordings"),
    ("meta_payload", "Meta Webhook Payloads"),
    ("request_closed", "Closed Data-Subject Requests"),
    ("audit_log", "Audit Log Entries"),
]


class CrmPrivacyRetentionPolicy(models.Model):
    """Rule that anonymises, deletes or archives one kind of record once it is older than a number of days.

    The scheduled job applies active policies in batches that commit their progress, so a run over hundreds of
    thousands of records keeps a bounded memory. Every processed record leaves the policy's domain because it is
    anonymised, deleted or archived, so a run that stopped after a crash resumes on what is left. Records on legal
    hold never match.
    """

    _name = "crm.privacy.retention.policy"
    _description = "Retention Policy"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True, help="Leave empty to apply to every company.")
    target = fields.Selection(TARGETS, required=True, default="lead_lost")
    days = fields.Integer(string="Older Than (Days)", required=True, default=365)
    action = fields.Selection(
        [("anonymise", "Anonymise"), ("delete", "Delete"), ("archive", "Archive")],
        required=True,
        default="anonymise",
        help="Call recordings and Meta payloads are always deleted; audit log entries can only be deleted.",
    )
    last_run_date = fields.Datetime(readonly=True)
    last_run_count = fields.Integer(readonly=True, help="Records processed by the last run.")

    _days_positive = models.Constraint("CHECK (days > 0)", "The number of days must be positive.")

    @api.constrains("target", "days", "action")
    def _check_target_rules(self):
        for policy in self:
            if policy.target == "audit_log" and (policy.days < MIN_RETENTION_DAYS or policy.action != "delete"):
                raise ValidationError(
                    self.env._(
                        "Policy %(name)s: audit log entries are kept at least %(days)s days and can only be deleted; "
                        "set at least %(days)s days and the Delete action.",
                        name=policy.name,
                        days=MIN_RETENTION_DAYS,
                    )
                )
            if policy.action == "archive" and policy.target not in ("lead_lost", "lead_inactive"):
                raise ValidationError(
                    self.env._(
                        "Policy %(name)s: only active leads can be archived; choose Anonymise or Delete.",
                        name=policy.name,
                    )
                )

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------
    def action_preview(self):
        """Open the list of records this policy would process now."""
        self.ensure_one()
        self.check_access("read")
        model_name = self._get_target_model()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Records matching %(policy)s", policy=self.name),
            "res_model": model_name,
            "view_mode": "list,form",
            "domain": list(self._get_domain()),
            "context": {"active_test": False, "create": False},
        }

    def action_run_now(self):
        """Ask the scheduled job to run as soon as possible; it commits batch by batch, so the click does not wait."""
        self.check_access("write")
        self.env.ref("ai_calling_crm_privacy.ir_cron_privacy_retention").sudo()._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": self.env._("The retention job will run within a minute; see the audit log for counts."),
            },
        }

    # ------------------------------------------------------------
    # Scheduled job
    # ------------------------------------------------------------
    @api.model
    def _cron_apply_retention(self, batch_size=None):
        """Apply every active policy in batches of ``batch_size`` records.

        ``batch_size`` defaults to the ``ai_calling_crm_privacy.retention_batch_size`` parameter, else
        ``DEFAULT_BATCH_SIZE``. Each batch ends with ``ir.cron._commit_progress``. When the cron's time is up, the
        job stops and reports the remaining count, so the scheduler runs it again soon.
        """
        batch_size = batch_size or self._get_batch_size()
        policies = self.search([])
        _logger.info("Retention run started: %s policies, batches of %s", len(policies), batch_size)
        total = 0
        for policy in policies:
            if policy._get_target_model() not in self.env:
                _logger.info("Retention policy %s skipped: its model is not installed", policy.id)
                continue
            processed, finished = policy._apply(batch_size)
            total += processed
            if not finished:
                _logger.info("Retention run paused after %s records; the job resumes on its next call", total)
                return
        _logger.info("Retention run finished: %s records processed", total)

    def _apply(self, batch_size):
        """Process this policy's matching records batch by batch; return ``(count, finished)``."""
        self.ensure_one()
        model = self.env[self._get_target_model()].with_context(active_test=False, tracking_disable=True)
        domain = self._get_domain()
        remaining = model.search_count(domain)
        processed = 0
        finished = True

        while remaining:
            records = model.search(domain, limit=batch_size, order="id")
            if not records:
                break
            self._process_batch(records)
            processed += len(records)
            remaining = max(remaining - len(records), 0)
            time_left = self.env["ir.cron"]._commit_progress(len(records), remaining=remaining)
            # The cache would otherwise keep every batch's records until the end of the run.
            self.env.invalidate_all()
            if remaining and not time_left:
                finished = False
                break

        self.sudo().write({"last_run_date": fields.Datetime.now(), "last_run_count": processed})
        self.env["crm.privacy.audit.log"]._log(
            "retention",
            self,
            record_count=processed,
            details={"target": self.target, "action": self.action, "finished": finished},
        )
        self.env["ir.cron"]._commit_progress(remaining=remaining)
        _logger.info("Retention policy %s processed %s records (finished: %s)", self.id, processed, finished)
        return processed, finished

    # ------------------------------------------------------------
    # Private helpers
    # ------------------------------------------------------------
    def _get_target_model(self):
        return {
            "lead_lost": "crm.lead",
            "lead_archived": "crm.lead",
            "lead_inactive": "crm.lead",
            "call_recording": "crm.call",
            "meta_payload": "crm.meta.lead.event",
            "request_closed": "crm.privacy.request",
            "audit_log": "crm.privacy.audit.log",
        }[self.target]

    def _get_cutoff(self):
        return fields.Datetime.subtract(fields.Datetime.now(), days=self.days)

    def _get_domain(self):
        """Return the domain of records this policy processes now, legal holds and earlier results excluded."""
        self.ensure_one()
        cutoff = self._get_cutoff()
        company = Domain("company_id", "=", self.company_id.id) if self.company_id else Domain.TRUE
        if self.target.startswith("lead_"):
            domain = (
                company
                & Domain("write_date", "<", cutoff)
                & Domain("privacy_erased", "=", False)
                & Domain("privacy_legal_hold", "=", False)
                & (Domain("partner_id", "=", False) | Domain("partner_id.privacy_legal_hold", "=", False))
            )
            if self.target == "lead_lost":
                domain &= Domain("won_status", "=", "lost")
            elif self.target == "lead_archived":
                domain &= Domain("active", "=", False)
            else:
                domain &= Domain("active", "=", True) & Domain("activity_ids", "=", False)
            if self.action == "archive":
                domain &= Domain("active", "=", True)
            return domain
        if self.target == "call_recording":
            return (
                company
                & Domain("call_start", "<", cutoff)
                & (Domain("recording_attachment_id", "!=", False) | Domain("recording_url", "!=", False))
                & Domain("lead_id.privacy_legal_hold", "=", False)
            )
        if self.target == "meta_payload":
            domain = Domain("create_date", "<", cutoff) & (
                Domain("lead_id", "=", False) | Domain("lead_id.privacy_legal_hold", "=", False)
            )
            if self.action != "delete":
                domain &= Domain("raw_payload", "!=", False) | Domain("graph_payload", "!=", False)
            return domain
        if self.target == "request_closed":
            domain = (
                company
                & Domain("state", "in", ["done", "rejected"])
                & Domain("closed_date", "<", cutoff)
                & Domain("legal_hold", "=", False)
            )
            if self.action != "delete":
                domain &= (
                    Domain("requester_name", "!=", False)
                    | Domain("requester_email", "!=", False)
                    | Domain("requester_phone", "!=", False)
                )
            return domain
        audit_cutoff = fields.Datetime.subtract(fields.Datetime.now(), days=max(self.days, MIN_RETENTION_DAYS))
        return Domain("date", "<", audit_cutoff)

    def _process_batch(self, records):
        """Anonymise, delete or archive one batch of records according to the policy's action."""
        records = records.sudo()
        if self.target == "call_recording":
            records.recording_attachment_id.unlink()
            records.write({"recording_attachment_id": False, "recording_url": False})
        elif self.target == "meta_payload":
            if self.action == "delete":
                records.unlink()
            else:
                records.write({"raw_payload": False, "graph_payload": False})
        elif self.action == "delete":
            records.unlink()
        elif self.action == "archive":
            records.action_archive()
        else:
            self._anonymise_batch(records)

    def _anonymise_batch(self, records):
        """Anonymise leads or requests together with their chatter, activities and attachments."""
        person = self.env["crm.privacy.person"].with_context(tracking_disable=True, mail_notrack=True)
        documents = {records._name: records.ids}
        self.env["mail.message"].sudo().search(person._get_document_domain(documents, model_field="model")).unlink()
        self.env["mail.activity"].sudo().search(person._get_document_domain(documents)).unlink()
        self.env["ir.attachment"].sudo().search(person._get_document_domain(documents)).unlink()
        if records._name == "crm.lead":
            records.form_answer_ids.unlink()
            if "crm.call" in self.env:
                person._anonymise(self.env["crm.call"].sudo().search([("lead_id", "in", records.ids)]))
            if "crm.meta.lead.event" in self.env:
                self.env["crm.meta.lead.event"].sudo().search([("lead_id", "in", records.ids)]).unlink()
        person._anonymise(records)

    @api.model
    def _get_batch_size(self):
        param = self.env["ir.config_parameter"].sudo().get_param("ai_calling_crm_privacy.retention_batch_size")
        return int(param) if param and param.isdigit() and int(param) > 0 else DEFAULT_BATCH_SIZE
