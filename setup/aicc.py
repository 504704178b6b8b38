#!/usr/bin/env python3
"""Set up, run and test AI Calling CRM on an existing Odoo 19 installation.

``run.sh`` and ``test.sh`` beside this file call the ``run`` and ``test`` commands. Both find Odoo as the importable
``odoo`` package of the Python interpreter that runs this script, and read their settings from environment variables
(see ``Settings``). Only the standard library is used here, so the script can explain what is missing before anything
else is imported.
"""

import argparse
import dataclasses
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ADDONS = ("ai_calling_crm", "ai_calling_crm_meta", "ai_calling_crm_privacy")
REQUIRED_ODOO_SERIES = "19.0"

# A log line in Odoo's format: "2026-12-04 19:37:53,745 6350 WARNING dbname odoo.module: message".
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (?P<level>[A-Z]+) (?P<db>\S+) (?P<logger>\S+): ")
# Closing line of Odoo's test runner, logged once per database.
TEST_REPORT = re.compile(r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<total>\d+) tests when loading")
# Whole-run outcome of pytest, e.g. "3 passed, 1 skipped in 4.2s".
PYTEST_COUNT = re.compile(r"(?P<count>\d+) (?P<kind>passed|failed|errors?|skipped)")


class SetupError(Exception):
    """A condition the user must fix before the product can run. The message names the fix."""


def _default_db_user():
    try:
        import getpass  # noqa: PLC0415 - only needed when no user is configured

        return getpass.getuser()
    except (KeyError, OSError):
        return "odoo"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


@dataclasses.dataclass
class Settings:
    """Settings read from the environment, with the defaults of a local PostgreSQL and Odoo."""

    db_host: str = os.environ.get("AICC_DB_HOST", os.environ.get("PGHOST", "127.0.0.1"))
    db_port: str = os.environ.get("AICC_DB_PORT", os.environ.get("PGPORT", "5432"))
    db_user: str = os.environ.get("AICC_DB_USER", os.environ.get("PGUSER", "") or _default_db_user())
    db_password: str = os.environ.get("AICC_DB_PASSWORD", os.environ.get("PGPASSWORD", ""))
    db_name: str = os.environ.get("AICC_DB_NAME", "ai_calling_crm")
    # Test runs get their own database names and a free port, so two checkouts can test on one machine at once.
    test_db_name: str = os.environ.get("AICC_TEST_DB_NAME", f"ai_calling_crm_test_{os.getpid()}")
    http_interface: str = os.environ.get("AICC_HTTP_INTERFACE", "127.0.0.1")
    http_port: str = os.environ.get("AICC_HTTP_PORT", "8069")
    test_http_port: str = os.environ.get("AICC_TEST_HTTP_PORT", "") or _free_port()
    workers: str = os.environ.get("AICC_WORKERS", "0")
    extra_addons_path: str = os.environ.get("AICC_ADDONS_PATH", "")
    skip_pip: bool = os.environ.get("AICC_SKIP_PIP", "") not in ("", "0")
    log_dir: Path = Path(os.environ.get("AICC_LOG_DIR", REPO_ROOT / "var" / "log"))

    @property
    def addons_path(self):
        """Return the value for Odoo's ``--addons-path``: this repository first, then any extra folders."""
        paths = [str(REPO_ROOT)]
        paths += [path for path in self.extra_addons_path.split(",") if path]
        return ",".join(paths)

    def db_options(self):
        options = [f"--db_host={self.db_host}", f"--db_port={self.db_port}", f"--db_user={self.db_user}"]
        if self.db_password:
            options.append(f"--db_password={self.db_password}")
        return options

    def libpq_environment(self):
        env = dict(os.environ, PGHOST=self.db_host, PGPORT=self.db_port, PGUSER=self.db_user)
        if self.db_password:
            env["PGPASSWORD"] = self.db_password
        return env


# ----------------------------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------------------------


