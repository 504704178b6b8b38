import logging
import threading

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.orm.environments import Transaction
from odoo.tests.common import BaseCase, get_db_name, tagged
from odoo.tools import mute_logger

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install", "ai_calling_crm", "ai_calling_crm_assignment")
class TestAssignmentConcurrency(BaseCase):
    """Round robin across two real database transactions that run at the same time.

    The fixtures are committed with their own cursor (the two threads cannot see uncommitted test data) and
    removed again when the class is done.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.addClassCleanup(cls._remove_fixtures)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            users = env["res.users"].create(
                [
                    {
                        "name": f"Parallel Counsellor {index}",
                        "login": f"aicc_parallel_{index}",
                        "notification_type": "inbox",
                        "group_ids": [(6, 0, env.ref("sales_team.group_sale_salesman").ids)],
                    }
                    for index in (1, 2)
                ]
            )
            team = env["crm.team"].create(
                {
                    "name": "Parallel Team",
                    "use_leads": True,
                    "calling_assignment": True,
                    "crm_team_member_ids": [(0, 0, {"user_id": user.id}) for user in users],
                }
            )
            cls.user_ids = users.ids
            cls.team_id = team.id

    @classmethod
    def _remove_fixtures(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["crm.lead"].with_context(active_test=False).search([("team_id", "=", cls.team_id)]).unlink()
            env["crm.team"].browse(cls.team_id).unlink()
            # Users keep references (partners, messages), so archive them and free their logins for a rerun.
            for user in env["res.users"].browse(cls.user_ids):
                user.write({"active": False, "login": f"{user.login}_removed_{user.id}"})

    def _thread_environment(self, cr):
        """Return a superuser environment on ``cr`` for a worker thread.

        The server holds ``Registry._lock`` while it runs tests, and ``api.Environment`` looks the registry up under
        that lock when the cursor has no transaction yet, so the transaction is attached here directly.
        """
        cr.transaction = Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def _create_lead(self, env, name):
        return env["crm.lead"].create({"name": name, "type": "lead", "team_id": self.team_id, "user_id": False})

    @mute_logger("odoo.sql_db")
    def test_parallel_round_robin(self):
        """Two transactions that create leads at the same time give them to different counsellors.

        The first transaction assigns its lead and keeps the team's row lock open. The second one starts, blocks
        on the lock, and after the first commits gets a serialization failure; it is retried as Odoo's RPC and
        HTTP layers retry requests (``odoo.service.model.retrying``, which cannot run here because it looks up the
        registry under the lock the test server holds), and the retry sees the first pick and takes the next
        counsellor. Without the lock both would read the same round-robin pointer and pick the same counsellor.
        """
        first_assigned = threading.Event()
        release_first = threading.Event()
        picked = {}
        errors = []
        retries = []

        def run_first():
            try:
                with self.registry.cursor() as cr:
                    env = self._thread_environment(cr)
                    picked["first"] = self._create_lead(env, "Parallel A").user_id.id
                    first_assigned.set()
                    release_first.wait(timeout=10)
            except Exception as error:  # reported to the main thread below
                errors.append(error)
                first_assigned.set()

        def run_second():
            try:
                first_assigned.wait(timeout=10)
                with self.registry.cursor() as cr:
                    # Let the first transaction commit while this one waits for the team's lock.
                    threading.Timer(1.0, release_first.set).start()
                    for _attempt in range(5):
                        env = self._thread_environment(cr)
                        try:
                            picked["second"] = self._create_lead(env, "Parallel B").user_id.id
                            break
                        except SerializationFailure:
                            # What Odoo's ``odoo.service.model.retrying`` does for RPC and HTTP requests.
                            cr.rollback()
                            retries.append(_attempt)
            except Exception as error:  # reported to the main thread below
                errors.append(error)
                release_first.set()

        threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.assertFalse(errors)
        self.assertEqual(set(picked), {"first", "second"})
        self.assertEqual({picked["first"], picked["second"]}, set(self.user_ids))
        # Timing decides whether the second transaction's snapshot predates the first commit; usually it does.
        _logger.info("Parallel round robin: second transaction retried %s times", len(retries))
