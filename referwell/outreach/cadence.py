"""The cadence engine: what upkeep is due, derived from the data every time it is asked.

No cron job is needed to be correct: a thank-you is owed because a referral came in and no
thank-you went out; an office visit is due because the last one was six months ago. Any
contact logged with a partner resets that partner's cadences. Done, snoozed and skipped items
are touchpoints with the item's key.

Every rule has an ideal and a maximum interval (days): past the ideal an item shows amber,
past the maximum red. A practice overrides them in `Practice.cadence`.
"""

from __future__ import annotations

import datetime as dt
import marshal
import zlib
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, TypedDict, overload

from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.kept import Kept
from referwell.accounts.models import Practice
from referwell.core.dates import add_business_days
from referwell.directory.models import Outcome, Partner, Stage, Touchpoint, TouchpointKind
from referwell.outreach.models import ContactMethod, ContactPlan
from referwell.referrals.models import Direction, Referral
from referwell.referrals.states import AWAITING_ANSWER, taken_on

# Looked up here, not by get_stage_display() per partner (docs/performance.md, "Measured choices").
STAGE_LABELS = dict(Stage.choices)


def initials(first: str | None, last: str | None) -> str:
    """How Today names a client: "A. J." (a list read over a shoulder, a phone on a desk)."""
    letters = [f"{name.strip()[0].upper()}." for name in (first, last) if name and name.strip()]
    return " ".join(letters) or "a client"


GIFT_CAUTION = (
    "A gift to someone who sends you clients can look like a referral fee: keep it modest, "
    "never tied to how many clients they sent, and check your state's rules and the "
    "professional's own (many may not accept gifts)."
)


@dataclass(frozen=True)
class Rule:
    key: str
    label: str
    ideal: int  # days
    max: int  # days
    on: bool = True


RULES: dict[str, Rule] = {
    r.key: r
    for r in (
        Rule("thank_you", "Thank-you for a referral received", ideal=2, max=7),
        Rule("follow_up", "Follow up on a referral with no answer", ideal=0, max=5),
        Rule("report", "Progress report to the referring professional", ideal=0, max=14),
        Rule("office_visit", "Office visit with fresh business cards", ideal=182, max=213),
        Rule("year_end_gift", "Year-end gift certificate for a top referrer", ideal=0, max=30),
        Rule("prospect", "Next step with a prospect", ideal=0, max=14),
        Rule("keep_in_touch", "Keep in touch", ideal=90, max=180),
    )
}


def rules_for(practice: Practice) -> dict[str, Rule]:
    out = {}
    for key, rule in RULES.items():
        override: dict[str, Any] = (practice.cadence or {}).get(key, {})
        out[key] = Rule(
            key,
            rule.label,
            int(override.get("ideal", rule.ideal)),
            int(override.get("max", rule.max)),
            bool(override.get("on", rule.on)),
        )
    return out


class PublicItem(TypedDict):
    """An item as the API and the `today` command give it."""

    kind: str
    due: str  # ISO date
    overdue_days: int
    partner: int | None
    referral: int | None
    title: str


@dataclass
class DueItem:
    kind: str
    key: str  # stable: the same item keeps its key from day to day
    due: dt.date
    title: str
    partner: int | None = None
    partner_name: str = ""
    referral: int | None = None
    late_after: int = 0  # days between the due date and red
    action: str = ""  # what one click does: "letter", "log_visit", "open"
    caution: str = ""
    extra: dict[str, int] = field(default_factory=dict)  # "plan": the contact plan's id

    @cached_property
    def url(self) -> str:
        """The page that opens the item: its referral's, else its partner's."""
        if self.referral:
            return reverse("referral_detail", args=[self.referral])
        if self.partner:
            return reverse("partner_detail", args=[self.partner])
        return ""

    def overdue_days(self, on: dt.date) -> int:
        return max(0, (on - self.due).days)

    def level(self, on: dt.date) -> str:
        late = self.overdue_days(on)
        if late == 0:
            return "due"
        return "red" if late > self.late_after else "amber"

    def public(self, on: dt.date) -> PublicItem:
        return {
            "kind": self.kind,
            "due": self.due.isoformat(),
            "overdue_days": self.overdue_days(on),
            "partner": self.partner,
            "referral": self.referral,
            "title": self.title,
        }


