import hashlib
import logging
import re
import secrets
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import email_normalize, html2plaintext, parse_contact_from_email

_logger = logging.getLogger(__name__)

OFFICER_GROUP = "ai_calling_crm_privacy.group_privacy_officer"
# GDPR article 12(3) gives one month to respond, and the DPDP rules allow up to 90 days for grievances. One month
# is the default so that a single setting satisfies both. Officers can raise it in the settings.
DEFAULT_DUE_DAYS = 30
DEFAULT_REMINDER_DAYS = 7
# Words that pick the request type of an email; the officer corrects the type when the guess is wrong.
TYPE_KEYWORDS = [
    ("erasure", re.compile(r"\b(delete|erase|erasure|remove|forget)\b", re.IGNORECASE)),
    ("withdrawal", re.compile(r"\b(withdraw|unsubscribe|stop (calling|messaging|contacting))\b", re.IGNORECASE)),
    ("restriction", re.compile(r"\b(restrict|restriction|object|objection)\b", re.IGNORECASE)),
    ("correction", re.compile(r"\b(correct|correction|rectify|update my)\b", re.IGNORECASE)),
    ("access", re.compile(r"\b(access|copy|export|what data)\b", re.IGNORECASE)),
]
CLOSED_STATES = ("done", "rejected")