def check_odoo():
    """Return the version of the importable ``odoo`` package, or raise ``SetupError`` saying how to provide it."""
    probe = subprocess.run(
        [sys.executable, "-c", "import odoo.release as r; print(r.serie); print(r.version)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise SetupError(
            f"Odoo cannot be imported by {sys.executable}: the 'odoo' package was not found.\n"
            "Install Odoo 19.0 Community for this interpreter (Odoo's own install from source or packages), or run "
            "the product with 'docker compose up' instead. Set PYTHON to another interpreter if Odoo lives there.\n"
            f"Import error: {probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else 'none reported'}"
        )
    series, version = probe.stdout.split()[:2]
    if series != REQUIRED_ODOO_SERIES:
        raise SetupError(
            f"Odoo {version} was found, but these addons need Odoo {REQUIRED_ODOO_SERIES}. "
            "Point PYTHON at an interpreter that has Odoo 19.0."
        )
    return version


def check_postgresql(settings):
    """Connect to the ``postgres`` maintenance database, or raise ``SetupError`` with the connection settings."""
    code = (
        "import os, psycopg2\n"
        "psycopg2.connect(dbname='postgres', host=os.environ['PGHOST'], port=os.environ['PGPORT'],"
        " user=os.environ['PGUSER'], password=os.environ.get('PGPASSWORD') or None, connect_timeout=5).close()\n"
    )
    probe = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=settings.libpq_environment(), check=False
    )
    if probe.returncode != 0:
        reason = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "no error text"
        raise SetupError(
            f"PostgreSQL is unreachable at {settings.db_host}:{settings.db_port} as user '{settings.db_user}': "
            f"{reason}\nStart PostgreSQL or set AICC_DB_HOST, AICC_DB_PORT, AICC_DB_USER and AICC_DB_PASSWORD. "
            "Odoo refuses to run as the 'postgres' superuser, so use another role with the CREATEDB right."
        )


def install_requirements(settings):
    """Install ``requirements.txt`` into this interpreter unless AICC_SKIP_PIP is set."""
    if settings.skip_pip:
        return
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"]
    command.append(str(REPO_ROOT / "requirements.txt"))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SetupError(
            "Installing requirements.txt failed:\n"
            f"{result.stderr.strip()[-2000:]}\n"
            "Install the packages it lists by hand and rerun with AICC_SKIP_PIP=1."
        )


def database_exists(settings, db_name):
    code = (
        "import os, sys, psycopg2\n"
        "conn = psycopg2.connect(dbname='postgres', host=os.environ['PGHOST'], port=os.environ['PGPORT'],"
        " user=os.environ['PGUSER'], password=os.environ.get('PGPASSWORD') or None)\n"
        "cr = conn.cursor(); cr.execute('SELECT 1 FROM pg_database WHERE datname = %s', (sys.argv[1],))\n"
        "print('yes' if cr.fetchone() else 'no')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, db_name],
        capture_output=True,
        text=True,
        env=settings.libpq_environment(),
        check=True,
    )
    return result.stdout.strip() == "yes"


def drop_database(settings, db_name):
    subprocess.run(
        ["dropdb", "--if-exists", "--force", db_name],
        env=settings.libpq_environment(),
        check=True,
        capture_output=True,
    )


# ----------------------------------------------------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------------------------------------------------


def odoo_command(settings, *args):
    return [sys.executable, "-m", "odoo", f"--addons-path={settings.addons_path}", *settings.db_options(), *args]


def command_run(options):
    """Create or update the database with the addons installed, then start the server in the foreground."""
    settings = Settings()
    version = check_odoo()
    check_postgresql(settings)
    install_requirements(settings)
    db_name = settings.db_name
    modules = ",".join(ADDONS)
    print(f"Odoo {version}, database '{db_name}' on {settings.db_host}:{settings.db_port}", flush=True)

    if database_exists(settings, db_name):
        print(f"Updating {modules} in the existing database '{db_name}'", flush=True)
        prepare = ["-d", db_name, "-u", modules, "-i", modules]
        if options.demo:
            print("NOTE: demo data is only loaded when a database is created; drop the database to get it.")
    else:
        print(f"Creating database '{db_name}' with {modules}{' and demo data' if options.demo else ''}", flush=True)
        prepare = ["-d", db_name, "-i", modules, *(["--with-demo"] if options.demo else [])]
    subprocess.run(
        odoo_command(settings, *prepare, "--stop-after-init", "--no-http", "--log-level=warn"),
        check=True,
    )

    # argparse keeps the "--" that separates the server options from this script's own.
    odoo_args = options.odoo_args[1:] if options.odoo_args[:1] == ["--"] else options.odoo_args
    server = odoo_command(
        settings,
        "-d",
        db_name,
        f"--db-filter=^{re.escape(db_name)}$",
        # Server-wide, the Meta webhook is routed even when Odoo selects no database (several databases, or
        # PostgreSQL down), so Meta gets a 503 and retries instead of a 404.
        "--load=base,rpc,web,ai_calling_crm_meta",
        f"--http-interface={settings.http_interface}",
        f"--http-port={settings.http_port}",
        f"--workers={settings.workers}",
        *odoo_args,
    )
    print(f"Starting Odoo on http://{settings.http_interface}:{settings.http_port} (Ctrl+C stops it)", flush=True)
    os.execv(server[0], server)


