import json
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..models import crm_meta_form
from .common import FORM_ID, MetaTestMixin

FORM_LOGGER = "odoo.addons.ai_calling_crm_meta.models.crm_meta_form"
NOW = datetime(2026, 12, 4, 12, 0, 0)


@tagged("post_install", "-at_install", "ai_calling_crm_meta", "ai_calling_crm_meta_backfill")
@freeze_time(NOW)
class TestBackfill(MetaTestMixin, TransactionCase):
    """Reading missed leads from ``GET /{form_id}/leads``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_meta()
        cls.app.write({"backfill_overlap": 60, "backfill_first_days": 1})
        # Small Graph pages so a handful of leads exercises paging.next.
        patcher = patch.object(crm_meta_form, "BACKFILL_PAGE_SIZE", 3)
        patcher.start()
        cls.addClassCleanup(patcher.stop)

    def setUp(self):
        super().setUp()
        self.fake.clear()
        self.fake.leads.clear()

    def add_leads(self, count, first_id=600000, start=NOW - timedelta(hours=5)):
        for index in range(count):
            created = (start + timedelta(minutes=10 * index)).replace(tzinfo=UTC)
            self.add_graph_lead(str(first_id + index), created_time=created)

    def filters(self, request):
        return {f["operator"]: f["value"] for f in json.loads(request["params"]["filtering"])}

    def test_paging_followed(self):
        """All pages of the form's leads are read until Graph sends no paging.next; each lead is queued once."""
        self.add_leads(8)
        self.form._backfill_forms()
        requests = self.fake.requests_to(f"/{FORM_ID}/leads")
        self.assertEqual(len(requests), 3, "8 leads in pages of 3")
        self.assertEqual(requests[0]["params"]["limit"], "3")
        events = self.Event.search([("source", "=", "backfill")])
        self.assertEqual(len(events), 8)
        self.assertTrue(all(event.graph_payload for event in events))
        self.assertEqual(self.form.last_sync_at, NOW)

    def test_first_run_and_overlap(self):
        """The first run reads the app's first days; the next starts at the sync point minus the overlap."""
        self.form._backfill_forms()
        first = self.filters(self.fake.requests_to("/leads")[0])
        expected_start = NOW - timedelta(days=1, minutes=60)
        self.assertEqual(first["GREATER_THAN"], int(expected_start.replace(tzinfo=UTC).timestamp()))
        self.assertEqual(first["LESS_THAN"], int(NOW.replace(tzinfo=UTC).timestamp()))

        self.fake.clear()
        with freeze_time(NOW + timedelta(hours=1)):
            self.form._backfill_forms()
        second = self.filters(self.fake.requests_to("/leads")[0])
        self.assertEqual(second["GREATER_THAN"], int((NOW - timedelta(minutes=60)).replace(tzinfo=UTC).timestamp()))

    def test_known_leads_skipped(self):
        """Leads the webhook already stored, or an earlier run queued, are not stored again."""
        self.add_leads(4)
        self.store_events("600001")
        self.assertEqual(self.form._backfill_forms(), 3)
        self.assertEqual(self.form._backfill_forms(), 0)
        self.assertEqual(self.Event.search_count([("leadgen_id", "like", "60000")]), 4)
        self.assertEqual(self.Event.search([("leadgen_id", "=", "600001")]).source, "webhook")

    @mute_logger(FORM_LOGGER)
    def test_failure_keeps_sync_point(self):
        """A Graph error on the first or a later page leaves the sync point where it was."""
        self.form.last_sync_at = NOW - timedelta(hours=6)
        self.add_leads(8)
        self.fake.add_failure(code=2, path="/leads")
        with self.assertRaises(crm_meta_form.MetaGraphError):
            self.form._backfill_forms()
        self.assertEqual(self.form.last_sync_at, NOW - timedelta(hours=6))

        # The failure on the second page: the first page is kept, the sync point still does not move.
        self.fake.add_failure(code=1, path="/leads", skip=1)
        with self.assertRaises(crm_meta_form.MetaGraphError):
            self.form._backfill_forms()
        self.assertEqual(self.form.last_sync_at, NOW - timedelta(hours=6))

        self.form._backfill_forms()
        self.assertEqual(self.form.last_sync_at, NOW)
        self.assertEqual(self.Event.search_count([("source", "=", "backfill")]), 8)

    @mute_logger(FORM_LOGGER)
    def test_cron_runs_every_form(self):
        """The scheduled job backfills each active form and continues after a failing one."""
        other = self.env["crm.meta.form"].create({"name": "Other", "meta_form_id": "2002", "page_id": self.page.id})
        self.fake.add_form("2002", "1001")
        self.fake.add_failure(code=2, path="/2002/leads")
        self.add_leads(2)
        with self.enter_registry_test_mode():
            self.env.ref("ai_calling_crm_meta.ir_cron_meta_backfill").method_direct_trigger()
        self.env.invalidate_all()
        self.assertEqual(self.form.last_sync_at, NOW)
        self.assertFalse(other.last_sync_at)
        self.assertIn("code 2", other.last_sync_error)
        self.assertEqual(self.Event.search_count([("source", "=", "backfill")]), 2)

    @mute_logger(FORM_LOGGER, "odoo.addons.ai_calling_crm_meta.models.crm_meta_page")
    def test_expired_token_stops_backfill(self):
        """Code 190 during a backfill marks the page broken; its forms are skipped until the token is replaced."""
        self.fake.add_failure(code=190, path="/leads")
        with self.enter_registry_test_mode():
            self.env.ref("ai_calling_crm_meta.ir_cron_meta_backfill").method_direct_trigger()
        self.env.invalidate_all()
        self.assertEqual(self.page.token_state, "broken")
        self.assertFalse(self.form.last_sync_at)
        self.assertNotIn(self.form, self.env["crm.meta.form"].search(self.form._get_backfill_domain()))

    def test_wizard_imports_range(self):
        """The wizard imports the chosen range without moving the sync point."""
        self.add_leads(5)
        wizard = self.env["crm.meta.backfill.wizard"].create(
            {"form_ids": [self.form.id], "date_from": NOW - timedelta(hours=4, minutes=55), "date_to": NOW}
        )
        wizard.action_import()
        self.assertEqual(self.Event.search_count([("source", "=", "backfill")]), 4)
        self.assertFalse(self.form.last_sync_at)

    def test_wizard_retention_window(self):
        """The wizard refuses ranges older than Meta's 90 days and empty ranges."""
        Wizard = self.env["crm.meta.backfill.wizard"]
        with self.assertRaises(ValidationError):
            Wizard.create({"form_ids": [self.form.id], "date_from": NOW - timedelta(days=91), "date_to": NOW})
        with self.assertRaises(ValidationError):
            Wizard.create({"form_ids": [self.form.id], "date_from": NOW, "date_to": NOW - timedelta(hours=1)})
