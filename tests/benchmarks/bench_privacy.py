"""Benchmark the privacy addon's erasure and retention run against plain Odoo deletes of the same records.

Run from the repository root::

    python3 tests/benchmarks/bench_privacy.py --leads-per-person 100 --calls-per-lead 3 \\
        --messages-per-lead 10 --retention-leads 100000

Steps, each in the same run so the ratios compare like with like:

1. create the database ``--db`` with ``ai_calling_crm_privacy`` (skipped with ``--reuse-db``);
2. erasure: create two people with the same data (leads, calls, chatter messages), erase the first through a
   data-subject request and delete the second's leads and contact with plain ``unlink`` (the Odoo baseline);
3. retention: insert two sets of ``--retention-leads`` lost leads older than a year with SQL. Run an anonymising
   retention policy over the first set through ``_cron_apply_retention``. As the baseline, delete the second set
   with plain ``unlink`` in batches of the same size, committing after each batch.

Each measurement reports wall time, the peak of Python memory traced by ``tracemalloc`` (which slows both sides
alike), the growth of the process's maximum resident set size, and the number of SQL queries from the cursor's
``sql_log_count``. Everything talks to PostgreSQL only; no HTTP server is started. Results are printed as a
Markdown table and as JSON.
"""

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.lib.odoo_env import create_database, drop_database, environment  # noqa: E402

DEFAULT_DB = "aicc_bench_privacy"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help="database name, created afresh unless --reuse-db")
    parser.add_argument("--reuse-db", action="store_true", help="keep the existing database and its data")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--leads-per-person", type=int, default=100)
    parser.add_argument("--calls-per-lead", type=int, default=3)
    parser.add_argument("--messages-per-lead", type=int, default=10)
    parser.add_argument("--retention-leads", type=int, default=100000)
    parser.add_argument("--batch-size", type=int, default=1000, help="retention batch size, same for the baseline")
    return parser.parse_args(argv)


class Measure:
    """Context manager recording time, tracemalloc peak, max RSS growth and query count of one block."""

    def __init__(self, cr):
        self.cr = cr
        self.result = {}

    def __enter__(self):
        tracemalloc.start()
        self.rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.queries_before = self.cr.sql_log_count
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        elapsed = time.perf_counter() - self.start
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        self.result = {
            "seconds": round(elapsed, 3),
            "peak_mib": round(peak / 2**20, 2),
            # ru_maxrss is in KiB on Linux.
            "rss_growth_mib": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.rss_before) / 1024, 2),
            "queries": self.cr.sql_log_count - self.queries_before,
        }
        return False


# ------------------------------------------------------------
# Erasure
# ------------------------------------------------------------
def create_person(env, tag, options):
    """Create one person: a contact, leads with calls and chatter messages; return (partner, leads, email)."""
    email = f"bench.person.{tag}@example.org"
    phone = f"+91 98{tag:03d} {tag:05d}"
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True, mail_notrack=True))
    partner = env["res.partner"].create({"name": f"Bench Person {tag}", "email": email, "phone": phone})
    leads = env["crm.lead"].create(
        [
            {
                "name": f"Inquiry {index} of Bench Person {tag}",
                "contact_name": f"Bench Person {tag}",
                "partner_id": partner.id,
                "email_from": email,
                "phone": phone,
            }
            for index in range(options.leads_per_person)
        ]
    )
    env["crm.call"].create(
        [
            {"lead_id": lead.id, "notes": f"Call {index} with Bench Person {tag}", "phone_number": phone}
            for lead in leads
            for index in range(options.calls_per_lead)
        ]
    )
    env["mail.message"].create(
        [
            {
                "model": "crm.lead",
                "res_id": lead.id,
                "body": f"<p>Note {index}: Bench Person {tag} asked about fees</p>",
                "message_type": "comment",
                "subtype_id": env.ref("mail.mt_note").id,
                "author_id": partner.id,
            }
            for lead in leads
            for index in range(options.messages_per_lead)
        ]
    )
    return partner, leads, email


def bench_erasure(options):
    with environment(options.db) as env:
        _partner_a, leads_a, email_a = create_person(env, 1, options)
        partner_b, leads_b, _email_b = create_person(env, 2, options)
        counts = {
            "leads": len(leads_a),
            "calls": env["crm.call"].search_count([("lead_id", "in", leads_a.ids)]),
            "messages": env["mail.message"].search_count([("model", "=", "crm.lead"), ("res_id", "in", leads_a.ids)]),
        }
        request = env["crm.privacy.request"].create({"request_type": "erasure", "requester_email": email_a})
        request_id, partner_b_id, lead_b_ids = request.id, partner_b.id, leads_b.ids

    with environment(options.db) as env:
        request = env["crm.privacy.request"].browse(request_id)
        with Measure(env.cr) as erasure:
            request.action_find_matches()
            request.action_erase()
            env.flush_all()
        erased = request.erasure_record_id.counts

    with environment(options.db) as env:
        with Measure(env.cr) as baseline:
            # Plain Odoo: deleting the leads also deletes their chatter (mail.thread) and calls (ondelete cascade).
            env["crm.lead"].browse(lead_b_ids).unlink()
            env["res.partner"].browse(partner_b_id).unlink()
            env.flush_all()
    return {"data": counts, "erased_counts": erased, "erasure": erasure.result, "baseline": baseline.result}


