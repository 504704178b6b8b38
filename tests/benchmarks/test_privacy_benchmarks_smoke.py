"""Smoke test of the privacy benchmark: tiny sizes, checks that every figure is produced, no timing asserts.

Run with ``python3 -m pytest tests/benchmarks/test_privacy_benchmarks_smoke.py`` from the repository root. It
creates the database ``aicc_bench_privacy_smoke_<pid>`` and drops it at the end.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.benchmarks import bench_privacy  # noqa: E402

# Suffixed with the process id, so parallel runs on one machine do not collide.
SMOKE_DB = f"aicc_bench_privacy_smoke_{os.getpid()}"


def test_benchmark_produces_every_figure():
    options = bench_privacy.parse_args(
        [
            "--db",
            SMOKE_DB,
            "--drop",
            "--leads-per-person",
            "2",
            "--calls-per-lead",
            "1",
            "--messages-per-lead",
            "2",
            "--retention-leads",
            "25",
            "--batch-size",
            "10",
        ]
    )
    result = bench_privacy.run_benchmark(options)
    erasure, retention = result["erasure"], result["retention"]
    assert erasure["data"]["leads"] == 2
    assert erasure["data"]["calls"] == 2
    # Lead creation may log its own messages on top of the benchmark's notes.
    assert erasure["data"]["messages"] >= 4
    assert erasure["erased_counts"]["crm.lead"] == 2
    assert retention["anonymised"] == 25
    assert retention["deleted_baseline"] == 25
    for measured in (erasure["erasure"], erasure["baseline"], retention["retention"], retention["baseline"]):
        assert measured["seconds"] > 0
        assert measured["queries"] > 0
        assert measured["peak_mib"] > 0
    assert "| measure |" in bench_privacy.format_markdown(result)
