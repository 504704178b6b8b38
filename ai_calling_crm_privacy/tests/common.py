from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase


class PrivacyCommon(TransactionCase):
    """Base for the privacy tests: an Indian company, two counsellors, a privacy officer and a person helper.

    Users get their notifications in Odoo (``inbox``) so that no test queues outgoing mail by accident.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, mail_create_nolog=True, no_reset_password=True))
        cls.country_in = cls.env.ref("base.in")
        cls.company = cls.env["res.company"].create({"name": "Privacy Test Institute", "country_id": cls.country_in.id})
        user_vals = {
            "company_id": cls.company.id,
            "company_ids": [(6, 0, cls.company.ids)],
            "notification_type": "inbox",
        }
        cls.counsellor_1 = new_test_user(
            cls.env, login="privacy_counsellor_1", groups="sales_team.group_sale_salesman", **user_vals
        )
        cls.counsellor_2 = new_test_user(
            cls.env, login="privacy_counsellor_2", groups="sales_team.group_sale_salesman", **user_vals
        )
        cls.officer = new_test_user(
            cls.env,
            login="privacy_officer",
            groups="sales_team.group_sale_salesman,ai_calling_crm_privacy.group_privacy_officer",
            **user_vals,
        )
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=cls.company.ids))

    @classmethod
    def _create_lead(cls, name, email=None, phone=None, user=None, **values):
        return cls.env["crm.lead"].create(
            {
                "name": f"Inquiry from {name}",
                "contact_name": name,
                "email_from": email,
                "phone": phone,
                "country_id": cls.country_in.id,
                "company_id": cls.company.id,
                "user_id": user.id if user else False,
                **values,
            }
        )