class _ReferralFacts(NamedTuple):
    """What the cadence rules read of a referral."""

    pk: int
    direction: str
    status: str
    created_at: dt.datetime
    received_at: dt.datetime | None
    sent_at: dt.datetime | None
    thanked_at: dt.datetime | None
    last_report_at: dt.datetime | None
    report_interval_days: int | None
    referrer_name: str
    partner_id: int | None
    partner__name: str | None
    referrer_client_id: int | None
    referrer_client__first_name: str | None
    referrer_client__last_name: str | None
    client__first_name: str
    client__last_name: str


class _PartnerFacts(NamedTuple):
    """What the cadence rules read of a partner."""

    pk: int
    name: str
    stage: str
    created_at: dt.datetime
    referred_year: int
    referred_this_year: int
    first_referral: dt.datetime | None


@overload
def _local(value: dt.datetime, tz: dt.tzinfo) -> dt.date: ...


@overload
def _local(value: dt.datetime | None, tz: dt.tzinfo) -> dt.date | None: ...


def _local(value: dt.datetime | None, tz: dt.tzinfo) -> dt.date | None:
    """The local date of a moment (`tz`: the current time zone, looked up once per call of
    the engine rather than once per value — thousands of values)."""
    return value.astimezone(tz).date() if value else None


# Today's list, most overdue first, as rows of plain values (DueItem's fields, the due date as
# its ordinal, the gift caution as a flag, the plan's key): a practice that fell behind owes
# thousands of items, and a page shows 50.
Row = tuple[str, str, int, str, int | None, str, int | None, int, str, bool, int | None]


def _row(item: DueItem) -> Row:
    return (
        item.kind,
        item.key,
        item.due.toordinal(),
        item.title,
        item.partner,
        item.partner_name,
        item.referral,
        item.late_after,
        item.action,
        bool(item.caution),
        item.extra.get("plan"),
    )


def _item(row: Row) -> DueItem:
    kind, key, due, title, partner, partner_name, referral, late_after, action, gift, plan = row
    return DueItem(
        kind,
        key,
        dt.date.fromordinal(due),
        title,
        partner,
        partner_name,
        referral,
        late_after=late_after,
        action=action,
        caution=GIFT_CAUTION if gift else "",
        extra={"plan": plan} if plan else {},
    )


