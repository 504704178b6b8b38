"""Browser: headless Chromium runs the counsellor and privacy officer tours and takes the docs' screenshots.

Chromium is driven over the DevTools protocol (tests/lib/chromium.py) because Odoo's ``HttpCase.start_tour`` only
works against the server Odoo's own test runner starts, not against this suite's multi-worker server. Screenshots
at desktop and phone widths go to ``docs/screenshots``. A failed tour step leaves a screenshot in
``var/log/e2e-screenshots``.
"""

import pytest

from tests.lib import sample_leads
from tests.lib.chromium import DESKTOP, PHONE, BrowserError, Chromium, find_chromium
from tests.lib.e2e_server import default_log_dir
from tests.lib.odoo_env import REPO_ROOT
from tests.lib.odoo_rpc import OdooClient

from .conftest import COUNSELLOR_PASSWORD, module_installed, require_module, xmlid_to_id
from .test_abuse import MARKUP_NAME

pytestmark = pytest.mark.skipif(
    not find_chromium(),
    reason="Chromium is not installed: install Debian's 'chromium' package (apt-get install chromium) or set "
    "AICC_CHROMIUM to a Chromium executable to run the browser tests",
)

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
FAILURES = default_log_dir() / "e2e-screenshots"
OFFICER_LOGIN = "e2e.privacy.officer"


@pytest.fixture
def browser():
    chromium = Chromium(log_path=default_log_dir() / "e2e-chromium.log").start()
    chromium.set_viewport(DESKTOP)
    yield chromium
    chromium.stop()


def log_in(browser, odoo, client):
    """Give the browser ``client``'s session, as if that user had logged in on the login page."""
    browser.set_cookie("session_id", client.session_id, odoo.url)


def screenshot_both(browser, url, name, ready=".o_action_manager .o_content"):
    """Open ``url`` at desktop and phone widths and save ``docs/screenshots/<name>-desktop.png`` and ``-phone.png``."""
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        browser.set_viewport(viewport)
        browser.navigate(url)
        try:
            browser.wait_for(f"!!document.querySelector({ready!r})", timeout=30)
        except BrowserError:
            browser.screenshot(FAILURES / f"{name}-{label}.png")
            raise
        browser.wait_for("!document.querySelector('.o_loading_indicator, .o_loading')", timeout=15)
        browser.pump(1.0)  # let fonts and images settle
        browser.screenshot(SCREENSHOTS / f"{name}-{label}.png")
    browser.set_viewport(DESKTOP)


def new_lead_for_counsellor(meta, db, admin, team, answers):
    """Bring one lead in through the webhook and return (lead id, login and client of its counsellor)."""
    leadgen_id = meta.publish(answers)
    meta.deliver([leadgen_id])
    meta.wait_processed(db, [leadgen_id], timeout=90)
    lead = admin.search_read("crm.lead", [("meta_leadgen_id", "=", leadgen_id)], ["user_id"])[0]
    assert lead["user_id"], "the lead was not assigned to a counsellor"
    login = team.logins[team.counsellor_ids.index(lead["user_id"][0])]
    return lead["id"], login, OdooClient(meta.odoo.url, meta.odoo.db_name, login, COUNSELLOR_PASSWORD)


def test_counsellor_day_tour(odoo, meta, admin, team, db, browser):
    """A counsellor opens a new lead from the activity menu, sees the call link, logs a call and the next follow-up."""
    answers = {"full_name": "Tour Lead Kavya", "phone_number": "+91 98470 12345", "city": "Thrissur"}
    lead_id, _login, counsellor = new_lead_for_counsellor(meta, db, admin, team, answers)
    log_in(browser, odoo, counsellor)

    browser.run_tour(odoo.url, "ai_calling_crm_counsellor_day", failure_screenshot=FAILURES / "counsellor-day.png")

    lead = admin.search_read("crm.lead", [("id", "=", lead_id)], ["call_count", "next_follow_up_at"])[0]
    assert lead["call_count"] == 1
    assert lead["next_follow_up_at"]
    screenshot_both(browser, f"{odoo.url}/odoo/crm.lead/{lead_id}", "counsellor-lead-after-call")
    screenshot_both(browser, f"{odoo.url}/odoo/crm", "counsellor-pipeline")


