import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.meta_graph import MetaGraphClient

# Newest Graph API version when this addon was written: v26.0, released 29 July 2026 according to
# https://developers.facebook.com/docs/graph-api/changelog/versions (checked December 2026).
DEFAULT_GRAPH_VERSION = "v26.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
WEBHOOK_ROUTE = "/ai_calling_crm_meta/webhook"


class CrmMetaApp(models.Model):
    """A Meta app that sends lead ad webhooks and whose secret signs Graph API calls."""

    _name = "crm.meta.app"
    _description = "Meta App"
    _order = "name, id"

    # ------------------------------------------------------------
    # Identity and secrets
    # ------------------------------------------------------------
    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    meta_app_id = fields.Char("App ID", required=True, help="Numeric id of the app in Meta's App Dashboard.")
    app_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="App secret from App Dashboard > App settings > Basic. It checks webhook signatures and signs "
        "Graph API calls (appsecret_proof).",
    )
    verify_token = fields.Char(
        groups="base.group_system",
        copy=False,
        help="Any string you choose. Enter the same value as the verify token of the app's Page webhook.",
    )

    # ------------------------------------------------------------
    # Graph API
    # ------------------------------------------------------------
    graph_version = fields.Char("Graph API Version", required=True, default=DEFAULT_GRAPH_VERSION)
    graph_base_url = fields.Char(
        "Graph API URL",
        required=True,
        default=DEFAULT_GRAPH_URL,
        help="Change it only to point tests or demos at a fake Graph server.",
    )
    request_timeout = fields.Integer(
        "Request Timeout (s)", default=10, help="Seconds to wait for each Graph response before retrying later."
    )

    # ------------------------------------------------------------
    # Processing policy
    # ------------------------------------------------------------
    max_attempts = fields.Integer(
        default=8, help="Graph attempts per lead before a transient failure becomes a failed event."
    )
    retry_delay = fields.Integer(
        "First Retry Delay (s)",
        default=60,
        help="Wait before the second attempt; each further attempt waits twice as long, with random jitter.",
    )
    follow_up_minutes = fields.Integer(
        "First Call Within (min)",
        default=5,
        help="The first-call follow-up of a new lead is due this many minutes after the lead reaches Odoo.",
    )
    backfill_overlap = fields.Integer(
        "Backfill Overlap (min)",
        default=60,
        help="Each backfill run starts this many minutes before the previous successful run, so leads created "
        "during that run are not skipped.",
    )
    backfill_first_days = fields.Integer(
        "First Backfill (days)", default=1, help="How far back the first backfill of a form reads."
    )
    responsible_user_id = fields.Many2one(
        "res.users",
        "Administrator",
        default=lambda self: self.env.user,
        help="Receives a to-do when a page token expires or is revoked.",
    )
    page_ids = fields.One2many("crm.meta.page", "app_id", string="Pages")
    webhook_url = fields.Char("Webhook Callback URL", compute="_compute_webhook_url")

    _meta_app_id_uniq = models.UniqueIndex("(meta_app_id, company_id)", "A Meta app can be added once per company.")
    _max_attempts_positive = models.Constraint("CHECK (max_attempts > 0)", "Max attempts must be at least 1.")

    def _compute_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for app in self:
            app.webhook_url = f"{base_url}{WEBHOOK_ROUTE}?db={self.env.cr.dbname}"

    @api.constrains("graph_version")
    def _check_graph_version(self):
        for app in self:
            if not re.fullmatch(r"v\d+\.\d+", app.graph_version or ""):
                raise ValidationError(
                    self.env._(
                        "Graph API version %(version)s is invalid: write it as Meta does, e.g. %(example)s.",
                        version=app.graph_version,
                        example=DEFAULT_GRAPH_VERSION,
                    )
                )

    @api.constrains("graph_base_url")
    def _check_graph_base_url(self):
        for app in self:
            if not re.fullmatch(r"https?://[^/?#\s]+/?", app.graph_base_url or ""):
                raise ValidationError(
                    self.env._(
                        "Graph API URL %(url)s is invalid: enter a scheme and host only, e.g. %(example)s.",
                        url=app.graph_base_url,
                        example=DEFAULT_GRAPH_URL,
                    )
                )

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------
    @api.private
    def _get_graph_client(self, access_token):
        """Return a Graph client that signs its calls with ``access_token`` and this app's secret."""
        self.ensure_one()
        app = self.sudo()
        return MetaGraphClient(
            app.graph_base_url,
            app.graph_version,
            access_token,
            app.app_secret,
            timeout=max(app.request_timeout, 1),
        )

    @api.private
    def _get_app_token_client(self):
        """Return a Graph client using the app access token ``{app id}|{app secret}``, as debug_token needs."""
        self.ensure_one()
        return self._get_graph_client(f"{self.meta_app_id}|{self.sudo().app_secret or ''}")
