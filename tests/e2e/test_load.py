"""Load: 1,000 webhook deliveries from 20 concurrent clients, every one acknowledged, every lead created once.

The acknowledgement latency (client-side, request sent to response read) and the time until the cron worker has
turned every event into a lead are printed and written to ``var/log/e2e-figures.json``.
"""

import json
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.lib import meta_webhook
from tests.lib.e2e_server import default_log_dir

from .conftest import APP_SECRET

DELIVERIES = 1000
CLIENTS = 20
# Every 50th delivery carries a batch of changes, as Meta sends when many people submit within a second.
BATCH_EVERY = 50
BATCH_SIZE = 10
# Share of deliveries Meta sends twice (its retries and duplicate deliveries).
REPEAT_SHARE = 0.05


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def record_figures(name, figures):
    """Merge ``figures`` under ``name`` into var/log/e2e-figures.json, which docs/e2e.md quotes."""
    path = default_log_dir() / "e2e-figures.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


@pytest.mark.heavy
def test_load_1000_deliveries(meta, db):
    """1,000 deliveries (1 in 50 with 10 changes, 5 % sent twice) from 20 clients: all 200, each lead once."""
    rng = random.Random(20261204)
    bodies = []
    all_ids = []
    for index in range(DELIVERIES):
        leadgen_ids = meta.publish_bulk(BATCH_SIZE if index % BATCH_EVERY == 0 else 1)
        all_ids += leadgen_ids
        bodies.append(meta.body(leadgen_ids))
    bodies += rng.sample(bodies, int(DELIVERIES * REPEAT_SHARE))
    rng.shuffle(bodies)

    sessions = [requests.Session() for _client in range(CLIENTS)]

    def send(index_body):
        index, body = index_body
        session = sessions[index % CLIENTS]
        started = time.monotonic()
        response = meta_webhook.post_delivery(meta.odoo.url, body, APP_SECRET, session=session, timeout=60)
        return response.status_code, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(send, enumerate(bodies)))
    send_seconds = time.monotonic() - started
    statuses = [status for status, _latency in results]
    latencies = [latency for _status, latency in results]
    figures = {
        "deliveries": len(bodies),
        "leads": len(all_ids),
        "clients": CLIENTS,
        "ack_median_ms": round(statistics.median(latencies) * 1000, 1),
        "ack_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "ack_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "ack_max_ms": round(max(latencies) * 1000, 1),
        "deliveries_per_second": round(len(bodies) / send_seconds, 1),
    }
    record_figures("load", figures)
    assert statuses.count(200) == len(bodies), {status: statuses.count(status) for status in set(statuses)}

    # One cron worker fetches and creates the leads; on 2 shared cores it manages about 4 leads a second.
    counts = meta.wait_processed(db, all_ids, timeout=600)
    figures["all_leads_processed_seconds"] = round(time.monotonic() - started, 1)
    figures["leads_per_second"] = round(len(all_ids) / figures["all_leads_processed_seconds"], 1)
    record_figures("load", figures)
    print(f"\nload figures: {json.dumps(figures)}")
    assert len(counts) == len(all_ids)
    assert set(counts.values()) == {1}
