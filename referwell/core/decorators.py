from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def practice_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in and a member of a practice; anonymous users go to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "practice", None) is None:
            raise PermissionDenied("You are not a member of any practice.")
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(
    does: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """practice_required, and an owner: the others get 403 "Only an owner <does>."."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @practice_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.member.is_owner:  # type: ignore[attr-defined]
                raise PermissionDenied(f"Only an owner {does}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
