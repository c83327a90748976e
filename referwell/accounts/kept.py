"""Everything kept of a practice's data, and what makes it be made again: the one place.

A result made from a practice's data (Today's list, the dashboard's figures, the partner facts
of referral guidance, the list pages' HTML) is good until a row it is made of changes: kept in
this process's memory for the next requests, and in the shared cache (the `kept` one: Redis,
or a table of the database) for the other processes, each at most `seconds`. `Kept.get` makes
it again as soon as the practice's data version moves.

The data version is the practice's latest `accounts.models.DataChange`. A save, a deletion or a
many-to-many change of a WATCHED model writes one (`practice_touched`, in the change's own
transaction). Each kept result names the models it is made of (READS, read off the queries its
`make` runs); tests/test_kept_watch.py runs each of them and checks that they read nothing
else, and that every model they read is watched. A new kept result: a name in READS, with the
models its queries read, and each of them in WATCHED.

Models are named by "app_label.ModelName" (a many-to-many's own table as
"directory.Partner_professions"), and looked up when the apps are ready
(`AccountsConfig.ready` calls `watch`): accounts lies below the apps whose models these are,
and imports none of them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from referwell.accounts.models import DataChange, Practice
from referwell.accounts.selectors import data_version

# ---------------------------------------------------------------------------- what is kept

# Each kept result by its name, with the models its `make` reads.
READS: dict[str, tuple[str, ...]] = {
    # outreach.cadence.today: the due items of every rule.
    "today": (
        "clients.Client",
        "directory.Partner",
        "directory.Touchpoint",
        "outreach.ContactPlan",
        "referrals.Referral",
    ),
    # site.selectors.dashboard_summary: the figures and short lists (a referral's last move is
    # its latest event).
    "dashboard": (
        "clients.Client",
        "directory.Partner",
        "directory.Profession",
        "directory.Touchpoint",
        "referrals.Referral",
        "referrals.ReferralEvent",
    ),
    # guidance.selectors.partner_facts: what ranking needs of the partners of professions.
    "guidance-facts": (
        "directory.Niche",
        "directory.Partner",
        "directory.Partner_niches",
        "directory.Partner_professions",
        "directory.Profession",
        "referrals.Referral",
    ),
    # guidance.selectors.guidance_for: those facts, ranked.
    "guidance-ranked": (
        "directory.Niche",
        "directory.Partner",
        "directory.Partner_niches",
        "directory.Partner_professions",
        "directory.Profession",
        "referrals.Referral",
    ),
    # kept_fragment: the lists of partners (directory.views.partner_list: with their last
    # contact and the clients they sent; near a ZIP code, their niches too), of referrals
    # (referrals.views.referral_list) and Today's (outreach.today_views.today_page).
    "fragment": (
        "clients.Client",
        "directory.Niche",
        "directory.Partner",
        "directory.Partner_niches",
        "directory.Partner_professions",
        "directory.Profession",
        "directory.Touchpoint",
        "outreach.ContactPlan",
        "referrals.Referral",
    ),
    # insights.selectors.insights_cached: the report of a period. It is timed (kept five
    # minutes whatever changes, as its page says: "counted at 10:42, kept five minutes · count
    # again now"), not kept while the data version holds, so its models need no watching: it
    # counts visits, a practice's most frequent write, and the data version is one for all
    # that is kept of a practice — following visits would make Today's list, the dashboard and
    # the guidance facts again at every visit recorded, for a report read a few times a day.
    # A cost recorded counts it again (insights_changed), as does "count again now".
    "insights-report": (
        "clients.Client",
        "clients.Visit",
        "directory.Partner",
        "directory.Partner_professions",
        "directory.Profession",
        "insights.StreamCost",
        "referrals.Referral",
    ),
    # insights.views: a report's charts and tables as HTML, made from the report alone (kept
    # per the moment it was counted).
    "insights": (),
}

# The models whose changes move the practice's data version: everything the results kept while
# it holds are made of.
WATCHED: tuple[str, ...] = (
    "clients.Client",
    "directory.Niche",
    "directory.Partner",
    "directory.Partner_niches",
    "directory.Partner_professions",
    "directory.Touchpoint",
    "outreach.ContactPlan",
    "referrals.Referral",
    "referrals.ReferralEvent",
)

# Read, and not watched: rows that are no practice's, which no practice's version can follow.
# The professions are synced from the knowledge base (directory.professions, at `migrate`);
# what is kept of them is at most `seconds` old.
SHARED: tuple[str, ...] = ("directory.Profession",)

# ---------------------------------------------------------------------------- the data version

PRUNE_EVERY = 1000  # changes; the rows before a practice's latest are of no more use


def practice_touched(practice_id: int | None) -> None:
    """Record a change to the practice's data, in the current transaction: readers see the new
    version together with the change (never the version before it with the data after)."""
    if practice_id is None:
        return
    change = DataChange.objects.create(practice_id=practice_id)
    if change.pk % PRUNE_EVERY == 0:
        DataChange.objects.filter(practice_id=practice_id, pk__lt=change.pk).delete()


def on_row_changed(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """post_save / post_delete of a watched model (not when the practice itself is being
    deleted: its changes go with it)."""
    origin = kwargs.get("origin")
    if isinstance(origin, Practice) or getattr(origin, "model", None) is Practice:
        return
    practice_touched(getattr(instance, "practice_id", None))


def on_links_changed(sender: type[Model], instance: Model, action: str, **kwargs: Any) -> None:
    """m2m_changed of a watched many-to-many (a partner's professions or niches), from the side
    that belongs to a practice (a partner, a niche)."""
    if action.startswith("post_"):
        practice_touched(getattr(instance, "practice_id", None))


def watch() -> None:
    """Connect the WATCHED models' changes to the data version (AccountsConfig.ready)."""
    for label in WATCHED:
        model = apps.get_model(label)
        if model._meta.auto_created:  # a many-to-many's table: changed through its field
            m2m_changed.connect(
                on_links_changed, sender=model, dispatch_uid=f"referwell_data_version_{label}"
            )
            continue
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                on_row_changed, sender=model, dispatch_uid=f"referwell_data_version_{when}_{label}"
            )