class TodayList(Sequence[DueItem]):
    """Due items in order of their due date: the kept rows, or a stretch of them (`start` to
    `stop`); an item is made for each row read (a page of 50 out of thousands)."""

    def __init__(self, rows: list[Row], start: int = 0, stop: int | None = None) -> None:
        self.rows = rows  # the kept rows, shared (never copied for a stretch)
        self.start = start
        self.stop = len(rows) if stop is None else stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    @overload
    def __getitem__(self, index: int) -> DueItem: ...

    @overload
    def __getitem__(self, index: slice) -> list[DueItem]: ...

    def __getitem__(self, index: int | slice) -> DueItem | list[DueItem]:
        if isinstance(index, slice):
            first, last, step = index.indices(len(self))
            return [_item(row) for row in self.rows[self.start + first : self.start + last : step]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("No such item on the list.")
        return _item(self.rows[self.start + index])

    def with_partner(self) -> int:
        """How many of these items are about a partner (what a touchpoint can mark done)."""
        return sum(1 for row in self.rows[self.start : self.stop] if row[4] is not None)

    def stretch(self, start: int, stop: int) -> TodayList:
        """The items from `start` to `stop` of this list, as a list of its own."""
        start, stop = max(0, min(start, len(self))), max(0, min(stop, len(self)))
        return TodayList(self.rows, self.start + start, self.start + max(start, stop))


def _dumps(rows: list[Row]) -> bytes:
    return zlib.compress(marshal.dumps(rows), 1)


def _loads(stored: bytes) -> list[Row]:
    # Our own cache, as trusted as the pickles Django keeps there; marshal builds plain values.
    rows: list[Row] = marshal.loads(zlib.decompress(stored))  # noqa: S302  # nosec B302
    return rows


# Made again when the practice's data version moves (any change to what the rules read), a rule
# changes, the day changes, or after five minutes; in the shared cache marshalled, which reads
# back faster than pickled items (docs/performance.md, "Measured choices").
_today_kept: Kept[list[Row]] = Kept("today", dumps=_dumps, loads=_loads)


# Today also shows what comes in the next week (its "Coming up"); the list of what is due
# (the API, the command) stops at the day.
AHEAD_DAYS = 7
# An item more than a month late is folded into "Catch up": most no longer matter.
CATCH_UP_AFTER = 30


def _today_rows(practice: Practice, on: dt.date) -> list[Row]:
    """Every item due until a week after `on`, in order of due date (then kind, title)."""

    def make() -> list[Row]:
        until = on + dt.timedelta(days=AHEAD_DAYS)
        due = [i for i in make_due_items(practice=practice, on=on) if i.due <= until]
        return [_row(i) for i in sorted(due, key=attrgetter("due", "kind", "title"))]

    parts = (
        on.isoformat(),
        timezone.get_current_timezone_name(),
        practice.cadence or {},
        practice.no_response_business_days,
        AHEAD_DAYS,
    )
    return _today_kept.get(practice_id=practice.pk, parts=parts, make=make)


def due_items(*, practice: Practice, on: dt.date | None = None) -> list[DueItem]:
    """Every upkeep item of the practice with its due date (past, today or coming)."""
    return make_due_items(practice=practice, on=on or timezone.localdate())


def make_due_items(*, practice: Practice, on: dt.date) -> list[DueItem]:
    """Every upkeep item, made from the data: a fixed number of queries, whatever the size
    of the practice."""
    tz = timezone.get_current_timezone()
    rules = rules_for(practice)
    items: list[DueItem] = []
    referrals = [
        _ReferralFacts(*row)
        for row in Referral.objects.for_practice(practice)
        .filter(status__final=False)
        .filter(
            Q(direction=Direction.IN, thanked_at__isnull=True)
            | Q(direction=Direction.IN, report_interval_days__isnull=False, partner__isnull=False)
            | Q(direction=Direction.OUT, status__in=AWAITING_ANSWER)
        )
        # Only what the rules read, as tuples (a practice behind on its upkeep has thousands
        # of these); no clinical text is loaded or decrypted. Unordered (they are sorted by
        # due date later), so that the open referrals' partial index serves it.
        .order_by()
        .values_list(*_ReferralFacts._fields)
    ]
    marks = _marks(practice)
    last_contact = dict(
        Touchpoint.objects.for_practice(practice)
        .exclude(outcome__in=[Outcome.SNOOZED, Outcome.SKIPPED])
        .values_list("partner")
        .annotate(last=Max("date"))
        .values_list("partner", "last")
    )
    # Referrals: thank-you owed, follow-up, reports.
    for r in referrals:
        # Who, by name; a client (the one referred, or one who sent a friend) by initials only.
        if r.partner_id:
            who = r.partner__name
        elif r.referrer_client_id:
            who = initials(r.referrer_client__first_name, r.referrer_client__last_name)
        elif r.direction == Direction.OUT:
            who = "the professional"
        else:
            who = r.referrer_name or "the referrer"
        about = initials(r.client__first_name, r.client__last_name)
        received = _local(r.received_at, tz) or _local(r.created_at, tz)
        if r.direction == Direction.IN and r.thanked_at is None and rules["thank_you"].on:
            rule = rules["thank_you"]
            items.append(
                DueItem(
                    "thank_you",
                    f"thank_you:r{r.pk}",
                    received + dt.timedelta(days=rule.ideal),
                    f"Thank {who} for referring {about} on {received:%b %d}",
                    r.partner_id,
                    r.partner__name or "",
                    r.pk,
                    late_after=rule.max - rule.ideal,
                    action="letter",
                )
            )
        if (
            r.direction == Direction.IN
            and r.report_interval_days
            and r.partner_id
            and taken_on(r.status)
            and rules["report"].on
        ):
            since = _local(r.last_report_at, tz) or received
            items.append(
                DueItem(
                    "report",
                    f"report:r{r.pk}:{since.isoformat()}",
                    since + dt.timedelta(days=r.report_interval_days),
                    f"Progress report on {about} to {r.partner__name}",
                    r.partner_id,
                    r.partner__name or "",
                    r.pk,
                    late_after=rules["report"].max,
                    action="open",
                )
            )
        if r.direction == Direction.OUT and rules["follow_up"].on and r.sent_at:
            sent = _local(r.sent_at, tz)
            last = max(sent, last_contact.get(r.partner_id, sent)) if r.partner_id else sent
            items.append(
                DueItem(
                    "follow_up",
                    f"follow_up:r{r.pk}:{last.isoformat()}",
                    add_business_days(last, practice.no_response_business_days),
                    f"Follow up with {who} about {about}: no answer since {sent:%b %d}",
                    r.partner_id,
                    r.partner__name or "",
                    r.pk,
                    late_after=rules["follow_up"].max,
                    action="log_call",
                )
            )
    items += _partner_items(practice, on, rules, last_contact, tz)
    return [i for i in items if not _answered(i, marks, on)]


def _partner_items(
    practice: Practice,
    on: dt.date,
    rules: dict[str, Rule],
    last_contact: dict[int, dt.date],
    tz: dt.tzinfo,
) -> list[DueItem]:

    methods = dict(ContactMethod.choices)

    items: list[DueItem] = []
    # A moment, not a date: comparing created_at__date would convert every row's timestamp.
    year_start = timezone.make_aware(dt.datetime.combine(on - dt.timedelta(days=365), dt.time.min))
    # The referrals in of the last year, per partner, read from the (practice, direction,
    # created_at) index. The latest referral matters only for a partner who referred within
    # the year, so it is the latest of these; this calendar year is within the last 365 days.
    referred: dict[int, tuple[int, int, dt.datetime]] = {
        partner: (year, this_year, latest)
        for partner, year, this_year, latest in Referral.objects.for_practice(practice)
        .filter(direction=Direction.IN, created_at__gte=year_start, partner__isnull=False)
        .order_by()
        .values("partner")
        .annotate(
            year=Count("id"),
            this_year=Count("id", filter=Q(created_at__year=on.year)),
            latest=Max("created_at"),
        )
        .values_list("partner", "year", "this_year", "latest")
    }
    nothing = (0, 0, None)
    partners = {
        pk: _PartnerFacts(pk, name, stage, created_at, *referred.get(pk, nothing))
        for pk, name, stage, created_at in Partner.objects.for_practice(practice)
        .exclude(stage=Stage.NOT_A_FIT)
        .order_by()
        .values_list("pk", "name", "stage", "created_at")
    }
    kinds: defaultdict[int, dict[str, dt.date]] = defaultdict(dict)
    for partner_id, kind, last in (
        Touchpoint.objects.for_practice(practice)
        .filter(kind__in=[TouchpointKind.OFFICE_VISIT, TouchpointKind.GIFT])
        .values_list("partner", "kind")
        .annotate(last=Max("date"))
        .values_list("partner", "kind", "last")
    ):
        kinds[partner_id][kind] = last
    # Office visit and business cards every six months, for partners who referred this year.
    visit = rules["office_visit"]
    if visit.on:
        for p in partners.values():
            if not p.referred_year:
                continue
            since = (
                kinds[p.pk].get(TouchpointKind.OFFICE_VISIT) or _local(p.first_referral, tz) or on
            )
            items.append(
                DueItem(
                    "office_visit",
                    f"office_visit:p{p.pk}:{since.isoformat()}",
                    since + dt.timedelta(days=visit.ideal),
                    f"Visit {p.name}'s office with fresh business cards",
                    p.pk,
                    p.name,
                    late_after=visit.max - visit.ideal,
                    action="log_visit",
                )
            )
    # Year-end gift certificates for the top referrers of the year (shown from mid-November).
    gift = rules["year_end_gift"]
    if gift.on and on >= dt.date(on.year, 11, 15):
        top = sorted(
            (p for p in partners.values() if p.referred_this_year >= 2),
            key=lambda p: (-p.referred_this_year, p.name),
        )[:5]
        for p in top:
            given = kinds[p.pk].get(TouchpointKind.GIFT)
            if given and given.year == on.year:
                continue
            items.append(
                DueItem(
                    "year_end_gift",
                    f"year_end_gift:p{p.pk}:{on.year}",
                    dt.date(on.year, 11, 15),
                    f"Year-end gift certificate for {p.name} "
                    f"({p.referred_this_year} referrals this year)",
                    p.pk,
                    p.name,
                    late_after=gift.max,
                    action="log_gift",
                    caution=GIFT_CAUTION,
                )
            )
    # Prospects: their planned next step, or a plan to make.
    plans = {
        plan.partner_id: plan
        for plan in ContactPlan.objects.for_practice(practice)
        .filter(done_on__isnull=True)
        .order_by("-planned_on")
    }
    prospect = rules["prospect"]
    keep = rules["keep_in_touch"]
    for p in partners.values():
        last = last_contact.get(p.pk)
        if p.stage in (Stage.PROSPECT, Stage.RESEARCHED, Stage.CONTACTED) and prospect.on:
            plan = plans.get(p.pk)
            if plan is not None:
                items.append(
                    DueItem(
                        "prospect",
                        f"prospect:plan{plan.pk}",
                        plan.planned_on,
                        f"{methods[plan.method]} with {p.name} (planned)",
                        p.pk,
                        p.name,
                        late_after=prospect.max,
                        action="open",
                        extra={"plan": plan.pk},
                    )
                )
            else:
                since = last or _local(p.created_at, tz)
                items.append(
                    DueItem(
                        "prospect",
                        f"prospect:p{p.pk}:{since.isoformat()}",
                        since + dt.timedelta(days=14),
                        f"Plan the next step with {p.name} ({STAGE_LABELS[p.stage].lower()})",
                        p.pk,
                        p.name,
                        late_after=prospect.max,
                        action="open",
                    )
                )
        elif p.stage in (Stage.MET, Stage.TRUSTED) and keep.on:
            since = last or _local(p.created_at, tz)
            items.append(
                DueItem(
                    "keep_in_touch",
                    f"keep_in_touch:p{p.pk}:{since.isoformat()}",
                    since + dt.timedelta(days=keep.ideal),
                    f"Losing touch with {p.name}: last contact {since:%b %d, %Y}",
                    p.pk,
                    p.name,
                    late_after=keep.max - keep.ideal,
                    action="log_call",
                )
            )
    return items


def _marks(practice: Practice) -> dict[str, list[Touchpoint]]:
    marks: dict[str, list[Touchpoint]] = defaultdict(list)
    for t in (
        Touchpoint.objects.for_practice(practice)
        .exclude(cadence_key="")
        .only("cadence_key", "outcome", "snooze_until", "date")
    ):
        marks[t.cadence_key].append(t)
    return marks


def _answered(item: DueItem, marks: dict[str, list[Touchpoint]], on: dt.date) -> bool:
    for t in marks.get(item.key, ()):
        if t.outcome in (Outcome.DONE, Outcome.SKIPPED):
            return True
        if t.outcome == Outcome.SNOOZED and t.snooze_until and t.snooze_until > on:
            return True
    return False


def _first_due_after(rows: list[Row], day: dt.date) -> int:
    """The index of the first row due after `day` (the rows are in order of due date)."""
    return bisect_right(rows, day.toordinal(), key=itemgetter(2))


def today(*, practice: Practice, on: dt.date | None = None) -> TodayList:
    """What is due today or overdue, most overdue first."""
    on = on or timezone.localdate()
    rows = _today_rows(practice, on)
    return TodayList(rows, 0, _first_due_after(rows, on))


@dataclass(frozen=True)
class TodayGroups:
    """Today's list as the page shows it, each group in order of due date: what is due today,
    what fell due this week (late by a few days), older (up to a month late), what comes in the
    next week, and what is more than a month late (folded: "Catch up")."""

    on: dt.date
    due_today: TodayList
    this_week: TodayList
    older: TodayList
    coming: TodayList
    catch_up: TodayList

    @property
    def now(self) -> int:
        """How many are due today or late by up to a month: what to do next."""
        return len(self.due_today) + len(self.this_week) + len(self.older)

    def next_items(self, limit: int) -> list[DueItem]:
        """What to do next, at most `limit`, in the page's order: due today, this week, older."""
        out: list[DueItem] = []
        for group in (self.due_today, self.this_week, self.older):
            out += group[: limit - len(out)]
        return out


def today_groups(*, practice: Practice, on: dt.date | None = None) -> TodayGroups:
    """Today's list in its groups, read from the kept rows (the groups are stretches of them:
    no item is made until it is shown)."""
    on = on or timezone.localdate()
    rows = _today_rows(practice, on)
    whole = TodayList(rows)
    catch_up = _first_due_after(rows, on - dt.timedelta(days=CATCH_UP_AFTER + 1))
    week = _first_due_after(rows, on - dt.timedelta(days=8))
    late = _first_due_after(rows, on - dt.timedelta(days=1))
    due = _first_due_after(rows, on)
    return TodayGroups(
        on=on,
        catch_up=whole.stretch(0, catch_up),
        older=whole.stretch(catch_up, week),
        this_week=whole.stretch(week, late),
        due_today=whole.stretch(late, due),
        coming=whole.stretch(due, len(rows)),
    )


class TodayLine(NamedTuple):
    """An item as a page shows it on a day: how late (or how soon), and its colour."""

    item: DueItem
    level: str  # "due", "amber", "red", or "ahead" (not due yet)
    late: int  # days overdue
    ahead: int  # days until it is due


def lines(items: Sequence[DueItem], on: dt.date) -> list[TodayLine]:
    return [
        TodayLine(
            i,
            "ahead" if i.due > on else i.level(on),
            i.overdue_days(on),
            max(0, (i.due - on).days),
        )
        for i in items
    ]


def losing_touch(*, practice: Practice, on: dt.date | None = None) -> list[DueItem]:
    on = on or timezone.localdate()
    return [i for i in today(practice=practice, on=on) if i.kind == "keep_in_touch"]
