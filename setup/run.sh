#!/usr/bin/env bash
# Create or update the database with the AI Calling CRM addons and start Odoo on localhost.
# Usage: setup/run.sh [--demo] [-- extra Odoo server options]. Settings: see setup/aicc.py (AICC_* variables).
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/aicc.py" run "$@"
