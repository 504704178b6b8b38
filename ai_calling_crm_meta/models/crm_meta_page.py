import logging
from datetime import UTC, datetime

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.meta_graph import FORM_FIELDS, MetaGraphError

_logger = logging.getLogger(__name__)


class CrmMetaPage(models.Model):
    """A Facebook page whose lead ad forms feed leads into Odoo through a Meta app."""

    _name = "crm.meta.page"
    _description = "Meta Page"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "name, id"

    # ------------------------------------------------------------
    # Identity
    # ------------------------------------------------------------
    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    meta_page_id = fields.Char("Page ID", required=True, tracking=True)
    app_id = fields.Many2one("crm.meta.app", "Meta App", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="app_id.company_id", store=True, index=True)
    access_token = fields.Char(
        "Page Access Token",
        groups="base.group_system",
        copy=False,
        help="Long-lived page token or system-user token with the leads_retrieval and pages_manage_metadata "
        "permissions.",
    )

    # ------------------------------------------------------------
    # Lead defaults
    # ------------------------------------------------------------
    team_id = fields.Many2one("crm.team", "Default Sales Team", help="Used for forms that name no team.")
    phone_country_id = fields.Many2one(
        "res.country",
        default=lambda self: self.env.company.country_id,
        help="Country used to read phone numbers written without a country code.",
    )
    form_ids = fields.One2many("crm.meta.form", "page_id", string="Forms")
    form_count = fields.Integer(compute="_compute_form_count")

    # ------------------------------------------------------------
    # Token and subscription health
    # ------------------------------------------------------------
    token_state = fields.Selection(
        [("unknown", "Not Checked"), ("valid", "Valid"), ("broken", "Broken")],
        default="unknown",
        required=True,
        tracking=True,
        help="Broken: Graph rejected the token (expired or revoked). Leads keep arriving and wait until a new token "
        "is saved.",
    )
    token_message = fields.Text(readonly=True)
    token_expires_at = fields.Datetime("Token Expires", readonly=True)
    token_scopes = fields.Char("Token Permissions", readonly=True)
    token_checked_at = fields.Datetime("Token Checked", readonly=True)
    subscription_state = fields.Selection(
        [("unknown", "Not Checked"), ("subscribed", "Subscribed"), ("not_subscribed", "Not Subscribed")],
        default="unknown",
        required=True,
        tracking=True,
    )
    subscription_checked_at = fields.Datetime("Subscription Checked", readonly=True)
    throttled_until = fields.Datetime(
        readonly=True, help="Meta asked to slow down: no Graph call is made for this page before this time."
    )

    _meta_page_id_uniq = models.UniqueIndex("(meta_page_id, app_id)", "A page can be added once per Meta app.")

    def _compute_form_count(self):
        counts = dict(self.env["crm.meta.form"]._read_group([("page_id", "in", self.ids)], ["page_id"], ["__count"]))
        for page in self:
            page.form_count = counts.get(page, 0)

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------
    def write(self, vals):
        if "access_token" in vals:
            vals = {**vals, "token_state": "unknown", "token_message": False, "throttled_until": False}
        result = super().write(vals)
        if "access_token" in vals:
            # Leads stored while the old token was broken are fetched now, with the new token.
            self.env["crm.meta.lead.event"]._trigger_processing()
        return result

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------
    def action_subscribe(self):
        """Subscribe the app to this page's ``leadgen`` field so Meta sends lead webhooks."""
        self.ensure_one()
        self._check_config_access()
        try:
            self._get_graph_client().post(f"{self.meta_page_id}/subscribed_apps", {"subscribed_fields": "leadgen"})
        except MetaGraphError as error:
            raise self._graph_user_error(error) from error
        return self.action_check_subscription()

    def action_check_subscription(self):
        """Read the page's subscribed apps and record whether this app receives ``leadgen`` webhooks."""
        self.ensure_one()
        self._check_config_access()
        try:
            body = self._get_graph_client().get(f"{self.meta_page_id}/subscribed_apps")
        except MetaGraphError as error:
            raise self._graph_user_error(error) from error
        subscribed = any(
            str(app.get("id")) == self.app_id.meta_app_id and "leadgen" in (app.get("subscribed_fields") or ["leadgen"])
            for app in body.get("data", [])
        )
        self.write(
            {
                "subscription_state": "subscribed" if subscribed else "not_subscribed",
                "subscription_checked_at": fields.Datetime.now(),
            }
        )
        if subscribed:
            message = self.env._("App %(app)s receives lead webhooks from this page.", app=self.app_id.meta_app_id)
        else:
            message = self.env._("The page is not subscribed to this app's leadgen field: click Subscribe.")
        return self._notification(message, "success" if subscribed else "warning")

    def action_check_token(self):
        """Inspect the page token with Graph's ``debug_token`` and show validity, expiry and permissions."""
        self.ensure_one()
        self._check_config_access()
        try:
            body = self.app_id._get_app_token_client().get("debug_token", {"input_token": self.sudo().access_token})
        except MetaGraphError as error:
            raise self._graph_user_error(error) from error
        data = body.get("data") or {}
        expires_at = data.get("expires_at") or 0
        values = {
            "token_checked_at": fields.Datetime.now(),
            "token_scopes": ", ".join(data.get("scopes") or []),
            # Meta reports 0 for tokens that never expire.
            "token_expires_at": datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None) if expires_at else False,
        }
        if data.get("is_valid"):
            values.update(token_state="valid", token_message=False)
            if self.token_state == "broken":
                # Leads that waited for this page are fetched again.
                self.env["crm.meta.lead.event"]._trigger_processing()
            missing = {"leads_retrieval", "pages_manage_metadata"} - set(data.get("scopes") or [])
            if missing:
                message = self.env._(
                    "The token is valid but lacks %(permissions)s: create a new token that includes them.",
                    permissions=", ".join(sorted(missing)),
                )
            else:
                message = self.env._("The token is valid.")
        else:
            error_message = (data.get("error") or {}).get("message") or self.env._("no reason given")
            values.update(token_state="broken", token_message=error_message)
            message = self.env._(
                "The token is invalid (%(reason)s): paste a new page token and check again.", reason=error_message
            )
        self.sudo().write(values)
        kind = "success" if data.get("is_valid") and "lacks" not in message else "warning"
        return self._notification(message, kind)

    def action_sync_forms(self):
        """Create or update this page's forms from Graph's ``leadgen_forms`` edge."""
        self.ensure_one()
        self._check_config_access()
        try:
            params = {"fields": ",".join(FORM_FIELDS)}
            forms = list(self._get_graph_client().iterate(f"{self.meta_page_id}/leadgen_forms", params))
        except MetaGraphError as error:
            raise self._graph_user_error(error) from error
        for form_data in forms:
            self.env["crm.meta.form"]._sync_from_graph(self, form_data)
        return self._notification(self.env._("%(count)s forms synced.", count=len(forms)), "success")

    def action_view_forms(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ai_calling_crm_meta.crm_meta_form_action")
        action["domain"] = [("page_id", "=", self.id)]
        action["context"] = {"default_page_id": self.id}
        return action

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------
    @api.private
    def _get_graph_client(self):
        self.ensure_one()
        return self.app_id._get_graph_client(self.sudo().access_token)

    @api.private
    def _mark_token_broken(self, error):
        """Record that Graph rejected the page token and give the administrator a to-do, once per breakage."""
        for page in self.sudo():
            if page.token_state == "broken":
                continue
            page.write({"token_state": "broken", "token_message": str(error)})
            _logger.warning("Meta page %s: Graph rejected the page token (code %s)", page.id, error.code)
            admin = page.app_id.responsible_user_id or self.env.ref("base.user_admin", raise_if_not_found=False)
            page.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Renew the Meta page token"),
                note=self.env._(
                    "Graph rejected the token of page %(page)s: %(error)s. Leads keep arriving and wait. Paste a new "
                    "long-lived page token (or system-user token) on the page, then click Check Token.",
                    page=page.name,
                    error=str(error),
                ),
                user_id=admin.id if admin else self.env.uid,
            )

    def _check_config_access(self):
        if not self.env.user.has_group("base.group_system"):
            raise UserError(self.env._("Only system administrators can change the Meta connection."))

    def _graph_user_error(self, error):
        return UserError(
            self.env._(
                "Graph API call for page %(page)s failed: %(error)s. Check the page id, the token and the app "
                "settings, then try again.",
                page=self.meta_page_id,
                error=str(error),
            )
        )

    def _notification(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.name,
                "message": message,
                "type": kind,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
