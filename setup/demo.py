#!/usr/bin/env python3
"""Run the product with demo data and replay a few Meta lead ad submissions into it.

Steps: create the demo database with the three addons and their demo data (unless it exists), start the fake Graph
API server shipped in ``ai_calling_crm_meta/tests/fake_graph.py`` and an Odoo server on 127.0.0.1, point the demo
Meta app at the fake server, send signed webhook deliveries for six realistic leads and print what became of them.
The servers keep running until Ctrl+C (or stop at once with ``--no-wait``).

Settings (environment variables): ``AICC_DEMO_DB_NAME`` (default ``ai_calling_crm_demo``), ``AICC_HTTP_PORT``
(default 8069), and the PostgreSQL settings of ``setup/aicc.py`` (``AICC_DB_HOST``, ``AICC_DB_PORT``, ...).
"""

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "setup"))

import aicc  # noqa: E402 - setup/aicc.py, importable once setup/ is on the path

DEMO_APP_XMLID = "ai_calling_crm_meta.demo_crm_meta_app"
DEMO_PAGE_XMLID = "ai_calling_crm_meta.demo_crm_meta_page"
DEMO_FORM_XMLID = "ai_calling_crm_meta.demo_crm_meta_form"
DEMO_TEAM_XMLID = "ai_calling_crm.demo_team_admissions"
# Seconds between the first submissions and the repeat, so the repeat is clearly a later submission.
REPEAT_DELAY = 3


