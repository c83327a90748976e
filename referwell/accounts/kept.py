"""What is kept of a practice's data while its data version holds (accounts.models.DataChange).

A result made from a practice's data (Today's list, the dashboard's figures, the partner facts
of referral guidance) is good until a row it is made of changes: kept in this process's memory
for the next requests, and in the shared cache (the `kept` one: Redis, or a table of the
database) for the other processes, each at most
`seconds`. `Kept.get` makes it again as soon as the practice's data version moves.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.cache import caches
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from referwell.accounts.selectors import data_version

T = TypeVar("T")
_all: list[Kept[Any]] = []


@dataclass
class _Entry(Generic[T]):
    stamp: str
    made: float
    value: T


class Kept(Generic[T]):
    """One kind of result, kept per practice. `dumps`/`loads` turn it into what the shared
    cache stores and back (Django pickles it; a large result reads back faster in a plainer
    form)."""

    def __init__(
        self,
        name: str,
        *,
        seconds: int = 300,
        size: int = 32,
        dumps: Callable[[T], Any] | None = None,
        loads: Callable[[Any], T] | None = None,
    ) -> None:
        self.name, self.seconds, self.size = name, seconds, size
        self.dumps = dumps or (lambda value: value)
        self.loads = loads or (lambda stored: stored)
        self._entries: OrderedDict[tuple[int, Hashable], _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        _all.append(self)

    def get(self, *, practice_id: int, parts: Any, make: Callable[[], T], slot: Hashable = "") -> T:
        """The result for the practice and `parts` (what else it depends on: the day, a rule,
        the professions asked for…), made by `make` when nothing kept is good. `slot` tells
        apart the results a process keeps side by side for one practice."""
        text = json.dumps([data_version(practice_id=practice_id), parts], default=str)
        stamp = hashlib.sha256(text.encode()).hexdigest()[:32]
        now = time.monotonic()
        key = (practice_id, slot)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry.stamp == stamp and now - entry.made < self.seconds:
            return entry.value
        shared_key = f"kept:{self.name}:{practice_id}:{stamp}"
        shared = caches["kept"]
        stored = shared.get(shared_key)
        if stored is not None:
            value = self.loads(stored)
        else:
            value = make()
            shared.set(shared_key, self.dumps(value), self.seconds)
        with self._lock:
            self._entries[key] = _Entry(stamp, now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()


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
