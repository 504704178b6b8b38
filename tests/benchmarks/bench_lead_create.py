"""Benchmark creating leads one by one: ai_calling_crm's full pipeline against plain Odoo CRM.

Run from the repository root, e.g. ``python3 -m tests.benchmarks.bench_lead_create --leads 2000``. The script
creates two databases with the same data:

- ``aicc_bench_create`` with ``ai_calling_crm``: one sales team with calling assignment rules (round robin over
  ``--members`` counsellors), so each new lead goes through phone and email normalisation, the duplicate check,
  rule assignment with the team lock, the assignee's notification and the history line. Then the script plans
  the first call as a "Call" follow-up 15 minutes later, as the Meta connector does for each new lead;
- ``aicc_bench_create_base`` with ``crm`` only, where ``crm.lead.create`` is Odoo's plain creation.

Both hold ``--existing`` open leads first. Then ``--leads`` leads are created one ``create()`` call each, as a
connector does, by the superuser and without salesperson; one lead in ten reuses the phone number of an existing
lead, so the full pipeline finds that many duplicates. The script prints the seconds and queries per lead of each
and the ratios.
"""

import argparse
import datetime
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.lib import odoo_env  # noqa: E402

FULL_DB = "aicc_bench_create"
BASE_DB = "aicc_bench_create_base"
# One new lead in DUPLICATE_EVERY reuses an existing lead's phone number.
DUPLICATE_EVERY = 10
# Delay of the first-call follow-up planned for each new lead in the full pipeline.
FIRST_CALL_DELAY = datetime.timedelta(minutes=15)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=FULL_DB, help="database with ai_calling_crm, created afresh")
    parser.add_argument("--base-db", default=BASE_DB, help="database with crm only, created afresh")
    parser.add_argument("--leads", type=int, default=2000, help="number of leads created one by one")
    parser.add_argument("--existing", type=int, default=500, help="open leads present before the run")
    parser.add_argument("--members", type=int, default=5, help="number of counsellors in the calling team")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    return parser.parse_args(argv)


def query_count():
    import odoo.sql_db  # noqa: PLC0415 - odoo is imported once odoo_env has configured it

    return odoo.sql_db.sql_counter


def lead_vals(number, existing):
    """Return the values of new lead ``number``; every DUPLICATE_EVERY-th one reuses an existing lead's phone."""
    if existing and number % DUPLICATE_EVERY == 0:
        phone = existing_phone(number % existing)
    else:
        phone = f"+91 99{number:08d}"
    return {
        "name": f"Lead ad enquiry {number}",
        "type": "lead",
        "contact_name": f"Applicant {number}",
        "email_from": f"applicant.{number}@example.com",
        "phone": phone,
        "country_id": "base.in",
    }


def existing_phone(number):
    return f"+91 98{number:08d}"


def prepare(db, modules, options):
    """Create ``db`` with ``modules``, the existing leads and, when ai_calling_crm is there, the calling team."""
    odoo_env.create_database(db, modules=modules)
    with odoo_env.environment(db) as env:
        user_ids = []
        if "ai_calling_crm" in modules:
            users = env["res.users"].create(
                [
                    {
                        "name": f"Bench Counsellor {index}",
                        "login": f"bench_counsellor_{index}",
                        "notification_type": "inbox",
                        "group_ids": [(6, 0, env.ref("sales_team.group_sale_salesman").ids)],
                    }
                    for index in range(options.members)
                ]
            )
            env["crm.team"].create(
                {
                    "name": "Bench Admissions",
                    "sequence": 0,
                    "use_leads": True,
                    "calling_assignment": True,
                    "crm_team_member_ids": [(0, 0, {"user_id": user.id}) for user in users],
                }
            )
            user_ids = users.ids
        country_id = env.ref("base.in").id
        env["crm.lead"].create(
            [
                {
                    "name": f"Existing lead {number}",
                    "type": "lead",
                    "phone": existing_phone(number),
                    "country_id": country_id,
                    "user_id": user_ids[number % len(user_ids)] if user_ids else env.ref("base.user_admin").id,
                }
                for number in range(options.existing)
            ]
        )


def measure(db, options):
    """Create the leads one by one in one transaction (rolled back) and return time, queries and outcomes."""
    with odoo_env.environment(db, commit=False) as env:
        country_id = env.ref("base.in").id
        Lead = env["crm.lead"]
        has_duplicates = "duplicate_of_id" in Lead._fields
        plans_follow_up = hasattr(Lead, "_schedule_call_follow_up")
        queries = query_count()
        start = time.perf_counter()
        leads = Lead
        for number in range(options.leads):
            vals = {**lead_vals(number, options.existing), "country_id": country_id}
            lead = Lead.create(vals)
            if plans_follow_up and lead.user_id:
                lead._schedule_call_follow_up(env.cr.now() + FIRST_CALL_DELAY)
            env.flush_all()
            leads |= lead
        seconds = time.perf_counter() - start
        queries = query_count() - queries
        result = {
            "seconds": seconds,
            "queries": queries,
            "per_lead_ms": 1000 * seconds / options.leads,
            "queries_per_lead": queries / options.leads,
            "duplicates": len(leads.filtered("duplicate_of_id")) if has_duplicates else 0,
            "assigned": len(leads.filtered(lambda lead: lead.user_id and not lead.user_id._is_superuser())),
            "follow_ups": env["mail.activity"].search_count(
                [("res_model", "=", "crm.lead"), ("res_id", "in", leads.ids)]
            ),
        }
    return result


def run_benchmark(options):
    prepare(options.db, ("ai_calling_crm",), options)
    prepare(options.base_db, ("crm",), options)
    try:
        full = measure(options.db, options)
        base = measure(options.base_db, options)
    finally:
        if options.drop:
            odoo_env.drop_database(options.db)
            odoo_env.drop_database(options.base_db)
    return {"leads": options.leads, "existing": options.existing, "full": full, "base": base}


def format_markdown(result):
    full, base = result["full"], result["base"]
    rows = [
        "| measure | ai_calling_crm pipeline | plain crm | ratio |",
        "|---|---|---|---|",
        f"| ms per lead | {full['per_lead_ms']:.1f} | {base['per_lead_ms']:.1f} "
        f"| {full['per_lead_ms'] / base['per_lead_ms']:.2f} |",
        f"| queries per lead | {full['queries_per_lead']:.1f} | {base['queries_per_lead']:.1f} "
        f"| {full['queries_per_lead'] / base['queries_per_lead']:.2f} |",
        f"| duplicates found | {full['duplicates']} | {base['duplicates']} | |",
        f"| leads with a salesperson | {full['assigned']} | {base['assigned']} | |",
        f"| follow-ups planned | {full['follow_ups']} | {base['follow_ups']} | |",
    ]
    return "\n".join(rows)


def main(argv=None):
    options = parse_args(argv)
    result = run_benchmark(options)
    print(f"{result['leads']} leads created one by one, {result['existing']} open leads before")
    print(format_markdown(result))


if __name__ == "__main__":
    main()
