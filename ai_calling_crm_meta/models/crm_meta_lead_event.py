import json
import logging
import random
from collections import Counter
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL

from ..tools.meta_graph import LEAD_FIELDS, MetaGraphError
from .crm_meta_form import parse_meta_time

_logger = logging.getLogger(__name__)

# Events handled per transaction: small enough that a crash loses little work, large enough to amortise commits.
PROCESS_BATCH_SIZE = 50
# Maximum wait between two attempts, whatever the backoff formula gives, so a waiting lead is retried at least hourly.
MAX_RETRY_DELAY = timedelta(hours=1)


class CrmMetaLeadEvent(models.Model):
    """One lead ad submission notified by Meta, kept until it became a lead (or failed for a known reason).

    Events are written with raw SQL (``INSERT ... ON CONFLICT DO NOTHING``) so that repeated webhook deliveries and
    backfill runs store each leadgen id once, even when two requests race.
    """

    _name = "crm.meta.lead.event"
    _description = "Meta Lead Event"
    _order = "id desc"
    _rec_name = "leadgen_id"

    # ------------------------------------------------------------
    # What Meta sent
    # ------------------------------------------------------------
    leadgen_id = fields.Char("Leadgen ID", required=True, readonly=True)
    meta_page_id = fields.Char("Page ID", readonly=True)
    meta_form_id = fields.Char("Form ID", readonly=True)
    meta_ad_id = fields.Char("Ad ID", readonly=True)
    meta_created_time = fields.Datetime("Submitted On", readonly=True)
    source = fields.Selection(
        [("webhook", "Webhook"), ("backfill", "Backfill")], required=True, default="webhook", readonly=True
    )
    raw_payload = fields.Text(readonly=True, help="The webhook change value as received (or the backfill lead).")
    graph_payload = fields.Text(readonly=True, help="The lead as Graph returned it.")

    # ------------------------------------------------------------
    # Links
    # ------------------------------------------------------------
    app_id = fields.Many2one("crm.meta.app", "Meta App", readonly=True, index="btree_not_null", ondelete="set null")
    page_id = fields.Many2one("crm.meta.page", readonly=True, index="btree_not_null", ondelete="set null")
    form_id = fields.Many2one("crm.meta.form", readonly=True, ondelete="set null")
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    lead_id = fields.Many2one("crm.lead", readonly=True, index="btree_not_null", ondelete="set null")

    # ------------------------------------------------------------
    # Processing state
    # ------------------------------------------------------------
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Done"), ("failed", "Failed")],
        required=True,
        default="pending",
        readonly=True,
        index=True,
    )
    attempt_count = fields.Integer("Attempts", readonly=True)
    last_error = fields.Text(readonly=True)
    last_error_code = fields.Integer("Graph Error Code", readonly=True)
    next_attempt_at = fields.Datetime("Next Attempt", readonly=True)
    processed_at = fields.Datetime(readonly=True)

    _leadgen_id_uniq = models.UniqueIndex("(leadgen_id)", "Each Meta lead is stored once.")
    _pending_idx = models.Index("(next_attempt_at, id) WHERE state = 'pending'")

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------
    def action_retry(self):
        """Queue failed events again, with a fresh attempt count, and wake the processing job."""
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise UserError(self.env._("Only sales managers can retry Meta lead events."))
        retried = self.filtered(lambda event: event.state == "failed")
        retried.sudo().write({"state": "pending", "attempt_count": 0, "next_attempt_at": False})
        self._trigger_processing()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": self.env._("%(count)s events queued again.", count=len(retried)),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------
    # Storing events
    # ------------------------------------------------------------
    @api.model
    def _store_webhook_changes(self, app, values):
        """Store one event per leadgen id of the webhook change ``values``; return ``(stored, duplicates)``.

        Ids are stored as text whether Meta sent numbers or strings. Values without a leadgen id are skipped.
        """
        rows = {}
        pages = {}
        for value in values:
            leadgen_id = _text(value.get("leadgen_id"))
            if not leadgen_id or leadgen_id in rows:
                continue
            meta_page_id = _text(value.get("page_id"))
            if meta_page_id not in pages:
                pages[meta_page_id] = self._find_page(app, meta_page_id)
            page = pages[meta_page_id]
            rows[leadgen_id] = {
                "leadgen_id": leadgen_id,
                "meta_page_id": meta_page_id or None,
                "meta_form_id": _text(value.get("form_id")) or None,
                "meta_ad_id": _text(value.get("ad_id")) or None,
                "meta_created_time": parse_meta_time(value.get("created_time")) or None,
                "source": "webhook",
                "raw_payload": json.dumps(value, ensure_ascii=False),
                "graph_payload": None,
                "app_id": app.id,
                "page_id": page.id or None,
                "company_id": (page.company_id or app.company_id).id,
            }
        stored = self._insert_rows(list(rows.values()))
        return len(stored), len(values) - len(stored)

    @api.model
    def _store_backfill_lead(self, form, graph_lead):
        """Store a lead read by the backfill unless its leadgen id is known; return 1 if stored, else 0."""
        payload = json.dumps(graph_lead, ensure_ascii=False)
        row = {
            "leadgen_id": str(graph_lead["id"]),
            "meta_page_id": form.page_id.meta_page_id,
            "meta_form_id": form.meta_form_id,
            "meta_ad_id": _text(graph_lead.get("ad_id")) or None,
            "meta_created_time": parse_meta_time(graph_lead.get("created_time")) or None,
            "source": "backfill",
            "raw_payload": payload,
            "graph_payload": payload,
            "app_id": form.page_id.app_id.id,
            "page_id": form.page_id.id,
            "company_id": form.company_id.id,
        }
        return len(self._insert_rows([row]))

    def _insert_rows(self, rows):
        """Insert event rows, skipping leadgen ids already stored; return the new ids."""
        if not rows:
            return []
        columns = list(rows[0])
        now = self.env.cr.now()
        values = SQL(", ").join(
            SQL(
                "(%s, 'pending', 0, %s, %s, %s, %s)",
                SQL(", ").join(row[column] for column in columns),
                self.env.uid,
                self.env.uid,
                now,
                now,
            )
            for row in rows
        )
        query = SQL(
            """INSERT INTO crm_meta_lead_event
                   (%s, state, attempt_count, create_uid, write_uid, create_date, write_date)
            VALUES %s
            ON CONFLICT (leadgen_id) DO NOTHING
            RETURNING id""",
            SQL(", ").join(SQL.identifier(column) for column in columns),
            values,
        )
        return [row[0] for row in self.env.execute_query(query)]

    def _find_page(self, app, meta_page_id):
        if not meta_page_id:
            return self.env["crm.meta.page"]
        return self.env["crm.meta.page"].search([("app_id", "=", app.id), ("meta_page_id", "=", meta_page_id)], limit=1)

    @api.model
    def _trigger_processing(self, at=None):
        self.env.ref("ai_calling_crm_meta.ir_cron_meta_lead_process").sudo()._trigger(at)

    # ------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------
    @api.model
    def _cron_process(self):
        """Turn pending events into leads, batch by batch, committing after each batch.

        Events are locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` and their state read again after the lock, so
        two cron workers never process the same event. Events of a page whose token is broken, or that Meta asked to
        slow down, wait without using attempts.
        """
        domain = self._get_processable_domain()
        ready = self.search_count(domain)
        _logger.info("Meta lead processing: start, %s events ready", ready)
        totals = Counter()
        seen_ids = []
        while True:
            batch = self.search(domain & Domain("id", "not in", seen_ids), order="id", limit=PROCESS_BATCH_SIZE)
            if not batch:
                break
            seen_ids += batch.ids
            locked = batch.try_lock_for_update()
            locked.invalidate_recordset(["state", "next_attempt_at"])
            totals += locked.filtered_domain(domain)._process()
            remaining = self.search_count(domain & Domain("id", "not in", seen_ids))
            if not self.env["ir.cron"]._commit_progress(len(locked), remaining=remaining):
                break
        _logger.info(
            "Meta lead processing: done, %s leads created, %s retries scheduled, %s waiting for a token, %s failed",
            totals["done"],
            totals["retry"],
            totals["waiting"],
            totals["failed"],
        )

    def _get_processable_domain(self):
        now = fields.Datetime.now()
        page_ready = Domain("page_id", "=", False) | Domain("page_id.token_state", "!=", "broken") & (
            Domain("page_id.throttled_until", "=", False) | Domain("page_id.throttled_until", "<=", now)
        )
        return (
            Domain("state", "=", "pending")
            & (Domain("next_attempt_at", "=", False) | Domain("next_attempt_at", "<=", now))
            & page_ready
        )

    @api.private
    def _process(self):
        """Process each event of ``self`` in its own savepoint; return a Counter of outcomes.

        Outcomes: ``done`` (lead created or found), ``retry`` (transient error, retried later), ``waiting`` (token or
        rate limit: the event waits for the page), ``failed`` (an administrator must act).
        """
        outcomes = Counter()
        for event in self:
            page = event.page_id or event._find_page(event.app_id, event.meta_page_id)
            if not page:
                event._set_failed(
                    self.env._(
                        "No page with id %(page)s is configured for this app: add it under Meta > Pages, then click "
                        "Retry.",
                        page=event.meta_page_id,
                    )
                )
                outcomes["failed"] += 1
                continue
            if page.token_state == "broken" or (page.throttled_until and page.throttled_until > fields.Datetime.now()):
                outcomes["waiting"] += 1
                continue
            try:
                with self.env.cr.savepoint():
                    event._process_one(page)
                outcomes["done"] += 1
            except MetaGraphError as error:
                outcomes[event._handle_graph_error(page, error)] += 1
            except Exception as error:
                # A bug or a database constraint: keep the event and retry it with backoff like a transient error.
                _logger.exception("Meta lead event %s: processing failed", event.id)
                outcomes[event._schedule_retry(page, f"{type(error).__name__}: {error}")] += 1
        return outcomes

    def _process_one(self, page):
        """Fetch the lead from Graph (unless the backfill stored it), create the lead and its first-call follow-up."""
        self.ensure_one()
        if self.graph_payload:
            graph_lead = json.loads(self.graph_payload)
        else:
            client = page._get_graph_client()
            graph_lead = client.get(self.leadgen_id, {"fields": ",".join(LEAD_FIELDS)})
        form = self.env["crm.meta.form"]._get_or_fetch(page, _text(graph_lead.get("form_id")) or self.meta_form_id)
        Lead = self.env["crm.lead"].with_company(page.company_id).with_context(active_test=False)
        lead = Lead.search([("meta_leadgen_id", "=", self.leadgen_id)], limit=1)
        if not lead:
            lead = Lead.create(form._prepare_lead_values(graph_lead))
            self._schedule_first_call(lead, page.app_id)
            _logger.info("Meta lead event %s: lead %s created", self.id, lead.id)
        self.write(
            {
                "state": "done",
                "lead_id": lead.id,
                "form_id": form.id,
                "page_id": page.id,
                "graph_payload": json.dumps(graph_lead, ensure_ascii=False),
                "attempt_count": self.attempt_count + 1,
                "processed_at": fields.Datetime.now(),
                "next_attempt_at": False,
                "last_error": False,
                "last_error_code": False,
            }
        )

    def _schedule_first_call(self, lead, app):
        when = fields.Datetime.now() + timedelta(minutes=app.follow_up_minutes)
        summary = self.env._("First call: new Meta lead")
        if hasattr(lead, "_schedule_call_follow_up"):
            lead._schedule_call_follow_up(when, summary=summary)
        else:
            # NOTE: fallback while the base addon lacks _schedule_call_follow_up; the activity is due by day only.
            lead.activity_schedule(
                "mail.mail_activity_data_call",
                date_deadline=when.date(),
                summary=summary,
                user_id=lead.user_id.id or self.env.uid,
            )

    # ------------------------------------------------------------
    # Errors
    # ------------------------------------------------------------
    def _handle_graph_error(self, page, error):
        """Record ``error`` on the event by Graph error code and return the outcome (see :meth:`_process`)."""
        self.ensure_one()
        _logger.warning("Meta lead event %s: Graph error %s (%s)", self.id, error.code, error.kind)
        if error.kind == "token":
            page._mark_token_broken(error)
            self.write({"last_error": str(error), "last_error_code": error.code})
            return "waiting"
        if error.retryable:
            if error.kind == "rate_limit" or error.retry_after:
                # Meta throttles per page: pause every event of the page, not only this one.
                pause = max(error.retry_after, page.app_id.retry_delay)
                page.sudo().throttled_until = fields.Datetime.now() + timedelta(seconds=pause)
                self._trigger_processing(page.throttled_until)
            return self._schedule_retry(page, str(error), error.code, error.retry_after)
        if error.kind == "permission":
            message = self.env._(
                "Meta refused access to lead %(lead)s: %(error)s. Give the page token the leads_retrieval permission "
                "and make sure its user may read leads in the page's Leads Access Manager, then click Retry.",
                lead=self.leadgen_id,
                error=str(error),
            )
        elif error.kind == "not_found":
            message = self.env._(
                "Meta did not find lead %(lead)s: %(error)s. The lead may be deleted, older than Meta's 90-day limit, "
                "or on another page than the token's. Check the page token, then click Retry.",
                lead=self.leadgen_id,
                error=str(error),
            )
        else:
            message = self.env._(
                "Graph returned an error for lead %(lead)s: %(error)s. Fix the cause, then click Retry.",
                lead=self.leadgen_id,
                error=str(error),
            )
        self._set_failed(message, error.code)
        return "failed"

    def _schedule_retry(self, page, message, code=None, retry_after=0):
        """Plan the next attempt with exponential backoff and jitter, or fail the event after the last attempt.

        The wait is ``retry_delay * 2 ** (attempt - 1)`` seconds, capped at ``MAX_RETRY_DELAY``. It is multiplied by
        a random factor between 0.8 and 1.2 so that events that failed together do not retry together. It is never
        shorter than the regain time Meta sent.
        """
        self.ensure_one()
        app = page.app_id
        attempts = self.attempt_count + 1
        if attempts >= app.max_attempts:
            self.attempt_count = attempts
            self._set_failed(
                self.env._(
                    "Gave up after %(attempts)s attempts: %(error)s. Click Retry once Meta answers again.",
                    attempts=attempts,
                    error=message,
                ),
                code,
                count_attempt=False,
            )
            return "failed"
        delay = min(timedelta(seconds=app.retry_delay * 2 ** (attempts - 1)), MAX_RETRY_DELAY)
        delay = max(delay * random.uniform(0.8, 1.2), timedelta(seconds=retry_after))
        next_attempt_at = fields.Datetime.now() + delay
        self.write(
            {
                "attempt_count": attempts,
                "last_error": message,
                "last_error_code": code or False,
                "next_attempt_at": next_attempt_at,
            }
        )
        self._trigger_processing(next_attempt_at)
        return "retry"

    def _set_failed(self, message, code=None, count_attempt=True):
        _logger.warning("Meta lead event %s failed (Graph error code %s)", self.id, code)
        values = {"state": "failed", "last_error": message, "last_error_code": code or False, "next_attempt_at": False}
        if count_attempt:
            values["attempt_count"] = self.attempt_count + 1
        self.write(values)


def _text(value):
    """Return a Meta id as text, whatever JSON type Meta used; False when missing."""
    if value is None or value == "" or isinstance(value, bool | dict | list):
        return False
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)
