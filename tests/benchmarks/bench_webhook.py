"""Benchmark the Meta webhook and lead processing against a real Odoo server on 127.0.0.1.

Run from the repository root::

    python3 tests/benchmarks/bench_webhook.py --requests 400 --leads 200 --workers 2

Steps, each in the same run so the ratios compare like with like:

1. create the database ``--db`` with ``ai_calling_crm_meta`` (skipped with ``--reuse-db``), add a Meta app, page,
   form and a sales team with one counsellor, and switch the processing cron off so it does not compete with the
   webhook measurements;
2. start a fake Graph server (``ai_calling_crm_meta/tests/fake_graph.py``) as a separate process, holding
   ``--leads`` leads;
3. start Odoo with ``--workers`` workers (``tests/lib/odoo_server.py``). Measure the latency of signed webhook
   deliveries and of ``GET /web/health``, one request at a time. Then measure the sustained rate of each with
   ``--clients`` concurrent clients;
4. switch the processing cron on and send ``--e2e-leads`` deliveries one at a time, measuring how long each takes
   to become a lead through the server's cron worker (the webhook wakes it with ``ir.cron._trigger()``);
5. stop Odoo and, in this process, time turning ``--leads`` stored events into assigned leads (Graph GET, mapping,
   duplicate check, assignment, follow-up) against creating as many leads directly with ``crm.lead.create``.

Everything listens on and talks to 127.0.0.1 only. Results are printed as a Markdown table and as JSON.
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.lib.odoo_env import create_database, environment  # noqa: E402
from tests.lib.odoo_server import OdooServer  # noqa: E402

FAKE_GRAPH = REPO_ROOT / "ai_calling_crm_meta" / "tests" / "fake_graph.py"
APP_SECRET = "bench-app-secret"
PAGE_ID = "1001"
FORM_ID = "2001"
# Leadgen ids of the leads the fake Graph server holds; webhook deliveries use ids from WEBHOOK_FIRST_ID on.
FIRST_LEAD_ID = 700000000
WEBHOOK_FIRST_ID = 800000000
# Ports reserved for benchmark servers on this project's machines.
BENCH_PORTS = range(18310, 18350)
# Seconds to wait for one delivery to become a lead. A cron worker that misses its wake-up polls again within about
# a minute (SLEEP_INTERVAL in odoo/service/server.py).
E2E_TIMEOUT = 120


def sign(body):
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def delivery(leadgen_id):
    value = {"leadgen_id": str(leadgen_id), "page_id": PAGE_ID, "form_id": FORM_ID, "created_time": int(time.time())}
    entry = {"id": PAGE_ID, "time": int(time.time()), "changes": [{"field": "leadgen", "value": value}]}
    payload = {"object": "page", "entry": [entry]}
    return json.dumps(payload).encode()


def percentile(samples, fraction):
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# ------------------------------------------------------------
# Set-up
# ------------------------------------------------------------
def prepare_database(db_name, graph_url, reuse):
    if not reuse:
        create_database(db_name, modules=("ai_calling_crm_meta",))
    with environment(db_name) as env:
        env["crm.meta.lead.event"].search([]).unlink()
        env["crm.lead"].with_context(active_test=False).search([("meta_leadgen_id", "!=", False)]).unlink()
        env.ref("ai_calling_crm_meta.ir_cron_meta_lead_process").active = False
        env.company.country_id = env.ref("base.in")
        app = env["crm.meta.app"].search([("meta_app_id", "=", "5001")], limit=1) or env["crm.meta.app"].create(
            {"name": "Benchmark App", "meta_app_id": "5001"}
        )
        app.write({"app_secret": APP_SECRET, "verify_token": "bench", "graph_base_url": graph_url})
        team = env["crm.team"].search([("name", "=", "Benchmark Team")], limit=1) or env["crm.team"].create(
            {"name": "Benchmark Team"}
        )
        counsellor = env["res.users"].search([("login", "=", "bench_counsellor")], limit=1) or env["res.users"].create(
            {
                "name": "Benchmark Counsellor",
                "login": "bench_counsellor",
                "group_ids": [(4, env.ref("sales_team.group_sale_salesman").id)],
            }
        )
        team_values = {"member_ids": [(4, counsellor.id)]}
        if "calling_assignment" in team._fields:
            team_values["calling_assignment"] = True
        team.write(team_values)
        page = env["crm.meta.page"].search([("meta_page_id", "=", PAGE_ID)], limit=1) or env["crm.meta.page"].create(
            {"name": "Benchmark Page", "meta_page_id": PAGE_ID, "app_id": app.id}
        )
        page.write({"access_token": "bench-page-token", "team_id": team.id, "token_state": "valid"})
        form = env["crm.meta.form"].search([("meta_form_id", "=", FORM_ID)], limit=1)
        if not form:
            env["crm.meta.form"]._sync_from_graph(
                page,
                {
                    "id": FORM_ID,
                    "name": "Benchmark form",
                    "questions": [{"key": key} for key in ("full_name", "email", "phone_number", "city")],
                },
            )


def start_fake_graph(leads):
    process = subprocess.Popen(
        [
            sys.executable,
            str(FAKE_GRAPH),
            "--port",
            "0",
            "--app-secret",
            APP_SECRET,
            "--page-id",
            PAGE_ID,
            "--form-id",
            FORM_ID,
            "--leads",
            str(leads),
            "--first-lead-id",
            str(FIRST_LEAD_ID),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise RuntimeError(f"Fake Graph server did not start (printed {url!r})")
    return process, url


# ------------------------------------------------------------
# Measurements
# ------------------------------------------------------------
def measure_latency(count, send):
    samples = []
    for index in range(count):
        started = time.perf_counter()
        response = send(index)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"Request {index} failed with HTTP {response.status_code}: {response.text[:200]}")
    return {"median_ms": statistics.median(samples) * 1000, "p99_ms": percentile(samples, 0.99) * 1000}


def measure_rate(count, clients, send):
    def worker(indexes):
        with requests.Session() as session:
            for index in indexes:
                response = send(index, session)
                if response.status_code != 200:
                    raise RuntimeError(f"Request {index} failed with HTTP {response.status_code}")

    chunks = [range(start, count, clients) for start in range(clients)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(worker, chunk) for chunk in chunks]:
            future.result()
    return count / (time.perf_counter() - started)


def measure_http(server, options):
    url = f"{server.url}/ai_calling_crm_meta/webhook"
    health = f"{server.url}/web/health"
    session = requests.Session()

    def post(index, http=session, offset=0):
        body = delivery(WEBHOOK_FIRST_ID + offset + index)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
        return http.post(url, data=body, headers=headers, timeout=30)

    def get_health(index, http=session):
        return http.get(health, timeout=30)

    # Warm up the workers (registry load, first requests) before measuring.
    for index in range(min(20, options.requests)):
        get_health(index)
        post(index, offset=options.requests * 10)
    webhook = measure_latency(options.requests, post)
    trivial = measure_latency(options.requests, get_health)
    webhook_rate = measure_rate(
        options.requests, options.clients, lambda index, http: post(index, http, offset=options.requests)
    )
    trivial_rate = measure_rate(options.requests, options.clients, get_health)
    return {
        "webhook_median_ms": webhook["median_ms"],
        "webhook_p99_ms": webhook["p99_ms"],
        "health_median_ms": trivial["median_ms"],
        "health_p99_ms": trivial["p99_ms"],
        "median_ratio": webhook["median_ms"] / trivial["median_ms"],
        "p99_ratio": webhook["p99_ms"] / trivial["p99_ms"],
        "webhook_per_s": webhook_rate,
        "health_per_s": trivial_rate,
        "rate_ratio": webhook_rate / trivial_rate,
    }


def measure_end_to_end(server, db_name, count, first_id):
    """Send ``count`` deliveries one at a time and return the seconds until each lead exists, via the cron worker."""
    with environment(db_name) as env:
        # The latency phases stored events for leads the fake server does not hold. Delete them so that the cron
        # processes only the deliveries timed here.
        env["crm.meta.lead.event"].search([]).unlink()
        env.ref("ai_calling_crm_meta.ir_cron_meta_lead_process").active = True
    url = f"{server.url}/ai_calling_crm_meta/webhook"
    delays = []
    for index in range(count):
        leadgen_id = str(first_id + index)
        body = delivery(leadgen_id)
        started = time.perf_counter()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
        requests.post(url, data=body, headers=headers, timeout=30).raise_for_status()
        deadline = started + E2E_TIMEOUT
        while time.perf_counter() < deadline:
            with environment(db_name, commit=False) as env:
                if env["crm.lead"].search_count([("meta_leadgen_id", "=", leadgen_id)]):
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"Lead {leadgen_id} did not appear within {E2E_TIMEOUT} s:\n{server.log_tail()}")
        delays.append(time.perf_counter() - started)
    return {"e2e_leads": count, "e2e_median_s": statistics.median(delays), "e2e_max_s": max(delays)}


def measure_processing(db_name, leads):
    with environment(db_name) as env:
        app = env["crm.meta.app"].search([("meta_app_id", "=", "5001")], limit=1)
        values = [
            {"leadgen_id": str(FIRST_LEAD_ID + index), "page_id": PAGE_ID, "form_id": FORM_ID} for index in range(leads)
        ]
        Event = env["crm.meta.lead.event"]
        Event._store_webhook_changes(app, values)
        events = Event.search([("leadgen_id", "in", [v["leadgen_id"] for v in values])], order="id")
        env.cr.commit()
        started = time.perf_counter()
        outcomes = events._process()
        env.flush_all()
        env.cr.commit()
        processing_s = time.perf_counter() - started
        assigned = len(events.lead_id.filtered("user_id"))

        team = env["crm.meta.page"].search([("meta_page_id", "=", PAGE_ID)], limit=1).team_id
        started = time.perf_counter()
        for index in range(leads):
            env["crm.lead"].create(
                {
                    "name": f"Plain lead {index}",
                    "contact_name": f"Plain lead {index}",
                    "email_from": f"plain{index}@example.com",
                    "phone": f"+9190000{index:05d}",
                    "city": "Kochi",
                    "team_id": team.id,
                }
            )
        env.flush_all()
        env.cr.commit()
        plain_s = time.perf_counter() - started
    return {
        "leads": leads,
        "done": outcomes["done"],
        "assigned": assigned,
        "processing_per_s": leads / processing_s,
        "plain_create_per_s": leads / plain_s,
        "processing_ratio": (leads / processing_s) / (leads / plain_s),
    }


def run_benchmark(options):
    """Run every measurement and return the figures as a dict."""
    fake, graph_url = start_fake_graph(options.leads + options.e2e_leads)
    try:
        prepare_database(options.db, graph_url, options.reuse_db)
        with OdooServer(options.db, workers=options.workers, ports=BENCH_PORTS) as server:
            http_figures = measure_http(server, options)
            if options.e2e_leads:
                http_figures.update(
                    measure_end_to_end(server, options.db, options.e2e_leads, FIRST_LEAD_ID + options.leads)
                )
        processing = measure_processing(options.db, options.leads)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    return {"options": vars(options), "http": http_figures, "processing": processing}


def format_markdown(result):
    http, processing, options = result["http"], result["processing"], result["options"]
    return "\n".join(
        [
            f"Workers: {options['workers']}, requests: {options['requests']}, clients: {options['clients']}, "
            f"leads: {options['leads']}",
            "",
            "| measure | Meta | baseline | ratio |",
            "|---|---|---|---|",
            f"| ack latency median (ms), webhook vs /web/health | {http['webhook_median_ms']:.1f} | "
            f"{http['health_median_ms']:.1f} | {http['median_ratio']:.2f} |",
            f"| ack latency p99 (ms), webhook vs /web/health | {http['webhook_p99_ms']:.1f} | "
            f"{http['health_p99_ms']:.1f} | {http['p99_ratio']:.2f} |",
            f"| sustained deliveries/s vs /web/health requests/s | {http['webhook_per_s']:.1f} | "
            f"{http['health_per_s']:.1f} | {http['rate_ratio']:.2f} |",
            f"| leads/s, stored event to assigned lead vs plain crm.lead.create | "
            f"{processing['processing_per_s']:.1f} | {processing['plain_create_per_s']:.1f} | "
            f"{processing['processing_ratio']:.2f} |",
            "",
            f"Processed {processing['done']} of {processing['leads']} events; {processing['assigned']} leads assigned.",
            *(
                [
                    f"Delivery to lead through the cron worker, {http['e2e_leads']} leads one at a time: "
                    f"median {http['e2e_median_s']:.1f} s, max {http['e2e_max_s']:.1f} s."
                ]
                if "e2e_leads" in http
                else []
            ),
        ]
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="aicc_meta_bench", help="Database to create (default aicc_meta_bench).")
    parser.add_argument("--reuse-db", action="store_true", help="Use the existing database instead of recreating it.")
    parser.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers (default 2).")
    parser.add_argument("--requests", type=int, default=400, help="Requests per HTTP measurement (default 400).")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent clients for the rate runs (default 4).")
    parser.add_argument("--leads", type=int, default=200, help="Events processed and leads created (default 200).")
    parser.add_argument(
        "--e2e-leads", type=int, default=10, help="Deliveries timed until their lead exists (default 10; 0 skips)."
    )
    parser.add_argument("--json", action="store_true", help="Print JSON only.")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(argv)
    result = run_benchmark(options)
    if not options.json:
        print(format_markdown(result))
        print()
    print(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
