import datetime

import pytz

from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    # ------------------------------------------------------------
    # Availability for lead assignment
    # ------------------------------------------------------------
    calling_unavailable = fields.Boolean(
        "Unavailable for New Leads",
        help="Set while the counsellor is on leave or off shift. Teams that check availability give her no new leads.",
    )
    calling_unavailable_until = fields.Datetime(
        "Unavailable Until",
        help="The counsellor counts as available again from this time on, without anyone clearing the flag. "
        "Empty means unavailable until the flag is cleared.",
    )
    calling_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Calling Hours",
        help="Working hours in which teams that check availability give the counsellor new leads, "
        "in the calendar's time zone. Empty means any time.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return [
            *super().SELF_READABLE_FIELDS,
            "calling_unavailable",
            "calling_unavailable_until",
            "calling_calendar_id",
        ]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        # Counsellors mark their own leave; calling hours stay with administrators.
        return [*super().SELF_WRITEABLE_FIELDS, "calling_unavailable", "calling_unavailable_until"]

    def _get_calling_unavailable_users(self, now=None):
        """Return the users of ``self`` who must not receive new leads at ``now`` (UTC, naive).

        A user is unavailable when flagged (until ``calling_unavailable_until`` if set) or when ``now`` falls
        outside the work intervals of her calling hours, public holidays of the calendar included.
        """
        now = now or fields.Datetime.now()
        unavailable = self.filtered(
            lambda user: (
                user.calling_unavailable
                and (not user.calling_unavailable_until or user.calling_unavailable_until > now)
            )
        )
        start = pytz.utc.localize(now)
        # One minute is enough to tell whether "now" is inside a work interval.
        end = start + datetime.timedelta(minutes=1)
        for calendar, users in (
            (self - unavailable).filtered("calling_calendar_id").grouped("calling_calendar_id").items()
        ):
            intervals = calendar._work_intervals_batch(start, end)[False]
            if not intervals:
                unavailable |= users
        return unavailable