# ------------------------------------------------------------
# Retention
# ------------------------------------------------------------
def insert_lost_leads(env, count, tag):
    """Insert ``count`` lost leads, last written 400 days ago, with one SQL statement; return their id range."""
    from odoo.tools import SQL  # noqa: PLC0415 - odoo is importable only once the environment is configured

    env.cr.execute(
        SQL(
            """INSERT INTO crm_lead (name, contact_name, email_from, email_normalized, phone, type, active,
                                     probability, won_status, company_id, create_uid, write_uid, create_date,
                                     write_date, privacy_erased, privacy_legal_hold)
               SELECT 'Lost inquiry ' || n, 'Retention Person ' || n, 'ret' || %(tag)s || '.' || n || '@example.org',
                      'ret' || %(tag)s || '.' || n || '@example.org', '+91 97' || lpad(n::text, 8, '0'), 'lead',
                      false, 0, 'lost', %(company)s, 1, 1, now() - interval '500 days',
                      now() - interval '400 days', false, false
                 FROM generate_series(1, %(count)s) AS n
            RETURNING id""",
            tag=tag,
            company=env.company.id,
            count=count,
        )
    )
    ids = [row[0] for row in env.cr.fetchall()]
    return min(ids), max(ids)


def bench_retention(options):
    with environment(options.db) as env:
        env["crm.privacy.retention.policy"].search([]).active = False
        first_range = insert_lost_leads(env, options.retention_leads, "a")
        env["crm.privacy.retention.policy"].create(
            {
                "name": "Benchmark: lost leads after a year",
                "target": "lead_lost",
                "days": 365,
                "action": "anonymise",
                "company_id": env.company.id,
            }
        )
        # Keep the baseline set out of the policy's reach until the policy has run.
        second_range = insert_lost_leads(env, options.retention_leads, "b")
        env.cr.execute("UPDATE crm_lead SET privacy_legal_hold = true WHERE id BETWEEN %s AND %s", second_range)

    with environment(options.db) as env:
        with Measure(env.cr) as retention:
            env["crm.privacy.retention.policy"]._cron_apply_retention(batch_size=options.batch_size)
        env.cr.execute(
            "SELECT count(*) FROM crm_lead WHERE id BETWEEN %s AND %s AND privacy_erased AND contact_name IS NULL",
            first_range,
        )
        anonymised = env.cr.fetchone()[0]

    with environment(options.db) as env:
        Lead = env["crm.lead"].with_context(active_test=False)
        domain = [("id", ">=", second_range[0]), ("id", "<=", second_range[1])]
        deleted = 0
        with Measure(env.cr) as baseline:
            while True:
                batch = Lead.search(domain, limit=options.batch_size, order="id")
                if not batch:
                    break
                batch.unlink()
                deleted += len(batch)
                env.cr.commit()
                env.invalidate_all()
    return {
        "leads": options.retention_leads,
        "anonymised": anonymised,
        "deleted_baseline": deleted,
        "retention": retention.result,
        "baseline": baseline.result,
    }


# ------------------------------------------------------------
# Report
# ------------------------------------------------------------
def ratio(numerator, denominator):
    return round(numerator / denominator, 2) if denominator else None


def format_markdown(result):
    lines = ["| measure | privacy | baseline | ratio |", "|---|---|---|---|"]
    sections = [
        ("erasure", result["erasure"]["erasure"], result["erasure"]["baseline"], "plain `unlink`"),
        ("retention", result["retention"]["retention"], result["retention"]["baseline"], "batched `unlink`"),
    ]
    for label, measured, baseline, baseline_label in sections:
        for key, unit in (("seconds", "s"), ("peak_mib", "MiB traced peak"), ("queries", "queries")):
            lines.append(
                f"| {label} {unit} vs {baseline_label} | {measured[key]} | {baseline[key]} | "
                f"{ratio(measured[key], baseline[key])} |"
            )
        lines.append(
            f"| {label} max RSS growth (MiB) | {measured['rss_growth_mib']} | {baseline['rss_growth_mib']} | |"
        )
    return "\n".join(lines)


def run_benchmark(options):
    if not options.reuse_db:
        create_database(options.db, modules=("ai_calling_crm_privacy",))
    try:
        result = {"erasure": bench_erasure(options), "retention": bench_retention(options)}
    finally:
        if options.drop:
            drop_database(options.db)
    return result


def main(argv=None):
    options = parse_args(argv)
    result = run_benchmark(options)
    print(format_markdown(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
