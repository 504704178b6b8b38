"""Fixtures of the end-to-end suite: a real multi-worker Odoo server, a fake Graph API and a PostgreSQL proxy.

One Odoo server serves the whole session. It runs as its own process (``--workers=2 --max-cron-threads=1``) on a free
127.0.0.1 port against a fresh database, and reaches PostgreSQL through :class:`PgProxy` so the fault tests can cut the
database off without touching the shared PostgreSQL server. The fake Graph API runs in this process, so tests queue
failures and read the requests it received directly.

Environment variables:

- ``AICC_E2E_DB``: database name (default ``aicc_e2e_<pid>``; it is dropped and created again);
- ``AICC_E2E_SKIP_HEAVY=1``: skip the tests marked ``heavy`` (load and server-kill tests);
- ``AICC_E2E_KEEP_DB=1``: keep the database after the run for inspection.
"""

import importlib.util
import itertools
import os
import time
from dataclasses import dataclass, field

import psycopg2
import pytest

from tests.lib import meta_webhook, sample_leads
from tests.lib.e2e_server import OdooServer, default_log_dir, wait_until
from tests.lib.odoo_env import ADDONS, REPO_ROOT, create_database, drop_database
from tests.lib.odoo_rpc import OdooClient
from tests.lib.offline import keep_offline
from tests.lib.pg_proxy import PgProxy

# One database per run, so two runs on one PostgreSQL server (a developer's and CI's) do not drop each other's.
DB_NAME = os.environ.get("AICC_E2E_DB") or f"aicc_e2e_{os.getpid()}"
APP_SECRET = "e2e-app-secret-4c1f"
VERIFY_TOKEN = "e2e-verify-token"
PAGE_TOKEN = "e2e-page-token-1"
META_APP_ID = "5001"
META_PAGE_ID = "104000000000001"
META_FORM_ID = "205000000000001"
COUNSELLOR_PASSWORD = "e2e-Counsellor-pw-1"


def load_fake_graph():
    """Import the Meta connector's fake Graph server from its file, without importing the addon (and Odoo) itself."""
    path = REPO_ROOT / "ai_calling_crm_meta" / "tests" / "fake_graph.py"
    spec = importlib.util.spec_from_file_location("aicc_fake_graph", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: long-running load or fault test (skipped with AICC_E2E_SKIP_HEAVY=1)")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("AICC_E2E_SKIP_HEAVY", "") in ("", "0"):
        return
    skip = pytest.mark.skip(reason="AICC_E2E_SKIP_HEAVY is set")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)


# ----------------------------------------------------------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------------------------------------------------------


def installable_modules():
    return [name for name in ADDONS if (REPO_ROOT / name / "__manifest__.py").exists()]


@pytest.fixture(scope="session")
def e2e_db():
    """Create the suite's database with every addon that has a manifest, and drop it at the end."""
    modules = installable_modules()
    if "ai_calling_crm" not in modules:
        pytest.skip("ai_calling_crm has no manifest: nothing to test end to end")
    create_database(DB_NAME, modules=modules)
    keep_offline(DB_NAME)
    yield DB_NAME
    if os.environ.get("AICC_E2E_KEEP_DB", "") in ("", "0"):
        drop_database(DB_NAME)


