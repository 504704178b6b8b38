"""Helpers for the suites under ``tests/``: create databases and open Odoo environments on them.

The suites run outside Odoo's own test runner, so they create their databases with Odoo's command line (the same way
``setup/`` does) and then work through the ORM in this process. Connection settings come from the same environment
variables as the setup scripts: ``PGHOST`` (default 127.0.0.1), ``PGPORT`` (5432), ``PGUSER`` (root), ``PGPASSWORD``.
"""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDONS = ("ai_calling_crm", "ai_calling_crm_meta", "ai_calling_crm_privacy")


def db_options():
    """Return the Odoo command-line options that select the PostgreSQL server."""
    options = [
        f"--db_host={os.environ.get('PGHOST', '127.0.0.1')}",
        f"--db_port={os.environ.get('PGPORT', '5432')}",
        f"--db_user={os.environ.get('PGUSER', 'root')}",
    ]
    if os.environ.get("PGPASSWORD"):
        options.append(f"--db_password={os.environ['PGPASSWORD']}")
    return options


def addons_path_option():
    return f"--addons-path={REPO_ROOT}"


def drop_database(db_name):
    """Drop ``db_name`` if it exists, closing Odoo's pooled connections to it first."""
    import odoo.sql_db  # noqa: PLC0415 - odoo is imported lazily so that a missing Odoo gives one clear error

    odoo.sql_db.close_db(db_name)
    subprocess.run(
        ["dropdb", "--if-exists", "--force", *_libpq_args(), db_name],
        check=True,
        capture_output=True,
    )


def create_database(db_name, modules=ADDONS, demo=False, extra_args=()):
    """Create ``db_name`` afresh with ``modules`` installed, through Odoo's command line.

    Raises ``RuntimeError`` with the end of Odoo's log when the installation fails.
    """
    drop_database(db_name)
    command = [
        sys.executable,
        "-m",
        "odoo",
        "-d",
        db_name,
        addons_path_option(),
        *db_options(),
        "-i",
        ",".join(modules),
        "--stop-after-init",
        "--http-interface=127.0.0.1",
        "--no-http",
        "--log-level=warn",
        *(["--with-demo"] if demo else []),
        *extra_args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"Installing {', '.join(modules)} into database {db_name} failed "
            f"(exit code {result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )


@contextlib.contextmanager
def environment(db_name, commit=True):
    """Yield a superuser ``odoo.api.Environment`` on ``db_name``.

    The transaction is committed on a clean exit when ``commit`` is true and rolled back otherwise.
    """
    import odoo  # noqa: PLC0415
    from odoo import api  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415

    configure_odoo()
    registry = Registry(db_name)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        yield env
        if commit:
            cr.commit()
        else:
            cr.rollback()


_configured = False


def configure_odoo():
    """Load Odoo's configuration once for this process, pointed at this repository's addons."""
    global _configured
    if _configured:
        return
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config([addons_path_option(), *db_options(), "--http-interface=127.0.0.1"], setup_logging=False)
    _configured = True


def _libpq_args():
    args = [
        "-h",
        os.environ.get("PGHOST", "127.0.0.1"),
        "-p",
        os.environ.get("PGPORT", "5432"),
        "-U",
        os.environ.get("PGUSER", "root"),
    ]
    return args
