{
    "name": "AI Calling CRM",
    "summary": "Calling-first CRM: call logging, outcomes, follow-ups, "
    "assignment rules and duplicate handling for lead-calling teams",
    "version": "19.0.1.0.0",
    "category": "Sales/CRM",
    "license": "LGPL-3",
    "author": "AI Calling CRM",
    "website": "https://github.com/ai-calling-crm/ai-calling-crm",
    "development_status": "Beta",
    "maintainers": ["ai-calling-crm"],
    "depends": [
        "crm",
        "mail",
        "phone_validation",
        "resource",
        "sales_team",
        "utm",
    ],
    "external_dependencies": {"python": ["phonenumbers"]},
    "data": [
        "security/ai_calling_crm_security.xml",
        "security/ir.model.access.csv",
        "views/crm_lead_interest_views.xml",
        "views/crm_lead_views.xml",
        "views/ai_calling_crm_menus.xml",
    ],
    "demo": [
        "demo/res_users_demo.xml",
        "demo/crm_team_demo.xml",
    ],
    "installable": True,
    "application": False,
}
