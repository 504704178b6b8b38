import logging
from datetime import datetime, timedelta

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Domain

_logger = logging.getLogger(__name__)

# ir.config_parameter key and default of the escalation grace period, in minutes.
ESCALATION_GRACE_PARAM = "ai_calling_crm.follow_up_escalation_minutes"
ESCALATION_GRACE_DEFAULT = 30
# Activities handled per commit in the crons, so a long backlog survives a timeout.
CRON_BATCH_SIZE = 200


class MailActivity(models.Model):
    _inherit = "mail.activity"

    # ------------------------------------------------------------
    # Call follow-ups
    # ------------------------------------------------------------
    call_due_at = fields.Datetime(
        "Call Time",
        index="btree_not_null",
        help="Date and time the call is due. The assignee is notified at that time.",
    )
    call_notified = fields.Boolean("Assignee Notified", readonly=True, copy=False)
    call_escalated = fields.Boolean("Escalated", readonly=True, copy=False)
    is_call_overdue = fields.Boolean(
        "Overdue Call", compute="_compute_is_call_overdue", search="_search_is_call_overdue"
    )

    def _compute_is_call_overdue(self):
        now = fields.Datetime.now()
        for activity in self:
            activity.is_call_overdue = bool(activity.active and activity.call_due_at and activity.call_due_at < now)

    def _search_is_call_overdue(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        overdue = Domain("call_due_at", "<", fields.Datetime.now()) & Domain("active", "=", True)
        return overdue if (True in value) == (operator == "in") else ~overdue

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("call_due_at"):
                vals["date_deadline"] = self._get_call_deadline_date(vals["call_due_at"], vals.get("user_id"))
        activities = super().create(vals_list)
        call_activities = activities.filtered("call_due_at")
        call_activities._schedule_call_crons()
        activities._update_lead_next_follow_up()
        return activities

    def write(self, vals):
        leads_before = self._get_call_leads()
        if vals.get("call_due_at"):
            vals = dict(vals, call_notified=False, call_escalated=False)
            for activity in self:
                user_id = vals.get("user_id", activity.user_id.id)
                activity_vals = dict(vals, date_deadline=self._get_call_deadline_date(vals["call_due_at"], user_id))
                super(MailActivity, activity).write(activity_vals)
            self._schedule_call_crons()
        elif vals.get("date_deadline") and "call_due_at" not in vals:
            # Rescheduling by date (e.g. the activity's "Tomorrow" button) keeps the call's time of day.
            timed = self.filtered("call_due_at")
            super(MailActivity, self - timed).write(vals)
            for activity in timed:
                call_due_at = activity._get_call_due_on_date(vals["date_deadline"], vals.get("user_id"))
                super(MailActivity, activity).write(
                    dict(vals, call_due_at=call_due_at, call_notified=False, call_escalated=False)
                )
            timed._schedule_call_crons()
        else:
            super().write(vals)
        if {"call_due_at", "active", "activity_type_id", "res_id", "date_deadline"} & set(vals):
            (leads_before | self._get_call_leads())._update_next_follow_up()
        return True

    def unlink(self):
        leads = self._get_call_leads()
        res = super().unlink()
        leads.exists()._update_next_follow_up()
        return res

    # ------------------------------------------------------------
    # Crons
    # ------------------------------------------------------------
    @api.model
    def _cron_notify_call_follow_ups(self):
        """Notify each assignee of the call follow-ups that are due, once per follow-up.

        See ``_notify_call_due`` for what the assignee receives. Moving a follow-up to a new time
        sends it again at the new time. Follow-ups that another transaction is writing (e.g. a call
        being logged) are skipped and picked up by a later run.
        """
        domain = self._get_call_follow_up_domain() & Domain(
            [("call_notified", "=", False), ("call_due_at", "<=", fields.Datetime.now())]
        )
        # The cron user may not see every company's leads, but the reminders must reach them all.
        activities = self.sudo().search(domain, order="call_due_at, id")
        _logger.info("Call follow-up reminders: %s due", len(activities))
        self.env["ir.cron"]._commit_progress(remaining=len(activities))
        done = 0
        for batch in activities._split_for_cron():
            pending = batch._lock_pending("call_notified", fields.Datetime.now())
            for activity in pending:
                activity._notify_call_due()
            pending.call_notified = True
            done += len(pending)
            if not self.env["ir.cron"]._commit_progress(len(batch)):
                break
        _logger.info("Call follow-up reminders: %s sent", done)

    @api.model
    def _cron_escalate_call_follow_ups(self):
        """Tell the team leader about call follow-ups overdue by more than the grace period.

        Reads the grace period in minutes from the ``ai_calling_crm.follow_up_escalation_minutes``
        system parameter (default 30). Each follow-up is escalated once, and moving it to a new
        time allows a new escalation. Follow-ups whose lead has no team leader, or whose assignee is
        the team leader, are only flagged. Locked follow-ups wait for a later run, as in the reminders.
        """
        deadline = fields.Datetime.now() - timedelta(minutes=self._get_escalation_grace_minutes())
        domain = self._get_call_follow_up_domain() & Domain(
            [("call_escalated", "=", False), ("call_due_at", "<=", deadline)]
        )
        activities = self.sudo().search(domain, order="call_due_at, id")
        _logger.info("Call follow-up escalation: %s overdue", len(activities))
        self.env["ir.cron"]._commit_progress(remaining=len(activities))
        escalated = 0
        for batch in activities._split_for_cron():
            pending = batch._lock_pending("call_escalated", deadline)
            for activity in pending:
                escalated += activity._escalate_call_due()
            pending.call_escalated = True
            if not self.env["ir.cron"]._commit_progress(len(batch)):
                break
        _logger.info("Call follow-up escalation: %s sent to team leaders", escalated)

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------
    @api.model
    def _get_call_activity_type(self):
        return self.env.ref("mail.mail_activity_data_call", raise_if_not_found=False) or self.env[
            "mail.activity.type"
        ].search([("category", "=", "phonecall")], limit=1)

    @api.model
    def _get_call_follow_up_domain(self):
        return Domain(
            [
                ("res_model", "=", "crm.lead"),
                ("activity_category", "=", "phonecall"),
                ("call_due_at", "!=", False),
            ]
        )

    @api.model
    def _get_escalation_grace_minutes(self):
        value = self.env["ir.config_parameter"].sudo().get_param(ESCALATION_GRACE_PARAM)
        try:
            return max(int(value), 0) if value else ESCALATION_GRACE_DEFAULT
        except ValueError:
            _logger.warning(
                "Invalid %s value %r, using %s minutes instead", ESCALATION_GRACE_PARAM, value, ESCALATION_GRACE_DEFAULT
            )
            return ESCALATION_GRACE_DEFAULT

    @api.model
    def _get_call_deadline_date(self, due_at, user_id=None):
        """Return the date of ``due_at`` (naive UTC) in the assignee's time zone."""
        user = self.env["res.users"].browse(user_id) if user_id else self.env.user
        due_at = fields.Datetime.to_datetime(due_at)
        tz_record = self.with_context(tz=user.sudo().tz or self.env.context.get("tz") or "UTC")
        return fields.Datetime.context_timestamp(tz_record, due_at).date()

    def _get_call_due_on_date(self, deadline, user_id=None):
        """Return the call time moved to ``deadline``, at the same time of day in the assignee's time zone."""
        self.ensure_one()
        user = self.env["res.users"].browse(user_id) if user_id else self.user_id
        tz = pytz.timezone(user.sudo().tz or self.env.context.get("tz") or "UTC")
        local_due = pytz.utc.localize(self.call_due_at).astimezone(tz)
        local_new = tz.localize(datetime.combine(fields.Date.to_date(deadline), local_due.time()))
        return local_new.astimezone(pytz.utc).replace(tzinfo=None)

    def _lock_pending(self, flag_field, due_limit):
        """Lock the activities no other transaction is writing, and keep those still to process.

        The state is read again after the lock, so an activity closed, moved or already flagged since
        the search is left out.
        """
        locked = self.try_lock_for_update(allow_referencing=True)
        locked.invalidate_recordset()
        return locked.filtered(
            lambda activity: (
                activity.active
                and activity.call_due_at
                and activity.call_due_at <= due_limit
                and not activity[flag_field]
            )
        )

    def _split_for_cron(self):
        return [self[index : index + CRON_BATCH_SIZE] for index in range(0, len(self), CRON_BATCH_SIZE)]

    def _schedule_call_crons(self):
        """Wake the reminder and escalation crons at the due times of the activities."""
        if not self:
            return
        notify_cron = self.env.ref("ai_calling_crm.ir_cron_notify_call_follow_ups", raise_if_not_found=False)
        escalate_cron = self.env.ref("ai_calling_crm.ir_cron_escalate_call_follow_ups", raise_if_not_found=False)
        # Cron triggers have a one-minute precision. Due times are rounded up to the minute, so the
        # cron never runs before the calls it notifies are due, and one trigger serves each minute.
        due_times = sorted({self._ceil_to_minute(due) for due in self.mapped("call_due_at")})
        if notify_cron:
            notify_cron.sudo()._trigger(due_times)
        if escalate_cron:
            grace = timedelta(minutes=self._get_escalation_grace_minutes())
            escalate_cron.sudo()._trigger([due + grace for due in due_times])

    @api.model
    def _ceil_to_minute(self, moment):
        floored = moment.replace(second=0, microsecond=0)
        return floored if floored == moment else floored + timedelta(minutes=1)

    def _get_call_leads(self):
        lead_ids = {activity.res_id for activity in self.sudo() if activity.res_model == "crm.lead"}
        return self.env["crm.lead"].browse(lead_ids)

    def _update_lead_next_follow_up(self):
        self._get_call_leads()._update_next_follow_up()

    def _notify_call_due(self):
        """Notify the assignee that the call is due now.

        The assignee gets a chatter notification (inbox or email, as set in her preferences) and a
        sticky pop-up in every open web client or mobile app session, whatever those preferences.
        """
        self.ensure_one()
        lead = self.env["crm.lead"].browse(self.res_id).exists()
        if not lead or not self.user_id:
            return
        activity = self.with_context(lang=self.user_id.lang) if self.user_id.lang else self
        due = fields.Datetime.context_timestamp(activity.with_context(tz=self.user_id.tz or "UTC"), self.call_due_at)
        subject = activity.env._("Call %(lead)s now", lead=lead.display_name)
        message = activity.env._(
            "The call to %(lead)s is due at %(time)s.", lead=lead.display_name, time=due.strftime("%H:%M")
        )
        lead.message_notify(
            partner_ids=self.user_id.partner_id.ids,
            subject=subject,
            body=Markup("<p>%s</p>") % message,
            model_description=activity.env._("Lead"),
        )
        self.user_id._bus_send(
            "simple_notification", {"type": "warning", "title": subject, "message": message, "sticky": True}
        )

    def _escalate_call_due(self):
        """Notify the lead's team leader that the call is overdue, and return 1 if a notification was sent.

        Like the reminder, the escalation goes to the chatter notifications and pops up in open sessions.
        """
        self.ensure_one()
        lead = self.env["crm.lead"].browse(self.res_id).exists()
        leader = lead.team_id.user_id
        if not lead or not leader or leader == self.user_id:
            return 0
        leader_env = self.with_context(lang=leader.lang) if leader.lang else self
        due = fields.Datetime.context_timestamp(leader_env.with_context(tz=leader.tz or "UTC"), self.call_due_at)
        body = Markup("<p>%s</p>") % leader_env.env._(
            "The call to %(lead)s assigned to %(user)s was due at %(time)s and is still open.",
            lead=lead.display_name,
            user=self.user_id.name or leader_env.env._("nobody"),
            time=due.strftime("%Y-%m-%d %H:%M"),
        )
        subject = leader_env.env._("Overdue call: %(lead)s", lead=lead.display_name)
        lead.message_notify(
            partner_ids=leader.partner_id.ids,
            subject=subject,
            body=body,
            model_description=leader_env.env._("Lead"),
        )
        leader._bus_send("simple_notification", {"type": "danger", "title": subject, "message": body.striptags()})
        return 1
