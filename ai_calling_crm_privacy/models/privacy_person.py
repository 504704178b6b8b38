import csv
import io
import json
import logging
import zipfile
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL, email_normalize

_logger = logging.getLogger(__name__)

# Phone numbers are compared on their last digits so that "+91 98765 43210", "098765-43210" and "9876543210" match.
# Ten digits is the length of an Indian mobile number without its country code; shorter keys match too many numbers.
PHONE_KEY_DIGITS = 10
MIN_PHONE_DIGITS = 8
# A request identified by name only is matched against leads created this many days around its submission date.
NAME_MATCH_WINDOW_DAYS = 7

# Field types whose stored values can hold free text about the person.
TEXT_FIELD_TYPES = ("char", "text", "html", "json", "properties")


class CrmPrivacyPerson(models.AbstractModel):
    """Find, export and erase everything stored about one person, identified by name, email and phone.

    The three operations share one map of where personal data lives (``_find_records``), so that what an export
    shows is exactly what an erasure removes. Every method runs as superuser on purpose: callers check that the
    user is a privacy officer first.
    """

    _name = "crm.privacy.person"
    _description = "Privacy: Person Data Map"

    # ------------------------------------------------------------
    # Identifiers
    # ------------------------------------------------------------
    @api.model
    def _normalise_identifiers(self, name=None, email=None, phone=None):
        """Return a dict with the normalised ``name``, ``email`` and ``phone_key`` (last digits of the phone)."""
        digits = "".join(char for char in phone or "" if char.isdigit())
        if digits and len(digits) < MIN_PHONE_DIGITS:
            raise UserError(
                self.env._(
                    "The phone number %(phone)s has fewer than %(count)s digits; enter the full number.",
                    phone=phone,
                    count=MIN_PHONE_DIGITS,
                )
            )
        normalised = {
            "name": " ".join((name or "").split()) or False,
            "email": email and (email_normalize(email) or email.strip().lower()) or False,
            "phone_key": digits[-PHONE_KEY_DIGITS:] or False,
        }
        if not normalised["email"] and not normalised["phone_key"] and not normalised["name"]:
            raise UserError(self.env._("Give at least a name, an email or a phone number to identify the person."))
        return normalised

    # ------------------------------------------------------------
    # Finding records
    # ------------------------------------------------------------
    @api.model
    def _find_records(self, identifiers, submission_date=None, excluded=None):
        """Return an ordered dict ``{model name: recordset}`` of every record holding the person's data.

        Contacts match on email or phone. Leads match on email, phone, second phone or a matched contact. When
        neither email nor phone is known, leads match on the exact name if they were created within
        ``NAME_MATCH_WINDOW_DAYS`` of ``submission_date``. Everything else follows from those: calls, chatter
        messages, form answers, Meta events, consents, attachments, activities, queued mail and blacklist entries.
        ``excluded`` maps model names to ids the officer left out; records found only through them are left out too.
        """
        excluded = excluded or {}
        env = self.env(su=True, context=dict(self.env.context, active_test=False))
        email, phone_key = identifiers["email"], identifiers["phone_key"]
        found = {}

        partner_domain = Domain.FALSE
        if email:
            partner_domain |= Domain("email_normalized", "=", email)
        if phone_key:
            partner_ids = self._ids_matching_phone("res.partner", ["phone", "phone_sanitized"], phone_key)
            partner_domain |= Domain("id", "in", partner_ids)
        partners = env["res.partner"].search(partner_domain & Domain("id", "not in", excluded.get("res.partner", [])))
        found["res.partner"] = partners

        lead_domain = Domain.FALSE
        if email:
            lead_domain |= Domain("email_normalized", "=", email)
        if phone_key:
            lead_ids = self._ids_matching_phone("crm.lead", ["phone", "phone_sanitized", "second_phone"], phone_key)
            lead_domain |= Domain("id", "in", lead_ids)
        if partners:
            lead_domain |= Domain("partner_id", "in", partners.ids)
        if not email and not phone_key and identifiers["name"]:
            lead_domain |= self._get_name_domain(identifiers["name"], submission_date)
        lead_domain &= Domain("id", "not in", excluded.get("crm.lead", []))
        leads = found["crm.lead"] = env["crm.lead"].search(lead_domain)

        calls = self._find_calls(env, leads, partners, phone_key)
        found["crm.call"] = calls and calls.filtered(lambda call: call.id not in excluded.get("crm.call", []))
        found["crm.lead.form.answer"] = env["crm.lead.form.answer"].search([("lead_id", "in", leads.ids)])
        if "crm.lead.assignment" in env:
            found["crm.lead.assignment"] = env["crm.lead.assignment"].search([("lead_id", "in", leads.ids)])
        found["crm.meta.lead.event"] = self._find_meta_events(env, leads)
        found["crm.privacy.consent"] = env["crm.privacy.consent"].search(
            ["|", ("lead_id", "in", leads.ids), ("partner_id", "in", partners.ids)]
        )
        found["crm.privacy.request"] = self._find_requests(env, identifiers)

        documents = self._get_documents(found)
        found["mail.message"] = self._find_messages(env, documents, partners, email)
        found["mail.activity"] = env["mail.activity"].search(self._get_document_domain(documents))
        if "mail.scheduled.message" in env:
            found["mail.scheduled.message"] = env["mail.scheduled.message"].search(
                self._get_document_domain(documents, model_field="model")
            )
        found["mail.mail"] = self._find_queued_mail(env, found["mail.message"], email)
        found["sms.sms"] = self._find_sms(env, found["mail.message"], partners, phone_key)
        found["ir.attachment"] = self._find_attachments(env, documents, found)
        found["mail.followers"] = env["mail.followers"].search([("partner_id", "in", partners.ids)])
        found["mail.blacklist"] = env["mail.blacklist"].search(Domain("email", "=", email) if email else Domain.FALSE)
        found["phone.blacklist"] = env["phone.blacklist"].browse(
            self._ids_matching_phone("phone.blacklist", ["number"], phone_key) if phone_key else []
        )
        return {model: records for model, records in found.items() if records is not None}

    def _ids_matching_phone(self, model_name, columns, phone_key):
        """Return ids of ``model_name`` whose digits in any of ``columns`` end with ``phone_key``."""
        model = self.env[model_name]
        model.flush_model(columns)
        conditions = SQL(" OR ").join(
            SQL("regexp_replace(%s, '[^0-9]', '', 'g') LIKE %s", SQL.identifier(column), f"%{phone_key}")
            for column in columns
        )
        self.env.cr.execute(SQL("SELECT id FROM %s WHERE %s", SQL.identifier(model._table), conditions))
        return [row[0] for row in self.env.cr.fetchall()]

    def _get_name_domain(self, name, submission_date):
        # NOTE: only exact names match, so a lead typed as "Meera  Iyer " or "M. Iyer" is not found by name alone.
        domain = Domain("contact_name", "=ilike", name) | Domain("partner_name", "=ilike", name)
        if submission_date:
            window = timedelta(days=NAME_MATCH_WINDOW_DAYS)
            start = fields.Datetime.to_datetime(submission_date) - window
            end = fields.Datetime.to_datetime(submission_date) + window
            domain &= Domain("create_date", ">=", start) & Domain("create_date", "<=", end)
        return domain

    def _find_calls(self, env, leads, partners, phone_key):
        if "crm.call" not in env:
            return None
        domain = Domain("lead_id", "in", leads.ids) | Domain("partner_id", "in", partners.ids)
        if phone_key:
            domain |= Domain("id", "in", self._ids_matching_phone("crm.call", ["phone_number"], phone_key))
        return env["crm.call"].search(domain)

    def _find_meta_events(self, env, leads):
        if "crm.meta.lead.event" not in env:
            return None
        domain = Domain("lead_id", "in", leads.ids)
        if "meta_leadgen_id" in leads._fields:
            leadgen_ids = [leadgen_id for leadgen_id in leads.mapped("meta_leadgen_id") if leadgen_id]
            if leadgen_ids:
                domain |= Domain("leadgen_id", "in", leadgen_ids)
        return env["crm.meta.lead.event"].search(domain)

    def _find_requests(self, env, identifiers):
        domain = Domain.FALSE
        if identifiers["email"]:
            domain |= Domain("requester_email", "=ilike", identifiers["email"])
        if identifiers["phone_key"]:
            request_ids = self._ids_matching_phone("crm.privacy.request", ["requester_phone"], identifiers["phone_key"])
            domain |= Domain("id", "in", request_ids)
        return env["crm.privacy.request"].search(domain)

    def _get_documents(self, found):
        """Return ``{model name: ids}`` of the records whose chatter, activities and attachments are the person's."""
        documents = {}
        for model_name in ("crm.lead", "res.partner", "crm.call", "crm.meta.lead.event", "crm.privacy.request"):
            records = found.get(model_name)
            if records:
                documents[model_name] = records.ids
        return documents

    def _get_document_domain(self, documents, model_field="res_model"):
        domains = [
            Domain(model_field, "=", model_name) & Domain("res_id", "in", ids) for model_name, ids in documents.items()
        ]
        return Domain.OR(domains) if domains else Domain.FALSE

    def _find_messages(self, env, documents, partners, email):
        domain = self._get_document_domain(documents, model_field="model")
        if partners:
            domain |= Domain("author_id", "in", partners.ids)
        if email:
            domain |= Domain("email_from", "ilike", email)
        return env["mail.message"].search(domain)

    def _find_queued_mail(self, env, messages, email):
        domain = Domain("mail_message_id", "in", messages.ids)
        if email:
            domain |= Domain("email_to", "ilike", email)
        return env["mail.mail"].search(domain)

    def _find_sms(self, env, messages, partners, phone_key):
        if "sms.sms" not in env:
            return None
        domain = Domain("mail_message_id", "in", messages.ids) | Domain("partner_id", "in", partners.ids)
        if phone_key:
            domain |= Domain("id", "in", self._ids_matching_phone("sms.sms", ["number"], phone_key))
        return env["sms.sms"].search(domain)

    def _find_attachments(self, env, documents, found):
        domain = self._get_document_domain(documents)
        message_attachments = found["mail.message"].attachment_ids
        if message_attachments:
            domain |= Domain("id", "in", message_attachments.ids)
        calls = found.get("crm.call")
        if calls:
            domain |= Domain("id", "in", calls.recording_attachment_id.ids)
        return env["ir.attachment"].search(domain)

    # ------------------------------------------------------------
    # Export
    # ------------------------------------------------------------
    @api.model
    def _export(self, found):
        """Return the bytes of a zip archive with everything in ``found``.

        The archive contains ``data.json`` (all records of all kinds), one CSV file per kind of data, and the files of
        the attachments under ``attachments/``. Binary fields other than attachment contents are left out.
        """
        buffer = io.BytesIO()
        data = {}
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for model_name, records in found.items():
                if not records:
                    continue
                field_names = self._get_export_fields(records)
                rows = [self._prepare_export_row(row) for row in records.sudo().read(field_names)]
                data[model_name] = rows
                archive.writestr(f"{model_name}.csv", self._to_csv(field_names, rows))
            for attachment in found.get("ir.attachment", []):
                path = f"attachments/{attachment.id}-{attachment.name or 'file'}"
                archive.writestr(path, attachment.sudo().raw or b"")
            archive.writestr("data.json", json.dumps(data, indent=2, default=str, ensure_ascii=False))
        return buffer.getvalue()

    def _get_export_fields(self, records):
        return [
            name
            for name, field in records._fields.items()
            if field.store and field.type not in ("binary", "one2many", "many2many") and name not in ("index_content",)
        ]

    def _prepare_export_row(self, row):
        return {
            key: (value[1] if isinstance(value, tuple) and len(value) == 2 else value) for key, value in row.items()
        }

    def _to_csv(self, field_names, rows):
        output = io.StringIO()
        writer = csv.DictWriter(output, fieldnames=field_names, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    key: json.dumps(value, default=str) if isinstance(value, (dict, list)) else value
                    for key, value in row.items()
                }
            )
        return output.getvalue()

    # ------------------------------------------------------------
    # Erasure
    # ------------------------------------------------------------
    @api.model
    def _erase(self, found, identifiers, mode="anonymise"):
        """Erase the records in ``found`` (as returned by ``_find_records``) and return counts per kind of data.

        Steps, in an order where no step recreates what an earlier one removed:

        1. raw Meta events, form answers, activities, scheduled messages, queued mail, consents and blacklist
           entries are deleted;
        2. chatter messages on the person's records are deleted with their tracking values and notifications;
           messages the person wrote on other records keep their place but lose body, subject and sender;
        3. attachments and call recordings are deleted, call notes, call numbers and assignment reasons cleared;
        4. leads are anonymised or deleted (``mode``), contacts anonymised and archived;
        5. tracking values on other records that pointed at the erased contact or lead lose their display values,
           and bus notifications or lookup wizards still carrying the identifiers are deleted.

        Writes run with tracking disabled, so the erasure itself writes no old values into new tracking records.
        """
        env = self.env(
            su=True,
            context=dict(self.env.context, active_test=False, tracking_disable=True, mail_notrack=True),
        )
        found = {model: records.with_env(env) for model, records in found.items()}
        counts = {}
        documents = self._get_documents(found)

        for model_name in (
            "crm.meta.lead.event",
            "crm.lead.form.answer",
            "mail.activity",
            "mail.scheduled.message",
            "sms.sms",
        ):
            records = found.get(model_name)
            if records is not None:
                counts[model_name] = len(records.exists())
                records.exists().unlink()
        queued_mail = found["mail.mail"].exists()
        counts["mail.mail"] = len(queued_mail)
        queued_mail.unlink()
        counts["crm.privacy.consent"] = len(found["crm.privacy.consent"])
        found["crm.privacy.consent"].exists()._unlink_for_erasure()
        for model_name in ("mail.blacklist", "phone.blacklist", "mail.followers"):
            counts[model_name] = len(found[model_name])
            found[model_name].exists().unlink()

        counts["mail.message"] = self._erase_messages(found["mail.message"], documents)
        counts["ir.attachment"] = len(found["ir.attachment"])
        found["ir.attachment"].exists().unlink()

        if found.get("crm.call") is not None:
            counts["crm.call"] = len(found["crm.call"])
            self._anonymise(found["crm.call"].exists())
        if found.get("crm.lead.assignment") is not None:
            # The assignment history stays for team statistics; only its free-text reason is cleared.
            counts["crm.lead.assignment"] = len(found["crm.lead.assignment"])
            self._anonymise(found["crm.lead.assignment"].exists())
        counts["crm.lead"] = len(found["crm.lead"])
        if mode == "delete":
            found["crm.lead"].exists().unlink()
        else:
            self._anonymise(found["crm.lead"].exists())
        counts["res.partner"] = len(found["res.partner"])
        # NOTE: a contact linked to a user is anonymised, but the user's login keeps the old email.
        self._anonymise(found["res.partner"].exists())
        counts["crm.privacy.request"] = len(found["crm.privacy.request"])
        self._anonymise(found["crm.privacy.request"].exists())

        env.flush_all()
        counts["mail.tracking.value"] = self._sweep_tracking_values(found, identifiers)
        self._sweep_transient_traces(identifiers)
        env.invalidate_all()
        _logger.info("Erased person data: %s", counts)
        return counts

    def _erase_messages(self, messages, documents):
        """Delete messages on the person's records and blank the ones they wrote elsewhere; return the count."""
        messages = messages.exists()
        on_documents = messages.filtered(lambda message: message.res_id in documents.get(message.model, ()))
        elsewhere = messages - on_documents
        elsewhere.tracking_value_ids.unlink()
        elsewhere.write(
            {
                "body": "",
                "subject": False,
                "email_from": False,
                "reply_to": False,
                "author_id": False,
                "attachment_ids": [(5, 0, 0)],
            }
        )
        on_documents.unlink()
        return len(messages)

    def _anonymise(self, records):
        """Clear every stored free-text field of ``records`` and put a placeholder in required ones."""
        if not records:
            return
        values = self._get_anonymous_values(records)
        records.write(values)

    def _get_anonymous_values(self, records):
        """Return the values that replace personal data on ``records``; models extend it for other field types."""
        kept = self._get_kept_fields(records._name)
        values = {}
        for name, field in records._fields.items():
            if not field.store or field.type not in TEXT_FIELD_TYPES or name in kept:
                continue
            if field.related or (field.compute and field.readonly) or name in models.MAGIC_COLUMNS:
                continue
            values[name] = self.env._("Erased") if field.required else False
        if records._name == "crm.lead":
            values.update({"date_of_birth": False, "privacy_erased": True, "partner_id": False})
        elif records._name == "res.partner":
            # A database constraint requires a name on contacts.
            values.update({"name": self.env._("Erased contact"), "active": False, "privacy_erased": True})
            values["parent_id"] = False
        elif records._name == "crm.call":
            values["recording_attachment_id"] = False
        elif records._name == "crm.privacy.request":
            values["requester_partner_id"] = False
        return values

    def _get_kept_fields(self, model_name):
        """Return the names of text fields that describe the record, not the person, and survive an erasure."""
        return {
            "crm.lead": {"type", "lang_code"},
            "res.partner": {"type", "lang", "tz"},
            "crm.call": {"provider", "direction"},
            # The confirmation code hash stays so that Meta's status page can still show the completed erasure.
            "crm.privacy.request": {"name", "request_type", "state", "source", "confirmation_code_hash"},
        }.get(model_name, set())

    def _sweep_tracking_values(self, found, identifiers):
        """Blank tracking values on other records that show an erased contact or lead; return how many changed."""
        targets = [
            (model_name, found[model_name].ids)
            for model_name in ("res.partner", "crm.lead")
            if found.get(model_name) and model_name in self.env
        ]
        changed = 0
        for model_name, ids in targets:
            self.env.cr.execute(
                SQL(
                    """UPDATE mail_tracking_value AS value
                          SET old_value_char = CASE WHEN old_value_integer IN %(ids)s THEN NULL
                                                    ELSE old_value_char END,
                              new_value_char = CASE WHEN new_value_integer IN %(ids)s THEN NULL
                                                    ELSE new_value_char END
                         FROM ir_model_fields AS field
                        WHERE field.id = value.field_id
                          AND field.ttype = 'many2one'
                          AND field.relation = %(model)s
                          AND (old_value_integer IN %(ids)s OR new_value_integer IN %(ids)s)""",
                    ids=tuple(ids),
                    model=model_name,
                )
            )
            changed += self.env.cr.rowcount
        changed += self._sweep_tracking_texts(identifiers)
        return changed

    def _sweep_tracking_texts(self, identifiers):
        """Blank char and text tracking values on other records that quote the identifiers, e.g. an old email.

        Tracking values copy field values as text when a record changes. When a contact is replaced on another
        person's lead, the lead's email and phone change with it, and their old values stay in the history.
        """
        patterns = [f"%{identifiers[key]}%" for key in ("email", "name") if identifiers[key]]
        digits = f"%{identifiers['phone_key']}%" if identifiers["phone_key"] else None
        changed = 0
        for column in ("old_value_char", "new_value_char", "old_value_text", "new_value_text"):
            matches = []
            if patterns:
                matches.append(SQL("%s ILIKE ANY(%s)", SQL.identifier(column), patterns))
            if digits:
                matches.append(SQL("regexp_replace(%s, '[^0-9]', '', 'g') LIKE %s", SQL.identifier(column), digits))
            if not matches:
                continue
            self.env.cr.execute(
                SQL(
                    "UPDATE mail_tracking_value SET %s = NULL WHERE %s",
                    SQL.identifier(column),
                    SQL(" OR ").join(matches),
                )
            )
            changed += self.env.cr.rowcount
        return changed

    def _sweep_transient_traces(self, identifiers):
        """Delete short-lived rows that may quote the identifiers: bus notifications and privacy lookup wizards."""
        patterns = [f"%{identifiers[key]}%" for key in ("email", "phone_key", "name") if identifiers[key]]
        if not patterns:
            return
        self.env.cr.execute(SQL("DELETE FROM bus_bus WHERE message ILIKE ANY(%s)", patterns))
        if "privacy.lookup.wizard" in self.env:
            self.env.cr.execute(
                SQL(
                    "DELETE FROM privacy_lookup_wizard WHERE email ILIKE ANY(%s) OR name ILIKE ANY(%s)",
                    patterns,
                    patterns,
                )
            )
