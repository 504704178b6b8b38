from odoo.tests import TransactionCase, new_test_user


class AiCallingCrmCase(TransactionCase):
    """Base class for the addon's tests: one Indian company and one calling team.

    Fixtures, all in ``cls.company`` (country India, so local numbers parse as +91):

    - ``cls.team``: sales team led by ``cls.user_leader``, with ``cls.user_counsellor_1`` and
      ``cls.user_counsellor_2`` as members;
    - ``cls.user_leader`` and the counsellors have only "User: Own Documents Only", and the leader
      can read the team's leads through the team-leader record rule;
    - ``cls.user_manager`` is a sales administrator.

    Users get inbox notifications, so nothing is sent by email.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.country_in = cls.env.ref("base.in")
        cls.company = cls.env["res.company"].create({"name": "Test Institute", "country_id": cls.country_in.id})
        user_vals = {
            "company_id": cls.company.id,
            "company_ids": [(6, 0, cls.company.ids)],
            "notification_type": "inbox",
            "tz": "Asia/Kolkata",
        }
        context = {"mail_create_nolog": True, "no_reset_password": True}
        cls.user_manager = new_test_user(
            cls.env, login="test_aicc_manager", groups="sales_team.group_sale_manager", context=context, **user_vals
        )
        cls.user_leader = new_test_user(
            cls.env, login="test_aicc_leader", groups="sales_team.group_sale_salesman", context=context, **user_vals
        )
        cls.user_counsellor_1 = new_test_user(
            cls.env,
            login="test_aicc_counsellor_1",
            groups="sales_team.group_sale_salesman",
            context=context,
            **user_vals,
        )
        cls.user_counsellor_2 = new_test_user(
            cls.env,
            login="test_aicc_counsellor_2",
            groups="sales_team.group_sale_salesman",
            context=context,
            **user_vals,
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Admissions",
                "company_id": cls.company.id,
                "user_id": cls.user_leader.id,
                "member_ids": [(6, 0, (cls.user_counsellor_1 | cls.user_counsellor_2).ids)],
            }
        )

    @classmethod
    def _create_lead(cls, user=None, **vals):
        """Create a lead of the test team and company, assigned to ``user`` (False for none)."""
        lead_vals = {
            "name": "Enquiry",
            "contact_name": "Priya Sharma",
            "phone": "98123 45678",
            "type": "lead",
            "team_id": cls.team.id,
            "company_id": cls.company.id,
            "user_id": user.id if user else False,
            **vals,
        }
        return cls.env["crm.lead"].create(lead_vals)
