"""Every list of the app as CSV: partners, clients, referrals and the outbox.

The columns are what the list shows plus the plain contact and status fields around it —
never clinical text (complaints, history, notes, a referral's reasons), which the front desk
may not read and which has no place in a spreadsheet. Files are UTF-8 with a byte-order mark,
so Excel opens accented names correctly, and a cell that a spreadsheet would run as a formula
(starting with = + - @) is written with a leading apostrophe (core/csvout.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from django.utils import timezone

from referwell.clients.models import Client
from referwell.core import csvout
from referwell.directory.models import Partner
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.models import Referral

LISTS = ("partners", "clients", "referrals", "outbox")
BOM = "\ufeff"


@dataclass(frozen=True)
class CsvTable:
    headers: tuple[str, ...]
    rows: Iterable[list[object]]


class Writable(Protocol):
    """Where a table is written: a text file, or the HttpResponse itself."""

    def write(self, text: str, /) -> object: ...


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value  # a Decimal stays a number: csvout quotes only text


def write_csv(out: Writable, table: CsvTable) -> int:
    """The header and the rows into `out`; returns the number of rows written."""
    out.write(BOM)
    writer = csvout.writer(out)
    writer.writerow(table.headers)
    count = 0
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
        count += 1
    return count


def partners_table(partners: Iterable[Partner]) -> CsvTable:
    """Partners as `selectors.partner_list` gives them (professions and niches prefetched,
    last_contact annotated; distance_miles when the list is filtered by ZIP)."""
    headers = (
        "Name", "Credentials", "Professions", "Specialties", "Clinic", "Street", "City",
        "State", "ZIP code", "Phone", "E-mail", "Website", "NPI", "Languages",
        "Insurance accepted", "Niches", "Stage", "How met", "Last contact", "Miles",
    )  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for p in partners:
            yield [
                p.name, p.credentials, "; ".join(x.name for x in p.professions.all()),
                p.specialties, p.clinic, p.street, p.city, p.state, p.zip_code, p.phone,
                p.email, p.website, p.npi, p.languages, p.insurance_accepted,
                "; ".join(n.name for n in p.niches.all()), p.get_stage_display(),
                p.get_how_met_display(), getattr(p, "last_contact", None),
                getattr(p, "distance_miles", None),
            ]  # fmt: skip

    return CsvTable(headers, rows())


def clients_table(clients: Iterable[Client]) -> CsvTable:
    """Clients as `selectors.client_list` gives them (visit_count and last_visit annotated):
    contact details and how they came, no clinical notes."""
    headers = (
        "First name", "Last name", "E-mail", "Phone", "Date of birth", "ZIP code",
        "Insurance", "How they found you", "Referred by", "First visit", "Visits",
        "Last visit",
    )  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for c in clients:
            source = c.source_partner or c.source_client or c.source_name
            yield [
                c.first_name, c.last_name, c.email, c.phone, c.date_of_birth, c.zip_code,
                c.insurance, c.get_stream_display(), str(source) if source else "",
                c.first_seen, getattr(c, "visit_count", None), getattr(c, "last_visit", None),
            ]  # fmt: skip

    return CsvTable(headers, rows())


def referrals_table(referrals: Iterable[Referral]) -> CsvTable:
    """Referrals as `selectors.referral_list` gives them (client, partner, profession
    selected); without the reasons, which are clinical."""
    headers = (
        "Created", "Direction", "Client", "Partner", "Profession", "Referred by", "Status",
        "Sent", "Answered", "Closed", "Thanked",
    )  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for r in referrals:
            yield [
                r.created_at, r.get_direction_display(), str(r.client),
                str(r.partner) if r.partner_id else "",
                str(r.profession) if r.profession_id else "",
                r.referrer_label if r.direction == "in" else "", r.get_status_display(),
                r.sent_at, r.answered_at, r.closed_at, r.thanked_at,
            ]  # fmt: skip

    return CsvTable(headers, rows())


def outbox_table(messages: Iterable[OutgoingMessage]) -> CsvTable:
    """The outbox: every letter and e-mail sent, without its body."""
    headers = ("When", "Kind", "To", "E-mail", "Subject", "How", "Error", "Sent by")

    def rows() -> Iterator[list[object]]:
        for m in messages:
            yield [
                m.created_at, m.get_kind_display(), m.to_name, m.to_email, m.subject,
                m.get_status_display(), m.error, m.by.email if m.by is not None else "",
            ]  # fmt: skip

    return CsvTable(headers, rows())
