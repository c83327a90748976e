from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import Http404

from referwell.accounts.models import Practice
from referwell.core.geo import miles_between, zip_centroid
from referwell.directory.models import Niche, Partner, Profession, Touchpoint


@dataclass(frozen=True)
class PartnerFilters:
    q: str = ""
    profession: str = ""
    stage: str = ""
    niche: int | None = None
    near_zip: str = ""
    miles: float | None = None


def profession_list() -> QuerySet[Profession]:
    return Profession.objects.all()


def niche_list(*, practice: Practice) -> QuerySet[Niche]:
    return Niche.objects.for_practice(practice)


PARTNER_PAGE_SIZE = 50
# The columns a row of the partner list shows (or links with).
LISTED = ("pk", "practice_id", "name", "credentials", "clinic", "city", "stage")


def _filtered(practice: Practice, f: PartnerFilters) -> QuerySet[Partner]:
    """The practice's partners that match the filters, by name."""
    qs = Partner.objects.for_practice(practice)
    if f.q:
        qs = qs.filter(
            Q(name__icontains=f.q)
            | Q(clinic__icontains=f.q)
            | Q(specialties__icontains=f.q)
            | Q(city__icontains=f.q)
        )
    if f.profession:
        qs = qs.filter(professions__slug=f.profession)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    if f.niche:
        qs = qs.filter(niches__id=f.niche)
    return qs.order_by("name", "pk").distinct()


def _with_activity(qs: QuerySet[Partner]) -> QuerySet[Partner]:
    """Professions, niches, last contact and the number of clients they sent."""
    return qs.prefetch_related("professions", "niches").annotate(
        last_contact=Max("touchpoints__date"),
        referrals_in=Count("referred_clients", distinct=True),
    )


def partner_list(*, practice: Practice, filters: PartnerFilters | None = None) -> list[Partner]:
    """Partners of the practice, filtered; with distance_miles set when a ZIP code is given."""
    f = filters or PartnerFilters()
    partners = list(_with_activity(_filtered(practice, f)))
    origin = zip_centroid(f.near_zip) if f.near_zip else None
    if origin:
        for p in partners:
            p.distance_miles = (
                round(miles_between(origin, (p.latitude, p.longitude)), 1)
                if p.latitude is not None and p.longitude is not None
                else None
            )
        if f.miles is not None:
            partners = [
                p for p in partners if p.distance_miles is not None and p.distance_miles <= f.miles
            ]
        partners.sort(key=lambda p: (p.distance_miles is None, p.distance_miles or 0))
    return partners


def partner_page(
    *, practice: Practice, filters: PartnerFilters | None = None, number: int | str | None = 1
) -> Page[Partner]:
    """One page of the partner list. By name, only the page's partners get their activity
    read (a network of 5,000 took 1.2 s to show whole); nearest first, every match is
    measured, then the page is cut."""
    f = filters or PartnerFilters()
    if f.near_zip:
        return Paginator(partner_list(practice=practice, filters=f), PARTNER_PAGE_SIZE).get_page(
            number
        )
    ids_page = Paginator(
        _filtered(practice, f).values_list("pk", flat=True), PARTNER_PAGE_SIZE
    ).get_page(number)
    # The page of ids becomes the page of their partners, with only what the list shows: the
    # columns of its row, the professions' names.
    page = cast("Page[Partner]", ids_page)
    page.object_list = list(
        Partner.objects.filter(pk__in=list(ids_page.object_list))
        .only(*LISTED)
        .prefetch_related(Prefetch("professions", Profession.objects.only("slug", "name")))
        .annotate(
            last_contact=Max("touchpoints__date"),
            referrals_in=Count("referred_clients", distinct=True),
        )
        .order_by("name", "pk")
    )
    return page


def partner_get(*, practice: Practice, pk: int | str) -> Partner:
    """One partner of the practice, or 404: another practice's partner does not exist here."""
    try:
        return (
            Partner.objects.for_practice(practice)
            .prefetch_related("professions", "niches")
            .get(pk=int(pk))
        )
    except (Partner.DoesNotExist, ValueError, TypeError):
        raise Http404("No such partner.") from None


def touchpoint_list(*, practice: Practice, partner: Partner) -> QuerySet[Touchpoint]:
    return Touchpoint.objects.for_practice(practice).filter(partner=partner).select_related("by")


@dataclass(frozen=True)
class Responsiveness:
    sent: int
    acknowledged: int
    median_days: float | None
    closed_loop: int
    declined: int

    @property
    def acknowledged_share(self) -> float | None:
        return self.acknowledged / self.sent if self.sent else None

    @property
    def closure_rate(self) -> float | None:
        return self.closed_loop / self.sent if self.sent else None


@dataclass
class _Tally:
    """One partner's referrals as they are counted."""

    sent: int = 0
    acknowledged: int = 0
    days: list[float] = field(default_factory=list)  # sent to first answer, per referral
    closed_loop: int = 0
    declined: int = 0


def responsiveness_for(*, practice: Practice, partner_ids: list[int]) -> dict[int, Responsiveness]:
    """Per partner: referrals sent, how many were acknowledged and how fast (median days),
    how many loops closed (fate known), how many declined. One query."""
    from statistics import median

    from referwell.referrals.models import Direction, Referral
    from referwell.referrals.states import Status, fate_known

    rows = (
        Referral.objects.for_practice(practice)
        .filter(direction=Direction.OUT, partner_id__in=partner_ids, sent_at__isnull=False)
        .values_list("partner_id", "status", "sent_at", "answered_at", "received_at")
    )
    tallies = {pid: _Tally() for pid in partner_ids}
    for pid, status, sent_at, answered_at, received_at in rows:
        assert sent_at is not None  # only the referrals sent are read
        tally = tallies[pid]
        tally.sent += 1
        first = min((t for t in (answered_at, received_at) if t is not None), default=None)
        if first is not None:
            tally.acknowledged += 1
            tally.days.append((first - sent_at).total_seconds() / 86400)
        if fate_known(status):
            tally.closed_loop += 1
        if status == Status.DECLINED:
            tally.declined += 1
    return {
        pid: Responsiveness(
            sent=tally.sent,
            acknowledged=tally.acknowledged,
            median_days=round(median(tally.days), 1) if tally.days else None,
            closed_loop=tally.closed_loop,
            declined=tally.declined,
        )
        for pid, tally in tallies.items()
    }