# ---------------------------------------------------------------------------- keeping

T = TypeVar("T")
_all: list[Kept[Any]] = []


@dataclass
class _Entry(Generic[T]):
    stamp: str
    made: float
    value: T


class Kept(Generic[T]):
    """One kind of result, kept per practice, made of the models READS names for it (or
    `reads`). `dumps`/`loads` turn it into what the shared cache stores and back (Django
    pickles it; a large result reads back faster in a plainer form). `size`: how many this
    process keeps in its memory (0: none, only the shared cache).

    `timed`: kept `seconds` whatever changes, not while the data version holds; made again
    sooner only on `get(fresh=True)` or after `renew`. For a result that must not follow every
    change (the insights report: see READS)."""

    def __init__(
        self,
        name: str,
        *,
        reads: Iterable[str] | None = None,
        seconds: int = 300,
        size: int = 32,
        timed: bool = False,
        dumps: Callable[[T], Any] | None = None,
        loads: Callable[[Any], T] | None = None,
    ) -> None:
        if reads is None and name not in READS:
            raise ImproperlyConfigured(
                f"What is kept as {name!r} must say what it is made of: its models in "
                "referwell/accounts/kept.py's READS (and each of them in WATCHED)."
            )
        self.name, self.seconds, self.size, self.timed = name, seconds, size, timed
        self.reads: tuple[str, ...] = tuple(READS[name] if reads is None else reads)
        self.dumps = dumps or (lambda value: value)
        self.loads = loads or (lambda stored: stored)
        self._entries: OrderedDict[tuple[int, Hashable], _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        _all.append(self)

    def get(
        self,
        *,
        practice_id: int,
        parts: Any,
        make: Callable[[], T],
        slot: Hashable = "",
        fresh: bool = False,
    ) -> T:
        """The result for the practice and `parts` (what else it depends on: the day, a rule,
        the professions asked for…), made by `make` when nothing kept is good, or at once on
        `fresh` (kept for the other processes in the shared cache). `slot` tells apart the
        results a process keeps side by side for one practice."""
        shared = caches["kept"]
        if self.timed:
            version = shared.get(self._renewed_key(practice_id), 0)
        else:
            version = data_version(practice_id=practice_id)
        text = json.dumps([version, parts], default=str)
        stamp = hashlib.sha256(text.encode()).hexdigest()[:32]
        now = time.monotonic()
        key = (practice_id, slot)
        shared_key = f"kept:{self.name}:{practice_id}:{stamp}"
        if not fresh:
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None and entry.stamp == stamp and now - entry.made < self.seconds:
                return entry.value
        stored = None if fresh else shared.get(shared_key)
        if stored is not None:
            value = self.loads(stored)
        else:
            value = make()
            shared.set(shared_key, self.dumps(value), self.seconds)
        if self.size:
            with self._lock:
                self._entries[key] = _Entry(stamp, now, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def renew(self, *, practice_id: int) -> None:
        """Make the practice's results of a timed kind again at their next `get`, in every
        process (a kind kept while the data version holds is made again when it moves)."""
        if not self.timed:
            raise ValueError(f"{self.name!r} follows the data version: practice_touched moves it.")
        key = self._renewed_key(practice_id)
        shared = caches["kept"]
        shared.add(key, 0, None)
        try:
            shared.incr(key)
        except ValueError:  # gone from the cache meanwhile
            shared.set(key, 1, None)

    def _renewed_key(self, practice_id: int) -> str:
        return f"kept:{self.name}:renewed:{practice_id}"

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()


def registered() -> list[Kept[Any]]:
    """Every kind of result kept (made so far: each where it is used)."""
    return list(_all)


def forget_all() -> None:
    """Drop what this process keeps, of every kind (the next request reads or makes it)."""
    for kept in _all:
        kept.forget()


_fragments: Kept[str] = Kept("fragment", size=256)


# What a kept fragment's forms carry in place of their CSRF token: each request puts its own
# in, so that no token — nothing of one request — is ever kept.
CSRF_MARK = "referwell-kept-csrf-token"


def kept_fragment(
    request: Any, *, name: str, template: str, context: Callable[[], dict[str, Any]]
) -> SafeString:
    """A part of a page (`template`, e.g. "app/page.html#results") rendered from `context()`
    and kept per practice, role and query string while the practice's data holds (rendering 50
    rows costs more than the rest of the page). Its forms are rendered with CSRF_MARK as their
    token, which the request's own replaces."""

    def make() -> str:
        return render_to_string(template, {**context(), "csrf_token": CSRF_MARK}, request)

    query = request.GET.urlencode()
    key = [name, request.member.role, query]
    html = _fragments.get(practice_id=request.practice.pk, parts=key, slot=tuple(key), make=make)
    if CSRF_MARK in html:
        html = html.replace(CSRF_MARK, get_token(request))
    return mark_safe(html)  # noqa: S308  # nosec B308, B703 — our own template's output
