import json
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import PAGE_TOKEN, MetaTestMixin

EVENT_LOGGER = "odoo.addons.ai_calling_crm_meta.models.crm_meta_lead_event"
PAGE_LOGGER = "odoo.addons.ai_calling_crm_meta.models.crm_meta_page"
NOW = datetime(2026, 12, 4, 10, 0, 0)


@tagged("post_install", "-at_install", "ai_calling_crm_meta", "ai_calling_crm_meta_errors")
@freeze_time(NOW)
class TestGraphErrors(MetaTestMixin, TransactionCase):
    """Each kind of Graph failure and the event state it leaves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_meta()

    def setUp(self):
        super().setUp()
        self.fake.clear()

    def fail_once(self, leadgen_id, **failure):
        self.add_graph_lead(leadgen_id)
        self.fake.add_failure(path=f"/{leadgen_id}", **failure)
        event = self.store_events(leadgen_id)
        event._process()
        return event

    @mute_logger(EVENT_LOGGER)
    def test_transient_codes_retried(self):
        """Codes 1 and 2, bare HTTP 5xx and timeouts leave the event pending with a backoff delay."""
        cases = {
            "700001": {"code": 1},
            "700002": {"code": 2},
            "700003": {"http_status": 502},
            "700004": {"http_status": 503},
            # Odoo's test runner raises request timeouts below 10 s to 10 s, so the fake server responds after 10.5 s.
            "700005": {"code": 2, "delay": 10.5},
        }
        for leadgen_id, failure in cases.items():
            with self.subTest(failure=failure):
                event = self.fail_once(leadgen_id, **failure)
                self.assertEqual(event.state, "pending")
                self.assertEqual(event.attempt_count, 1)
                # First retry after retry_delay (60 s) with a jitter factor between 0.8 and 1.2.
                self.assertGreaterEqual(event.next_attempt_at, NOW + timedelta(seconds=48))
                self.assertLessEqual(event.next_attempt_at, NOW + timedelta(seconds=72))
                self.assertTrue(event.last_error)
                self.assertFalse(event.lead_id)
        self.assertIn("timed out", self.Event.search([("leadgen_id", "=", "700005")]).last_error)

    @mute_logger(EVENT_LOGGER)
    def test_rate_limits_pause_page(self):
        """Rate-limit codes pause the page; the Business Use Case regain time is respected."""
        for code in (4, 17, 32, 613, 80001, 80005):
            with self.subTest(code=code):
                self.page.throttled_until = False
                event = self.fail_once(f"7001{code}", code=code)
                self.assertEqual(event.state, "pending")
                self.assertEqual(event.last_error_code, code)
                self.assertEqual(self.page.throttled_until, NOW + timedelta(seconds=60))
        self.page.throttled_until = False
        usage = {"1001": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 15}]}
        event = self.fail_once("700200", code=80001, headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
        self.assertGreaterEqual(event.next_attempt_at, NOW + timedelta(minutes=15))
        self.assertEqual(self.page.throttled_until, NOW + timedelta(minutes=15))

    @mute_logger(EVENT_LOGGER)
    def test_throttled_page_waits(self):
        """Events of a throttled page are not sent to Graph before the pause ends."""
        self.page.throttled_until = NOW + timedelta(minutes=5)
        self.add_graph_lead("700300")
        event = self.store_events("700300")
        self.assertFalse(self.Event.search(self.Event._get_processable_domain()) & event)
        event._process()
        self.assertEqual(event.state, "pending")
        self.assertFalse(self.fake.requests_to("/700300"))

    @mute_logger(EVENT_LOGGER)
    def test_retries_exhausted(self):
        """After the app's maximum attempts the event fails with the last error."""
        self.add_graph_lead("700400")
        self.fake.add_failure(code=2, path="/700400", count=5)
        event = self.store_events("700400")
        for _attempt in range(3):
            event.next_attempt_at = False
            event._process()
        self.assertEqual(event.state, "failed")
        self.assertEqual(event.attempt_count, 3)
        self.assertIn("Gave up after 3 attempts", event.last_error)

    @mute_logger(EVENT_LOGGER, PAGE_LOGGER)
    def test_expired_token_and_recovery(self):
        """Code 190 marks the page broken and gives the admin a to-do; a new token replays the waiting events."""
        self.fake.valid_tokens = {"renewed-token"}
        self.addCleanup(setattr, self.fake, "valid_tokens", {PAGE_TOKEN})
        self.add_graph_lead("700500")
        self.add_graph_lead("700501")
        events = self.store_events("700500", "700501")
        events._process()
        self.assertEqual(self.page.token_state, "broken")
        self.assertEqual(set(events.mapped("state")), {"pending"})
        self.assertEqual(len(self.fake.requests_to("/7005")), 1, "the second event waits without calling Graph")
        todo = self.page.activity_ids
        self.assertEqual(len(todo), 1)
        self.assertEqual(todo.user_id, self.app.responsible_user_id)

        # Meta keeps notifying while the token is broken: the events are stored and wait.
        more = self.store_events("700502")
        self.assertFalse(self.Event.search(self.Event._get_processable_domain()) & (events | more))
        self.assertEqual(len(self.page.activity_ids), 1, "one to-do per breakage")

        self.add_graph_lead("700502")
        self.page.access_token = "renewed-token"
        self.assertEqual(self.page.token_state, "unknown")
        waiting = self.Event.search(self.Event._get_processable_domain())
        self.assertEqual(waiting & (events | more), events | more)
        waiting._process()
        self.assertEqual(set((events | more).mapped("state")), {"done"})

    @mute_logger(EVENT_LOGGER)
    def test_permission_errors_fail(self):
        """Codes 10 and 200 fail the event with a message naming the permission to grant."""
        for code in (10, 200):
            with self.subTest(code=code):
                event = self.fail_once(f"7006{code}", code=code)
                self.assertEqual(event.state, "failed")
                self.assertEqual(event.last_error_code, code)
                self.assertIn("leads_retrieval", event.last_error)
                self.assertIn("Retry", event.last_error)

    @mute_logger(EVENT_LOGGER)
    def test_not_found_fails(self):
        """Code 100 (lead not found) fails the event with a message saying what to check."""
        event = self.store_events("700700")  # the fake server has no such lead
        event._process()
        self.assertEqual(event.state, "failed")
        self.assertEqual(event.last_error_code, 100)
        self.assertIn("did not find lead 700700", event.last_error)

    @mute_logger(EVENT_LOGGER)
    def test_retry_from_ui(self):
        """A sales manager retries a failed event; it is processed again from zero attempts."""
        event = self.fail_once("700800", code=10)
        self.assertEqual(event.state, "failed")
        manager = self.env["res.users"].create(
            {
                "name": "Sales Manager",
                "login": "meta_sales_manager",
                "group_ids": [Command.link(self.env.ref("sales_team.group_sale_manager").id)],
            }
        )
        event.with_user(manager).action_retry()
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.attempt_count, 0)
        event._process()
        self.assertEqual(event.state, "done")

    @mute_logger(EVENT_LOGGER)
    def test_retry_needs_sales_manager(self):
        """A salesperson cannot retry events."""
        event = self.fail_once("700900", code=10)
        salesman = self.env["res.users"].create(
            {
                "name": "Salesman",
                "login": "meta_salesman",
                "group_ids": [Command.link(self.env.ref("sales_team.group_sale_salesman").id)],
            }
        )
        with self.assertRaises(UserError):
            event.with_user(salesman).action_retry()