def run_odoo_tests(settings, db_name, modules, test_modules, log_path):
    """Install ``modules`` into a fresh ``db_name`` with tests enabled and run the tests of ``test_modules``.

    Returns ``(passed, failed, problems)`` where ``problems`` lists the WARNING, ERROR and CRITICAL lines of Odoo's log:
    like OCA's CI, a warning during installation or tests counts as a failure.
    """
    drop_database(settings, db_name)
    # Odoo appends to its log file, and the log is scanned for warnings, so each run starts a new one.
    log_path.unlink(missing_ok=True)
    command = odoo_command(
        settings,
        "-d",
        db_name,
        "-i",
        ",".join(modules),
        "--test-enable",
        f"--test-tags={','.join('/' + module for module in test_modules)}",
        "--stop-after-init",
        f"--http-interface={settings.http_interface}",
        f"--http-port={settings.test_http_port}",
        "--log-level=info",
        f"--logfile={log_path}",
    )
    print(f"$ {shlex.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, check=False, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started

    problems, report = [], None
    with open(log_path, encoding="utf-8", errors="replace") as log_file:
        for line in log_file:
            match = LOG_LINE.match(line)
            if match and match["level"] in ("WARNING", "ERROR", "CRITICAL"):
                problems.append(line.rstrip())
            report = TEST_REPORT.search(line) or report
    if report is None:
        problems.append(f"Odoo exited with code {result.returncode} before reporting any test result; see {log_path}")
        return 0, 1, problems
    total = int(report["total"])
    failed = int(report["failed"]) + int(report["errors"])
    print(f"Odoo tests on '{db_name}': {total - failed} passed, {failed} failed in {elapsed:.0f}s", flush=True)
    return total - failed, failed, problems


def run_pytest(settings):
    """Run the suites under ``tests/`` with pytest and return ``(passed, failed)``."""
    env = settings.libpq_environment()
    env["AICC_ADDONS_PATH"] = settings.addons_path
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", str(REPO_ROOT / "tests")]
    print(f"$ {shlex.join(command)}", flush=True)
    # The output is streamed as it comes, because the end-to-end part runs for minutes.
    lines = []
    with subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    result = process
    counts = {}
    summary = next((line.strip() for line in reversed(lines) if line.strip()), "")
    for match in PYTEST_COUNT.finditer(summary):
        kind = "errors" if match["kind"].startswith("error") else match["kind"]
        counts[kind] = int(match["count"])
    failed = counts.get("failed", 0) + counts.get("errors", 0)
    # pytest exits with 5 when it collects no test, which is not a failure of the product.
    if result.returncode not in (0, 5) and not failed:
        failed = 1
    return counts.get("passed", 0), failed


def run_linters():
    """Run ruff and pylint-odoo with the repository's configuration and return the number of failed linters."""
    addons = [name for name in ADDONS if (REPO_ROOT / name).is_dir()]
    linters = [
        ("ruff check", [sys.executable, "-m", "ruff", "check", "."]),
        ("ruff format", [sys.executable, "-m", "ruff", "format", "--check", "."]),
        ("pylint-odoo", [sys.executable, "-m", "pylint", "--rcfile=.pylintrc", "--output-format=text", *addons]),
    ]
    failed = 0
    for title, command in linters:
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        status = "clean" if result.returncode == 0 else "FAILED"
        print(f"{title}: {status}", flush=True)
        if result.returncode != 0:
            failed += 1
            print((result.stdout + result.stderr).strip()[-6000:], flush=True)
    return failed


def command_test(options):
    """Run every addon's Odoo tests and the ``tests/`` suite, print a summary and return the exit status."""
    settings = Settings()
    version = check_odoo()
    check_postgresql(settings)
    install_requirements(settings)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    print(f"Testing with Odoo {version} on {settings.db_host}:{settings.db_port}", flush=True)

    passed = failed = 0
    problems = []
    if not options.skip_lint:
        print("\n== Linters", flush=True)
        lint_failed = run_linters()
        passed += 3 - lint_failed
        failed += lint_failed
    # The privacy addon must work without the Meta connector, so it is tested once on its own first.
    phases = [
        ("privacy without Meta", ("ai_calling_crm", "ai_calling_crm_privacy"), ("ai_calling_crm_privacy",)),
        ("all addons", ADDONS, ADDONS),
    ]
    if options.quick:
        phases = phases[1:]
    for index, (title, modules, test_modules) in enumerate(phases, start=1):
        db_name = f"{settings.test_db_name}_{index}"
        print(f"\n== Odoo tests: {title}", flush=True)
        log_path = settings.log_dir / f"odoo-tests-{index}.log"
        phase_passed, phase_failed, phase_problems = run_odoo_tests(settings, db_name, modules, test_modules, log_path)
        passed += phase_passed
        failed += phase_failed
        problems += phase_problems
        if not options.keep_databases:
            drop_database(settings, db_name)

    if not options.skip_pytest:
        print("\n== tests/ suite (pytest)", flush=True)
        suite_passed, suite_failed = run_pytest(settings)
        passed += suite_passed
        failed += suite_failed

    if problems:
        print(f"\n{len(problems)} warning or error lines in Odoo's log (each fails the run):")
        for line in problems[:50]:
            print(f"  {line[:400]}")
        failed += 1 if not failed else 0
    print(f"\n{passed} passed, {failed} failed", flush=True)
    return 0 if not failed and not problems else 1


def command_pot(options):
    """Regenerate each addon's ``i18n/<addon>.pot`` template from a fresh database with the addons installed."""
    settings = Settings()
    check_odoo()
    check_postgresql(settings)
    db_name = f"{settings.test_db_name}_pot"
    drop_database(settings, db_name)
    install = ["-d", db_name, "-i", ",".join(ADDONS), "--stop-after-init", "--no-http", "--log-level=warn"]
    subprocess.run(odoo_command(settings, *install), check=True)
    # The i18n command reads its connection settings and addons path from a configuration file only.
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    config_path = settings.log_dir / "i18n-export.conf"
    config_lines = [
        "[options]",
        f"addons_path = {settings.addons_path}",
        f"db_host = {settings.db_host}",
        f"db_port = {settings.db_port}",
        f"db_user = {settings.db_user}",
        f"db_password = {settings.db_password or 'False'}",
    ]
    config_path.write_text("\n".join(config_lines) + "\n", encoding="utf-8")
    try:
        subprocess.run(
            [sys.executable, "-m", "odoo", "i18n", "export", "-c", str(config_path), "-d", db_name, *ADDONS],
            check=True,
        )
    finally:
        config_path.unlink(missing_ok=True)
        drop_database(settings, db_name)
    print("Exported " + ", ".join(f"{name}/i18n/{name}.pot" for name in ADDONS))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run_parser = commands.add_parser("run", help="Install or update the addons and start the Odoo server.")
    run_parser.add_argument("--demo", action="store_true", help="Load demo data when the database is created.")
    run_parser.add_argument("odoo_args", nargs=argparse.REMAINDER, help="Further options passed to the Odoo server.")

    test_parser = commands.add_parser("test", help="Run all tests on fresh databases and print a summary.")
    test_parser.add_argument("--quick", action="store_true", help="Skip the privacy-without-Meta phase.")
    test_parser.add_argument("--skip-pytest", action="store_true", help="Run only the addons' Odoo tests.")
    test_parser.add_argument("--skip-lint", action="store_true", help="Do not run ruff and pylint-odoo.")
    test_parser.add_argument("--keep-databases", action="store_true", help="Keep the test databases for inspection.")

    commands.add_parser("pot", help="Regenerate the addons' translation templates (i18n/*.pot).")

    options = parser.parse_args(argv)
    try:
        if options.command == "run":
            command_run(options)
            return 0
        if options.command == "pot":
            return command_pot(options)
        return command_test(options)
    except SetupError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"ERROR: '{shlex.join(map(str, error.cmd))}' failed with exit code {error.returncode}", file=sys.stderr)
        return error.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
