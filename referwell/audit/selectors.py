from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.audit.chain import GENESIS, entry_hash
from referwell.audit.models import AuditChain, AuditEntry, Disclosure

_FIELDS = (
    "id",
    "practice_id",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "data",
    "ip_address",
    "at",
    "prev_hash",
    "hash",
)


@dataclass
class Broken:
    entry: int | None
    at: dt.datetime | None
    reason: str


@dataclass
class ChainReport:
    entries: int = 0
    broken: list[Broken] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def _missing_link(practice_id: int, entry_id: int, prev_hash: str) -> str:
    """Why an entry does not follow the one before it."""
    linked = (
        AuditEntry.objects.filter(practice_id=practice_id, hash=prev_hash)
        .values_list("id", flat=True)
        .first()
    )
    if linked is None:
        return "deleted entry: the entry it follows is missing"
    if linked > entry_id:
        return f"reordered: it follows entry {linked}, which comes after it"
    return f"inserted entry before it: it follows entry {linked}, not the entry before it"


def audit_verify(*, practice: Practice) -> ChainReport:
    """Walk the practice's chain in the order it was written; the first break, if any."""
    report = ChainReport()
    chain = AuditChain.objects.filter(practice_id=practice.pk).first()
    expected = chain.anchor_hash if chain else GENESIS
    last: tuple[int, dt.datetime] | None = None
    rows = (
        AuditEntry.objects.filter(practice_id=practice.pk)
        .order_by("id")
        .values_list(*_FIELDS)
        .iterator(chunk_size=5000)
    )
    for pk, practice_id, actor_id, action, otype, oid, data, ip, at, prev, stored in rows:
        report.entries += 1
        if report.broken:
            continue  # count the rest; the first break is what matters
        computed = entry_hash(
            practice_id=practice_id,
            actor_id=actor_id,
            action=action,
            object_type=otype,
            object_id=oid,
            data=data,
            ip_address=ip,
            at=at,
            prev_hash=prev,
        )
        if computed != stored:
            report.broken.append(Broken(pk, at, "altered content: the hash does not match"))
        elif prev != expected:
            reason = (
                "deleted entry: the first kept entry does not follow the retention anchor"
                if last is None and chain is not None and chain.anchor_hash
                else _missing_link(practice.pk, pk, prev)
            )
            report.broken.append(Broken(pk, at, reason))
        expected = stored
        last = (pk, at)
    if report.broken:
        return report
    head = chain.head_hash if chain else GENESIS
    if head != expected:
        entry, at = last if last else (None, None)
        if chain is None:
            reason = "no chain head for entries that exist (run `referwell migrate`)"
        elif head and AuditEntry.objects.filter(practice_id=practice.pk, hash=head).exists():
            reason = "inserted entry: entries after the chain head were not written by the app"
        else:
            reason = "deleted entry: the last entries recorded in the chain head are missing"
        report.broken.append(Broken(entry, at, reason))
    return report


# --------------------------------------------------------------------------- the owner's page


@dataclass(frozen=True)
class AuditFilters:
    member: int | None = None  # a user id
    action: str = ""  # a prefix of the action code
    object_type: str = ""
    object_id: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_list(*, practice: Practice, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The practice's entries, newest first, filtered; the actor fetched in the same query."""
    entries = AuditEntry.objects.for_practice(practice).select_related("actor")
    if filters.member:
        entries = entries.filter(actor_id=filters.member)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.object_type:
        entries = entries.filter(object_type=filters.object_type)
    if filters.object_id:
        entries = entries.filter(object_id=filters.object_id)
    # Days in the practice's time zone, as times, so that the index on `at` serves.
    if filters.since:
        entries = entries.filter(at__gte=_start_of(filters.since))
    if filters.until:
        entries = entries.filter(at__lt=_start_of(filters.until + dt.timedelta(days=1)))
    return entries.order_by("-at", "-id")


def actors_of(*, practice: Practice) -> QuerySet[User]:
    """Everyone who can be searched for: members, and anyone who has an entry."""
    acted = AuditEntry.objects.for_practice(practice).values("actor_id")
    return (
        User.objects.filter(
            Q(memberships__practice=practice, memberships__accepted_at__isnull=False)
            | Q(pk__in=acted)
        )
        .distinct()
        .order_by("first_name", "last_name", "email")
    )


def client_disclosures(*, practice: Practice, client: Model) -> QuerySet[Disclosure]:
    """`client` is a clients.Client (an app above audit)."""
    return (
        Disclosure.objects.for_practice(practice)
        .filter(client_id=client.pk)
        .select_related("by", "partner", "consent__partner", "consent__profession", "referral")
        .order_by("-at", "-id")
    )