@pytest.fixture(scope="session")
def pg_proxy():
    proxy = PgProxy(
        upstream_host=os.environ.get("PGHOST", "127.0.0.1"), upstream_port=int(os.environ.get("PGPORT", "5432"))
    ).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def odoo(e2e_db, pg_proxy):
    """The Odoo server under test, started once per session and stopped (with all its workers) at the end."""
    log_path = default_log_dir() / "e2e-odoo.log"
    log_path.unlink(missing_ok=True)
    server = OdooServer(e2e_db, log_path, db_port=pg_proxy.port, extra_args=["--limit-time-real=300"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_graph():
    fake = load_fake_graph().FakeGraphServer(app_id=META_APP_ID, app_secret=APP_SECRET).start()
    fake.add_page(META_PAGE_ID, name="Sunrise Institute")
    fake.add_form(META_FORM_ID, META_PAGE_ID, name="Admissions 2027", questions=sample_leads.FORM_QUESTIONS)
    yield fake
    fake.stop()


@pytest.fixture
def db(e2e_db):
    """A direct (autocommit) PostgreSQL connection to the suite's database, bypassing the proxy, for checks."""
    connection = psycopg2.connect(
        dbname=e2e_db,
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "root"),
        password=os.environ.get("PGPASSWORD") or None,
    )
    connection.autocommit = True
    yield connection
    connection.close()


def query(connection, sql, params=()):
    with connection.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall()


# ----------------------------------------------------------------------------------------------------------------------
# Users and configuration, created over RPC as the administrator would in the web client
# ----------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def admin(odoo):
    client = OdooClient(odoo.url, odoo.db_name, "admin", "admin")
    # The onboarding tours of Odoo's own apps would cover the screens of the browser tests.
    client.call("res.users", "write", [client.uid], {"tour_enabled": False})
    return client


def xmlid_to_id(client, xmlid):
    module, name = xmlid.split(".")
    rows = client.search_read("ir.model.data", [("module", "=", module), ("name", "=", name)], ["res_id"])
    assert rows, f"{xmlid} not found"
    return rows[0]["res_id"]


@dataclass
class Team:
    team_id: int
    counsellor_ids: list
    logins: list
    interest_ids: dict = field(default_factory=dict)


@pytest.fixture(scope="session")
def team(admin):
    """An admissions team with two counsellors (salespeople who see their own leads) and the course list."""
    salesman = xmlid_to_id(admin, "sales_team.group_sale_salesman")
    internal = xmlid_to_id(admin, "base.group_user")
    india = xmlid_to_id(admin, "base.in")
    logins = ["e2e.counsellor.asha", "e2e.counsellor.vikram"]
    user_ids = []
    for login, name in zip(logins, ["Asha Menon", "Vikram Singh"], strict=True):
        user_ids.append(
            admin.call(
                "res.users",
                "create",
                {
                    "name": name,
                    "login": login,
                    "password": COUNSELLOR_PASSWORD,
                    "email": f"{login}@example.com",
                    "tz": "Asia/Kolkata",
                    "group_ids": [(6, 0, [internal, salesman])],
                },
            )
        )
    admin.call("res.company", "write", [1], {"country_id": india})
    team_values = {"name": "E2E Admissions", "use_leads": True, "member_ids": [(6, 0, user_ids)]}
    if "calling_assignment" in admin.call("crm.team", "fields_get", [], attributes=["type"]):
        team_values.update(calling_assignment=True, assignment_strategy="round_robin")
    team_id = admin.call("crm.team", "create", team_values)
    interests = {}
    for name, code in sample_leads.INTERESTS:
        interests[code] = admin.call("crm.lead.interest", "create", {"name": name, "code": code})
    return Team(team_id=team_id, counsellor_ids=user_ids, logins=logins, interest_ids=interests)


def module_installed(odoo_client, module):
    rows = odoo_client.search_read("ir.module.module", [("name", "=", module)], ["state"])
    return bool(rows) and rows[0]["state"] == "installed"


def require_module(odoo_client, module):
    if not module_installed(odoo_client, module):
        pytest.skip(f"{module} is not installed in the end-to-end database (no manifest yet, or not installable)")


class MetaSetup:
    """The Meta app, page and form configured in Odoo, and helpers to submit leads through the webhook."""

    _leadgen_ids = itertools.count(int(time.time()) * 1000)

    def __init__(self, odoo, admin, fake_graph, app_id, page_id, form_id):
        self.odoo = odoo
        self.admin = admin
        self.fake = fake_graph
        self.app_id = app_id
        self.page_id = page_id
        self.form_id = form_id

    def new_leadgen_ids(self, count):
        return [str(next(self._leadgen_ids)) for _ in range(count)]

    def publish(self, answers, platform="fb", leadgen_id=None, **extra):
        """Make a submission available from the fake Graph API and return its leadgen id."""
        leadgen_id = leadgen_id or self.new_leadgen_ids(1)[0]
        lead = sample_leads.graph_lead(leadgen_id, META_FORM_ID, answers, platform=platform)
        lead.update(extra)
        self.fake.add_lead(lead)
        return leadgen_id

    def publish_bulk(self, count):
        ids = self.new_leadgen_ids(count)
        for leadgen_id in ids:
            self.fake.add_lead(
                sample_leads.graph_lead(leadgen_id, META_FORM_ID, sample_leads.bulk_answers(int(leadgen_id) % 10**9))
            )
        return ids

    def body(self, leadgen_ids):
        changes = [meta_webhook.leadgen_change(leadgen_id, META_PAGE_ID, META_FORM_ID) for leadgen_id in leadgen_ids]
        return meta_webhook.encode(meta_webhook.delivery(META_PAGE_ID, changes))

    def deliver(self, leadgen_ids, session=None, timeout=30):
        """Send one signed delivery notifying ``leadgen_ids`` and return the response."""
        return meta_webhook.post_delivery(
            self.odoo.url, self.body(leadgen_ids), APP_SECRET, session=session, timeout=timeout
        )

    def events(self, connection, leadgen_ids):
        """Return ``{leadgen_id: (state, lead_id, attempt_count)}`` for the stored events of ``leadgen_ids``."""
        rows = query(
            connection,
            "SELECT leadgen_id, state, lead_id, attempt_count FROM crm_meta_lead_event WHERE leadgen_id = ANY(%s)",
            (list(leadgen_ids),),
        )
        return {row[0]: row[1:] for row in rows}

    def lead_counts(self, connection, leadgen_ids):
        """Return ``{leadgen_id: number of leads}`` (active or not) for ``leadgen_ids`` that have at least one lead."""
        rows = query(
            connection,
            "SELECT meta_leadgen_id, count(*) FROM crm_lead WHERE meta_leadgen_id = ANY(%s) GROUP BY meta_leadgen_id",
            (list(leadgen_ids),),
        )
        return dict(rows)

    def wait_processed(self, connection, leadgen_ids, timeout=120):
        """Wait until every event of ``leadgen_ids`` is done, and return the lead counts per leadgen id."""

        def all_done():
            events = self.events(connection, leadgen_ids)
            return len(events) == len(set(leadgen_ids)) and all(event[0] == "done" for event in events.values())

        try:
            wait_until(all_done, timeout, message=f"{len(leadgen_ids)} Meta events to be processed")
        except TimeoutError:
            events = self.events(connection, leadgen_ids)
            states = {}
            for state, *_rest in events.values():
                states[state] = states.get(state, 0) + 1
            missing = len(set(leadgen_ids)) - len(events)
            raise AssertionError(
                f"Events not processed in {timeout} s: states {states}, {missing} never stored"
            ) from None
        return self.lead_counts(connection, leadgen_ids)


@pytest.fixture(scope="session")
def meta(odoo, admin, fake_graph, team):
    """A Meta app pointed at the fake Graph API, its page with a valid token and the mapped admissions form."""
    require_module(admin, "ai_calling_crm_meta")
    app_id = admin.call(
        "crm.meta.app",
        "create",
        {
            "name": "Sunrise Institute leads",
            "meta_app_id": META_APP_ID,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "graph_base_url": fake_graph.url,
            # Short waits so retries happen within a test; production defaults are minutes.
            "request_timeout": 2,
            "retry_delay": 1,
            "max_attempts": 8,
            "follow_up_minutes": 5,
        },
    )
    page_id = admin.call(
        "crm.meta.page",
        "create",
        {
            "name": "Sunrise Institute",
            "meta_page_id": META_PAGE_ID,
            "app_id": app_id,
            "access_token": PAGE_TOKEN,
            "team_id": team.team_id,
        },
    )
    form_id = admin.call(
        "crm.meta.form",
        "create",
        {
            "name": "Admissions 2027",
            "meta_form_id": META_FORM_ID,
            "page_id": page_id,
            "team_id": team.team_id,
            "field_ids": [
                (0, 0, {"question_key": key, "target": target, "sequence": index})
                for index, (key, target) in enumerate(sample_leads.FORM_MAPPING.items())
            ],
        },
    )
    if module_installed(admin, "ai_calling_crm_privacy"):
        # The sample leads tick a lead ad disclaimer checkbox with this key; the privacy addon turns it into consent.
        purpose_domain = [("meta_checkbox_key", "=", sample_leads.CONSENT_CHECKBOX_KEY)]
        if not admin.search_read("crm.privacy.purpose", purpose_domain, ["id"]):
            admin.call(
                "crm.privacy.purpose",
                "create",
                {
                    "name": "Respond to my admission inquiry",
                    "code": "e2e_inquiry",
                    "meta_checkbox_key": sample_leads.CONSENT_CHECKBOX_KEY,
                },
            )
    return MetaSetup(odoo, admin, fake_graph, app_id, page_id, form_id)
