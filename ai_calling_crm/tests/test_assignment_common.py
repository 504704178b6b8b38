from odoo.tests import TransactionCase, new_test_user


class AssignmentCase(TransactionCase):
    """Base class for the assignment, duplicate and history tests. It defines no tests itself.

    Fixtures, all in ``cls.company`` (India, so local numbers parse as +91):

    - ``cls.team``: a team with calling assignment rules on, round robin, led by ``cls.leader``, with members
      ``cls.member_1`` to ``cls.member_3`` for counsellors ``cls.counsellor_1`` to ``cls.counsellor_3``;
    - ``cls.manager`` is a sales administrator; the leader and the counsellors see only their own documents.

    Users get inbox notifications, so nothing is sent by email.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.country_in = cls.env.ref("base.in")
        cls.company = cls.env["res.company"].create({"name": "Assignment Institute", "country_id": cls.country_in.id})
        cls.env.user.company_ids |= cls.company
        user_vals = {
            "company_id": cls.company.id,
            "company_ids": [(6, 0, cls.company.ids)],
            "notification_type": "inbox",
            "tz": "Asia/Kolkata",
        }
        context = {"mail_create_nolog": True, "no_reset_password": True}
        cls.manager = new_test_user(
            cls.env, login="assign_manager", groups="sales_team.group_sale_manager", context=context, **user_vals
        )
        cls.leader = new_test_user(
            cls.env, login="assign_leader", groups="sales_team.group_sale_salesman", context=context, **user_vals
        )
        cls.counsellor_1, cls.counsellor_2, cls.counsellor_3 = (
            new_test_user(
                cls.env,
                login=f"assign_counsellor_{index}",
                groups="sales_team.group_sale_salesman",
                context=context,
                **user_vals,
            )
            for index in (1, 2, 3)
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Calling Admissions",
                "sequence": 1,
                "company_id": cls.company.id,
                "user_id": cls.leader.id,
                "use_leads": True,
                "calling_assignment": True,
            }
        )
        cls.member_1, cls.member_2, cls.member_3 = cls.env["crm.team.member"].create(
            [
                {"crm_team_id": cls.team.id, "user_id": user.id}
                for user in (cls.counsellor_1, cls.counsellor_2, cls.counsellor_3)
            ]
        )
        cls.interest_mba, cls.interest_bba = cls.env["crm.lead.interest"].create([{"name": "MBA"}, {"name": "BBA"}])

    @classmethod
    def _create_leads(cls, count=1, env=None, **vals):
        """Create ``count`` unassigned leads of the test company, each with its own phone number."""
        env = env or cls.env
        base_vals = {
            "type": "lead",
            "company_id": cls.company.id,
            "country_id": cls.country_in.id,
            "user_id": False,
        }
        vals_list = []
        for _index in range(count):
            number = cls._next_phone()
            vals_list.append(
                {"name": f"Enquiry {number}", "contact_name": "Priya Sharma", "phone": number, **base_vals, **vals}
            )
        return env["crm.lead"].create(vals_list)

    _phone_counter = 0

    @classmethod
    def _next_phone(cls):
        AssignmentCase._phone_counter += 1
        return f"98{AssignmentCase._phone_counter:08d}"
