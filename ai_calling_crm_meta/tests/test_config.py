from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import PAGE_TOKEN, MetaTestMixin


@tagged("post_install", "-at_install", "ai_calling_crm_meta", "ai_calling_crm_meta_config")
class TestConfig(MetaTestMixin, TransactionCase):
    """Page actions against the fake Graph server, validation and access rights."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_meta()
        cls.manager = cls.env["res.users"].create(
            {
                "name": "Meta Sales Manager",
                "login": "meta_config_manager",
                "group_ids": [Command.link(cls.env.ref("sales_team.group_sale_manager").id)],
            }
        )

    def test_subscribe_page(self):
        """Subscribe posts the leadgen field to subscribed_apps, then the check reads it back."""
        self.assertEqual(self.page.subscription_state, "unknown")
        self.page.action_subscribe()
        post = [r for r in self.fake.requests_to("/1001/subscribed_apps") if r["method"] == "POST"][0]
        self.assertEqual(post["params"]["subscribed_fields"], "leadgen")
        self.assertEqual(self.page.subscription_state, "subscribed")

    def test_subscription_missing(self):
        """A page without this app in subscribed_apps is shown as not subscribed."""
        self.fake.pages["1001"]["subscribed_apps"] = [{"id": "999", "subscribed_fields": ["leadgen"]}]
        self.page.action_check_subscription()
        self.assertEqual(self.page.subscription_state, "not_subscribed")

    def test_check_token(self):
        """debug_token is called with the app token; validity, expiry and permissions are recorded."""
        self.fake.token_info[PAGE_TOKEN] = {
            "app_id": "5001",
            "is_valid": True,
            "expires_at": 1798761600,
            "scopes": ["leads_retrieval", "pages_show_list"],
        }
        result = self.page.action_check_token()
        request = self.fake.requests_to("debug_token")[0]
        self.assertEqual(request["params"]["input_token"], PAGE_TOKEN)
        self.assertEqual(request["params"]["access_token"], "5001|test-app-secret")
        self.assertEqual(self.page.token_state, "valid")
        self.assertEqual(self.page.token_expires_at.year, 2027)
        self.assertIn("pages_manage_metadata", result["params"]["message"])

    def test_check_invalid_token(self):
        """An invalid token is marked broken with Meta's reason."""
        self.fake.token_info[PAGE_TOKEN] = {"is_valid": False, "error": {"message": "Session has expired"}}
        self.page.action_check_token()
        self.assertEqual(self.page.token_state, "broken")
        self.assertIn("Session has expired", self.page.token_message)

    def test_sync_forms(self):
        """Forms and their questions are read from leadgen_forms; admin mapping changes are kept."""
        self.form.field_ids.filtered(lambda f: f.question_key == "city").target = "none"
        self.fake.add_form(
            "2002",
            "1001",
            name="Diploma form",
            questions=[
                {"key": "full_name", "label": "Name", "type": "FULL_NAME"},
                {"key": "which_course", "label": "Which course?", "type": "CUSTOM"},
            ],
        )
        self.page.action_sync_forms()
        forms = self.page.form_ids
        self.assertEqual(set(forms.mapped("meta_form_id")), {"2001", "2002"})
        diploma = forms.filtered(lambda f: f.meta_form_id == "2002")
        targets = {line.question_key: line.target for line in diploma.field_ids}
        self.assertEqual(targets, {"full_name": "contact_name", "which_course": "none"})
        self.assertEqual(self.form.field_ids.filtered(lambda f: f.question_key == "city").target, "none")

    @mute_logger("odoo.addons.ai_calling_crm_meta.models.crm_meta_page")
    def test_graph_error_shown(self):
        """A Graph error during a page action is shown as a message with the code."""
        self.fake.add_failure(code=10, path="subscribed_apps")
        with self.assertRaisesRegex(UserError, "code 10"):
            self.page.action_check_subscription()

    def test_app_validation(self):
        """The Graph version and URL are checked."""
        with self.assertRaises(ValidationError):
            self.app.graph_version = "26"
        with self.assertRaises(ValidationError):
            self.app.graph_base_url = "graph.facebook.com/v26.0"

    def test_secrets_for_admins_only(self):
        """Sales managers can read pages and events but not the app, secrets or tokens."""
        page = self.page.with_user(self.manager)
        self.assertEqual(page.name, "Test Page")
        with self.assertRaises(AccessError):
            page.read(["access_token"])
        with self.assertRaises(AccessError):
            self.app.with_user(self.manager).read(["name"])
        with self.assertRaises(UserError):
            page.action_check_token()
        self.store_events("500001")
        self.assertEqual(self.Event.with_user(self.manager).search_count([]), 1)

    def test_salesman_sees_no_events(self):
        """Salespeople cannot read Meta events or configuration."""
        salesman = self.env["res.users"].create(
            {
                "name": "Meta Salesman",
                "login": "meta_config_salesman",
                "group_ids": [Command.link(self.env.ref("sales_team.group_sale_salesman").id)],
            }
        )
        self.store_events("500003")
        with self.assertRaises(AccessError):
            self.Event.with_user(salesman).search([])
        with self.assertRaises(AccessError):
            self.page.with_user(salesman).read(["name"])

    def test_other_company_hidden(self):
        """Events of another company are hidden from users of this one."""
        other_company = self.env["res.company"].create({"name": "Other Institute"})
        self.store_events("500002")
        self.Event.search([("leadgen_id", "=", "500002")]).company_id = other_company
        self.assertEqual(self.Event.with_user(self.manager).search_count([("leadgen_id", "=", "500002")]), 0)
