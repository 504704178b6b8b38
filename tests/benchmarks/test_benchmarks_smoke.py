"""Smoke test of the assignment and lead-creation benchmarks: tiny sizes, checks that every figure is produced.

There are no timing asserts. Run with ``python3 -m pytest tests/benchmarks/test_benchmarks_smoke.py`` from the
repository root. It creates the databases ``aicc_bench_smoke_assign_<pid>``, ``aicc_bench_smoke_create_<pid>`` and
``aicc_bench_smoke_create_base_<pid>`` (suffixed with the process id, so parallel runs do not collide) and drops them
at the end.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.benchmarks import bench_assignment, bench_lead_create  # noqa: E402

SUFFIX = os.getpid()


def test_assignment_benchmark_runs():
    options = bench_assignment.parse_args(
        ["--db", f"aicc_bench_smoke_assign_{SUFFIX}", "--leads", "40", "--members", "2", "--drop"]
    )
    result = bench_assignment.run_benchmark(options)
    for measured in (result["calling"], result["odoo"]):
        assert measured["seconds"] > 0
        assert measured["queries"] > 0
        assert measured["assigned"] == 40
    assert "| seconds |" in bench_assignment.format_markdown(result)


def test_lead_create_benchmark_runs():
    options = bench_lead_create.parse_args(
        [
            "--db",
            f"aicc_bench_smoke_create_{SUFFIX}",
            "--base-db",
            f"aicc_bench_smoke_create_base_{SUFFIX}",
            "--leads",
            "20",
            "--existing",
            "5",
            "--members",
            "2",
            "--drop",
        ]
    )
    result = bench_lead_create.run_benchmark(options)
    full, base = result["full"], result["base"]
    for measured in (full, base):
        assert measured["seconds"] > 0
        assert measured["queries_per_lead"] > 0
    # Leads 0 and 10 reuse existing numbers, and every lead gets a counsellor.
    assert full["duplicates"] == 2
    assert full["assigned"] == 20
    assert full["follow_ups"] == 20
    assert "| queries per lead |" in bench_lead_create.format_markdown(result)
