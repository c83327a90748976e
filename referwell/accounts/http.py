"""The request a member's page or API operation receives, as the type checker sees it.

CurrentPracticeMiddleware (pages) and the API's token check (accounts/api.py) set `member` and
`practice`; practice_required, owner_required, clinical_required and the API's auth let a view
run only when both are there, so a view behind them takes a `PracticeRequest`. At run time it is
Django's own request: this class only names what is on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from referwell.accounts.models import Member, Practice, User


class MaybeMemberRequest(HttpRequest):
    """Any request after CurrentPracticeMiddleware: a member and practice, or None."""

    member: Member | None
    practice: Practice | None
    htmx: HtmxDetails


class PracticeRequest(HttpRequest):
    """A request behind practice_required (or the API's token): a member at work."""

    user: User
    member: Member
    practice: Practice
    htmx: HtmxDetails
