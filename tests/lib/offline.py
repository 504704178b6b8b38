"""Keep a demo or test database from contacting Odoo's online services.

Odoo's crm installs ``crm_iap_enrich`` and ``partner_autocomplete`` automatically. The web client then asks the server
to enrich the company and leads, which sends requests to iap-services.odoo.com and partner-autocomplete.odoo.com, and
``mail`` sends a weekly update notification to Odoo's servers. The suite and the demo must only talk to 127.0.0.1, so
this turns those jobs off and points the service URLs at a closed local port (9, the discard port).
"""

import os

import psycopg2

CLOSED_LOCAL_URL = "http://127.0.0.1:9"
# ir.config_parameter keys Odoo 19 reads for the URLs of its paid online services.
SERVICE_URL_PARAMETERS = ("iap.endpoint", "enrich.endpoint", "iap.partner_autocomplete.endpoint", "sms.endpoint")
# Scheduled jobs that call Odoo's online services: (module, XML id).
ONLINE_CRONS = (("crm_iap_enrich", "ir_cron_lead_enrichment"), ("mail", "ir_cron_module_update_notification"))


def keep_offline(db_name):
    """Disable the online-service jobs of ``db_name`` and point its service URLs at a closed local port."""
    connection = psycopg2.connect(
        dbname=db_name,
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "root"),
        password=os.environ.get("PGPASSWORD") or None,
    )
    try:
        with connection, connection.cursor() as cr:
            for module, name in ONLINE_CRONS:
                cr.execute(
                    "UPDATE ir_cron SET active = false WHERE id IN (SELECT res_id FROM ir_model_data"
                    " WHERE module = %s AND name = %s AND model = 'ir.cron')",
                    (module, name),
                )
            for key in SERVICE_URL_PARAMETERS:
                cr.execute(
                    "INSERT INTO ir_config_parameter (key, value, create_date, write_date)"
                    " VALUES (%s, %s, now(), now()) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (key, CLOSED_LOCAL_URL),
                )
            cr.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = 'res_company'"
                " AND column_name = 'iap_enrich_auto_done'"
            )
            if cr.fetchone():
                cr.execute("UPDATE res_company SET iap_enrich_auto_done = true")
    finally:
        connection.close()
