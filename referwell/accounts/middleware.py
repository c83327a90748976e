from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from referwell.accounts.models import Member


class CurrentPracticeMiddleware:
    """Sets request.member and request.practice for a logged-in user (None otherwise).

    A user with several memberships works in the one chosen in the session, else the first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = None  # type: ignore[attr-defined]
        request.practice = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            members = Member.objects.active().filter(user=request.user).select_related("practice")
            chosen = request.session.get("practice_id")
            member = (members.filter(practice_id=chosen).first() if chosen else None) or (
                members.order_by("id").first()
            )
            if member is not None:
                request.member = member  # type: ignore[attr-defined]
                request.practice = member.practice  # type: ignore[attr-defined]
        return self.get_response(request)
