"""Benchmark assigning unassigned leads: ai_calling_crm's calling rules against Odoo's own rule-based assignment.

Run from the repository root, e.g. ``python3 -m tests.benchmarks.bench_assignment --leads 10000``. The script
creates the database ``aicc_bench_assign`` with ``ai_calling_crm``, one sales team with ``--members`` counsellors,
and ``--leads`` unassigned leads without team (each with its own email and phone, so Odoo's merge of duplicates
has nothing to merge). Then, on the same data:

1. the calling rules assign every lead (``crm.lead._assign_calling_backlog``, round robin, as the team's "Assign
   Backlog Now" button does), inside a transaction that is rolled back afterwards;
2. Odoo's rule-based assignment assigns them as its "Assign Leads" button does
   (``crm.team._action_assign_leads(force_quota=True, creation_delta_days=0)``), with each member's monthly
   capacity raised so that the daily quota covers every lead. Odoo commits every 100 leads, as it ships.

It prints the seconds, queries and leads assigned of each, and the ratio of the two times.
"""

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.lib import odoo_env  # noqa: E402

DEFAULT_DB = "aicc_bench_assign"
# Leads are created in batches of this size to keep the ORM cache small.
CREATE_BATCH = 1000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help="database name, created afresh")
    parser.add_argument("--leads", type=int, default=10000, help="number of unassigned leads")
    parser.add_argument("--members", type=int, default=5, help="number of counsellors in the team")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    return parser.parse_args(argv)


def query_count():
    import odoo.sql_db  # noqa: PLC0415 - odoo is imported once odoo_env has configured it

    return odoo.sql_db.sql_counter


def prepare(options):
    """Create the database, the team and its members, and the unassigned leads."""
    odoo_env.create_database(options.db, modules=("ai_calling_crm",))
    with odoo_env.environment(options.db) as env:
        users = env["res.users"].create(
            [
                {
                    "name": f"Bench Counsellor {index}",
                    "login": f"bench_counsellor_{index}",
                    "group_ids": [(6, 0, env.ref("sales_team.group_sale_salesman").ids)],
                }
                for index in range(options.members)
            ]
        )
        team = env["crm.team"].create(
            {
                "name": "Bench Admissions",
                "use_leads": True,
                "calling_assignment": True,
                "assignment_strategy": "round_robin",
                # Odoo's daily quota is the monthly capacity divided by 30: make it cover every lead.
                "crm_team_member_ids": [
                    (0, 0, {"user_id": user.id, "assignment_max": 30 * options.leads}) for user in users
                ],
            }
        )
        team_id = team.id
    skip = {"ai_calling_crm_skip_routing": True, "tracking_disable": True, "mail_create_nolog": True}
    for start in range(0, options.leads, CREATE_BATCH):
        with odoo_env.environment(options.db) as env:
            count = min(CREATE_BATCH, options.leads - start)
            env["crm.lead"].with_context(**skip).create(
                [
                    {
                        "name": f"Bench lead {number}",
                        "type": "lead",
                        "user_id": False,
                        "team_id": False,
                        "contact_name": f"Contact {number}",
                        "email_from": f"bench.lead.{number}@example.com",
                        "phone": f"+91 9{number:09d}",
                    }
                    for number in range(start, start + count)
                ]
            )
    return team_id


def measure_calling_rules(options):
    """Assign every unassigned lead with the calling rules, then roll back so Odoo gets the same data."""
    with odoo_env.environment(options.db, commit=False) as env:
        queries = query_count()
        start = time.perf_counter()
        leads = env["crm.lead"]._assign_calling_backlog()
        env.flush_all()
        seconds = time.perf_counter() - start
        queries = query_count() - queries
        assigned = env["crm.lead"].search_count([("id", "in", leads.ids), ("user_id", "!=", False)])
    return {"seconds": seconds, "queries": queries, "assigned": assigned}


def measure_odoo(options, team_id):
    """Assign every unassigned lead with Odoo's rule-based assignment of the team, as shipped."""
    with odoo_env.environment(options.db) as env:
        team = env["crm.team"].browse(team_id)
        queries = query_count()
        start = time.perf_counter()
        team._action_assign_leads(force_quota=True, creation_delta_days=0)
        env.flush_all()
        seconds = time.perf_counter() - start
        queries = query_count() - queries
        assigned = env["crm.lead"].search_count([("team_id", "=", team_id), ("user_id", "!=", False)])
    return {"seconds": seconds, "queries": queries, "assigned": assigned}


def run_benchmark(options):
    team_id = prepare(options)
    try:
        calling = measure_calling_rules(options)
        odoo = measure_odoo(options, team_id)
    finally:
        if options.drop:
            odoo_env.drop_database(options.db)
    return {"leads": options.leads, "members": options.members, "calling": calling, "odoo": odoo}


def format_markdown(result):
    calling, odoo = result["calling"], result["odoo"]
    rows = [
        "| measure | calling rules | Odoo rule-based | ratio |",
        "|---|---|---|---|",
        f"| seconds | {calling['seconds']:.2f} | {odoo['seconds']:.2f} | {calling['seconds'] / odoo['seconds']:.3f} |",
        f"| queries | {calling['queries']} | {odoo['queries']} | {calling['queries'] / max(odoo['queries'], 1):.3f} |",
        f"| leads assigned | {calling['assigned']} | {odoo['assigned']} | |",
    ]
    return "\n".join(rows)


def main(argv=None):
    options = parse_args(argv)
    result = run_benchmark(options)
    print(f"{result['leads']} leads, {result['members']} counsellors in one team")
    print(format_markdown(result))


if __name__ == "__main__":
    main()
