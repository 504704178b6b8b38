#!/usr/bin/env bash
# Run every addon's tests on fresh databases and the tests/ suite, then print "N passed, N failed".
# Usage: setup/test.sh [--quick] [--skip-pytest] [--skip-lint] [--keep-databases]. Settings: see setup/aicc.py (AICC_* variables).
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/aicc.py" test "$@"
