"""One professional, one partner: finding the partners a new one would duplicate.

The same NPI, the same e-mail address, the same phone number (compared in E.164, so
"(414) 555-0100" and "+1 414-555-0100" are one number), or the same name in the same city
("Dr. Jane Smith, DC" and "jane smith": titles, credentials, punctuation and case aside).
Used by the partner form (a warning), the vCard import (a merge) and the merge page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from django.db import models
from django.db.models import ForeignObjectRel
from nameparser import HumanName

from referwell.accounts.models import Practice
from referwell.core.phones import phone_key
from referwell.directory.models import Partner
from referwell.directory.vcard import split_name

# Strongest first: the order in which duplicates are listed, and the one an import merges into.
SAME_NPI = "same NPI"
SAME_EMAIL = "same e-mail"
SAME_PHONE = "same phone"
SAME_NAME_AND_CITY = "same name and city"
RANKS = {SAME_NPI: 0, SAME_EMAIL: 1, SAME_PHONE: 2, SAME_NAME_AND_CITY: 3}


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def normalize_npi(npi: str) -> str:
    digits = re.sub(r"\D", "", npi or "")
    return digits if len(digits) == 10 else ""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


@dataclass(frozen=True)
class NameKey:
    first: str
    last: str
    middle_initials: str

    def __bool__(self) -> bool:
        return bool(self.first or self.last)

    def same_person(self, other: NameKey) -> bool:
        """Same first and last name; middle names only count when both have one, by their
        initials ("Jane A. Smith" is "Jane Smith" and "Jane Anne Smith", not "Jane B. Smith")."""
        if not (self and other) or (self.first, self.last) != (other.first, other.last):
            return False
        mine, theirs = self.middle_initials, other.middle_initials
        return not mine or not theirs or mine == theirs


@lru_cache(maxsize=8192)
def name_key(name: str) -> NameKey:
    """The name without titles, credentials, punctuation, accents or case: "Dr. Dana Spine",
    "Dana Spine, DC" and "Spine, Dana" are all ("dana", "spine")."""
    cleaned, _credentials = split_name(name or "")
    cleaned = re.sub(r"^Dr\.?\s+", "", cleaned)
    parsed = HumanName(cleaned)
    if parsed.first and parsed.last:
        initials = "".join(word[0] for word in _fold(parsed.middle).split())
        return NameKey(_fold(parsed.first), _fold(parsed.last), initials)
    return NameKey("", _fold(cleaned), "")


def _city_key(city: str) -> str:
    return _fold(city or "")


def find_duplicates(
    *,
    practice: Practice,
    name: str = "",
    city: str = "",
    email: str = "",
    phone: str = "",
    npi: str = "",
    exclude_pk: int | None = None,
) -> list[Partner]:
    """The practice's partners that look like the same professional, strongest match first;
    each carries `duplicate_reason` ("same e-mail"…) for the page that lists them."""
    partners = Partner.objects.for_practice(practice)
    if exclude_pk is not None:
        partners = partners.exclude(pk=exclude_pk)
    reasons: dict[int, str] = {}

    def found(pk: int, reason: str) -> None:
        if pk not in reasons or RANKS[reason] < RANKS[reasons[pk]]:
            reasons[pk] = reason

    npi_key = normalize_npi(npi)
    if npi_key:
        for pk in partners.filter(npi=npi_key).values_list("pk", flat=True):
            found(pk, SAME_NPI)
    email_key = normalize_email(email)
    if email_key:
        for pk in partners.filter(email__iexact=email_key).values_list("pk", flat=True):
            found(pk, SAME_EMAIL)
    wanted_phone = phone_key(phone)
    if wanted_phone:
        # Phones are stored as written; a few hundred partners are compared in a blink.
        for pk, other in partners.exclude(phone="").values_list("pk", "phone"):
            if phone_key(other) == wanted_phone:
                found(pk, SAME_PHONE)
    key = name_key(name)
    if key:
        city_key = _city_key(city)
        for pk, other_name, other_city in partners.values_list("pk", "name", "city"):
            if _city_key(other_city) == city_key and key.same_person(name_key(other_name)):
                found(pk, SAME_NAME_AND_CITY)
    if not reasons:
        return []
    matches = list(
        Partner.objects.for_practice(practice)
        .filter(pk__in=reasons)
        .prefetch_related("professions")
    )
    for partner in matches:
        partner.duplicate_reason = reasons[partner.pk]
    matches.sort(key=lambda p: (RANKS[reasons[p.pk]], p.name.casefold(), p.pk))
    return matches


def partner_references() -> list[tuple[type[models.Model], str]]:
    """(model, field) for every foreign key to Partner, hidden ones (related_name="+") too,
    found from the models so that a merge cannot forget one added later. The many-to-many
    tables of Partner's own fields (professions, niches) are left to the caller."""
    references = []
    for relation in Partner._meta.get_fields(include_hidden=True):
        if not (
            isinstance(relation, ForeignObjectRel)  # a relation to Partner, from another model
            and relation.is_relation
            and relation.auto_created
            and not relation.concrete
        ):
            continue
        model = relation.related_model
        if model._meta.auto_created or not (relation.one_to_many or relation.one_to_one):
            continue
        references.append((model, relation.field.name))
    return references


def partner_links(partner: Partner) -> dict[str, int]:
    """How many rows of each kind point at a partner: what a merge moves to the kept one."""
    counts: dict[str, int] = {}
    for model, field in partner_references():
        count = model._base_manager.filter(**{field: partner}).count()
        if count:
            label = str(model._meta.verbose_name_plural)
            if field != "partner":
                key = model._meta.get_field(field)
                assert isinstance(key, models.Field)  # the model's foreign key to Partner
                label += f" ({key.verbose_name})"
            counts[label] = counts.get(label, 0) + count
    return counts


def merge_target(duplicates: list[Partner], *, name: str) -> Partner | None:
    """The partner a business card merges into: the strongest match, except that a shared
    phone number alone is not enough when the family names differ — colleagues share the
    office's line. None when the card should be flagged rather than merged."""
    key = name_key(name)
    for partner in duplicates:
        reason = getattr(partner, "duplicate_reason", "")
        if reason != SAME_PHONE:
            return partner
        if key.last and key.last == name_key(partner.name).last:
            return partner
    return None
