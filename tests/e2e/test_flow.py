"""The main job over real HTTP: a lead ad submission becomes a complete, assigned lead with a first-call follow-up.

Each test sends signed webhook deliveries to the running multi-worker server, lets its cron worker fetch the leads from
the fake Graph API, and reads the result back as the administrator would.
"""

import time

import requests

from tests.lib import meta_webhook, sample_leads

from .conftest import APP_SECRET, META_FORM_ID, META_PAGE_ID, PAGE_TOKEN, VERIFY_TOKEN, module_installed

LEAD_FIELDS = [
    "contact_name",
    "email_from",
    "phone",
    "city",
    "state_id",
    "interest_id",
    "source_id",
    "medium_id",
    "campaign_id",
    "team_id",
    "user_id",
    "meta_leadgen_id",
    "meta_page_id",
    "meta_form_id",
    "meta_platform",
    "meta_campaign_name",
    "duplicate_of_id",
    "next_follow_up_at",
    "activity_ids",
]


def read_lead(admin, leadgen_id):
    domain = [("meta_leadgen_id", "=", leadgen_id)]
    leads = admin.search_read("crm.lead", domain, LEAD_FIELDS, context={"active_test": False})
    assert len(leads) == 1, f"expected one lead for leadgen id {leadgen_id}, found {len(leads)}"
    return leads[0]


def demo_answers(suffix):
    return next(lead for lead in sample_leads.DEMO_LEADS if lead[0] == suffix)


def test_handshake(odoo, meta):
    """Meta's subscription handshake gets the exact challenge back only with the right verify token."""
    url = f"{odoo.url}{meta_webhook.WEBHOOK_PATH}"
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

    accepted = requests.get(url, params=params, timeout=10)
    rejected = requests.get(url, params={**params, "hub.verify_token": "guess"}, timeout=10)

    assert accepted.status_code == 200
    assert accepted.text == "1158201444"
    assert rejected.status_code == 403
    assert "1158201444" not in rejected.text


def test_lead_flow(odoo, meta, admin, team, db):
    """A signed delivery is acknowledged at once, then the cron worker turns it into a complete, assigned lead.

    Checks the mapped answers, the E.164 phone, UTM source and campaign, the team and counsellor chosen by the rules,
    the first-call follow-up, the Graph call's token and appsecret_proof, and the consent from the ticked disclaimer.
    """
    log_start = odoo.log_size()
    _suffix, platform, answers, e164 = demo_answers("01")
    leadgen_id = meta.publish(answers, platform=platform)

    started = time.monotonic()
    response = meta.deliver([leadgen_id])
    ack_seconds = time.monotonic() - started

    assert response.status_code == 200, response.text
    assert ack_seconds < 5, f"acknowledgement took {ack_seconds:.2f} s"
    counts = meta.wait_processed(db, [leadgen_id], timeout=90)
    assert counts == {leadgen_id: 1}

    lead = read_lead(admin, leadgen_id)
    assert lead["contact_name"] == "Priya Sharma"
    assert lead["email_from"] == "priya.sharma@example.com"
    assert lead["phone"] == e164
    assert lead["city"] == "Pune"
    assert lead["state_id"] and lead["state_id"][1].startswith("Maharashtra")
    assert lead["interest_id"] and lead["interest_id"][0] == team.interest_ids["bsc-nursing"]
    assert lead["source_id"] and lead["source_id"][1] == "Facebook"
    assert lead["campaign_id"] and lead["campaign_id"][1] == sample_leads.CAMPAIGN_NAME
    assert lead["meta_platform"] == "fb"
    assert lead["meta_page_id"] == META_PAGE_ID
    assert lead["meta_form_id"] == META_FORM_ID
    assert lead["team_id"] and lead["team_id"][0] == team.team_id
    assert lead["user_id"] and lead["user_id"][0] in team.counsellor_ids
    assert lead["next_follow_up_at"], "no first-call follow-up scheduled"
    activities = admin.search_read(
        "mail.activity", [("res_model", "=", "crm.lead"), ("res_id", "=", lead["id"])], ["user_id", "call_due_at"]
    )
    assert any(activity["user_id"] == lead["user_id"] for activity in activities), activities

    graph_calls = [request for request in meta.fake.requests if request["path"].endswith(f"/{leadgen_id}")]
    assert graph_calls, "the lead was never fetched from Graph"
    assert graph_calls[0]["params"]["access_token"] == PAGE_TOKEN
    assert graph_calls[0]["params"].get("appsecret_proof")
    assert "field_data" in graph_calls[0]["params"]["fields"].split(",")

    if module_installed(admin, "ai_calling_crm_privacy"):
        consents = admin.search_read(
            "crm.privacy.consent",
            [("lead_id", "=", lead["id"])],
            ["status", "source", "meta_leadgen_id", "meta_checkbox_key"],
        )
        assert consents, "the ticked disclaimer produced no consent record"
        assert consents[0]["status"] == "given"
        assert consents[0]["meta_checkbox_key"] == sample_leads.CONSENT_CHECKBOX_KEY

    assert odoo.log_problems(since=log_start) == []


def test_scripts_and_instagram(meta, admin, db):
    """Devanagari names are kept exactly as typed, odd phone formats become E.164, Instagram is the source."""
    published = {}
    for suffix in ("02", "03", "05"):
        _suffix, platform, answers, e164 = demo_answers(suffix)
        published[meta.publish(answers, platform=platform)] = (platform, answers, e164)

    response = meta.deliver(list(published))

    assert response.status_code == 200, response.text
    counts = meta.wait_processed(db, list(published), timeout=90)
    assert counts == dict.fromkeys(published, 1)
    for leadgen_id, (platform, answers, e164) in published.items():
        lead = read_lead(admin, leadgen_id)
        assert lead["contact_name"] == answers["full_name"]
        assert lead["phone"] == e164
        assert lead["meta_platform"] == platform
        expected_source = "Instagram" if platform == "ig" else "Facebook"
        assert lead["source_id"] and lead["source_id"][1] == expected_source


def test_repeat_submission(meta, admin, db):
    """A second submission by the same person, number typed differently, is a duplicate for the same counsellor."""
    # A person no other test submits, so the first submission is an original and not itself a duplicate.
    answers = {"full_name": "Deepa Iyer", "email": "deepa.iyer@example.org", "phone_number": "+91 94440 55555"}
    first = meta.publish(answers)
    repeat_answers = dict(answers, phone_number="094440-55555")
    meta.deliver([first])
    meta.wait_processed(db, [first], timeout=90)

    repeat = meta.publish(repeat_answers)
    meta.deliver([repeat])
    meta.wait_processed(db, [repeat], timeout=90)

    original = read_lead(admin, first)
    duplicate = read_lead(admin, repeat)
    assert duplicate["duplicate_of_id"] and duplicate["duplicate_of_id"][0] == original["id"]
    assert duplicate["user_id"] == original["user_id"]


def test_repeated_delivery(meta, db):
    """The same delivery sent three times, and one batch naming a lead twice, still make one lead each."""
    leadgen_ids = meta.publish_bulk(3)
    body = meta.body([*leadgen_ids, leadgen_ids[0]])

    statuses = [meta_webhook.post_delivery(meta.odoo.url, body, APP_SECRET).status_code for _attempt in range(3)]

    assert statuses == [200, 200, 200]
    assert meta.wait_processed(db, leadgen_ids, timeout=90) == dict.fromkeys(leadgen_ids, 1)