def load_fake_graph():
    path = REPO_ROOT / "ai_calling_crm_meta" / "tests" / "fake_graph.py"
    spec = importlib.util.spec_from_file_location("aicc_fake_graph", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_id(client, xmlid):
    module, name = xmlid.split(".")
    rows = client.search_read("ir.model.data", [("module", "=", module), ("name", "=", name)], ["res_id"])
    if not rows:
        raise aicc.SetupError(f"Demo record {xmlid} is missing: drop the database '{client.db_name}' and run again.")
    return rows[0]["res_id"]


def configure_meta(client, fake_url, sample_leads):
    """Point the demo Meta app at the fake Graph server and map the demo form's questions; return the app secret."""
    app_id = record_id(client, DEMO_APP_XMLID)
    page_id = record_id(client, DEMO_PAGE_XMLID)
    form_id = record_id(client, DEMO_FORM_XMLID)
    client.call("crm.meta.app", "write", [app_id], {"graph_base_url": fake_url, "retry_delay": 5})
    client.call("crm.meta.page", "write", [page_id], {"team_id": record_id(client, DEMO_TEAM_XMLID)})
    mapped = {
        row["question_key"]
        for row in client.search_read("crm.meta.form.field", [("form_id", "=", form_id)], ["question_key"])
    }
    lines = [
        (0, 0, {"question_key": key, "target": target, "sequence": 10 + index})
        for index, (key, target) in enumerate(sample_leads.FORM_MAPPING.items())
        if key not in mapped
    ]
    if lines:
        client.call("crm.meta.form", "write", [form_id], {"field_ids": lines})
    for name, code in sample_leads.INTERESTS:
        if not client.search_read("crm.lead.interest", [("code", "=ilike", code)], ["id"]):
            client.call("crm.lead.interest", "create", {"name": name, "code": code})
    meta = client.search_read("crm.meta.app", [("id", "=", app_id)], ["app_secret"])[0]
    page = client.search_read("crm.meta.page", [("id", "=", page_id)], ["meta_page_id"])[0]
    form = client.search_read("crm.meta.form", [("id", "=", form_id)], ["meta_form_id"])[0]
    return meta["app_secret"], page["meta_page_id"], form["meta_form_id"]


def replay_leads(server_url, fake, app_secret, page_id, form_id, meta_webhook, sample_leads):
    """Publish the demo leads on the fake Graph server and send one signed delivery per lead; return the ids."""
    run_id = str(int(time.time()))
    leadgen_ids = []
    for position, (suffix, platform, answers, _e164) in enumerate(sample_leads.DEMO_LEADS):
        if position == len(sample_leads.DEMO_LEADS) - 1:
            time.sleep(REPEAT_DELAY)  # the repeat submission comes a little later
        leadgen_id = f"{run_id}{suffix}"
        fake.add_lead(sample_leads.graph_lead(leadgen_id, form_id, answers, platform=platform))
        body = meta_webhook.encode(
            meta_webhook.delivery(page_id, [meta_webhook.leadgen_change(leadgen_id, page_id, form_id)])
        )
        response = meta_webhook.post_delivery(server_url, body, app_secret, timeout=30)
        print(f"  delivery for {answers['full_name']!r} ({platform}): HTTP {response.status_code}", flush=True)
        leadgen_ids.append(leadgen_id)
    return leadgen_ids


def print_leads(client, leadgen_ids, timeout=60):
    """Wait until every replayed submission is a lead and print one line per lead."""
    fields = [
        "meta_leadgen_id",
        "contact_name",
        "phone",
        "user_id",
        "next_follow_up_at",
        "duplicate_of_id",
        "source_id",
    ]
    deadline = time.monotonic() + timeout
    leads = []
    while time.monotonic() < deadline:
        leads = client.search_read("crm.lead", [("meta_leadgen_id", "in", leadgen_ids)], fields)
        if len(leads) == len(leadgen_ids):
            break
        time.sleep(1)
    print(f"\n{len(leads)} of {len(leadgen_ids)} submissions are leads:", flush=True)
    for lead in sorted(leads, key=lambda lead: lead["meta_leadgen_id"]):
        duplicate = f", duplicate of lead {lead['duplicate_of_id'][0]}" if lead["duplicate_of_id"] else ""
        print(
            f"  {lead['contact_name']:<16} {lead['phone'] or '':<14} {(lead['source_id'] or [0, ''])[1]:<10}"
            f" counsellor: {(lead['user_id'] or [0, 'none'])[1]:<18} first call due: {lead['next_follow_up_at']} UTC"
            f"{duplicate}"
        )
    counsellors = {lead["user_id"][0] for lead in leads if lead["user_id"]}
    if len(leads) > 1 and len(counsellors) == 1:
        print(
            "  All went to one salesperson: outside the demo counsellors' shift (Monday to Saturday, 09:30-18:30"
            " India time) the Admissions team gives new leads to its fallback, the team leader."
        )
    return len(leads) == len(leadgen_ids)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="Drop and create the demo database again.")
    parser.add_argument("--no-wait", action="store_true", help="Stop the servers once the leads are shown.")
    options = parser.parse_args(argv)

    settings = aicc.Settings()
    try:
        version = aicc.check_odoo()
        aicc.check_postgresql(settings)
    except aicc.SetupError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    os.environ.update(PGHOST=settings.db_host, PGPORT=settings.db_port, PGUSER=settings.db_user)
    if settings.db_password:
        os.environ["PGPASSWORD"] = settings.db_password

    from tests.lib import meta_webhook, sample_leads  # noqa: PLC0415 - needs the PG* variables set above
    from tests.lib.e2e_server import OdooServer  # noqa: PLC0415
    from tests.lib.odoo_env import create_database  # noqa: PLC0415
    from tests.lib.odoo_rpc import OdooClient  # noqa: PLC0415
    from tests.lib.offline import keep_offline  # noqa: PLC0415

    db_name = os.environ.get("AICC_DEMO_DB_NAME", "ai_calling_crm_demo")
    port = int(os.environ.get("AICC_HTTP_PORT", "8069"))
    print(f"Odoo {version}, demo database '{db_name}' on {settings.db_host}:{settings.db_port}", flush=True)
    if options.reset or not aicc.database_exists(settings, db_name):
        print("Creating the demo database with the three addons and demo data (about a minute)", flush=True)
        create_database(db_name, modules=aicc.ADDONS, demo=True)
    keep_offline(db_name)

    fake = load_fake_graph().FakeGraphServer(app_id="5001").start()
    log_path = settings.log_dir / "demo-odoo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)  # Odoo appends to its log file; keep only this run's lines
    # One process with threads (no --workers) so that the web client's websocket works without a reverse proxy.
    server = OdooServer(db_name, log_path, http_port=port, workers=0, max_cron_threads=1)
    try:
        print(f"Fake Graph API on {fake.url}; starting Odoo on http://127.0.0.1:{port} (log: {log_path})", flush=True)
        server.start()
        client = OdooClient(server.url, db_name, "admin", "admin")
        app_secret, page_id, form_id = configure_meta(client, fake.url, sample_leads)
        fake.add_form(form_id, page_id, name="Admissions form", questions=sample_leads.FORM_QUESTIONS)
        print("\nReplaying signed webhook deliveries:", flush=True)
        leadgen_ids = replay_leads(server.url, fake, app_secret, page_id, form_id, meta_webhook, sample_leads)
        complete = print_leads(client, leadgen_ids)
        print(
            f"\nOpen http://127.0.0.1:{port}/odoo/crm and log in as admin / admin (counsellors: aicc_counsellor1, "
            "aicc_counsellor2, aicc_counsellor3, password as their login).",
            flush=True,
        )
        if options.no_wait:
            return 0 if complete else 1
        print("Ctrl+C stops Odoo and the fake Graph server.", flush=True)
        while server.process.poll() is None:
            time.sleep(1)
        print(f"Odoo stopped on its own; see {log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
