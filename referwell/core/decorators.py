import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from ninja.errors import HttpError


class _Member(Protocol):
    """What these checks read of an accounts.Member (the kernel does not name it)."""

    @property
    def is_owner(self) -> bool: ...

    @property
    def sees_clinical(self) -> bool: ...


class _MemberRequest(Protocol):
    """A request behind practice_required: CurrentPracticeMiddleware set its member."""

    member: _Member


def practice_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in and a member of a practice; anonymous users go to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "practice", None) is None:
            if getattr(request, "has_invitations", False):
                return redirect("invitations")
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
            if not cast(_MemberRequest, request).member.is_owner:
                raise PermissionDenied(f"Only an owner {does}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# Clinical work — reading clinical text, sending a referral, minting or revoking the partner's
# link, reporting back — is for the clinical roles (Member.sees_clinical): one rule, applied
# to the pages by clinical_required and to the API by api_clinical_required.
CLINICAL_ONLY = (
    "The front desk cannot do this: it shows or sends a client's clinical information, "
    "which is for therapists and owners."
)


def is_clinical(request: HttpRequest) -> bool:
    """Whether the request's member may do clinical work (the front desk may not)."""
    member: _Member | None = getattr(request, "member", None)
    return member is not None and member.sees_clinical


def clinical_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """practice_required, and a clinical role: the front desk gets 403 (CLINICAL_ONLY)."""

    @practice_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_clinical(request):
            raise PermissionDenied(CLINICAL_ONLY)
        return view(request, *args, **kwargs)

    return wrapper


def api_clinical_required(operation: Callable[..., Any]) -> Callable[..., Any]:
    """The same rule for an API operation (put it under `@router.…`): 403 with the reason.

    The token is checked before the operation runs, so request.member is there. django-ninja
    reads the operation's parameters from its signature, resolved here in its own module."""

    @wraps(operation)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not is_clinical(request):
            raise HttpError(403, CLINICAL_ONLY)
        return operation(request, *args, **kwargs)

    wrapper.__signature__ = inspect.signature(operation, eval_str=True)  # type: ignore[attr-defined]
    return wrapper