def test_privacy_officer_tour(odoo, admin, team, browser):
    """A privacy officer finds a person from a new request, erases their records and sees the audit entry."""
    require_module(admin, "ai_calling_crm_privacy")
    officer_group = xmlid_to_id(admin, "ai_calling_crm_privacy.group_privacy_officer")
    manager_group = xmlid_to_id(admin, "sales_team.group_sale_manager")
    if not admin.search_read("res.users", [("login", "=", OFFICER_LOGIN)], ["id"]):
        admin.call(
            "res.users",
            "create",
            {
                "name": "Farah Khan",
                "login": OFFICER_LOGIN,
                "password": COUNSELLOR_PASSWORD,
                "email": "privacy@example.com",
                "group_ids": [(6, 0, [xmlid_to_id(admin, "base.group_user"), manager_group, officer_group])],
            },
        )
    lead_id = admin.call(
        "crm.lead",
        "create",
        {"name": "Tour Erase Meera inquiry", "contact_name": "Tour Erase Meera", "phone": "+91 90000 22222"},
    )
    officer = OdooClient(odoo.url, odoo.db_name, OFFICER_LOGIN, COUNSELLOR_PASSWORD)
    log_in(browser, odoo, officer)

    browser.run_tour(
        odoo.url,
        "ai_calling_crm_privacy_officer_erasure",
        start_path="/odoo/action-ai_calling_crm_privacy.crm_privacy_request_action",
        failure_screenshot=FAILURES / "privacy-officer.png",
    )

    remaining = admin.search_read(
        "crm.lead", [("id", "=", lead_id)], ["contact_name", "phone"], context={"active_test": False}
    )
    assert not remaining or remaining[0]["contact_name"] != "Tour Erase Meera"
    screenshot_both(browser, f"{odoo.url}/odoo/action-ai_calling_crm_privacy.crm_privacy_audit_log_action", "audit-log")


def test_screenshots(odoo, meta, admin, team, db, browser):
    """Screenshots after the demo leads arrived: a counsellor's lead and pipeline, the administrator's Meta page."""
    leadgen_ids = [
        meta.publish(answers, platform=platform) for _suffix, platform, answers, _e164 in sample_leads.DEMO_LEADS[:5]
    ]
    meta.deliver(leadgen_ids)
    meta.wait_processed(db, leadgen_ids, timeout=90)
    priya = admin.search_read("crm.lead", [("meta_leadgen_id", "=", leadgen_ids[0])], ["user_id"])[0]
    login = team.logins[team.counsellor_ids.index(priya["user_id"][0])]
    log_in(browser, odoo, OdooClient(odoo.url, odoo.db_name, login, COUNSELLOR_PASSWORD))

    screenshot_both(browser, f"{odoo.url}/odoo/crm.lead/{priya['id']}", "lead-from-meta")
    # Without the "Leads" setting, crm stores new leads as opportunities, so they are listed in the pipeline.
    screenshot_both(browser, f"{odoo.url}/odoo/crm?view_type=list", "pipeline-list")
    log_in(browser, odoo, admin)
    screenshot_both(
        browser, f"{odoo.url}/odoo/action-ai_calling_crm_meta.crm_meta_page_action/{meta.page_id}", "meta-page"
    )
    if module_installed(admin, "ai_calling_crm_privacy"):
        screenshot_both(
            browser, f"{odoo.url}/odoo/action-ai_calling_crm_privacy.crm_privacy_consent_action", "consents"
        )


def test_markup_shown_as_text(odoo, meta, admin, db, browser):
    """A lead named with HTML and script shows the markup as text in the form and runs none of it."""
    leadgen_id = meta.publish({"full_name": MARKUP_NAME, "phone_number": "+91 90000 33333"})
    meta.deliver([leadgen_id])
    meta.wait_processed(db, [leadgen_id], timeout=90)
    lead_id = admin.search_read("crm.lead", [("meta_leadgen_id", "=", leadgen_id)], ["id"])[0]["id"]
    log_in(browser, odoo, admin)

    browser.navigate(f"{odoo.url}/odoo/crm.lead/{lead_id}")
    try:
        browser.wait_for("!!document.querySelector('.o_form_view')", timeout=30)
    except BrowserError:
        browser.screenshot(FAILURES / "markup-lead.png")
        raise
    browser.pump(1.0)
    shown_text = browser.evaluate(
        "document.querySelector('.o_form_view').innerText + ' ' + "
        "[...document.querySelectorAll('.o_form_view input')].map(input => input.value).join(' ')"
    )

    assert browser.evaluate("window.__aicc_xss === undefined")
    assert browser.evaluate("document.querySelectorAll('.o_form_view img[src=x]').length") == 0
    assert "<script>" in shown_text