class CrmPrivacyRequest(models.Model):
    """Data-subject request: access/export, correction, erasure, restriction or consent withdrawal.

    A request identifies the person by name, email and phone, lists every matching record before anything is done,
    and ends in a completed export, erasure, restriction or withdrawal, or a rejection. Only privacy officers can
    read requests.
    """

    _name = "crm.privacy.request"
    _description = "Data-Subject Request"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "due_date, id desc"

    # ------------------------------------------------------------
    # Request
    # ------------------------------------------------------------
    name = fields.Char(string="Reference", required=True, readonly=True, copy=False, default="/")
    request_type = fields.Selection(
        [
            ("access", "Access / Export"),
            ("correction", "Correction"),
            ("erasure", "Erasure"),
            ("restriction", "Restriction"),
            ("withdrawal", "Consent Withdrawal"),
        ],
        string="Type",
        required=True,
        default="access",
        tracking=True,
    )
    state = fields.Selection(
        [("new", "New"), ("review", "In Review"), ("done", "Done"), ("rejected", "Rejected")],
        required=True,
        default="new",
        tracking=True,
        index=True,
    )
    source = fields.Selection(
        [("officer", "Privacy Officer"), ("email", "Email"), ("meta", "Meta Data Deletion Callback")],
        required=True,
        default="officer",
        readonly=True,
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    user_id = fields.Many2one(
        "res.users",
        string="Privacy Officer",
        default=lambda self: self.env.user,
        domain=lambda self: [("group_ids", "in", self.env.ref(OFFICER_GROUP).id)],
        tracking=True,
    )
    description = fields.Text(help="What the person asked for, e.g. the corrected values or the email text.")
    resolution_note = fields.Text(help="What was done, written by the officer; shown in the audit trail by id only.")
    legal_hold = fields.Boolean(help="Retention policies keep this request while set.")

    # ------------------------------------------------------------
    # Requester: personal data, cleared when the request is erased
    # ------------------------------------------------------------
    requester_name = fields.Char(string="Name")
    requester_email = fields.Char(string="Email")
    requester_phone = fields.Char(string="Phone")
    requester_partner_id = fields.Many2one("res.partner", string="Contact", ondelete="set null")
    meta_user_id = fields.Char(string="Meta User ID", readonly=True, help="App-scoped user id sent by Meta.")

    # ------------------------------------------------------------
    # Dates
    # ------------------------------------------------------------
    submission_date = fields.Datetime(required=True, default=fields.Datetime.now)
    due_date = fields.Date(compute="_compute_due_date", store=True, readonly=False, tracking=True)
    closed_date = fields.Datetime(readonly=True)
    reminder_sent = fields.Boolean(readonly=True, copy=False)

    # ------------------------------------------------------------
    # Results
    # ------------------------------------------------------------
    match_ids = fields.One2many("crm.privacy.request.match", "request_id", string="Matching Records")
    match_count = fields.Integer(compute="_compute_match_count")
    export_attachment_id = fields.Many2one("ir.attachment", string="Export Archive", readonly=True, copy=False)
    erasure_record_id = fields.Many2one("crm.privacy.erasure.record", readonly=True, copy=False)
    confirmation_code_hash = fields.Char(readonly=True, copy=False, index="btree_not_null")

    @api.depends("submission_date")
    def _compute_due_date(self):
        due_days = self._get_due_days()
        for request in self:
            submitted = request.submission_date or fields.Datetime.now()
            request.due_date = (submitted + timedelta(days=due_days)).date()

    @api.depends("match_ids")
    def _compute_match_count(self):
        for request in self:
            request.match_count = len(request.match_ids)

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("crm.privacy.request") or "/"
        return super().create(vals_list)

    @api.model
    def message_new(self, msg_dict, custom_values=None):
        """Create a request from an email sent to the privacy alias, guessing its type from the words used."""
        name, email = parse_contact_from_email(msg_dict.get("email_from") or "")
        text = "{}\n{}".format(msg_dict.get("subject") or "", html2plaintext(msg_dict.get("body") or ""))
        values = {
            "source": "email",
            "requester_name": name or False,
            "requester_email": email_normalize(email) or email or False,
            "request_type": self._guess_request_type(text),
            "description": text.strip(),
            "submission_date": msg_dict.get("date") or fields.Datetime.now(),
            **(custom_values or {}),
        }
        partner_id = msg_dict.get("author_id")
        if partner_id:
            values["requester_partner_id"] = partner_id
        request = super().message_new(msg_dict, custom_values=values)
        officer = request._get_default_officer()
        if officer:
            request.user_id = officer
        _logger.info("Privacy request %s created from an email (type %s)", request.id, request.request_type)
        return request

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------
    def action_find_matches(self):
        """List every record that contains the requester's data, keeping the lines the officer excluded earlier."""
        self._check_officer()
        for request in self:
            request._action_find_matches()
            if request.state == "new":
                request.state = "review"
        return True

    def action_export(self):
        """Build the export archive of the requester's data and return a download action for it."""
        self.ensure_one()
        self._check_officer()
        self._check_open()
        attachment = self._action_export()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }

    def action_erase(self):
        """Erase every matching record of the requester, close the request and return to it."""
        self.ensure_one()
        self._check_officer()
        self._check_open()
        self._action_erase()
        return True

    def action_restrict(self):
        """Stop calling, assignment and marketing for the matched leads and contacts until the restriction is lifted."""
        self._check_officer()
        for request in self:
            request._check_open()
            request._action_set_restriction(True)
            request._close("done")
        return True

    def action_lift_restriction(self):
        """Lift the restriction this request set on the matched leads and contacts."""
        self._check_officer()
        for request in self:
            request._action_set_restriction(False)
            request.message_post(body=self.env._("Restriction lifted."))
        return True

    def action_withdraw_consent(self):
        """Record a withdrawal of every purpose currently given for the matched leads and contacts."""
        self._check_officer()
        for request in self:
            request._check_open()
            request._action_withdraw_consent()
            request._close("done")
        return True

    def action_done(self):
        """Close the request once the officer has responded, e.g. after correcting the records."""
        self._check_officer()
        for request in self:
            request._check_open()
            request._close("done")
        return True

    def action_reject(self):
        """Close the request without acting, e.g. when the requester could not be verified."""
        self._check_officer()
        for request in self:
            request._check_open()
            request._close("rejected")
        return True

    # ------------------------------------------------------------
    # Workers
    # ------------------------------------------------------------
    def _action_find_matches(self):
        self.ensure_one()
        excluded = {(line.res_model, line.res_id) for line in self.match_ids if line.excluded}
        found = self._find_records()
        lines = [
            {"request_id": self.id, "res_model": model_name, "res_id": record_id, "excluded": False}
            for model_name, records in found.items()
            for record_id in records.ids
            if not (model_name == self._name and record_id == self.id)
        ]
        for line in lines:
            line["excluded"] = (line["res_model"], line["res_id"]) in excluded
        self.match_ids.sudo().unlink()
        self.env["crm.privacy.request.match"].sudo().create(lines)

    def _find_records(self):
        """Return the data map of the requester, without the records the officer excluded."""
        self.ensure_one()
        person = self.env["crm.privacy.person"]
        identifiers = person._normalise_identifiers(self.requester_name, self.requester_email, self.requester_phone)
        excluded = {}
        for line in self.match_ids.filtered("excluded"):
            excluded.setdefault(line.res_model, []).append(line.res_id)
        found = person._find_records(identifiers, self.submission_date, excluded=excluded)
        if self.requester_partner_id and self.requester_partner_id.id not in excluded.get("res.partner", []):
            found["res.partner"] |= self.requester_partner_id.sudo()
        return found

    def _action_export(self):
        self.ensure_one()
        found = self._find_records()
        archive = self.env["crm.privacy.person"]._export(found)
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": f"{self.name.replace('/', '-')}-export.zip",
                    "raw": archive,
                    "mimetype": "application/zip",
                    "res_model": self._name,
                    "res_id": self.id,
                }
            )
        )
        self.export_attachment_id = attachment
        counts = {model_name: len(records) for model_name, records in found.items() if records}
        self.env["crm.privacy.audit.log"]._log("export", self, record_count=sum(counts.values()), details=counts)
        if self.request_type == "access":
            self._close("done")
        return attachment

    def _action_erase(self):
        self.ensure_one()
        person = self.env["crm.privacy.person"]
        identifiers = person._normalise_identifiers(self.requester_name, self.requester_email, self.requester_phone)
        found = self._find_records()
        found["crm.privacy.request"] |= self.sudo()
        erasure_values = self._prepare_erasure_record_values(identifiers)
        counts = person._erase(found, identifiers, mode=self._get_erasure_mode())
        erasure_record = self.env["crm.privacy.erasure.record"].sudo().create(dict(erasure_values, counts=counts))
        self.sudo().write({"erasure_record_id": erasure_record.id, "export_attachment_id": False})
        self.env["crm.privacy.audit.log"]._log("erasure", self, record_count=sum(counts.values()), details=counts)
        self._close("done")
        return erasure_record

    def _prepare_erasure_record_values(self, identifiers):
        erasure = self.env["crm.privacy.erasure.record"]
        return {
            "request_id": self.id,
            "approved_by_id": self.env.uid,
            "company_id": self.company_id.id,
            "mode": self._get_erasure_mode(),
            "name_hash": erasure._hash_identifier("name", identifiers["name"]),
            "email_hash": erasure._hash_identifier("email", identifiers["email"]),
            "phone_hash": erasure._hash_identifier("phone", identifiers["phone_key"]),
        }

    def _action_set_restriction(self, restricted):
        self.ensure_one()
        found = self._find_records()
        leads, partners = found["crm.lead"], found["res.partner"]
        leads.write({"privacy_restricted": restricted})
        partners.write({"privacy_restricted": restricted})
        blacklist, phone_blacklist = self.env["mail.blacklist"].sudo(), self.env["phone.blacklist"].sudo()
        emails = {email for email in leads.mapped("email_normalized") + partners.mapped("email_normalized") if email}
        numbers = list(
            {number for number in leads.mapped("phone_sanitized") + partners.mapped("phone_sanitized") if number}
        )
        for email in emails:
            if restricted:
                blacklist._add(email)
            else:
                blacklist._remove(email)
        if numbers:
            phone_blacklist._add(numbers) if restricted else phone_blacklist._remove(numbers)
        self.env["crm.privacy.audit.log"]._log(
            "restriction" if restricted else "restriction_lifted",
            self,
            record_count=len(leads) + len(partners),
            details={"crm.lead": len(leads), "res.partner": len(partners)},
        )

    def _action_withdraw_consent(self):
        self.ensure_one()
        found = self._find_records()
        consents = self.env["crm.privacy.consent"].sudo()
        current = consents.browse(consents._current_consent_ids(found["crm.privacy.consent"].ids))
        values = [
            {
                "lead_id": consent.lead_id.id,
                "partner_id": consent.partner_id.id,
                "purpose_id": consent.purpose_id.id,
                "channel": consent.channel,
                "status": "withdrawn",
                "source": "request",
                "note": self.env._("Withdrawn by request %(request)s", request=self.name),
            }
            for consent in current.filtered(lambda c: c.status == "given")
        ]
        # Purposes that apply without consent are stopped by an explicit withdrawal on each lead.
        implied = self.env["crm.privacy.purpose"].sudo().search([("requires_explicit_consent", "=", False)])
        values += [
            {
                "lead_id": lead.id,
                "purpose_id": purpose.id,
                "channel": "any",
                "status": "withdrawn",
                "source": "request",
            }
            for lead in found["crm.lead"]
            for purpose in implied
        ]
        consents.create(values)

    def _close(self, state):
        self.write({"state": state, "closed_date": fields.Datetime.now()})
        self.activity_ids.sudo().action_feedback()
        self.env["crm.privacy.audit.log"]._log("request", self, details={"state": state, "type": self.request_type})

    # ------------------------------------------------------------
    # Meta data deletion callback
    # ------------------------------------------------------------
    @api.model
    def _create_from_meta_callback(self, meta_user_id, company=None):
        """Create an erasure request for a Meta data deletion callback and return ``(request, confirmation code)``.

        Only a SHA-256 hash of the confirmation code is stored, so the status page can find the request from the
        code while a database reader cannot build status links.
        """
        code = secrets.token_hex(10).upper()
        request = self.sudo().create(
            {
                "request_type": "erasure",
                "source": "meta",
                "meta_user_id": meta_user_id,
                "company_id": (company or self.env.company).id,
                "user_id": self._get_default_officer().id,
                "confirmation_code_hash": self._hash_confirmation_code(code),
                "description": self.env._(
                    "Meta sent a data deletion request for app-scoped user %(user_id)s. Identify the person (name, "
                    "email or phone) before finding matches.",
                    user_id=meta_user_id,
                ),
            }
        )
        self.env["crm.privacy.audit.log"]._log("meta_callback", request)
        return request, code

    @api.model
    def _hash_confirmation_code(self, code):
        return hashlib.sha256(code.encode()).hexdigest()

    # ------------------------------------------------------------
    # Reminders
    # ------------------------------------------------------------
    @api.model
    def _cron_remind_due_requests(self):
        """Schedule a to-do for the officer of every open request due within the reminder period."""
        param = self.env["ir.config_parameter"].sudo().get_param("ai_calling_crm_privacy.reminder_days")
        reminder_days = int(param) if param and param.isdigit() else DEFAULT_REMINDER_DAYS
        limit = fields.Date.context_today(self) + timedelta(days=reminder_days)
        requests = self.search(
            [("state", "not in", CLOSED_STATES), ("due_date", "<=", limit), ("reminder_sent", "=", False)]
        )
        _logger.info("Scheduling reminders for %s privacy requests due by %s", len(requests), limit)
        for request in requests:
            officer = request.user_id or request._get_default_officer()
            request.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=request.due_date,
                summary=self.env._("Privacy request due on %(date)s", date=request.due_date),
                user_id=officer.id or self.env.uid,
            )
        requests.write({"reminder_sent": True})
        self.env["ir.cron"]._commit_progress(len(requests))
        _logger.info("Scheduled %s privacy request reminders", len(requests))

    # ------------------------------------------------------------
    # Private helpers
    # ------------------------------------------------------------
    def _check_officer(self):
        if not self.env.su and not self.env.user.has_group(OFFICER_GROUP):
            raise AccessError(self.env._("Only privacy officers can act on data-subject requests."))
        self.check_access("write")

    def _check_open(self):
        for request in self:
            if request.state in CLOSED_STATES:
                raise UserError(
                    self.env._(
                        "Request %(name)s is already closed (%(state)s); create a new request instead.",
                        name=request.name,
                        state=dict(self._fields["state"].selection)[request.state],
                    )
                )

    @api.model
    def _guess_request_type(self, text):
        for request_type, pattern in TYPE_KEYWORDS:
            if pattern.search(text or ""):
                return request_type
        return "access"

    @api.model
    def _get_due_days(self):
        param = self.env["ir.config_parameter"].sudo().get_param("ai_calling_crm_privacy.request_due_days")
        return int(param) if param and param.isdigit() else DEFAULT_DUE_DAYS

    @api.model
    def _get_erasure_mode(self):
        mode = self.env["ir.config_parameter"].sudo().get_param("ai_calling_crm_privacy.erasure_mode", "anonymise")
        return mode if mode in ("anonymise", "delete") else "anonymise"

    def _get_default_officer(self):
        officers = self.env.ref(OFFICER_GROUP).sudo().all_user_ids.filtered(lambda user: not user.share)
        return officers.sorted("id")[:1]


class CrmPrivacyRequestMatch(models.Model):
    """One record that contains the requester's data, listed on the request before anything is done."""

    _name = "crm.privacy.request.match"
    _description = "Data-Subject Request Match"
    _order = "res_model, res_id"

    request_id = fields.Many2one("crm.privacy.request", required=True, ondelete="cascade", index=True)
    res_model = fields.Char(string="Model", required=True)
    res_id = fields.Integer(string="Record ID", required=True)
    model_description = fields.Char(string="Kind of Data", compute="_compute_model_description")
    record_name = fields.Char(string="Record", compute="_compute_record_name")
    excluded = fields.Boolean(help="Leave this record out of the export, erasure or restriction.")

    def _compute_model_description(self):
        for line in self:
            in_registry = line.res_model in self.env
            line.model_description = self.env[line.res_model]._description if in_registry else line.res_model

    def _compute_record_name(self):
        for line in self:
            if line.res_model not in self.env:
                line.record_name = False
                continue
            record = self.env[line.res_model].sudo().browse(line.res_id).exists()
            line.record_name = record.display_name if record else self.env._("(deleted)")

    def action_open_record(self):
        """Open the matched record in a form view."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "target": "current",
        }
