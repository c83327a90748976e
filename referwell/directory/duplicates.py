"""One professional, one partner: the one rule that says when two partners are the same.

The rule, for a new partner (typed in the form, read from a business card, a row of a CSV
file) against one already there, strongest first:

1. the same NPI (10 digits) → the same professional ("same NPI");
2. the same e-mail address, case aside → the same professional ("same e-mail");
3. the same phone number (compared in E.164 by referwell.core.phones.phone_key, so
   "(414) 555-0100" and "+1 414-555-0100" are one number) and the same family name → likely
   the same ("same phone");
4. the same person's name in the same city ("Dr. Jane Smith, DC" and "jane smith": titles,
   credentials, punctuation, accents and case aside; middle names only count when both have
   one, by their initials) → likely the same ("same name and city");
5. the same phone number under another family name → not a duplicate: a colleague on the
   office's line ("same phone, another name"), worth a word but never a merge or a skip.

1 to 4 make a duplicate (`is_duplicate`): the partner form warns, the vCard preview leaves the
card unticked and merges it into the strongest match when ticked, the CSV import skips the
row. 5 is listed with the others (the form warns, the merge page suggests it, the vCard
preview says so, the CSV import notes it, the command line's import leaves the card out).

`compare` is the rule for one pair, `DuplicateIndex` finds the matches of a new partner among
many without comparing each (the CSV import, with no database), `find_duplicates` among the
practice's partners (the form, the vCard preview and import, the merge page).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from django.db import models
from django.db.models import ForeignObjectRel
from nameparser import HumanName

from referwell.accounts.models import Practice
from referwell.core.phones import phone_key
from referwell.directory.models import Partner
from referwell.directory.vcard import split_name

# Strongest first: the order in which matches are listed, and the one an import merges into.
SAME_NPI = "same NPI"
SAME_EMAIL = "same e-mail"
SAME_PHONE = "same phone"
SAME_NAME_AND_CITY = "same name and city"
SHARED_PHONE = "same phone, another name"
RANKS = {SAME_NPI: 0, SAME_EMAIL: 1, SAME_PHONE: 2, SAME_NAME_AND_CITY: 3, SHARED_PHONE: 4}
DUPLICATE_REASONS = frozenset({SAME_NPI, SAME_EMAIL, SAME_PHONE, SAME_NAME_AND_CITY})


def is_duplicate(reason: str) -> bool:
    """A match that makes a duplicate (rules 1 to 4), not a colleague sharing a phone."""
    return reason in DUPLICATE_REASONS


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


@dataclass(frozen=True)
class Contact:
    """What the rule reads of a partner, a business card or a row of a file."""

    name: str = ""
    city: str = ""
    email: str = ""
    phone: str = ""
    npi: str = ""


@dataclass(frozen=True)
class _Keys:
    npi: str
    email: str
    phone: str
    name: NameKey
    city: str

    @classmethod
    def of(cls, contact: Contact) -> _Keys:
        return cls(
            npi=normalize_npi(contact.npi),
            email=normalize_email(contact.email),
            phone=phone_key(contact.phone),
            name=name_key(contact.name),
            city=_city_key(contact.city),
        )


def _reason(new: _Keys, other: _Keys) -> str | None:
    if new.npi and new.npi == other.npi:
        return SAME_NPI
    if new.email and new.email == other.email:
        return SAME_EMAIL
    same_phone = bool(new.phone) and new.phone == other.phone
    if same_phone and new.name.last and new.name.last == other.name.last:
        return SAME_PHONE
    if new.city == other.city and new.name.same_person(other.name):
        return SAME_NAME_AND_CITY
    if same_phone:
        return SHARED_PHONE
    return None


def compare(new: Contact, other: Contact) -> str | None:
    """Why `new` matches `other` by the rule (the module's docstring), strongest reason first;
    None when nothing does."""
    return _reason(_Keys.of(new), _Keys.of(other))


T = TypeVar("T")


class DuplicateIndex(Generic[T]):
    """Contacts (each with an item of the caller's: a partner's id, a row's label) by their
    keys: `matches` gives those a new contact matches, as `compare` would, without comparing
    it with every one."""

    def __init__(self, contacts: Iterable[tuple[Contact, T]] = ()) -> None:
        self._entries: list[tuple[_Keys, T]] = []
        self._by_npi: dict[str, list[int]] = {}
        self._by_email: dict[str, list[int]] = {}
        self._by_phone: dict[str, list[int]] = {}
        self._by_last_name: dict[str, list[int]] = {}
        for contact, item in contacts:
            self.add(contact, item)

    def add(self, contact: Contact, item: T) -> None:
        keys = _Keys.of(contact)
        position = len(self._entries)
        self._entries.append((keys, item))
        for index, key in (
            (self._by_npi, keys.npi),
            (self._by_email, keys.email),
            (self._by_phone, keys.phone),
            (self._by_last_name, keys.name.last if keys.name else ""),
        ):
            if key:
                index.setdefault(key, []).append(position)

    def matches(self, contact: Contact) -> list[tuple[str, T]]:
        """(reason, item) of every contact the new one matches, strongest first, then in the
        order they were added."""
        keys = _Keys.of(contact)
        candidates: set[int] = set()
        for index, key in (
            (self._by_npi, keys.npi),
            (self._by_email, keys.email),
            (self._by_phone, keys.phone),
            (self._by_last_name, keys.name.last if keys.name else ""),
        ):
            if key:
                candidates.update(index.get(key, ()))
        found = []
        for position in sorted(candidates):
            other, item = self._entries[position]
            reason = _reason(keys, other)
            if reason is not None:
                found.append((RANKS[reason], position, reason, item))
        found.sort(key=lambda match: (match[0], match[1]))
        return [(reason, item) for _rank, _position, reason, item in found]


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
    """The practice's partners the rule matches (duplicates and colleagues sharing the phone:
    `is_duplicate` tells them apart), strongest match first; each carries `duplicate_reason`
    ("same e-mail"…) for the page that lists them."""
    contact = Contact(name=name, city=city, email=email, phone=phone, npi=npi)
    partners = Partner.objects.for_practice(practice)
    if exclude_pk is not None:
        partners = partners.exclude(pk=exclude_pk)
    # Phones are stored as written, names as typed: a few thousand partners are read and
    # compared in a blink.
    index: DuplicateIndex[int] = DuplicateIndex(
        (Contact(name=n, city=c, email=e, phone=p, npi=i), pk)
        for pk, n, c, e, p, i in partners.values_list("pk", "name", "city", "email", "phone", "npi")
    )
    reasons: dict[int, str] = {}
    for reason, pk in index.matches(contact):
        reasons.setdefault(pk, reason)
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


def merge_target(duplicates: list[Partner]) -> Partner | None:
    """The partner a business card merges into: the strongest duplicate (rules 1 to 4; a
    colleague who only shares the phone is none). None when the card matches no duplicate."""
    for partner in duplicates:
        if is_duplicate(getattr(partner, "duplicate_reason", "")):
            return partner
    return None
