"""The request a member's page or API operation receives, as the type checker sees it.

CurrentPracticeMiddleware (pages) and the API's token check (accounts/api.py) set `member` and
`practice`; practice_required, owner_required, clinical_required and the API's auth let a view
run only when both are there, so a view behind them takes a `PracticeRequest`; a view behind
login_required alone takes a `UserRequest`. At run time it is Django's own request: these
classes only name what is on it.
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
    # Set by TwoFactorMiddleware on every request: "verify", "setup" or None.
    two_factor_pending: str | None
    # Set by CurrentPracticeMiddleware only for a logged-in user who works nowhere yet: read it
    # with getattr(request, "has_invitations", False).
    has_invitations: bool


class UserRequest(MaybeMemberRequest):
    """A request behind login_required: a logged-in user, who may work in no practice yet."""

    user: User


class PracticeRequest(HttpRequest):
    """A request behind practice_required (or the API's token): a member at work."""

    user: User
    member: Member
    practice: Practice
    htmx: HtmxDetails
