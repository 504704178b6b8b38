"""pytest configuration for the suites under ``tests/``: make the repository importable and require Odoo."""

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def pytest_configure(config):
    try:
        import odoo.release  # noqa: F401, PLC0415
    except ImportError:
        raise pytest.UsageError(
            "Odoo 19.0 cannot be imported by this Python: install it, or run the suite through setup/test.sh, "
            "which says how."
        ) from None
