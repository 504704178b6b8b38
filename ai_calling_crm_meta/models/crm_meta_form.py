import json
import logging
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Command, Domain

from ..tools.meta_graph import FORM_FIELDS, LEAD_FIELDS, MetaGraphError

_logger = logging.getLogger(__name__)

# Lead fields a form question can fill. "none" keeps the answer as a form answer line only.
MAPPING_TARGETS = [
    ("contact_name", "Contact Name"),
    ("first_name", "First Name"),
    ("last_name", "Last Name"),
    ("email_from", "Email"),
    ("phone", "Phone"),
    ("second_phone", "Second Phone"),
    ("street", "Street"),
    ("city", "City"),
    ("state_id", "State"),
    ("zip", "ZIP"),
    ("country_id", "Country"),
    ("partner_name", "Company Name"),
    ("function", "Job Position"),
    ("interest_id", "Course or Product Interest"),
    ("description", "Notes"),
    ("none", "Form Answer Only"),
]

# Targets of Meta's standard question keys (the "key" of prefilled questions in Graph's form questions).
DEFAULT_TARGETS = {
    "full_name": "contact_name",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email_from",
    "work_email": "email_from",
    "phone_number": "phone",
    "work_phone_number": "second_phone",
    "street_address": "street",
    "city": "city",
    "state": "state_id",
    "province": "state_id",
    "zip_code": "zip",
    "post_code": "zip",
    "country": "country_id",
    "company_name": "partner_name",
    "job_title": "function",
}

# Leads fetched per backfill page. Graph accepts larger limits but responds more slowly.
BACKFILL_PAGE_SIZE = 100


