from datetime import datetime

from freezegun import freeze_time

from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..tools.meta_graph import appsecret_proof
from .common import APP_SECRET, FORM_ID, PAGE_TOKEN, MetaTestMixin
from .fake_graph import make_lead

FORM_LOGGER = "odoo.addons.ai_calling_crm_meta.models.crm_meta_form"
EVENT_LOGGER = "odoo.addons.ai_calling_crm_meta.models.crm_meta_lead_event"


@tagged("post_install", "-at_install", "ai_calling_crm_meta", "ai_calling_crm_meta_processing")
class TestProcessing(MetaTestMixin, TransactionCase):
    """From stored event to lead, against the fake Graph server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_meta()
        cls.nursing = cls.env["crm.lead.interest"].create({"name": "BSc Nursing", "code": "bsc-nursing"})

    def process(self, *leadgen_ids):
        events = self.store_events(*leadgen_ids)
        events._process()
        return events

    def test_graph_request_signed(self):
        """The lead is read with the page token, appsecret_proof and the explicit fields list."""
        self.add_graph_lead("800001")
        self.process("800001")
        request = self.fake.requests_to("/800001")[0]
        self.assertEqual(request["path"], "/v26.0/800001")
        self.assertEqual(request["params"]["access_token"], PAGE_TOKEN)
        self.assertEqual(request["params"]["appsecret_proof"], appsecret_proof(APP_SECRET, PAGE_TOKEN))
        self.assertEqual(
            set(request["params"]["fields"].split(",")),
            {
                "created_time",
                "id",
                "ad_id",
                "ad_name",
                "adset_id",
                "adset_name",
                "campaign_id",
                "campaign_name",
                "form_id",
                "field_data",
                "is_organic",
                "platform",
                "custom_disclaimer_responses",
            },
        )

    def test_complete_lead(self):
        """Every Meta detail reaches the lead: ids, ad, campaign, time, platform, answers and disclaimers."""
        disclaimers = [{"checkbox_key": "consent_calls", "is_checked": "1"}]
        self.add_graph_lead(
            "800002",
            created_time=self.graph_time(2026, 12, 4, 10, 30),
            custom_disclaimer_responses=disclaimers,
            field_data=[
                {"name": "full_name", "values": ["Ravi Kumar"]},
                {"name": "email", "values": ["ravi@example.com"]},
                {"name": "phone_number", "values": ["+91 98765 43210"]},
                {"name": "city", "values": ["Kochi"]},
                {"name": "course", "values": ["bsc_nursing"]},
                {"name": "preferred_batches", "values": ["Morning", "Weekend"]},
                {"name": "optional_note", "values": []},
            ],
        )
        event = self.process("800002")
        self.assertEqual(event.state, "done")
        lead = event.lead_id
        self.assertEqual(lead.contact_name, "Ravi Kumar")
        self.assertEqual(lead.email_from, "ravi@example.com")
        self.assertEqual(lead.phone, "+919876543210")
        self.assertEqual(lead.city, "Kochi")
        self.assertEqual(lead.interest_id, self.nursing)
        self.assertEqual(lead.team_id, self.team)
        self.assertEqual(lead.meta_leadgen_id, "800002")
        self.assertEqual(lead.meta_page_id, "1001")
        self.assertEqual(lead.meta_form_id, FORM_ID)
        self.assertEqual(lead.meta_ad_id, "6001")
        self.assertEqual(lead.meta_adset_name, "Kerala 18-24")
        self.assertEqual(lead.meta_campaign_name, "BSc Nursing 2027")
        self.assertEqual(lead.campaign_id.title, "BSc Nursing 2027")
        self.assertEqual(lead.source_id, self.env.ref("utm.utm_source_facebook"))
        self.assertEqual(lead.medium_id, self.env.ref("ai_calling_crm_meta.utm_medium_meta_paid"))
        self.assertEqual(lead.meta_platform, "fb")
        self.assertFalse(lead.meta_is_organic)
        self.assertEqual(lead.meta_created_time, datetime(2026, 12, 4, 10, 30))
        self.assertEqual(lead.meta_disclaimer_responses, disclaimers)
        answers = {answer.question_key: answer for answer in lead.form_answer_ids}
        self.assertEqual(len(answers), 7)
        self.assertEqual(answers["preferred_batches"].answer, "Morning\nWeekend")
        self.assertFalse(answers["optional_note"].answer)
        self.assertEqual(answers["phone_number"].answer, "+91 98765 43210")
        self.assertEqual(answers["full_name"].question_label, "Full name")
        self.assertEqual(set(lead.form_answer_ids.mapped("source")), {"meta"})

    def test_names_in_indian_scripts(self):
        """Devanagari and Tamil names are kept exactly as written."""
        names = {"800010": "अनुष्का शर्मा", "800011": "கார்த்திக் சுப்பிரமணியன்", "800012": "Zoë D'Souza-Nair"}
        for leadgen_id, name in names.items():
            self.add_graph_lead(leadgen_id, field_data=[{"name": "full_name", "values": [name]}])
        events = self.process(*names)
        for event in events:
            with self.subTest(name=names[event.leadgen_id]):
                self.assertEqual(event.lead_id.contact_name, names[event.leadgen_id])
                self.assertIn(names[event.leadgen_id], event.lead_id.name)

    def test_phone_formats(self):
        """Indian numbers in any common format become E.164; unreadable ones are kept as written."""
        numbers = {
            "+91 98765 43210": "+919876543210",
            "098765-43210": "+919876543210",
            "91 98765 43210": "+919876543210",
            "9876543210": "+919876543210",
            "0091-98765-43210": "+919876543210",
            "(+91) 98765 43210": "+919876543210",
            "+1 650 555 0100": "+16505550100",
            "12345": "12345",
            "call me": "call me",
        }
        for index, number in enumerate(numbers):
            self.add_graph_lead(f"80002{index}", field_data=[{"name": "phone_number", "values": [number]}])
        events = self.process(*(f"80002{index}" for index in range(len(numbers))))
        for index, (number, expected) in enumerate(numbers.items()):
            event = events.filtered(lambda e, i=index: e.leadgen_id == f"80002{i}")
            with self.subTest(number=number):
                self.assertEqual(event.lead_id.phone, expected)
                self.assertEqual(event.lead_id.form_answer_ids.answer, number)

    def test_missing_email_and_split_names(self):
        """A lead without email gets a lead all the same; first and last names are joined."""
        self.add_graph_lead(
            "800030",
            field_data=[
                {"name": "first_name", "values": ["Meena"]},
                {"name": "last_name", "values": ["Iyer"]},
                {"name": "phone_number", "values": ["9876543211"]},
            ],
        )
        lead = self.process("800030").lead_id
        self.assertEqual(lead.contact_name, "Meena Iyer")
        self.assertFalse(lead.email_from)
        self.assertEqual(lead.phone, "+919876543211")

    def test_state_and_country_resolved(self):
        """State and country names become Odoo records; unknown ones land in the notes."""
        kerala = self.env["res.country.state"].search([("country_id", "=", self.india.id), ("name", "=", "Kerala")])
        self.add_graph_lead(
            "800040",
            field_data=[{"name": "state", "values": ["kerala"]}, {"name": "country", "values": ["India"]}],
        )
        self.add_graph_lead(
            "800041",
            field_data=[{"name": "state", "values": ["Atlantis"]}, {"name": "country", "values": ["IN"]}],
        )
        events = self.process("800040", "800041")
        known, unknown = events.sorted("leadgen_id").lead_id
        self.assertEqual(known.state_id, kerala)
        self.assertEqual(known.country_id, self.india)
        self.assertFalse(unknown.state_id)
        self.assertEqual(unknown.country_id, self.india)
        self.assertIn("Atlantis", unknown.description)

    def test_instagram_and_organic(self):
        """Instagram leads get the Instagram source; organic leads the organic medium and no campaign."""
        self.add_graph_lead("800050", platform="ig")
        self.add_graph_lead(
            "800051", is_organic=True, ad_id=None, adset_id=None, campaign_id=None, campaign_name=None, ad_name=None
        )
        events = self.process("800050", "800051")
        instagram, organic = events.sorted("leadgen_id").lead_id
        self.assertEqual(instagram.meta_platform, "ig")
        self.assertEqual(instagram.source_id, self.env.ref("ai_calling_crm_meta.utm_source_instagram"))
        self.assertTrue(organic.meta_is_organic)
        self.assertEqual(organic.medium_id, self.env.ref("ai_calling_crm_meta.utm_medium_meta_organic"))
        self.assertFalse(organic.campaign_id)
        self.assertFalse(organic.meta_ad_id)

    def test_unknown_form_fetched(self):
        """A lead of a form Odoo has not seen fetches the form and maps its standard questions by default."""
        self.fake.add_form("2999", "1001", name="New course form")
        self.add_graph_lead("800060", form_id="2999")
        event = self.process("800060")
        self.assertEqual(event.form_id.name, "New course form")
        self.assertEqual(event.form_id.field_ids.filtered(lambda f: f.question_key == "phone_number").target, "phone")
        self.assertEqual(event.lead_id.phone, "+919876543210")

    @mute_logger(FORM_LOGGER)
    def test_unreadable_form_uses_defaults(self):
        """When Graph cannot return the form, the lead is still created with the default mapping."""
        self.add_graph_lead("800061", form_id="2998")
        self.fake.add_failure(code=10, path="/2998")
        event = self.process("800061")
        self.assertEqual(event.state, "done")
        self.assertEqual(event.form_id.meta_form_id, "2998")
        self.assertEqual(event.lead_id.email_from, "lead800061@example.com")

    def test_out_of_order_events(self):
        """Events processed in another order than the leads were submitted give one lead each."""
        for leadgen_id, hour in (("800072", 9), ("800070", 11), ("800071", 10)):
            self.add_graph_lead(leadgen_id, created_time=self.graph_time(2026, 12, 4, hour))
        events = self.process("800072", "800070", "800071")
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(len(events.lead_id), 3)
        self.assertEqual(events.filtered(lambda e: e.leadgen_id == "800070").lead_id.meta_created_time.hour, 11)

    def test_existing_lead_linked(self):
        """An event whose lead already exists (e.g. imported by hand) is linked to it, not duplicated."""
        lead = self.env["crm.lead"].create({"name": "Existing", "meta_leadgen_id": "800080"})
        self.add_graph_lead("800080")
        event = self.process("800080")
        self.assertEqual(event.lead_id, lead)
        self.assertEqual(self.env["crm.lead"].search_count([("meta_leadgen_id", "=", "800080")]), 1)

    @freeze_time("2026-12-04 10:00:00")
    def test_first_call_follow_up(self):
        """The first call is due the app's number of minutes after the lead arrives."""
        self.app.follow_up_minutes = 7
        self.add_graph_lead("800090")
        lead = self.process("800090").lead_id
        activity = lead.activity_ids
        self.assertEqual(len(activity), 1)
        if "call_due_at" in activity._fields:
            self.assertEqual(activity.call_due_at, datetime(2026, 12, 4, 10, 7))
        self.assertEqual(activity.date_deadline.isoformat(), "2026-12-04")

    def test_cron_processes_batches(self):
        """The scheduled job processes every ready event and commits progress."""
        for index in range(60):
            self.add_graph_lead(f"81{index:04d}")
        events = self.store_events(*(f"81{index:04d}" for index in range(60)))
        with self.enter_registry_test_mode():
            self.env.ref("ai_calling_crm_meta.ir_cron_meta_lead_process").method_direct_trigger()
        self.env.invalidate_all()
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(len(events.lead_id), 60)

    def test_store_query_count_flat(self):
        """Storing 50 webhook changes takes as many queries as storing one: one INSERT for the whole delivery."""
        self.store_events("819999")  # warms the caches the first call fills
        self.env.flush_all()
        before = self.cr.sql_log_count
        self.store_events("820000")
        one = self.cr.sql_log_count - before
        before = self.cr.sql_log_count
        self.store_events(*(f"82{index:04d}" for index in range(1, 51)))
        fifty = self.cr.sql_log_count - before
        self.assertEqual(fifty, one)

    @mute_logger(EVENT_LOGGER)
    def test_unknown_page_fails(self):
        """An event for a page that is not configured fails with a message saying what to add."""
        self.Event._store_webhook_changes(self.app, [{"leadgen_id": "800100", "page_id": "7777"}])
        event = self.Event.search([("leadgen_id", "=", "800100")])
        event._process()
        self.assertEqual(event.state, "failed")
        self.assertIn("7777", event.last_error)

    def test_backfill_payload_not_fetched_again(self):
        """An event stored by the backfill already contains the lead, so no second Graph call is made."""
        self.Event._store_backfill_lead(self.form, make_lead("800110", FORM_ID))
        event = self.Event.search([("leadgen_id", "=", "800110")])
        event._process()
        self.assertEqual(event.state, "done")
        self.assertFalse(self.fake.requests_to("/800110"))
