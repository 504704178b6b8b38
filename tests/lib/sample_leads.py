"""Realistic lead ad submissions for the end-to-end suite and the demo.

Names are kept exactly as people type them (Latin and Devanagari script) and phone numbers come in the formats Indian
users enter: with +91, with a leading 0, with 91 and spaces or dashes, or ten digits alone.
"""

from datetime import UTC, datetime, timedelta

# The lead form used everywhere: Meta's standard questions plus one custom multiple-choice question.
FORM_QUESTIONS = [
    {"key": "full_name", "label": "Full name", "type": "FULL_NAME", "id": "q1"},
    {"key": "email", "label": "Email", "type": "EMAIL", "id": "q2"},
    {"key": "phone_number", "label": "Phone number", "type": "PHONE", "id": "q3"},
    {"key": "city", "label": "City", "type": "CITY", "id": "q4"},
    {"key": "state", "label": "State", "type": "STATE", "id": "q5"},
    {"key": "which_course", "label": "Which course are you interested in?", "type": "CUSTOM", "id": "q6"},
]

# Where each question goes on the lead (crm.meta.form.field targets).
FORM_MAPPING = {
    "full_name": "contact_name",
    "email": "email_from",
    "phone_number": "phone",
    "city": "city",
    "state": "state_id",
    "which_course": "interest_id",
}

# Courses offered by the demo institute: (name, code matched against the "which_course" answers).
INTERESTS = [("BSc Nursing", "bsc-nursing"), ("BCA", "bca"), ("MBA", "mba")]

# Key of the lead form's disclaimer checkbox ("You may contact me about my inquiry").
CONSENT_CHECKBOX_KEY = "contact_consent"

CAMPAIGN_NAME = "Admissions 2027 - Kerala and North India"

# (leadgen id suffix, platform, answers, E.164 number expected after normalisation)
DEMO_LEADS = [
    (
        "01",
        "fb",
        {
            "full_name": "Priya Sharma",
            "email": "priya.sharma@example.com",
            "phone_number": "+91 98765 43210",
            "city": "Pune",
            "state": "Maharashtra",
            "which_course": "bsc_nursing",
        },
        "+919876543210",
    ),
    (
        "02",
        "fb",
        {
            "full_name": "राहुल वर्मा",
            "phone_number": "098390 12345",
            "city": "Lucknow",
            "state": "Uttar Pradesh",
            "which_course": "bca",
        },
        "+919839012345",
    ),
    (
        "03",
        "ig",
        {
            "full_name": "Anjali Nair",
            "email": "anjali.nair@example.in",
            "phone_number": "91-99887-76655",
            "city": "Kochi",
            "state": "Kerala",
            "which_course": "bsc_nursing",
        },
        "+919988776655",
    ),
    (
        "04",
        "fb",
        {
            "full_name": "Mohammed Irfan",
            "email": "irfan.m@example.com",
            "phone_number": "9123456780",
            "city": "Hyderabad",
            "state": "Telangana",
            "which_course": "mba",
        },
        "+919123456780",
    ),
    (
        "05",
        "fb",
        {
            "full_name": "सुनीता देवी",
            "phone_number": "+91 70123 45678",
            "city": "Patna",
            "state": "Bihar",
            "which_course": "bsc_nursing",
        },
        "+917012345678",
    ),
    # Priya again, a day later, typing her number another way: the lead must be marked as a duplicate of the first.
    (
        "06",
        "fb",
        {
            "full_name": "Priya Sharma",
            "email": "priya.sharma@example.com",
            "phone_number": "9876543210",
            "city": "Pune",
            "state": "Maharashtra",
            "which_course": "bsc_nursing",
        },
        "+919876543210",
    ),
]


def graph_lead(leadgen_id, form_id, answers, platform="fb", created_time=None, campaign_name=CAMPAIGN_NAME):
    """Return a lead as Graph's ``GET /{leadgen_id}`` returns it, with ``answers`` as its ``field_data``."""
    created_time = created_time or datetime.now(UTC) - timedelta(seconds=30)
    return {
        "id": str(leadgen_id),
        "created_time": created_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "form_id": str(form_id),
        "ad_id": "23850000000000101",
        "ad_name": "Admissions open - video",
        "adset_id": "23850000000000102",
        "adset_name": "Age 17-24, India",
        "campaign_id": "23850000000000103",
        "campaign_name": campaign_name,
        "is_organic": False,
        "platform": platform,
        "field_data": [{"name": key, "values": [value]} for key, value in answers.items()],
        "custom_disclaimer_responses": [{"checkbox_key": CONSENT_CHECKBOX_KEY, "is_checked": "1"}],
    }


def bulk_answers(index):
    """Return the answers of generated lead number ``index``, with a unique phone number and email."""
    return {
        "full_name": f"Test Lead {index}",
        "email": f"lead{index}@example.com",
        "phone_number": f"+91 9{index:09d}",
        "city": "Bengaluru",
        "state": "Karnataka",
        "which_course": "bca",
    }