class CrmMetaForm(models.Model):
    """A lead ad form of a page, with the mapping of its questions onto lead fields."""

    _name = "crm.meta.form"
    _description = "Meta Lead Form"
    _order = "page_id, name, id"

    # ------------------------------------------------------------
    # Identity
    # ------------------------------------------------------------
    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    meta_form_id = fields.Char("Form ID", required=True)
    page_id = fields.Many2one("crm.meta.page", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="page_id.company_id", store=True, index=True)
    status = fields.Char(readonly=True, help="Status Meta reports, e.g. ACTIVE or ARCHIVED.")
    locale = fields.Char(readonly=True)

    # ------------------------------------------------------------
    # Lead defaults and mapping
    # ------------------------------------------------------------
    team_id = fields.Many2one("crm.team", "Sales Team", help="Team of the leads; empty uses the page's team.")
    interest_id = fields.Many2one(
        "crm.lead.interest",
        "Default Interest",
        help="Course or product of leads whose answers name none, e.g. for a form that advertises one course.",
    )
    field_ids = fields.One2many("crm.meta.form.field", "form_id", string="Question Mapping", copy=True)

    # ------------------------------------------------------------
    # Backfill
    # ------------------------------------------------------------
    last_sync_at = fields.Datetime(
        "Synced Until",
        readonly=True,
        help="End of the last backfill that read every lead page without error. The next run starts there, minus "
        "the app's overlap.",
    )
    last_sync_error = fields.Text(readonly=True)

    _meta_form_id_uniq = models.UniqueIndex("(meta_form_id, page_id)", "A form can be added once per page.")

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------
    def action_backfill_now(self):
        """Run the backfill of these forms now, as the scheduled job does."""
        self.page_id._check_config_access()
        created = self._backfill_forms()
        self.env["crm.meta.lead.event"]._trigger_processing()
        return self.page_id[:1]._notification(
            self.env._("%(count)s missed leads queued for import.", count=created), "success"
        )

    # ------------------------------------------------------------
    # Form sync
    # ------------------------------------------------------------
    @api.model
    def _get_or_fetch(self, page, meta_form_id):
        """Return the form ``meta_form_id`` of ``page``, reading it from Graph when Odoo has not seen it yet.

        When Graph cannot return the form, a form named after its id is created with the default mapping so that
        the lead is never held back by missing form details.
        """
        form = self.with_context(active_test=False).search(
            [("page_id", "=", page.id), ("meta_form_id", "=", meta_form_id)], limit=1
        )
        if form:
            return form
        try:
            form_data = page._get_graph_client().get(meta_form_id, {"fields": ",".join(FORM_FIELDS)})
        except MetaGraphError as error:
            _logger.warning(
                "Meta form %s of page %s could not be read (%s): default mapping used", meta_form_id, page.id, error
            )
            form_data = {"id": meta_form_id}
        return self._sync_from_graph(page, form_data)

    @api.model
    def _sync_from_graph(self, page, form_data):
        """Create or update the form described by Graph's ``form_data``, adding a mapping line per new question.

        Mapping lines the administrator changed are kept.
        """
        meta_form_id = str(form_data["id"])
        form = self.with_context(active_test=False).search(
            [("page_id", "=", page.id), ("meta_form_id", "=", meta_form_id)], limit=1
        )
        values = {
            "name": form_data.get("name") or form.name or self.env._("Form %(form_id)s", form_id=meta_form_id),
            "status": form_data.get("status") or form.status,
            "locale": form_data.get("locale") or form.locale,
        }
        if form:
            form.write(values)
        else:
            form = self.create({**values, "meta_form_id": meta_form_id, "page_id": page.id})
        known_keys = set(form.field_ids.mapped("question_key"))
        new_lines = []
        for sequence, question in enumerate(form_data.get("questions") or [], start=1):
            key = question.get("key")
            if not key or key in known_keys:
                continue
            known_keys.add(key)
            new_lines.append(
                Command.create(
                    {
                        "sequence": sequence,
                        "question_key": key,
                        "label": question.get("label") or key,
                        "question_type": question.get("type"),
                        "target": DEFAULT_TARGETS.get(key, "none"),
                    }
                )
            )
        if new_lines:
            form.field_ids = new_lines
        return form

    # ------------------------------------------------------------
    # Mapping Graph leads onto crm.lead values
    # ------------------------------------------------------------
    @api.private
    def _prepare_lead_values(self, graph_lead):
        """Return ``crm.lead`` create values for ``graph_lead`` (a Graph lead with the fields in ``LEAD_FIELDS``).

        Every answer becomes a form answer line, with the values of a multi-value answer on separate lines. The first
        value of each mapped question fills its target through :meth:`_apply_answer`. Names stay exactly as written,
        in any script. Phone numbers are converted to E.164 when they can be read and kept as written otherwise.
        Meta ids, creation time, platform and campaign fill the ``meta_*`` and UTM fields.
        """
        self.ensure_one()
        targets = {line.question_key: line.target for line in self.field_ids}
        labels = {line.question_key: line.label for line in self.field_ids}
        values = {"form_answer_ids": [], "_notes": []}
        for sequence, entry in enumerate(graph_lead.get("field_data") or [], start=1):
            key = str(entry.get("name") or "")
            answers = [str(answer) for answer in entry.get("values") or [] if answer is not None]
            values["form_answer_ids"].append(
                Command.create(
                    {
                        "sequence": sequence,
                        "question_key": key,
                        "question_label": labels.get(key) or key,
                        "answer": "\n".join(answers),
                        "source": "meta",
                    }
                )
            )
            target = targets.get(key) or DEFAULT_TARGETS.get(key, "none")
            if answers and target != "none":
                self._apply_answer(values, target, answers, labels.get(key) or key)

        values.update(self._prepare_meta_values(graph_lead))
        self._finalize_lead_values(values)
        return values

    def _apply_answer(self, values, target, answers, label):
        first = answers[0].strip()
        if target in ("phone", "second_phone"):
            values[target] = self._normalize_phone(first, values.get("_country")) or first
        elif target == "country_id":
            country = self._find_country(first)
            if country:
                values["country_id"] = country.id
                values["_country"] = country
            else:
                values["_notes"].append(f"{label}: {first}")
        elif target == "state_id":
            values["_state_name"] = first
        elif target == "interest_id":
            interest = self._find_interest(answers)
            if interest:
                values["interest_id"] = interest.id
            else:
                values["_notes"].append(f"{label}: {', '.join(answers)}")
        elif target == "description":
            values["_notes"].append(f"{label}: {', '.join(answers)}")
        elif target == "email_from":
            values.setdefault("email_from", first)
        else:
            values.setdefault(target, first)

    def _prepare_meta_values(self, graph_lead):
        platform = graph_lead.get("platform")
        is_organic = bool(graph_lead.get("is_organic"))
        values = {
            "meta_leadgen_id": str(graph_lead["id"]),
            "meta_page_id": self.page_id.meta_page_id,
            "meta_form_id": self.meta_form_id,
            "meta_ad_id": _text(graph_lead.get("ad_id")),
            "meta_ad_name": graph_lead.get("ad_name") or False,
            "meta_adset_id": _text(graph_lead.get("adset_id")),
            "meta_adset_name": graph_lead.get("adset_name") or False,
            "meta_campaign_id": _text(graph_lead.get("campaign_id")),
            "meta_campaign_name": graph_lead.get("campaign_name") or False,
            "meta_created_time": parse_meta_time(graph_lead.get("created_time")),
            "meta_is_organic": is_organic,
            "meta_platform": platform if platform in ("fb", "ig") else False,
            "meta_disclaimer_responses": graph_lead.get("custom_disclaimer_responses") or False,
            "source_id": self._get_utm_source(platform).id,
            "medium_id": self.env.ref(f"ai_calling_crm_meta.utm_medium_meta_{'organic' if is_organic else 'paid'}").id,
        }
        if graph_lead.get("campaign_name"):
            values["campaign_id"] = self._get_utm_campaign(graph_lead["campaign_name"]).id
        return values

    def _finalize_lead_values(self, values):
        """Combine names, resolve the state, fill defaults and drop the helper keys starting with ``_``."""
        country = values.pop("_country", None) or self.page_id.phone_country_id
        if not values.get("contact_name"):
            full_name = " ".join(filter(None, [values.get("first_name"), values.get("last_name")]))
            if full_name:
                values["contact_name"] = full_name
        values.pop("first_name", None)
        values.pop("last_name", None)
        state_name = values.pop("_state_name", None)
        if state_name:
            state = self._find_state(state_name, country)
            if state:
                values["state_id"] = state.id
                values.setdefault("country_id", state.country_id.id)
            else:
                values["_notes"].append(self.env._("State: %(state)s", state=state_name))
        notes = values.pop("_notes")
        if notes:
            values["description"] = Markup("<br/>").join(notes)  # join() escapes each note
        if not values.get("interest_id") and self.interest_id:
            values["interest_id"] = self.interest_id.id
        contact = (
            values.get("contact_name") or values.get("email_from") or values.get("phone") or values["meta_leadgen_id"]
        )
        values["name"] = f"{contact} - {self.name}"
        values["company_id"] = self.company_id.id
        team = self.team_id or self.page_id.team_id
        if team:
            values["team_id"] = team.id

    def _normalize_phone(self, number, country=None):
        country = country or self.page_id.phone_country_id or self.env.company.country_id
        return self.env["crm.lead"]._phone_format(number=number, country=country, force_format="E164")

    def _find_country(self, name):
        Country = self.env["res.country"]
        return Country.search(Domain("name", "=ilike", name) | Domain("code", "=ilike", name), limit=1)

    def _find_state(self, name, country):
        domain = Domain("name", "=ilike", name) | Domain("code", "=ilike", name)
        if country:
            domain &= Domain("country_id", "=", country.id)
        return self.env["res.country.state"].search(domain, limit=1)

    def _find_interest(self, answers):
        Interest = self.env["crm.lead.interest"]
        for answer in answers:
            # Meta sends the option key of multiple-choice answers with underscores, e.g. "bsc_nursing".
            candidates = {answer.strip(), answer.strip().replace("_", "-")}
            domain = Domain.OR(
                Domain("code", "=ilike", candidate) | Domain("name", "=ilike", candidate) for candidate in candidates
            )
            domain &= Domain("company_id", "in", [self.company_id.id, False])
            interest = Interest.search(domain, limit=1)
            if interest:
                return interest
        return Interest

    def _get_utm_source(self, platform):
        if platform == "ig":
            return self.env.ref("ai_calling_crm_meta.utm_source_instagram")
        source = self.env.ref("utm.utm_source_facebook", raise_if_not_found=False)
        return source or self.env["utm.mixin"]._find_or_create_record("utm.source", "Facebook")

    def _get_utm_campaign(self, campaign_name):
        Campaign = self.env["utm.campaign"].with_context(active_test=False)
        campaign = Campaign.search([("title", "=", campaign_name)], limit=1)
        return campaign or Campaign.create({"title": campaign_name})

    # ------------------------------------------------------------
    # Backfill
    # ------------------------------------------------------------
    @api.model
    def _cron_backfill(self):
        """Read the leads of every active form since its sync point and queue the ones Odoo has not stored.

        The sync point of a form moves to the start of the run only when every lead page was read. Any Graph error
        leaves it in place, so the next run reads the same range again.
        """
        forms = self.search(self._get_backfill_domain())
        _logger.info("Meta backfill: start, %s forms", len(forms))
        created = failed = 0
        for index, form in enumerate(forms, start=1):
            try:
                created += form._backfill_forms()
            except MetaGraphError:
                failed += 1
            self.env["ir.cron"]._commit_progress(1, remaining=len(forms) - index)
        if created:
            self.env["crm.meta.lead.event"]._trigger_processing()
        _logger.info("Meta backfill: done, %s forms, %s leads queued, %s forms failed", len(forms), created, failed)

    def _get_backfill_domain(self):
        now = fields.Datetime.now()
        return (
            Domain("page_id.active", "=", True)
            & Domain("page_id.app_id.active", "=", True)
            & Domain("page_id.token_state", "!=", "broken")
            & (Domain("page_id.throttled_until", "=", False) | Domain("page_id.throttled_until", "<=", now))
        )

    def _backfill_forms(self):
        """Backfill each form of ``self`` from its sync point, moving the sync point on success; return leads queued."""
        created = 0
        for form in self:
            app = form.page_id.app_id
            until = fields.Datetime.now()
            start = form.last_sync_at or until - timedelta(days=app.backfill_first_days)
            since = start - timedelta(minutes=app.backfill_overlap)
            try:
                created += form._backfill_range(since, until)
            except MetaGraphError as error:
                _logger.warning("Meta backfill of form %s failed, sync point kept: %s", form.id, error)
                form.last_sync_error = str(error)
                if error.kind == "token":
                    form.page_id._mark_token_broken(error)
                raise
            form.write({"last_sync_at": until, "last_sync_error": False})
        return created

    @api.private
    def _backfill_range(self, since, until):
        """Queue the leads of this form created between ``since`` and ``until`` (naive UTC); return leads queued.

        Reads ``GET /{form_id}/leads`` filtered on ``time_created`` and follows ``paging.next`` until Graph sends
        none. Leads already stored (by the webhook or an earlier run) are skipped.
        """
        self.ensure_one()
        filtering = [
            {"field": "time_created", "operator": "GREATER_THAN", "value": int(since.replace(tzinfo=UTC).timestamp())},
            {"field": "time_created", "operator": "LESS_THAN", "value": int(until.replace(tzinfo=UTC).timestamp())},
        ]
        params = {"fields": ",".join(LEAD_FIELDS), "filtering": json.dumps(filtering), "limit": BACKFILL_PAGE_SIZE}
        Event = self.env["crm.meta.lead.event"]
        created = 0
        for graph_lead in self.page_id._get_graph_client().iterate(f"{self.meta_form_id}/leads", params):
            created += Event._store_backfill_lead(self, graph_lead)
        return created


class CrmMetaFormField(models.Model):
    """Mapping of one lead form question onto a lead field."""

    _name = "crm.meta.form.field"
    _description = "Meta Lead Form Question Mapping"
    _order = "form_id, sequence, id"

    form_id = fields.Many2one("crm.meta.form", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="form_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    question_key = fields.Char(required=True, help="Key Meta gives the question, e.g. phone_number.")
    label = fields.Char(help="Question as the person saw it.")
    question_type = fields.Char(readonly=True)
    target = fields.Selection(MAPPING_TARGETS, "Lead Field", required=True, default="none")

    _question_key_uniq = models.UniqueIndex("(form_id, question_key)", "A question can be mapped once per form.")


def parse_meta_time(value):
    """Return Graph's ``2026-12-04T10:00:00+0000`` (or a Unix timestamp) as a naive UTC datetime, or False."""
    if not value:
        return False
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        _logger.warning("Ignored an unreadable Meta time value")
        return False


def _text(value):
    return str(value) if value not in (None, "") else False
