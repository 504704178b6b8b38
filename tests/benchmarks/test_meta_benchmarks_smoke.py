"""Smoke test of the Meta webhook benchmark: tiny sizes, checks that every figure is produced, no timing asserts.

Run with ``python3 -m pytest tests/benchmarks/test_meta_benchmarks_smoke.py`` from the repository root. It creates
the database ``aicc_meta_bench_smoke_<pid>``, starts Odoo with one worker on a port in 18310-18349 and drops the
database at the end.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.benchmarks import bench_webhook  # noqa: E402
from tests.lib.odoo_env import drop_database  # noqa: E402

# Suffixed with the process id, so parallel runs on one machine do not collide.
SMOKE_DB = f"aicc_meta_bench_smoke_{os.getpid()}"


def test_benchmark_produces_every_figure():
    options = bench_webhook.parse_args(
        ["--db", SMOKE_DB, "--workers", "1", "--requests", "5", "--clients", "2", "--leads", "3", "--e2e-leads", "1"]
    )
    try:
        result = bench_webhook.run_benchmark(options)
    finally:
        drop_database(SMOKE_DB)
    http, processing = result["http"], result["processing"]
    for key in ("webhook_median_ms", "webhook_p99_ms", "median_ratio", "p99_ratio", "webhook_per_s", "rate_ratio"):
        assert http[key] > 0, key
    assert http["e2e_leads"] == 1
    assert http["e2e_max_s"] > 0
    assert processing["done"] == 3
    assert processing["processing_per_s"] > 0
    assert processing["plain_create_per_s"] > 0
    assert "| measure |" in bench_webhook.format_markdown(result)
