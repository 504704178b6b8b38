#!/usr/bin/env bash
# Start the product with demo data on http://127.0.0.1:8069 and replay six Meta lead ad submissions into it.
# Usage: setup/demo.sh [--reset] [--no-wait]. Settings: see setup/demo.py (AICC_DEMO_DB_NAME, AICC_HTTP_PORT, ...).
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/demo.py" "$@"
